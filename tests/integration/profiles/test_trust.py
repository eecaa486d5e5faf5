"""Karma from real `tally.updated` events on Kafka, applied by profiles' consumer: newest version wins,
redeliveries and reordering are harmless, and the trust level moves (and is announced) with the signals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from services.catalog import TALLIES
from tests.conftest import wait_until
from tests.integration.profiles.conftest import Member, events_for, register


def tally(target: uuid.UUID, author: uuid.UUID, score: int, version: int) -> dict[str, Any]:
    return {
        "target_id": str(target), "target_kind": "post", "author_id": str(author), "ups": max(score, 0), "downs": max(-score, 0),
        "score": score, "version": version, "updated_at": datetime.now(UTC).isoformat(), "trusted_score": score,  # an extra field: ignored
    }


async def karma(profiles: httpx.AsyncClient, m: Member) -> int:
    return (await profiles.get(f"/v1/profiles/{m.id}")).json()["trust"]["karma"]  # type: ignore[no-any-return]


async def karma_is(profiles: httpx.AsyncClient, m: Member, value: int) -> bool:
    return await karma(profiles, m) == value


async def verify_email(profiles: httpx.AsyncClient, test_infra: Any, m: Member) -> None:
    # The token travels only on the bus; the test reads the stored hash's row instead of waiting for the relay.
    from services.profiles.service import token_digest

    await profiles.post("/v1/accounts/me/email-verification", headers=m.auth)
    token = "test-" + uuid.uuid4().hex
    conn = await asyncpg.connect(test_infra.database_url)
    try:
        await conn.execute("UPDATE profiles.email_verifications SET token_hash = $1 WHERE member_id = $2", token_digest(token), m.id)
    finally:
        await conn.close()
    assert (await profiles.post("/v1/accounts/email-verification", json={"token": token})).status_code == 200


async def test_karma_is_the_sum_of_the_latest_scores_whatever_the_delivery_order(profiles: httpx.AsyncClient, consumer: Any, publish: Any) -> None:
    m = await register(profiles, "karma")
    post, comment = uuid.uuid4(), uuid.uuid4()
    key = str(post)
    await publish(TALLIES, "tally.updated", tally(post, m.id, 4, 2), key=key)
    await publish(TALLIES, "tally.updated", tally(post, m.id, 1, 1), key=key)  # older version, arrives late: ignored
    repeated = await publish(TALLIES, "tally.updated", tally(comment, m.id, -1, 7), key=key)
    await publish.again(TALLIES, repeated, key=key)  # the very same event again (same id)
    await publish(TALLIES, "tally.updated", tally(comment, m.id, -1, 7), key=key)  # same version, new id: no change
    await wait_until(lambda: karma_is(profiles, m, 3), timeout=60)
    await publish(TALLIES, "tally.updated", tally(comment, m.id, 2, 8), key=key)
    await wait_until(lambda: karma_is(profiles, m, 6), timeout=60)


async def test_trust_level_follows_signals_and_each_change_is_published(profiles: httpx.AsyncClient, consumer: Any, publish: Any, relay: Any, test_infra: Any) -> None:
    m = await register(profiles, "trusty")
    post = uuid.uuid4()
    # Karma alone does not lift an unverified member (test policy: trusted at karma >= 5, verified email).
    await publish(TALLIES, "tally.updated", tally(post, m.id, 9, 1), key=str(post))
    await wait_until(lambda: karma_is(profiles, m, 9), timeout=60)
    assert (await profiles.get(f"/v1/profiles/{m.id}")).json()["trust"]["level"] == "new"

    await verify_email(profiles, test_infra, m)
    assert (await profiles.get(f"/v1/profiles/{m.id}")).json()["trust"]["level"] == "trusted"

    await publish(TALLIES, "tally.updated", tally(post, m.id, -2, 2), key=str(post))
    await wait_until(lambda: karma_is(profiles, m, -2), timeout=60)
    assert (await profiles.get(f"/v1/profiles/{m.id}")).json()["trust"]["level"] == "new"

    changes = await wait_until(lambda: _at_least(events_for(test_infra, m.id, "trust.changed"), 2), timeout=30)
    assert [(c["previous_level"], c["trust_level"]) for c in changes] == [("new", "trusted"), ("trusted", "new")]
    last = changes[-1]
    assert last["karma"] == -2 and last["email_verified"] is True and last["registered_at"] and last["changed_at"]


async def test_tallies_for_unknown_authors_and_malformed_tallies_do_not_stop_the_consumer(profiles: httpx.AsyncClient, consumer: Any, publish: Any) -> None:
    m = await register(profiles, "after")
    key = str(uuid.uuid4())
    await publish(TALLIES, "tally.updated", tally(uuid.uuid4(), uuid.uuid4(), 5, 1), key=key)  # nobody we know
    await publish(TALLIES, "tally.updated", {"target_id": "nope", "score": "many"}, key=key)  # poison: dead-lettered
    await publish(TALLIES, "tally.updated", tally(uuid.uuid4(), m.id, 2, 1), key=key)
    await wait_until(lambda: karma_is(profiles, m, 2), timeout=60)


async def _at_least(coro: Any, n: int) -> Any:
    items = await coro
    return items if len(items) >= n else None


async def test_cli_consumer_factory_subscribes_to_connections_and_tallies(profiles_settings: Any) -> None:
    from services.cli import _module

    worker = await _module("profiles", "handlers").CONSUMERS["events"](profiles_settings)
    try:
        sub = worker.runner.sub
        assert sub.name == "profiles.events"
        assert {t.name for t in sub.topics} == {"agora.connections", "agora.tallies"}
        assert set(sub.handlers) == {"connection.made", "connection.removed"}
        assert set(sub.batch_handlers) == {"tally.updated"}  # a batch's tallies in a few statements
        assert worker.runner.deadletter is not None and worker.runner.deadletter.name == "agora.deadletter"
    finally:
        await worker.close()


async def test_age_threshold_is_crossed_when_the_member_next_refreshes(settings_for: Any, keys_file: Any, test_infra: Any) -> None:
    from services.profiles.main import create_app
    from tests.conftest import AppClient
    from tests.integration.profiles.conftest import TEST_OVERRIDES

    overrides = dict(TEST_OVERRIDES, trust_member_age_days=7, trust_member_karma=1000)
    wrapper = AppClient(create_app(settings_for("profiles", signing_keys_file=keys_file, **overrides)))
    client = await wrapper.__aenter__()
    try:
        m = await register(client, "aging")
        await verify_email(client, test_infra, m)
        assert (await client.get(f"/v1/profiles/{m.id}")).json()["trust"]["level"] == "new"  # verified, but a day-one account
        conn = await asyncpg.connect(test_infra.database_url)
        try:
            await conn.execute("UPDATE profiles.accounts SET created_at = now() - interval '8 days' WHERE id = $1", m.id)
            resp = await client.post("/v1/sessions/refresh", json={"refresh_token": m.refresh})
            assert resp.status_code == 200
            assert (await client.get(f"/v1/profiles/{m.id}")).json()["trust"]["level"] == "member"
            payloads = await conn.fetch("SELECT convert_from(payload, 'UTF8') AS p FROM profiles.outbox WHERE type = 'trust.changed' AND key = $1", str(m.id))
            assert len(payloads) == 1 and '"trust_level":"member"' in payloads[0]["p"] and '"previous_level":"new"' in payloads[0]["p"]
        finally:
            await conn.close()
    finally:
        await wrapper.__aexit__(None, None, None)

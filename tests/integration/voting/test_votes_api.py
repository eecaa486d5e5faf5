"""Votes through the HTTP API, end to end on real processes: content and profile events feed voting's
read models (`agora consume voting events`), the relay publishes accepted votes, the tally consumer
applies them, and the member reads back their own vote and the tally."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from services.catalog import CONTENT, PROFILES, TALLIES
from services.kit.events import CloudEvent
from tests.conftest import wait_until
from tests.integration.voting.conftest import Voting, produce, start_tally
from tests.support import processes
from tests.support.kafka import read_all


def _event(source: str, type_: str, subject: uuid.UUID, data: dict[str, Any]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    e = CloudEvent(id=str(uuid.uuid4()), source=source, type=type_, time=datetime.now(UTC), data=data, subject=str(subject))
    return str(subject).encode(), e.value(), e.headers()


async def test_votes_through_the_api_are_tallied_and_read_back(voting: Voting, test_infra: Any, app_client: Any, issuer: Any) -> None:
    author, alice, bob, gone = (uuid.uuid4() for _ in range(4))
    post, comment = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC).isoformat()
    await produce(test_infra.bootstrap, CONTENT.qualified(test_infra.prefix), [
        _event("agora/content", "post.created", post, {"post_id": str(post), "author_id": str(author), "kind": "text", "topics": [], "created_at": now}),
        _event("agora/content", "comment.created", post, {"comment_id": str(comment), "post_id": str(post), "parent_id": None,
                                                          "author_id": str(author), "created_at": now, "depth": 0}),
    ])
    await produce(test_infra.bootstrap, PROFILES.qualified(test_infra.prefix), [
        _event("agora/profiles", "account.deleted", gone, {"member_id": str(gone), "deleted_at": now}),
    ])
    events = processes.start("voting-events", ["services.cli", "consume", "voting", "events"], test_infra.env)
    relay = processes.start("voting-relay", ["services.cli", "relay", "voting"], test_infra.env)
    tally = start_tally(test_infra)
    try:
        events.wait_ready(90)
        relay.wait_ready(90)

        async def known() -> bool:
            rows = await voting.fetch("SELECT target_id, kind, post_id FROM voting.targets WHERE target_id = ANY($1::uuid[])", [post, comment])
            deleted = await voting.fetch("SELECT 1 FROM voting.deleted_members WHERE member_id = $1", gone)
            return len(rows) == 2 and bool(deleted)

        await wait_until(known, timeout=60)
        rows = await voting.fetch("SELECT * FROM voting.targets WHERE target_id = ANY($1::uuid[])", [post, comment])
        kinds = {r["target_id"]: (r["kind"], r["post_id"]) for r in rows}
        assert kinds == {post: ("post", None), comment: ("comment", post)}

        http: httpx.AsyncClient = await app_client("voting")
        r = await http.post("/v1/votes", json={"target_id": str(post), "value": 1}, headers=issuer.headers(alice))
        assert r.status_code == 202, r.text
        alice_vote = r.json()["vote_id"]
        # A batch, in order: bob's later vote on the post (-1) replaces his earlier one (+1).
        batch = [{"target_id": str(post), "value": 1}, {"target_id": str(comment), "value": -1}, {"target_id": str(post), "value": -1}]
        r = await http.post("/v1/votes/batch", json={"votes": batch}, headers=issuer.headers(bob))
        assert r.status_code == 202, r.text
        bob_ids = r.json()["vote_ids"]
        assert len(bob_ids) == 3 and len(set(bob_ids)) == 3

        # Bad input: a clear 4xx in the common shape and no event.
        outbox_before = (await voting.fetch("SELECT count(*) AS n FROM voting.outbox WHERE type = 'vote.cast'"))[0]["n"]
        r = await http.post("/v1/votes/batch", json={"votes": [{"target_id": str(post), "value": 1}, {"target_id": str(uuid.uuid4()), "value": 1}]},
                            headers=issuer.headers(alice))
        assert r.status_code == 404 and r.json()["error"] == "target_not_found"
        r = await http.post("/v1/votes/batch", json={"votes": [{"target_id": str(post), "value": 1}] * 501}, headers=issuer.headers(alice))
        assert r.status_code == 422
        r = await http.post("/v1/votes/batch", json={"votes": [{"target_id": str(post), "value": 1}, {"target_id": str(post), "value": 2}]},
                            headers=issuer.headers(alice))
        assert r.status_code == 422
        r = await http.post("/v1/votes/batch", json={"votes": []}, headers=issuer.headers(alice))
        assert r.status_code == 422
        r = await http.post("/v1/votes", json={"target_id": str(post), "value": 1}, headers=issuer.headers(gone))
        assert r.status_code == 403 and r.json()["error"] == "member_deleted"
        r = await http.post("/v1/votes/batch", json={"votes": [{"target_id": str(post), "value": 1}]}, headers=issuer.headers(gone))
        assert r.status_code == 403
        r = await http.post("/v1/votes/batch", json={"votes": [{"target_id": str(post), "value": 1}]})
        assert r.status_code == 401
        assert (await voting.fetch("SELECT count(*) AS n FROM voting.outbox WHERE type = 'vote.cast'"))[0]["n"] == outbox_before

        async def tallied() -> Any:
            t = (await http.get(f"/v1/tallies/{post}")).json()
            return t if (t["ups"], t["downs"]) == (1, 1) else None

        t = await wait_until(tallied, timeout=60)
        assert t["score"] == 0 and t["trusted_score"] == 0.0
        c = (await http.get(f"/v1/tallies/{comment}")).json()
        assert (c["ups"], c["downs"], c["score"]) == (0, 1, -1)

        mine = (await http.get("/v1/votes/mine", params={"target_id": str(post)}, headers=issuer.headers(bob))).json()
        assert mine["value"] == -1 and mine["vote_id"] == bob_ids[2]
        mine = (await http.get("/v1/votes/mine", params={"target_id": str(post)}, headers=issuer.headers(alice))).json()
        assert mine["value"] == 1 and mine["vote_id"] == alice_vote
        never = (await http.get("/v1/votes/mine", params={"target_id": str(comment)}, headers=issuer.headers(alice))).json()
        assert never == {"target_id": str(comment), "value": 0, "vote_id": None, "cast_at": None}
        r = await http.get("/v1/votes/mine", params={"target_id": str(uuid.uuid4())}, headers=issuer.headers(alice))
        assert r.status_code == 404
        r = await http.get("/v1/votes/mine", params={"target_id": "not-a-uuid"}, headers=issuer.headers(alice))
        assert r.status_code == 422

        # tally.updated reaches agora.tallies, aggregated per batch, with the trusted score and the target's details.
        async def published() -> Any:
            msgs = await read_all(test_infra.bootstrap, TALLIES.qualified(test_infra.prefix))
            import orjson

            mine = [orjson.loads(m.value) for m in msgs if m.key == str(comment).encode()]
            return mine[-1] if mine else None

        last = await wait_until(published, timeout=60)
        assert last["target_kind"] == "comment" and last["author_id"] == str(author)
        assert (last["ups"], last["downs"], last["score"], last["trusted_score"]) == (0, 1, -1, -1.0)
    finally:
        tally.stop()
        relay.stop()
        events.stop()

"""Connections on the real Kafka: profile events consumed into the graph, and its own events relayed out.

The consumer and the relay run in-process (the kernel's ConsumerRunner / OutboxRelay with the service's
subscription and schema): the same code `agora consume connections events` / `agora relay connections` run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.catalog import CONNECTIONS, DEADLETTER, PROFILES
from services.connections.config import SCHEMA
from services.connections.handlers import SUBSCRIPTION
from services.kit.consumer import ConsumerRunner
from services.kit.kafka import make_producer
from services.kit.outbox import OutboxRelay
from tests.conftest import wait_until
from tests.support.kafka import headers, read_all
from tests.integration.connections.conftest import connect, profile_event



@pytest.fixture(scope="module")
async def consumer(test_infra: Any, sessions: Any) -> AsyncIterator[ConsumerRunner]:
    runner = ConsumerRunner(subscription=SUBSCRIPTION, sessions=sessions, schema=SCHEMA, bootstrap_servers=test_infra.bootstrap,
                            topic_prefix=test_infra.prefix, deadletter=DEADLETTER)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))

    async def ready() -> bool:
        return runner.ready

    await wait_until(ready, timeout=30)
    yield runner
    stop.set()
    await task


async def publish(test_infra: Any, *events: Any) -> None:
    producer = make_producer(test_infra.bootstrap)
    await producer.start()
    try:
        for e in events:
            await producer.send_and_wait(PROFILES.qualified(test_infra.prefix), value=e.value(), key=e.data["member_id"].encode(), headers=e.headers())
    finally:
        await producer.stop()


async def test_profile_events_register_update_and_delete_a_member(consumer: Any, test_infra: Any, api: Any, auth: Any, member: Any,
                                                                  db: Any, outbox_events: Any) -> None:
    gone = uuid.uuid4()
    now = datetime.now(UTC)
    registered = profile_event("profile.registered", {"member_id": str(gone), "handle": "leaving", "registered_at": now.isoformat(), "bio": "x"})
    updated = profile_event("profile.updated", {"member_id": str(gone), "handle": "leaving2", "topics": ["Graphs", "rust"],
                                                "updated_at": (now + timedelta(seconds=1)).isoformat()})
    stale = profile_event("profile.updated", {"member_id": str(gone), "handle": "stale", "topics": [], "updated_at": now.isoformat()})
    await publish(test_infra, registered, updated, registered, stale)  # a redelivery and an out-of-date version

    async def known() -> Any:
        rows = await db(f"SELECT handle, topics FROM {SCHEMA}.members WHERE member_id = $1", gone)
        return rows and rows[0]["handle"] == "leaving2" and rows[0]
    row = await wait_until(known, timeout=30)
    assert row["topics"] == ["graphs", "rust"]

    friend, follower = await member(), await member()
    await connect(api, auth, gone, friend)
    assert (await api.put(f"/v1/follows/{gone}", headers=auth(follower))).status_code == 201
    pending = (await api.post("/v1/invitations", json={"to_id": str(follower)}, headers=auth(gone))).json()

    await publish(test_infra, profile_event("account.deleted", {"member_id": str(gone), "deleted_at": datetime.now(UTC).isoformat()}))

    async def deleted() -> Any:
        rows = await db(f"SELECT handle, deleted_at FROM {SCHEMA}.members WHERE member_id = $1", gone)
        return rows[0]["deleted_at"] is not None and rows[0]
    assert (await wait_until(deleted, timeout=30))["handle"] == "deleted"
    assert (await api.get("/v1/connections/count", headers=auth(friend))).json()["count"] == 0
    assert (await db(f"SELECT count(*) AS n FROM {SCHEMA}.follows WHERE followee_id = $1", gone))[0]["n"] == 0
    inv = await db(f"SELECT status, note FROM {SCHEMA}.invitations WHERE invitation_id = $1", uuid.UUID(pending["invitation_id"]))
    assert inv[0]["status"] == "cancelled"
    removed = [(k, d) for t, k, d in await outbox_events(gone, friend) if t == "connection.removed"]
    assert removed == [(str(gone), {"a_id": str(gone), "b_id": str(friend), "removed_at": removed[0][1]["removed_at"]})]
    assert (await api.post("/v1/invitations", json={"to_id": str(gone)}, headers=auth(friend))).status_code == 404


async def test_events_reach_kafka_keyed_by_the_acting_member(test_infra: Any, api: Any, auth: Any, member: Any) -> None:
    a, b = await member(), await member()
    await connect(api, auth, a, b)
    relay = OutboxRelay(database_url=test_infra.database_url, schema=SCHEMA, bootstrap_servers=test_infra.bootstrap,
                        topic_prefix=test_infra.prefix)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    topic = CONNECTIONS.qualified(test_infra.prefix)
    try:
        async def ours() -> list[Any]:
            msgs = [m for m in await read_all(test_infra.bootstrap, topic) if str(a).encode() in m.value and str(b).encode() in m.value]
            return msgs if len(msgs) >= 3 else []
        msgs = await wait_until(ours, timeout=30)
    finally:
        stop.set()
        await task
    seen = sorted((headers(m)["ce_type"], m.key.decode()) for m in msgs)
    assert seen == sorted([("invitation.sent", str(a)), ("invitation.accepted", str(b)), ("connection.made", str(b))])
    assert all(headers(m)["ce_source"] == "agora/connections" for m in msgs)

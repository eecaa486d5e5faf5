"""The consumer runner's batch handlers (services/kit/consumer.py), on the real database: a batch's fresh
events of a type are handed over once, in order, after the per-event handlers; redeliveries (from an
earlier batch or within the same one) are skipped through the inbox; rejected events are dead-lettered
and the rest count as applied; the offsets commit with the effects."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from aiokafka import TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import TALLIES
from services.kit.consumer import ConsumerRunner, Subscription
from services.kit.db import make_engine, make_sessions
from services.kit.events import CloudEvent


def _message(offset: int, event_type: str, data: dict[str, Any], event_id: str | None = None) -> Any:
    e = CloudEvent(id=event_id or str(uuid.uuid4()), source="agora/test", type=event_type, time=datetime.now(UTC), data=data)
    return SimpleNamespace(headers=e.headers(), value=e.value(), offset=offset, topic="t", partition=0, key=None)


async def test_batch_handlers_get_each_fresh_event_once_in_order(settings_for: Any, unique: str) -> None:
    calls: list[Any] = []

    async def per_event(session: AsyncSession, event: CloudEvent) -> None:
        calls.append(("one", event.data["n"]))

    async def batch(session: AsyncSession, events: list[CloudEvent]) -> list[tuple[CloudEvent, str]]:
        calls.append(("batch", [e.data["n"] for e in events]))
        await session.execute(text("SELECT 1"))
        return [(e, "n must be even") for e in events if e.data["n"] % 2]

    engine = make_engine(settings_for("voting"), "voting", pool_size=1)
    name = f"test.batch.{unique}"
    sub = Subscription(name=name, topics=[TALLIES], handlers={"x.one": per_event}, batch_handlers={"x.many": batch})
    runner = ConsumerRunner(subscription=sub, sessions=make_sessions(engine), schema="voting", bootstrap_servers="127.0.0.1:9")
    dead: list[Any] = []

    async def keep(items: list[tuple[Any, str]]) -> None:
        dead.extend(items)

    runner._send_deadletters = keep  # type: ignore[method-assign]  # no broker here: keep what would be sent
    tp = TopicPartition("t", 0)
    twice = str(uuid.uuid4())
    try:
        first = [_message(0, "x.many", {"n": 0}), _message(1, "x.one", {"n": 1}), _message(2, "x.many", {"n": 2}, twice),
                 _message(3, "x.many", {"n": 2}, twice), _message(4, "x.other", {"n": 9}), _message(5, "x.many", {"n": 3})]
        assert await runner.apply({tp: first}) == {tp: 6}
        assert calls == [("one", 1), ("batch", [0, 2, 3])]  # the copy of `twice` skipped; unknown types ignored
        assert [(m.offset, reason) for m, reason in dead] == [(5, f"rejected by {name}: n must be even")]
        assert runner.applied == 3

        calls.clear()
        redelivered = [_message(6, "x.many", {"n": 2}, twice), _message(7, "x.many", {"n": 4})]
        await runner.apply({tp: redelivered})
        assert calls == [("batch", [4])]
        async with engine.connect() as conn:
            stored = (await conn.execute(text("SELECT next_offset FROM voting.consumer_offsets WHERE consumer = :c"), {"c": name})).scalar()
            inbox = (await conn.execute(text("SELECT count(*) FROM voting.inbox WHERE consumer = :c"), {"c": name})).scalar()
        assert (stored, inbox) == (8, 5)  # one row per distinct event id; x.other is not recorded: no handler
    finally:
        await engine.dispose()

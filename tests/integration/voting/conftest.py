"""Helpers of the tally consumer's tests: vote streams with an independent ground truth, produced
straight to the run's votes topic as CloudEvents, and the consumer as a real process.

The ground truth is computed here, without the consumer's code: for every (voter, target) the last
vote of the stream counts (votes are produced in cast_at order, one partition per target).
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.catalog import VOTES
from services.kit.events import CloudEvent
from services.voting.events import VOTE_CAST, VoteCast
from tests.conftest import wait_until
from tests.support import processes

TALLY = ["services.cli", "consume", "voting", "tally"]


@dataclass
class Stream:
    """A stream of votes on its own targets, and what the tallies must be once all of it is applied."""

    targets: list[uuid.UUID]
    voters: list[uuid.UUID]
    author: uuid.UUID = field(default_factory=uuid.uuid4)
    messages: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = field(default_factory=list)  # (key, value, headers)
    last: dict[tuple[uuid.UUID, uuid.UUID], int] = field(default_factory=dict)  # (voter, target) -> standing value
    clock: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    @classmethod
    def new(cls, n_targets: int, n_voters: int) -> Stream:
        return cls([uuid.uuid4() for _ in range(n_targets)], [uuid.uuid4() for _ in range(n_voters)])

    def vote(self, voter: uuid.UUID, target: uuid.UUID, value: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        # A vote every 2 s of event time: members vote at a human pace.
        self.clock += timedelta(seconds=2)
        data = VoteCast(vote_id=uuid.uuid4(), voter_id=voter, target_id=target, target_kind="post", author_id=self.author,
                        value=value, cast_at=self.clock, origin=f"o{voter.hex[:6]}", device="d1")
        event = CloudEvent.new(source="agora/voting", event_type=VOTE_CAST, data=data, subject=str(target), traceparent=None)
        msg = (str(target).encode(), event.value(), event.headers())
        self.messages.append(msg)
        self.last[(voter, target)] = value
        return msg

    def random_votes(self, n: int, rnd: random.Random) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
        # Skewed like real traffic: a few hot targets; values up/down/clear, so changes and repeats abound.
        out = []
        for _ in range(n):
            target = self.targets[min(int(rnd.paretovariate(1.0)) - 1, len(self.targets) - 1)]
            out.append(self.vote(rnd.choice(self.voters), target, rnd.choice((1, 1, 1, -1, -1, 0))))
        return out

    def truth(self) -> dict[uuid.UUID, tuple[int, int]]:
        ups = dict.fromkeys(self.targets, 0)
        downs = dict.fromkeys(self.targets, 0)
        for (_, target), value in self.last.items():
            if value == 1:
                ups[target] += 1
            elif value == -1:
                downs[target] += 1
        return {t: (ups[t], downs[t]) for t in self.targets if (t in {k[1] for k in self.last})}


async def produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, key=k, value=v, headers=h) for k, v, h in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


class Voting:
    """The run's database (voting schema) and votes topic, as the tests see them."""

    def __init__(self, test_infra: Any) -> None:
        self.infra = test_infra
        self.topic = VOTES.qualified(test_infra.prefix)

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.infra.database_url)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        conn = await asyncpg.connect(self.infra.database_url)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    async def produce(self, messages: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]) -> None:
        await produce(self.infra.bootstrap, self.topic, messages)

    async def end_offsets(self) -> dict[int, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.infra.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            tps = [TopicPartition(self.topic, p) for p in range(VOTES.partitions)]
            return {tp.partition: o for tp, o in (await consumer.end_offsets(tps)).items()}
        finally:
            await consumer.stop()

    async def caught_up(self) -> bool:
        """Every partition's stored offset (committed with the effects) is at the end of the topic."""
        end = await self.end_offsets()
        rows = await self.fetch("SELECT partition, next_offset FROM voting.consumer_offsets WHERE consumer = 'voting.tally' AND topic = $1", self.topic)
        stored = {r["partition"]: r["next_offset"] for r in rows}
        return all(stored.get(p, 0) >= o for p, o in end.items())

    async def stored_total(self) -> int:
        rows = await self.fetch(
            "SELECT coalesce(sum(next_offset), 0) AS n FROM voting.consumer_offsets WHERE consumer = 'voting.tally' AND topic = $1", self.topic)
        return int(rows[0]["n"])

    async def wait_caught_up(self, timeout: float = 60.0) -> None:
        await wait_until(self.caught_up, timeout=timeout, interval=0.2)

    async def tallies(self, targets: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int]]:
        rows = await self.fetch("SELECT target_id, ups, downs FROM voting.tallies WHERE target_id = ANY($1::uuid[])", targets)
        return {r["target_id"]: (r["ups"], r["downs"]) for r in rows}

    async def ballots(self, targets: list[uuid.UUID]) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
        rows = await self.fetch("SELECT voter_id, target_id, value FROM voting.ballots WHERE target_id = ANY($1::uuid[])", targets)
        return {(r["voter_id"], r["target_id"]): r["value"] for r in rows}

    async def check(self, stream: Stream) -> None:
        """The tallies, the ballots and the last tally.updated of every target equal the ground truth."""
        truth = stream.truth()
        assert await self.tallies(stream.targets) == truth
        assert await self.ballots(stream.targets) == stream.last
        # The newest tally.updated in the outbox (same transaction as the tally) carries the final numbers.
        events = await self.fetch(
            "SELECT DISTINCT ON (key) key, convert_from(payload, 'UTF8')::jsonb AS data FROM voting.outbox "
            "WHERE type = 'tally.updated' AND key = ANY($1::text[]) ORDER BY key, (convert_from(payload, 'UTF8')::jsonb->>'version')::bigint DESC",
            [str(t) for t in stream.targets],
        )
        latest = {uuid.UUID(r["key"]): json.loads(r["data"]) for r in events}
        assert {t: (d["ups"], d["downs"]) for t, d in latest.items()} == truth
        # ... and its version and trusted score are the table's (the event and the tally commit together).
        rows = await self.fetch("SELECT target_id, version, trusted_score FROM voting.tallies WHERE target_id = ANY($1::uuid[])", stream.targets)
        assert {r["target_id"]: (r["version"], r["trusted_score"]) for r in rows} == {t: (d["version"], d["trusted_score"]) for t, d in latest.items()}
        # The trusted score is Σ value × weight over the stored ballots (each ballot keeps its decision), so a
        # target paged back in after a crash has the same trusted score.
        rows = await self.fetch(
            "SELECT t.target_id, t.trusted_score, coalesce(sum(b.value * b.weight), 0) AS expected FROM voting.tallies t "
            "LEFT JOIN voting.ballots b USING (target_id) WHERE t.target_id = ANY($1::uuid[]) GROUP BY t.target_id, t.trusted_score",
            stream.targets,
        )
        assert {r["target_id"]: r["trusted_score"] for r in rows} == {r["target_id"]: r["expected"] for r in rows}


@pytest.fixture(scope="session")
def voting(test_infra: Any) -> Voting:
    return Voting(test_infra)


def start_tally(test_infra: Any, *, batch: int = 200, ready: bool = True, **extra: str) -> processes.Proc:
    env = {"VOTING_TALLY_BATCH_SIZE": str(batch), **extra}
    p = processes.start("voting-tally", TALLY, test_infra.env, extra_env=env)
    if ready:
        p.wait_ready(timeout=90)
    return p

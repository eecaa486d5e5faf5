"""The tally consumer on the real PostgreSQL and Kafka: killed, rebalanced, fed duplicates and poison.

Votes go straight to the run's votes topic as CloudEvents (as the relay would publish them); every
test compares the stored tallies, ballots and last tally.updated with a ground truth computed by the
test itself (tests/integration/voting/conftest.py).
"""

from __future__ import annotations

import asyncio
import random
import signal
import uuid
from typing import Any

from services.catalog import DEADLETTER
from services.kit.events import CloudEvent
from services.voting.events import VOTE_CAST, VoteCast
from tests.conftest import wait_until
from tests.integration.voting.conftest import Stream, Voting, start_tally
from tests.support.kafka import headers, read_all


async def test_sigkilled_mid_batch_and_after_commit_loses_nothing_and_counts_nothing_twice(voting: Voting, test_infra: Any) -> None:
    rnd = random.Random(6)
    stream = Stream.new(n_targets=40, n_voters=120)
    await voting.produce(stream.random_votes(1500, rnd))
    # The fault hook SIGKILLs the consumer inside a batch's transaction (after its writes, before COMMIT)
    # or right after COMMIT (before the Kafka commit); more votes arrive while it is down.
    for fault, at_batch in (("mid_batch", 2), ("after_commit", 2)):
        crashed = start_tally(test_infra, ready=False, batch=100, AGORA_FAULT_TALLY_KILL=fault, AGORA_FAULT_TALLY_KILL_AT_BATCH=str(at_batch))
        assert crashed.popen.wait(120) == -9, crashed.log.read_text()[-3000:]
        await voting.produce(stream.random_votes(700, rnd))
    # ... and once at a moment nobody chose, while it is working through a backlog.
    working = start_tally(test_infra, batch=20)
    before = await voting.stored_total()
    await voting.produce(stream.random_votes(3000, rnd))
    await wait_until(lambda: _moved(voting, before + 200), timeout=120, interval=0.02)
    working.kill()
    await voting.produce(stream.random_votes(500, rnd))

    final = start_tally(test_infra)
    try:
        await voting.wait_caught_up()
        await voting.check(stream)
    finally:
        assert final.stop() == 0


async def test_two_consumers_and_a_rebalance_in_the_middle_give_the_exact_result(voting: Voting, test_infra: Any) -> None:
    rnd = random.Random(7)
    stream = Stream.new(n_targets=60, n_voters=150)
    first = start_tally(test_infra, batch=50)
    second = None
    try:
        await voting.produce(stream.random_votes(1500, rnd))
        second = start_tally(test_infra, batch=50)  # joins: the group rebalances while votes are applied
        for _ in range(4):
            await voting.produce(stream.random_votes(500, rnd))
            await asyncio.sleep(0.2)
        assert first.stop() == 0  # leaves: its partitions move to the second, mid-stream
        await voting.produce(stream.random_votes(1500, rnd))
        await voting.wait_caught_up()
        await voting.check(stream)
    finally:
        first.stop()
        if second is not None:
            assert second.stop() == 0


async def test_a_paused_consumer_that_lost_its_partitions_cannot_write_over_its_successor(voting: Voting, test_infra: Any) -> None:
    """A zombie: SIGSTOP a consumer past its session timeout, let another take its partitions and move on,
    then SIGCONT it with its stale memory and whatever it had fetched. The fence (stored offsets must be
    the ones it knows) throws its batch away; the result stays exact."""
    rnd = random.Random(10)
    stream = Stream.new(n_targets=50, n_voters=150)
    zombie = start_tally(test_infra, batch=30)
    successor = None
    try:
        before = await voting.stored_total()
        await voting.produce(stream.random_votes(3000, rnd))
        await wait_until(lambda: _moved(voting, before + 300), timeout=120, interval=0.02)
        zombie.popen.send_signal(signal.SIGSTOP)
        await voting.produce(stream.random_votes(1000, rnd))
        successor = start_tally(test_infra, batch=500)
        await voting.wait_caught_up(timeout=90)  # only the successor can get there: the zombie is frozen
        zombie.popen.send_signal(signal.SIGCONT)
        await voting.produce(stream.random_votes(1000, rnd))
        await asyncio.sleep(3)  # the zombie wakes up, tries its batch, rejoins the group
        await voting.produce(stream.random_votes(500, rnd))
        await voting.wait_caught_up()
        await voting.check(stream)
    finally:
        zombie.popen.send_signal(signal.SIGCONT)
        zombie.stop()
        if successor is not None:
            successor.stop()


async def test_a_whole_batch_redelivered_changes_nothing(voting: Voting, test_infra: Any) -> None:
    rnd = random.Random(8)
    stream = Stream.new(n_targets=30, n_voters=80)
    await voting.produce(stream.random_votes(1200, rnd))
    consumer = start_tally(test_infra, batch=500)
    try:
        await voting.wait_caught_up()
        await voting.check(stream)
        before = await voting.fetch(
            "SELECT target_id, ups, downs, trusted_score, version FROM voting.tallies WHERE target_id = ANY($1::uuid[]) ORDER BY target_id", stream.targets)
        events_before = await voting.fetch("SELECT count(*) FROM voting.outbox WHERE key = ANY($1::text[])", [str(t) for t in stream.targets])
        # Kafka redelivers: the same messages (same vote ids, same ce_ids) again, twice over.
        await voting.produce(stream.messages[:600])
        await voting.produce(stream.messages)
        await voting.wait_caught_up()
        after = await voting.fetch(
            "SELECT target_id, ups, downs, trusted_score, version FROM voting.tallies WHERE target_id = ANY($1::uuid[]) ORDER BY target_id", stream.targets)
        assert after == before  # not even the versions moved
        assert await voting.fetch("SELECT count(*) FROM voting.outbox WHERE key = ANY($1::text[])", [str(t) for t in stream.targets]) == events_before
        await voting.check(stream)
    finally:
        assert consumer.stop() == 0


async def test_poison_messages_go_to_the_dead_letter_topic_and_the_consumer_goes_on(voting: Voting, test_infra: Any) -> None:
    stream = Stream.new(n_targets=3, n_voters=10)
    target = str(stream.targets[0])
    good = CloudEvent.new(source="agora/voting", event_type=VOTE_CAST, subject=target, traceparent=None, data=VoteCast(
        vote_id=uuid.uuid4(), voter_id=stream.voters[0], target_id=stream.targets[0], target_kind="post", author_id=stream.author,
        value=1, cast_at=stream.clock))
    bad_value = dict(good.data, value=2, vote_id=str(uuid.uuid4()))
    no_voter = {k: v for k, v in good.data.items() if k != "voter_id"}
    key = target.encode()
    tag = uuid.uuid4().hex.encode()
    await voting.produce([
        (key, b"\x00not an event " + tag, []),
        (key, b"{not json " + tag, good.headers()),
        (key, CloudEvent(**{**_fields(good), "data": bad_value}).value(), good.headers()),
        (key, CloudEvent(**{**_fields(good), "data": no_voter}).value(), good.headers()),
    ])
    await voting.produce(stream.random_votes(300, random.Random(9)))
    consumer = start_tally(test_infra)
    try:
        await voting.wait_caught_up()
        await voting.check(stream)
        assert consumer.popen.poll() is None  # still running
    finally:
        assert consumer.stop() == 0
    letters = [m for m in await read_all(test_infra.bootstrap, DEADLETTER.qualified(test_infra.prefix)) if m.key == key]
    reasons = sorted(headers(m)["dlq_reason"] for m in letters)
    assert len(reasons) == 4, reasons
    assert any(r.startswith("malformed: missing header ce_specversion") for r in reasons)
    assert any(r.startswith("malformed: data is not JSON") for r in reasons)
    assert any("value must be -1, 0 or 1, not 2" in r for r in reasons)
    assert any("vote.cast without voter_id" in r for r in reasons)
    assert all(headers(m)["dlq_consumer"] == "voting.tally" and headers(m)["dlq_origin"].startswith(voting.topic + "/") for m in letters)


async def _moved(voting: Voting, total: int) -> bool:
    return await voting.stored_total() >= total


def _fields(event: CloudEvent) -> dict[str, Any]:
    return {f: getattr(event, f) for f in CloudEvent.__slots__}  # type: ignore[attr-defined]

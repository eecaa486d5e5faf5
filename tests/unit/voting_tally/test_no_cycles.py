"""The tally consumer runs with the cyclic garbage collector off (`tune_gc`): that is only sound while
its hot path makes no reference cycles, which would otherwise pile up until the hourly pass. Decoding
votes and deciding them — with every kind of manipulation in the stream, so that revisions, rings and
findings run too — must leave nothing for the collector to find."""

from __future__ import annotations

import gc
import uuid
from datetime import UTC, datetime, timedelta

import orjson

from services.kit.events import CloudEvent
from services.voting.events import VOTE_CAST, VoteCast
from services.voting.findings import FindingsCollector
from services.voting.integrity import Vote, VotePipeline
from services.voting.tally import decode_vote
from tests.unit.voting.stream import mixed


def _messages(n: int) -> list[tuple[list[tuple[str, bytes]], bytes]]:
    author, targets = uuid.uuid4(), [uuid.uuid4() for _ in range(7)]
    voters = [uuid.uuid4() for _ in range(40)] + [author]
    out = []
    for i in range(n):
        data = VoteCast(vote_id=uuid.uuid4(), voter_id=voters[i % len(voters)], target_id=targets[i % 7], target_kind="post",
                        author_id=author, value=(1, -1, 0)[i % 3], cast_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i),
                        origin=f"o{i % 5}", device="d1")
        event = CloudEvent.new(source="agora/voting", event_type=VOTE_CAST, data=data, subject=None, traceparent=None)
        out.append((event.headers(), orjson.dumps(event.data)))
    return out


def test_decoding_and_deciding_votes_leaves_no_cyclic_garbage() -> None:
    messages = _messages(600)
    events = mixed().events
    gc.collect()
    gc.disable()
    try:
        pipeline = VotePipeline()
        found = FindingsCollector()
        decided = 0
        for d in pipeline.run(events):
            found.decision(d)
            decided += 1
        votes: list[Vote] = []
        for headers, value in messages:
            decoded = decode_vote(headers, value)
            assert decoded is not None
            votes.append(decoded[0])
        for i in range(0, len(votes), 50):
            for d in pipeline.decide_batch(votes[i:i + 50], 1):
                found.decision(d)
                decided += 1
            for r in pipeline.drain().revisions:
                found.revision(r)
        del votes, messages, events
        garbage = gc.collect()
    finally:
        gc.enable()
    assert decided > 600  # the stream was decided, manipulation and all
    assert found.revisions and found.suspects
    assert garbage == 0

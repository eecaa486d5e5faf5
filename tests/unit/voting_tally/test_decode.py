"""The tally consumer's edge: what a vote.cast message must look like, and the reason a poison one gets."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pytest

from services.kit.events import CloudEvent
from services.voting.events import VOTE_CAST, VoteCast
from services.voting.tally import Poison, decode_vote


def _message(**change: object) -> tuple[list[tuple[str, bytes]], bytes]:
    data = VoteCast(vote_id=uuid.uuid4(), voter_id=uuid.uuid4(), target_id=uuid.uuid4(), target_kind="post", author_id=uuid.uuid4(),
                    value=1, cast_at=datetime(2026, 1, 1, 12, tzinfo=UTC), origin="o1", device="d1")
    event = CloudEvent.new(source="agora/voting", event_type=VOTE_CAST, data=data, subject=None, traceparent=None)
    body = dict(event.data, **change)
    return event.headers(), orjson.dumps({k: v for k, v in body.items() if v is not _DROP})


_DROP = object()


def test_a_valid_vote_decodes_to_the_pipeline_vote_and_its_target_kind() -> None:
    headers, value = _message()
    decoded = decode_vote(headers, value)
    assert decoded is not None
    vote, kind = decoded
    data = orjson.loads(value)
    assert (vote.vote_id, vote.voter, vote.target, vote.target_author, vote.value, kind) == (
        data["vote_id"], data["voter_id"], data["target_id"], data["author_id"], 1, "post")
    assert vote.at == datetime(2026, 1, 1, 12, tzinfo=UTC).timestamp()
    assert (vote.origin, vote.device) == ("o1", "d1")


def test_other_event_types_are_skipped_not_dead_lettered() -> None:
    headers, value = _message()
    headers = [(k, b"vote.revised" if k == "ce_type" else v) for k, v in headers]
    assert decode_vote(headers, value) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"value": 2}, "value must be -1, 0 or 1, not 2"),
        ({"value": True}, "value must be -1, 0 or 1"),
        ({"value": "1"}, "value must be -1, 0 or 1"),
        ({"voter_id": _DROP}, "vote.cast without voter_id"),
        ({"target_id": "not-a-uuid"}, "target_id is not a UUID"),
        ({"author_id": 7}, "author_id is not a UUID"),
        ({"cast_at": "yesterday"}, "bad cast_at"),
        ({"cast_at": "2026-01-01T12:00:00"}, "has no time zone"),
        ({"target_kind": ""}, "bad target_kind"),
    ],
)
def test_wrong_schema_is_poison_with_a_reason(change: dict[str, object], reason: str) -> None:
    headers, value = _message(**change)
    with pytest.raises(Poison, match=reason):
        decode_vote(headers, value)


def test_not_a_cloudevent_or_not_json_is_poison() -> None:
    headers, value = _message()
    with pytest.raises(Poison, match="missing header ce_specversion"):
        decode_vote([], value)
    with pytest.raises(Poison, match="data is not JSON"):
        decode_vote(headers, b"{oops")
    with pytest.raises(Poison, match="must be a JSON object"):
        decode_vote(headers, b"[1, 2]")
    with pytest.raises(Poison, match="missing header ce_id"):
        decode_vote([(k, v) for k, v in headers if k != "ce_id"], value)

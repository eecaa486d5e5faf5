"""CloudEvents binary mode: what goes into Kafka headers comes back out; malformed messages are refused."""

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from services.kit import tracing
from services.kit.events import CloudEvent, EventType, MalformedEvent
from services.kit.topics import Topic


class Thing(BaseModel):
    thing_id: uuid.UUID
    at: datetime


THING = EventType("thing.happened", Topic("t", 1, "k", "d"), Thing, "test", version="2")


def test_round_trip_through_kafka_headers() -> None:
    data = Thing(thing_id=uuid.uuid4(), at=datetime.now(UTC))
    tp = tracing.new_traceparent()
    ev = CloudEvent.new(source="agora/test", event_type=THING, data=data, subject="s1", traceparent=tp)
    back = CloudEvent.from_kafka(ev.headers(), ev.value())
    assert back == ev
    h = dict(ev.headers())
    assert h["ce_specversion"] == b"1.0" and h["content-type"] == b"application/json" and h["ce_dataversion"] == b"2"
    assert THING.parse(back) == data


@pytest.mark.parametrize(
    ("headers", "value", "why"),
    [
        ([], b"{}", "missing header ce_specversion"),
        ([("ce_specversion", b"0.3"), ("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"t")], b"{}", "unsupported specversion"),
        ([("ce_specversion", b"1.0"), ("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"t")], b"{not json", "not JSON"),
        ([("ce_specversion", b"1.0"), ("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"t")], b"[1]", "JSON object"),
        ([("ce_specversion", b"1.0"), ("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"t"), ("content-type", b"text/plain")], b"{}", "content-type"),
        ([("ce_specversion", b"\xff"), ("ce_id", b"1")], b"{}", "UTF-8"),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(headers: list[tuple[str, bytes]], value: bytes, why: str) -> None:
    with pytest.raises(MalformedEvent, match=why):
        CloudEvent.from_kafka(headers, value)


def test_traceparent_continues_the_trace_or_starts_one() -> None:
    incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    child = tracing.continue_trace(incoming)
    assert tracing.parse(child) == "4bf92f3577b34da6a3ce929d0e0e4736" and child != incoming
    assert tracing.parse(tracing.continue_trace("garbage")) not in (None, "4bf92f3577b34da6a3ce929d0e0e4736")
    assert tracing.parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01") is None

"""CloudEvents 1.0, binary content mode over Kafka: attributes in `ce_*` headers, `data` as the JSON value.

An `EventType` declares one kind of fact a service publishes: its CloudEvents `type` (past tense,
`profile.registered`), the topic it travels on, the pydantic model of its data and the data's version.
Consumers parse with `CloudEvent.from_kafka()` and read only the fields they need (tolerant reader).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel

from services.kit.topics import Topic

D = TypeVar("D", bound=BaseModel)
SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"


class MalformedEvent(ValueError):
    """A Kafka message that is not a valid CloudEvent in binary mode with JSON data."""


@dataclass(frozen=True)
class EventType(Generic[D]):
    type: str
    topic: Topic
    data: type[D]
    description: str
    version: str = "1"

    def parse(self, event: "CloudEvent") -> D:
        return self.data.model_validate(event.data)


@dataclass(frozen=True, slots=True)
class CloudEvent:
    id: str
    source: str
    type: str
    time: datetime
    data: dict[str, Any]
    subject: str | None = None
    dataversion: str = "1"
    traceparent: str | None = None
    specversion: str = SPECVERSION

    @classmethod
    def new(cls, *, source: str, event_type: EventType[Any], data: BaseModel, subject: str | None, traceparent: str | None) -> "CloudEvent":
        return cls(
            id=str(uuid.uuid4()),
            source=source,
            type=event_type.type,
            time=datetime.now(UTC),
            data=data.model_dump(mode="json"),
            subject=subject,
            dataversion=event_type.version,
            traceparent=traceparent,
        )

    def headers(self) -> list[tuple[str, bytes]]:
        h = [
            ("ce_specversion", self.specversion.encode()),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", self.time.isoformat().encode()),
            ("ce_dataversion", self.dataversion.encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
        if self.subject is not None:
            h.append(("ce_subject", self.subject.encode()))
        if self.traceparent:
            h.append(("ce_traceparent", self.traceparent.encode()))
        return h

    def value(self) -> bytes:
        return orjson.dumps(self.data)

    @classmethod
    def from_kafka(cls, headers: Any, value: bytes | None) -> "CloudEvent":
        try:
            h = {k: (v.decode() if v is not None else None) for k, v in (headers or ())}
        except (UnicodeDecodeError, AttributeError, ValueError) as exc:
            raise MalformedEvent(f"headers are not UTF-8: {exc}") from None
        for required in ("ce_specversion", "ce_id", "ce_source", "ce_type"):
            if not h.get(required):
                raise MalformedEvent(f"missing header {required}")
        if h["ce_specversion"] != SPECVERSION:
            raise MalformedEvent(f"unsupported specversion {h['ce_specversion']}")
        if h.get("content-type", CONTENT_TYPE).split(";")[0].strip() != CONTENT_TYPE:
            raise MalformedEvent(f"unsupported content-type {h.get('content-type')}")
        try:
            data = orjson.loads(value) if value else None
        except orjson.JSONDecodeError as exc:
            raise MalformedEvent(f"data is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise MalformedEvent("data must be a JSON object")
        try:
            time = datetime.fromisoformat(h["ce_time"]) if h.get("ce_time") else datetime.now(UTC)
        except ValueError:
            raise MalformedEvent(f"bad ce_time {h.get('ce_time')!r}") from None
        return cls(
            id=h["ce_id"], source=h["ce_source"], type=h["ce_type"], time=time, data=data,
            subject=h.get("ce_subject"), dataversion=h.get("ce_dataversion") or "1", traceparent=h.get("ce_traceparent"),
        )

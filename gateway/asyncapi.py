"""The AsyncAPI 3.0 document of Agora's Kafka topics and events, generated from the code.

Sources: `services/catalog.py` TOPICS (channels: name, partitions, key, retention) and each service's
`events.py` PUBLISHED list (messages: CloudEvents type, topic, data model's JSON schema, version). Every
message documents the CloudEvents binary-mode headers (`ce_*`) and the Kafka key.

    python -m gateway.asyncapi > docs/asyncapi.json

tests/unit/gateway/test_contracts.py fails when the committed document differs from what this prints;
the gateway serves the same document at /asyncapi.json.
"""

from __future__ import annotations

import importlib
import sys
from functools import lru_cache
from typing import Any

import orjson
from pydantic.json_schema import models_json_schema

from services.catalog import TOPICS
from services.kit.events import EventType

SERVICES = ("profiles", "connections", "content", "voting")
REF = "#/components/schemas/{model}"

CLOUDEVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes in Kafka binary content mode (values are UTF-8 strings).",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "format": "uuid", "description": "Unique per event: de-duplicate on it (delivery is at-least-once)."},
        "ce_source": {"type": "string", "description": "agora/<service>", "examples": ["agora/profiles"]},
        "ce_type": {"type": "string", "description": "The event type (past tense)."},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string", "description": "The aggregate id (equals the message key)."},
        "ce_dataversion": {"type": "string", "description": "Version of the data schema; fields are only added within a version."},
        "ce_traceparent": {"type": "string", "description": "W3C trace context of the request that caused the event."},
        "content-type": {"type": "string", "const": "application/json"},
    },
}
DEADLETTER_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "The original message's headers plus the reason it could not be applied.",
    "required": ["dlq_reason", "dlq_consumer", "dlq_origin"],
    "properties": {
        "dlq_reason": {"type": "string"},
        "dlq_consumer": {"type": "string", "description": "The consumer that rejected it."},
        "dlq_origin": {"type": "string", "description": "topic/partition/offset of the original message."},
    },
}


def published() -> list[tuple[str, EventType[Any]]]:
    """(service, event type) for every event any service publishes, in catalogue order."""
    out = []
    for service in SERVICES:
        module = importlib.import_module(f"services.{service}.events")
        out.extend((service, e) for e in module.PUBLISHED)
    return out


def document() -> dict[str, Any]:
    events = published()
    types = [e.type for _, e in events]
    duplicated = {t for t in types if types.count(t) > 1}
    if duplicated:
        raise ValueError(f"event types published twice: {sorted(duplicated)}")
    known = {t.name for t in TOPICS}
    stray = [e.type for _, e in events if e.topic.name not in known]
    if stray:
        raise ValueError(f"events on topics missing from services/catalog.py: {stray}")

    models = {e.data for _, e in events}
    keys, defs = models_json_schema([(m, "validation") for m in sorted(models, key=lambda m: m.__name__)], ref_template=REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))

    messages: dict[str, Any] = {}
    for service, e in events:
        messages[e.type] = {
            "name": e.type,
            "title": e.type,
            "summary": e.description,
            "contentType": "application/json",
            "headers": CLOUDEVENT_HEADERS,
            "payload": keys[(e.data, "validation")],
            "bindings": {"kafka": {"key": {"type": "string", "description": e.topic.key}, "bindingVersion": "0.5.0"}},
            "x-publisher": service,
            "x-dataversion": e.version,
        }
    messages["deadletter"] = {
        "name": "deadletter", "title": "dead letter",
        "summary": "A message a consumer could not decode or validate, copied as it was (value and key unchanged).",
        "headers": DEADLETTER_HEADERS, "payload": {},
    }

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in TOPICS:
        on_topic = [e for _, e in events if e.topic.name == topic.name]
        names = [e.type for e in on_topic] or (["deadletter"] if topic.name == "agora.deadletter" else [])
        kafka: dict[str, Any] = {"topic": topic.name, "partitions": topic.partitions, "bindingVersion": "0.5.0"}
        if topic.retention_ms is not None:
            kafka["topicConfiguration"] = {"retention.ms": topic.retention_ms}
        channels[topic.name] = {
            "address": topic.name,
            "title": topic.name,
            "description": f"{topic.description} Key: {topic.key}. Partitions: {topic.partitions}.",
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
            "bindings": {"kafka": kafka},
        }
        if names:
            operations[f"publish {topic.name}"] = {
                "action": "send",
                "title": f"Agora publishes to {topic.name}",
                "channel": {"$ref": f"#/channels/{topic.name}"},
                "messages": [{"$ref": f"#/channels/{topic.name}/messages/{n}"} for n in names],
            }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Agora events",
            "version": "1.0.0",
            "description": "Every Kafka topic and event type Agora publishes. Events are CloudEvents 1.0 in Kafka binary mode: "
                           "attributes in `ce_*` headers, JSON data as the value, the aggregate id as the key. Delivery is "
                           "at-least-once (de-duplicate on `ce_id`); readers ignore fields they do not know. Topic names "
                           "carry the deployment's prefix (AGORA_TOPIC_PREFIX) when one is set.",
        },
        "defaultContentType": "application/json",
        "servers": {"kafka": {"host": "kafka:9092", "protocol": "kafka", "description": "The deployment's Kafka bootstrap servers."}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


@lru_cache(maxsize=1)
def served() -> bytes:
    return orjson.dumps(document())


if __name__ == "__main__":
    sys.stdout.buffer.write(render(document()))

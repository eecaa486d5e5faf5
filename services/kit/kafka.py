"""Kafka clients configured the way Agora needs them: idempotent producers, manually committed consumers."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


def make_producer(bootstrap_servers: str, **overrides: Any) -> AIOKafkaProducer:
    # Idempotent + acks=all: a retried send never duplicates within a producer session, and an ack means durable.
    opts: dict[str, Any] = dict(
        bootstrap_servers=bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=30000,
    )
    opts.update(overrides)
    return AIOKafkaProducer(**opts)


def make_consumer(bootstrap_servers: str, group_id: str, **overrides: Any) -> AIOKafkaConsumer:
    opts: dict[str, Any] = dict(
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=1000,
        session_timeout_ms=30000,
        heartbeat_interval_ms=3000,
        max_poll_interval_ms=300000,
    )
    opts.update(overrides)
    return AIOKafkaConsumer(**opts)

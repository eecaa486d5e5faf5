"""Gateway replicas as real HTTP servers (uvicorn, in this process) on the test run's Kafka topics, and a
producer that publishes CloudEvents the way the services' relays do."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn
from aiokafka import AIOKafkaProducer

from gateway.main import create_app
from services.kit.events import CloudEvent
from tests.support.processes import free_port


class Replica:
    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, lifespan="on", log_level="warning",
                                                    ws="auto", loop="asyncio"))
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.wait_for(self.task, 20)


@pytest.fixture(scope="module")
async def replicas(settings_for: Callable[..., Any]) -> AsyncIterator[list[Replica]]:
    """Two gateway replicas, as behind a load balancer without sticky sessions."""
    started: list[Replica] = []
    for _ in range(2):
        r = Replica(create_app(settings_for("gateway", stream_heartbeat_seconds=0.5, stream_retry_ms=100)))
        await r.start()
        started.append(r)
    yield started
    for r in started:
        await r.stop()


class Publisher:
    def __init__(self, producer: AIOKafkaProducer, prefix: str) -> None:
        self.producer = producer
        self.prefix = prefix

    async def publish(self, topic: str, event_type: str, data: dict[str, Any], key: str, *, source: str = "agora/tests") -> CloudEvent:
        event = CloudEvent(id=str(uuid.uuid4()), source=source, type=event_type, time=datetime.now(UTC), data=data, subject=key)
        await self.producer.send_and_wait(self.prefix + topic, value=event.value(), key=key.encode(), headers=event.headers())
        return event


@pytest.fixture(scope="module")
async def publisher(test_infra: Any) -> AsyncIterator[Publisher]:
    producer = AIOKafkaProducer(bootstrap_servers=test_infra.bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    yield Publisher(producer, test_infra.prefix)
    await producer.stop()

"""Profiles' fixtures: the app with its own signing keys and cheap argon2, the outbox relay and the
events consumer running in-process against the test run's database and topics."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.kit.consumer import ConsumerRunner
from services.kit.db import make_sessions
from services.kit.events import CloudEvent
from services.kit.topics import Topic
from services.kit.outbox import OutboxRelay
from services.profiles import keys
from services.profiles.config import SCHEMA
from services.profiles.handlers import subscription
from services.profiles.trust import TrustPolicy
from tests.conftest import AppClient
from tests.support.kafka import headers, read_all

PASSWORD = "correct horse battery"
TEST_OVERRIDES: dict[str, Any] = dict(
    argon2_time_cost=1, argon2_memory_kib=64, argon2_parallelism=1,
    login_free_failures_per_account=3, login_free_failures_per_address=6, login_backoff_base_seconds=30,
    # Age thresholds of 0: a verified member is `member` at once; karma >= 5 makes them `trusted`.
    trust_member_age_days=0, trust_member_karma=3, trust_trusted_age_days=0, trust_trusted_karma=5,
)


@pytest.fixture(scope="session")
def keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("profiles-keys") / "signing.jwks.json"
    assert keys.generate(path)
    return path


@pytest.fixture(scope="session")
def profiles_settings(settings_for: Any, keys_file: Path) -> Any:
    return settings_for("profiles", signing_keys_file=keys_file, **TEST_OVERRIDES)


@pytest.fixture(scope="session")
async def profiles(profiles_settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The profiles app (real lifespan, real database) over ASGI."""
    from services.profiles.main import create_app

    wrapper = AppClient(create_app(profiles_settings))
    client = await wrapper.__aenter__()
    yield client
    await wrapper.__aexit__(None, None, None)


@pytest.fixture(scope="session")
async def engine(test_infra: Any) -> AsyncIterator[AsyncEngine]:
    e = create_async_engine("postgresql+asyncpg://" + test_infra.database_url.split("://", 1)[1], pool_size=2)
    yield e
    await e.dispose()


@pytest.fixture(scope="session")
async def relay(test_infra: Any) -> AsyncIterator[OutboxRelay]:
    worker = OutboxRelay(database_url=test_infra.database_url, schema=SCHEMA, bootstrap_servers=test_infra.bootstrap,
                         topic_prefix=test_infra.prefix, idle_poll_seconds=0.5)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    yield worker
    stop.set()
    await asyncio.wait_for(task, 20)


@pytest.fixture(scope="session")
async def consumer(test_infra: Any, engine: AsyncEngine, profiles_settings: Any) -> AsyncIterator[ConsumerRunner]:
    """profiles' `events` consumer (connections + tallies), as `agora consume profiles events` runs it."""
    runner = ConsumerRunner(
        subscription=subscription(TrustPolicy.from_settings(profiles_settings)), sessions=make_sessions(engine), schema=SCHEMA,
        bootstrap_servers=test_infra.bootstrap, topic_prefix=test_infra.prefix, deadletter=None,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    yield runner
    stop.set()
    await asyncio.wait_for(task, 30)


@pytest.fixture(scope="session")
async def producer(test_infra: Any) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=test_infra.bootstrap, enable_idempotence=True)
    await p.start()
    yield p
    await p.stop()


@dataclass
class Publisher:
    """Publishes CloudEvents as another service would (binary mode, real broker, the run's topic prefix)."""

    producer: AIOKafkaProducer
    prefix: str

    async def __call__(self, topic: Topic, type_name: str, data: dict[str, Any], *, key: str) -> CloudEvent:
        event = CloudEvent(id=str(uuid.uuid4()), source="agora/tests", type=type_name, time=datetime.now(UTC), data=data)
        await self.producer.send_and_wait(topic.qualified(self.prefix), value=event.value(), key=key.encode(), headers=event.headers())
        return event

    async def again(self, topic: Topic, event: CloudEvent, *, key: str) -> None:
        """Redeliver the very same event (same id), as a relay crash would."""
        await self.producer.send_and_wait(topic.qualified(self.prefix), value=event.value(), key=key.encode(), headers=event.headers())


@pytest.fixture(scope="session")
def publish(producer: AIOKafkaProducer, test_infra: Any) -> Publisher:
    return Publisher(producer, test_infra.prefix)


@dataclass
class Member:
    id: uuid.UUID
    email: str
    handle: str
    password: str
    access: str = ""
    refresh: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.access}"}


async def register(client: httpx.AsyncClient, name: str, *, password: str = PASSWORD, sign_in: bool = True) -> Member:
    handle = f"{name}_{uuid.uuid4().hex[:8]}"
    email = f"{handle}@Example.org"
    resp = await client.post("/v1/accounts", json={"email": email, "handle": handle, "password": password})
    assert resp.status_code == 201, resp.text
    member = Member(id=uuid.UUID(resp.json()["id"]), email=email, handle=handle, password=password)
    if sign_in:
        tokens = await login(client, email, password)
        member.access, member.refresh = tokens["access_token"], tokens["refresh_token"]
    return member


async def login(client: httpx.AsyncClient, email: str, password: str, *, origin: str | None = None) -> dict[str, Any]:
    resp = await client.post("/v1/sessions", json={"email": email, "password": password},
                             headers={"x-agora-client-origin": origin or uuid.uuid4().hex})
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def connection_made(a: uuid.UUID, b: uuid.UUID, at: datetime | None = None) -> dict[str, Any]:
    return {"a_id": str(a), "b_id": str(b), "provenance": "invitation", "made_at": (at or datetime.now(UTC)).isoformat()}


def connection_removed(a: uuid.UUID, b: uuid.UUID, at: datetime | None = None) -> dict[str, Any]:
    return {"a_id": str(a), "b_id": str(b), "removed_at": (at or datetime.now(UTC)).isoformat()}


async def events_for(test_infra: Any, member_id: uuid.UUID, event_type: str) -> list[dict[str, Any]]:
    """The data of every `event_type` event keyed by this member on the run's agora.profiles topic."""
    msgs = await read_all(test_infra.bootstrap, test_infra.prefix + "agora.profiles")
    return [orjson.loads(m.value) for m in msgs if m.key == str(member_id).encode() and headers(m).get("ce_type") == event_type]

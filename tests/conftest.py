"""Suite-wide fixtures: the run's own database and topic prefix on the real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.catalog import TOPICS
from services.kit.topics import ensure_topics
from tests.support import infra
from tests.support.tokens import TestIssuer


@pytest.fixture(scope="session")
def test_infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[infra.TestInfra]:
    run_id = infra.new_run_id()
    admin_url = infra.base_database_url()
    database = f"agora_test_{run_id}"
    url = infra._with_db(admin_url, database)
    infra.run(infra.create_database(admin_url, database))
    jwks = tmp_path_factory.mktemp("keys") / "jwks.json"
    ti = infra.TestInfra(database_url=url, admin_url=admin_url, database=database, bootstrap=infra.bootstrap_servers(), prefix=f"t{run_id}.", jwks_path=jwks)
    try:
        infra.migrate_all(url)
        infra.run(ensure_topics(ti.bootstrap, TOPICS, ti.prefix))
        ti.env = {
            "DATABASE_URL": url,
            "KAFKA_BOOTSTRAP_SERVERS": ti.bootstrap,
            "AGORA_TOPIC_PREFIX": ti.prefix,
            "AGORA_LOG_LEVEL": "INFO",
            # A SIGKILLed consumer keeps its partitions until its session times out: keep that short in tests.
            "AGORA_KAFKA_SESSION_TIMEOUT_MS": "6000",
        }
        yield ti
    finally:
        infra.run(infra.drop_database(admin_url, database))
        infra.run(infra.delete_topics(ti.bootstrap, ti.prefix))


@pytest.fixture(scope="session")
def issuer(test_infra: infra.TestInfra) -> TestIssuer:
    i = TestIssuer(test_infra.jwks_path)
    test_infra.env["AGORA_JWKS_URL"] = i.jwks_url
    return i


def service_settings(service: str, ti: infra.TestInfra, issuer: TestIssuer, **overrides: Any) -> Any:
    import importlib

    package = "gateway" if service == "gateway" else f"services.{service}"
    config = importlib.import_module(f"{package}.config")
    values: dict[str, Any] = dict(kafka_bootstrap_servers=ti.bootstrap, topic_prefix=ti.prefix, jwks_url=issuer.jwks_url)
    if service != "gateway":
        values["database_url"] = ti.database_url
        values["db_pool_size"] = 4
    values.update(overrides)
    return config.Settings(**values)


@pytest.fixture(scope="session")
def settings_for(test_infra: infra.TestInfra, issuer: TestIssuer) -> Any:
    return lambda service, **kw: service_settings(service, test_infra, issuer, **kw)


class AppClient:
    """An in-process app with its real lifespan (engine, database), called over ASGI."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        self._lifespan: Any = None

    async def __aenter__(self) -> httpx.AsyncClient:
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        return self.http

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()
        await self._lifespan.__aexit__(None, None, None)


@pytest.fixture(scope="session")
async def app_client(settings_for: Any) -> AsyncIterator[Any]:
    """app_client('profiles') -> an httpx client on that service's app (created once per run)."""
    import importlib

    opened: dict[str, tuple[AppClient, httpx.AsyncClient]] = {}

    async def get(service: str) -> httpx.AsyncClient:
        if service not in opened:
            package = "gateway" if service == "gateway" else f"services.{service}"
            app = importlib.import_module(f"{package}.main").create_app(settings_for(service))
            wrapper = AppClient(app)
            opened[service] = (wrapper, await wrapper.__aenter__())
        return opened[service][1]

    yield get
    for wrapper, _ in opened.values():
        await wrapper.__aexit__(None, None, None)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        if "integration" in path.parts or "e2e" in path.parts:
            item.add_marker(pytest.mark.timeout(300))


async def wait_until(predicate: Any, timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll an async predicate until it returns something truthy; fail with a clear message after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        await asyncio.sleep(interval)

"""`agora`: one command for every Agora process, so every container image runs the same way.

    agora migrate [SERVICE ...]      apply migrations (all services by default)
    agora topics                     create the Kafka topics of services/catalog.py
    agora serve SERVICE              HTTP server: profiles, connections, content, voting, gateway
    agora relay SERVICE              outbox relay of a service
    agora consume SERVICE CONSUMER   a Kafka consumer worker (e.g. `agora consume voting tally`)

Each service package has the same modules: config (Settings, SCHEMA), main (create_app), handlers
(CONSUMERS: name -> factory(settings) returning a worker with `run(stop)` and `ready`).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from pathlib import Path
from typing import Any

SERVICES = ["profiles", "connections", "content", "voting"]
HTTP = SERVICES + ["gateway"]


def _module(service: str, name: str) -> Any:
    package = "gateway" if service == "gateway" else f"services.{service}"
    return importlib.import_module(f"{package}.{name}")


def migrate(services: list[str]) -> None:
    from services.kit.migrate import upgrade
    from services.kit.settings import load_settings

    for svc in services or SERVICES:
        config = _module(svc, "config")
        settings = load_settings(config.Settings)
        upgrade(Path(config.__file__).parent / "migrations", settings.database_url, config.SCHEMA)
        print(f"migrated {svc}", file=sys.stderr)


def topics() -> None:
    from services.catalog import TOPICS
    from services.kit.settings import ProcessSettings, load_settings
    from services.kit.topics import ensure_topics

    s = load_settings(ProcessSettings)
    created = asyncio.run(ensure_topics(s.kafka_bootstrap_servers, TOPICS, s.topic_prefix))
    print(f"topics created: {', '.join(created) or 'none (all exist)'}", file=sys.stderr)


def serve(service: str) -> None:
    import uvicorn

    from services.kit.settings import load_settings

    config = _module(service, "config")
    settings = load_settings(config.Settings)
    app = _module(service, "main").create_app(settings)
    uvicorn.run(app, host=settings.http_host, port=settings.port, loop="uvloop", http="httptools",
                lifespan="on", access_log=False, log_level="warning", timeout_graceful_shutdown=15)


def relay(service: str) -> None:
    import uvloop

    from services.kit.outbox import OutboxRelay
    from services.kit.settings import load_settings
    from services.kit.worker import run_worker

    config = _module(service, "config")
    settings = load_settings(config.Settings)
    worker = OutboxRelay(database_url=settings.database_url, schema=config.SCHEMA,
                         bootstrap_servers=settings.kafka_bootstrap_servers, topic_prefix=settings.topic_prefix)
    uvloop.run(run_worker(settings, worker.run, lambda: worker.ready))


def consume(service: str, name: str) -> None:
    import uvloop

    from services.kit.settings import load_settings
    from services.kit.worker import run_worker

    config = _module(service, "config")
    consumers = _module(service, "handlers").CONSUMERS
    if name not in consumers:
        raise SystemExit(f"{service} has no consumer {name!r}; known: {', '.join(consumers) or 'none'}")
    settings = load_settings(config.Settings)

    async def main() -> None:
        worker = await consumers[name](settings)
        try:
            await run_worker(settings, worker.run, lambda: worker.ready)
        finally:
            await worker.close()

    uvloop.run(main())


def main(argv: list[str] | None = None) -> int:
    from services.kit.settings import SettingsError

    p = argparse.ArgumentParser(prog="agora", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate").add_argument("services", nargs="*", metavar="SERVICE")
    sub.add_parser("topics")
    sub.add_parser("serve").add_argument("service", choices=HTTP)
    sub.add_parser("relay").add_argument("service", choices=SERVICES)
    c = sub.add_parser("consume")
    c.add_argument("service", choices=SERVICES)
    c.add_argument("consumer")
    a = p.parse_args(argv)
    if a.command == "migrate" and set(a.services) - set(SERVICES):
        p.error(f"unknown service(s): {', '.join(sorted(set(a.services) - set(SERVICES)))}; known: {', '.join(SERVICES)}")
    try:
        if a.command == "migrate":
            migrate(a.services)
        elif a.command == "topics":
            topics()
        elif a.command == "serve":
            serve(a.service)
        elif a.command == "relay":
            relay(a.service)
        else:
            consume(a.service, a.consumer)
    except SettingsError as exc:
        print(f"agora: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Running a background worker (relay, consumer) as a process: signals, health endpoints, clean stop.

SIGTERM/SIGINT set the stop event; the worker finishes its current batch and returns. When a health
port is configured, a small HTTP server answers /healthz (process up) and /readyz (the worker says it
is connected), so Kubernetes probes workers the same way as services.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from services.kit import logs
from services.kit.errors import error_body
from services.kit.settings import ProcessSettings


def health_app(is_ready: Callable[[], bool]) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        if is_ready():
            return JSONResponse({"status": "ready"})
        return JSONResponse(error_body("not_ready", "worker is not connected yet"), status_code=503)

    return app


async def run_worker(settings: ProcessSettings, work: Callable[[asyncio.Event], Awaitable[None]], is_ready: Callable[[], bool]) -> None:
    logs.configure(settings.service_name, settings.log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = None
    tasks = [asyncio.create_task(work(stop), name="work")]
    if settings.health_port:
        config = uvicorn.Config(health_app(is_ready), host=settings.http_host, port=settings.health_port, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        tasks.append(asyncio.create_task(server.serve(), name="health"))
    try:
        await tasks[0]
    finally:
        stop.set()
        if server:
            server.should_exit = True
        await asyncio.gather(*tasks[1:], return_exceptions=True)

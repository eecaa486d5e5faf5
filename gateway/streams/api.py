"""GET /v1/streams/{channel} (Server-Sent Events) and GET /v1/streams/{channel}/ws (WebSocket): one stream.

SSE: every event is `id: <resume id>`, `event: <type>`, `data: <json>`; the stream opens with
`retry: <ms>` and a `ready` event whose id is the starting position (so a client that drops before any
event still resumes without a gap); `: heartbeat` comments keep proxies from timing the connection out.
A slow client's buffer is bounded: when it overflows the stream ends with an `overflow` event and a
retry hint, and the client reconnects with `Last-Event-ID` to catch up from Kafka.

WebSocket: the same stream as JSON text messages `{"id", "type", "event_id", "time", "subject", "data"}`
(plus `ready`, `heartbeat` and `overflow` control messages); resume with `?resume=<id>`; the token may be
`?access_token=` since browsers cannot set headers on WebSockets. A refused WebSocket gets the HTTP
error response (400/401/404/410, common error shape) instead of the upgrade.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import orjson
from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send

from gateway.config import Settings
from gateway.identity import authenticate, token_expiry
from gateway.streams.channels import parse_channel
from gateway.streams.hub import Failure, Overflow, StreamEvent, StreamHub, Subscriber
from services.kit import tracing
from services.kit.errors import AgoraError, NotFound, error_body
from services.kit.web import error_responses

router = APIRouter(tags=["streams"])

CHANNEL_DOC = "`me` (your notifications; needs a token), `topic:{tag}` (new posts in a topic) or `post:{id}` (a post's scores and comments)"


class EventStreamResponse(Response):
    """A hand-rolled streaming response: each write has a deadline and a client disconnect ends the stream at once."""

    def __init__(self, hub: StreamHub, sub: Subscriber, settings: Settings, expires_at: float | None = None) -> None:
        super().__init__(status_code=200, media_type="text/event-stream")
        self.hub, self.sub, self.settings, self.expires_at = hub, sub, settings, expires_at

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        watcher = asyncio.create_task(disconnected())
        writer = asyncio.create_task(self._write(send))
        try:
            await asyncio.wait({watcher, writer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.hub.unsubscribe(self.sub)
            for task in (watcher, writer):
                task.cancel()
            for task in (watcher, writer):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _write(self, send: Send) -> None:
        s = self.settings

        async def write(chunk: bytes, more: bool = True) -> None:
            await asyncio.wait_for(send({"type": "http.response.body", "body": chunk, "more_body": more}), s.stream_write_timeout_seconds)

        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),  # no proxy buffering: events must leave at once
        ]})
        ready = orjson.dumps({"channel": self.sub.channel.name})
        await write(f"retry: {s.stream_retry_ms}\nid: {self.sub.start_id}\nevent: ready\ndata: ".encode() + ready + b"\n\n")
        held: Any = None
        while True:
            item = held or await next_item(self.sub, s.stream_heartbeat_seconds, self.expires_at)
            held = None
            if item is None:
                await write(b": heartbeat\n\n")
                continue
            if isinstance(item, StreamEvent):
                chunks = [item.sse()]  # whatever else is queued goes out in the same write: one syscall, not one per event
                while len(chunks) < 256 and not self.sub.queue.empty():
                    more = self.sub.queue.get_nowait()
                    if not isinstance(more, StreamEvent):
                        held = more
                        break
                    chunks.append(more.sse())
                await write(b"".join(chunks))
                continue
            if isinstance(item, Expired):
                body = error_body("token_expired", "your access token expired; reconnect with a fresh one and Last-Event-ID")
            elif isinstance(item, Overflow):
                body = error_body("slow_consumer", "you fell too far behind; reconnect with Last-Event-ID to catch up")
            else:
                assert isinstance(item, Failure)
                body = error_body("stream_failed", item.message)
            await write(f"retry: {s.stream_retry_ms}\nevent: {'overflow' if isinstance(item, Overflow) else 'error'}\ndata: ".encode()
                        + orjson.dumps(body) + b"\n\n", more=False)
            return


class Expired:
    """The token that opened the stream has expired."""


async def next_item(sub: Subscriber, heartbeat: float, expires_at: float | None) -> StreamEvent | Overflow | Failure | Expired | None:
    """The subscriber's next item, None when a heartbeat is due, Expired when the token ran out."""
    wait = heartbeat
    if expires_at is not None:
        left = expires_at - time.time()
        if left <= 0:
            return Expired()
        wait = min(wait, left)
    try:
        return await asyncio.wait_for(sub.queue.get(), wait)
    except TimeoutError:
        return Expired() if expires_at is not None and time.time() >= expires_at else None


def _hub(app: Any) -> StreamHub:
    hub: StreamHub | None = getattr(app.state, "streams", None)
    if hub is None:
        raise NotFound("this gateway replica does not serve streams", code="streams_disabled")
    return hub


@router.get(
    "/v1/streams/{channel}",
    summary="Live events of a channel (Server-Sent Events), resumable with Last-Event-ID",
    description=f"Channel: {CHANNEL_DOC}. Each event's `id` is its Kafka position; reconnecting with `Last-Event-ID` "
                "delivers exactly the missed events (400 `invalid_resume_id` for a malformed id, 410 `resume_expired` outside retention). "
                "A token may also be given as `?access_token=` (EventSource cannot set headers); the stream ends with `token_expired` "
                "when it expires. The same stream is served over WebSocket at `/v1/streams/{channel}/ws` (resume with `?resume=`).",
    responses={200: {"content": {"text/event-stream": {}}, "description": "The event stream"}, **error_responses(400, 401, 404, 410, 503)},
    openapi_extra={"x-agora-auth": "optional"},  # `me` needs a member; the public channels do not
)
async def stream_sse(channel: str, request: Request) -> Any:
    principal = await authenticate(request, allow_query_token=True)
    ch = parse_channel(channel, principal)
    hub = _hub(request.app)
    resume = request.headers.get("last-event-id") or request.query_params.get("resume") or None
    sub = await hub.subscribe(ch, resume)
    return EventStreamResponse(hub, sub, request.app.state.settings, token_expiry(request, allow_query_token=True))


@router.websocket("/v1/streams/{channel}/ws")
async def stream_ws(websocket: WebSocket, channel: str) -> None:
    settings: Settings = websocket.app.state.settings
    try:
        hub = _hub(websocket.app)
        principal = await authenticate(websocket, allow_query_token=True)
        ch = parse_channel(channel, principal)
        sub = await hub.subscribe(ch, websocket.query_params.get("resume") or None)
        expires_at = token_expiry(websocket, allow_query_token=True)
    except AgoraError as exc:
        await websocket.send_denial_response(
            Response(orjson.dumps(error_body(exc.code, exc.message, exc.detail, tracing.trace_id())), status_code=exc.status,
                     headers=exc.headers, media_type="application/json")
        )
        return
    try:
        await websocket.accept()

        async def write(message: dict[str, Any] | StreamEvent) -> None:
            text = message.json() if isinstance(message, StreamEvent) else orjson.dumps(message)
            await asyncio.wait_for(websocket.send_text(text.decode()), settings.stream_write_timeout_seconds)

        async def drain_incoming() -> None:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return

        async def pump() -> None:
            await write({"type": "ready", "id": sub.start_id, "channel": ch.name})
            while True:
                item = await next_item(sub, settings.stream_heartbeat_seconds, expires_at)
                if item is None:
                    await write({"type": "heartbeat"})
                    continue
                if isinstance(item, StreamEvent):
                    await write(item)
                    continue
                if isinstance(item, Expired):
                    await write({"type": "error", "retry_ms": settings.stream_retry_ms,
                                 **error_body("token_expired", "your access token expired; reconnect with a fresh one and ?resume=<last id>")})
                elif isinstance(item, Overflow):
                    await write({"type": "overflow", "retry_ms": settings.stream_retry_ms,
                                 **error_body("slow_consumer", "you fell too far behind; reconnect with ?resume=<last id>")})
                else:
                    await write({"type": "error", "retry_ms": settings.stream_retry_ms, **error_body("stream_failed", item.message)})
                await websocket.close(code=1013)  # try again later
                return

        reader, pumper = asyncio.create_task(drain_incoming()), asyncio.create_task(pump())
        try:
            await asyncio.wait({reader, pumper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, pumper):
                task.cancel()
            for task in (reader, pumper):
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, Exception):
                    await task
    finally:
        hub.unsubscribe(sub)

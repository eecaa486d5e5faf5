"""A lean aiohttp-backed transport for httpx.AsyncClient: the httpx API, aiohttp's connection pool.

Why not httpx's default transport: it collapses under concurrent fan-out (≈ 11× slower than aiohttp on
this class of machine, encode/httpx #3215). Why not `httpx_aiohttp.AiohttpTransport` as it is: it wraps
every response body in an async byte stream that httpx then reads chunk by chunk, builds a new
`ClientTimeout` per call, and maps "connection refused" to `httpx.ConnectTimeout` (so a dead upstream
looked slow). Gateway calls read small JSON bodies whole, so this transport reads the body inside the
aiohttp context and hands httpx a finished response, and maps errors to what they are:

    refused / reset / DNS         → httpx.ConnectError        (→ 502)
    connect or read deadline      → httpx.ConnectTimeout / ReadTimeout (→ 504)
    disconnected mid-answer       → httpx.RemoteProtocolError (→ 502)

bench/gateway_fanout.py measures it against httpx_aiohttp, httpx's default transport and plain aiohttp.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp
import httpx
import orjson
from yarl import URL


class UpstreamResponse:
    """What the gateway reads of an upstream's answer, as the fast path returns it: the subset of
    `httpx.Response` the gateway uses (status_code, headers, content, json()), without building one
    (its header normalisation and byte-stream machinery cost more than the rest of a call's Python)."""

    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: Any, content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers  # aiohttp's case-insensitive multidict: .items(), .get(name)
        self.content = content

    def json(self) -> Any:
        return orjson.loads(self.content)  # orjson.JSONDecodeError is a ValueError, like httpx's


class LeanAiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_connections: int = 100, keepalive_seconds: float = 15.0) -> None:
        self.max_connections = max_connections
        self.keepalive_seconds = keepalive_seconds
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, float | None], aiohttp.ClientTimeout] = {}

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # created on first use, inside the running loop
            connector = aiohttp.TCPConnector(limit=self.max_connections, keepalive_timeout=self.keepalive_seconds, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        t = request.extensions.get("timeout", {})
        key = (t.get("connect"), t.get("read"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(sock_connect=key[0], sock_read=key[1])
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        status, raw_headers, content = await self._exchange(
            request.method, URL(str(request.url), encoded=True), request.headers.multi_items(), request.content or None,
            self._timeout(request), request,
        )
        # Bytes as sent: httpx decodes a Content-Encoding itself when it builds the response.
        return httpx.Response(status, headers=raw_headers, content=content, request=request, extensions={"http_version": b"HTTP/1.1"})

    async def fetch(self, method: str, url: str, headers: Mapping[str, str] | None, content: bytes | None,
                    timeout: aiohttp.ClientTimeout) -> UpstreamResponse:
        """The gateway's fast path (gateway.upstreams.Upstream): the same exchange and error mapping as
        `handle_async_request`, without building an `httpx.Request` and `httpx.Response` (URL parsing,
        header normalisation and byte streams were ~40% of the gateway's client CPU per call)."""
        status, headers_in, body = await self._exchange(method, URL(url, encoded=True), headers, content, timeout, None, parsed=True)
        return UpstreamResponse(status, headers_in, body)

    @staticmethod
    def client_timeout(connect: float | None, read: float | None) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(sock_connect=connect, sock_read=read)

    async def _exchange(self, method: str, url: URL, headers: Any, body: bytes | None, timeout: aiohttp.ClientTimeout,
                        request: httpx.Request | None, *, parsed: bool = False) -> tuple[int, Any, bytes]:
        """(status, headers — raw byte pairs, or aiohttp's multidict when `parsed` —, body)."""
        try:
            async with self._client().request(
                method, url, headers=headers, data=body, allow_redirects=False, timeout=timeout, compress=False,
            ) as response:
                return response.status, response.headers if parsed else response.raw_headers, await response.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
        except (aiohttp.SocketTimeoutError, aiohttp.ServerTimeoutError, asyncio.TimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientResponseError) as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

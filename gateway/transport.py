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

import aiohttp
import httpx
from yarl import URL


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
        body = request.content or None
        try:
            async with self._client().request(
                request.method, URL(str(request.url), encoded=True), headers=request.headers.multi_items(), data=body,
                allow_redirects=False, timeout=self._timeout(request), compress=False,
            ) as response:
                content = await response.read()
                status, raw_headers = response.status, response.raw_headers
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
        # Bytes as sent: httpx decodes a Content-Encoding itself when it builds the response.
        return httpx.Response(status, headers=raw_headers, content=content, request=request, extensions={"http_version": b"HTTP/1.1"})

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

"""Routing of /v1/... to the service that owns the resource, keeping the upstream's status and error shape.

The first path segment after /v1 names the resource; `ROUTES` says which service owns it. The caller's
Authorization and traceparent travel on; the client's address and user agent reach voting only as salted
hashes (for its shared-origin checks), and clients cannot set those headers themselves.
"""

from __future__ import annotations

import hashlib

import httpx
from fastapi import APIRouter, Request, Response

from gateway.config import Settings
from services.kit import tracing
from services.kit.errors import BadGateway, GatewayTimeout, NotFound

ROUTES: dict[str, str] = {
    "accounts": "profiles", "sessions": "profiles", "profiles": "profiles", "members": "profiles", "me": "profiles",
    "follows": "connections", "connections": "connections", "invitations": "connections", "blocks": "connections",
    "introductions": "connections", "suggestions": "connections", "degrees": "connections", "conversations": "connections",
    "posts": "content", "comments": "content", "feeds": "content", "topics": "content", "search": "content",
    "votes": "voting", "tallies": "voting", "moderation": "voting",
}
FORWARDED_REQUEST_HEADERS = ("authorization", "content-type", "accept", "if-none-match", "last-event-id")
FORWARDED_RESPONSE_HEADERS = ("content-type", "retry-after", "location", "etag", "www-authenticate")

router = APIRouter(include_in_schema=False)


def client_hash(value: str, salt: str) -> str:
    return hashlib.blake2b(f"{salt}:{value}".encode(), digest_size=16).hexdigest()


@router.api_route("/v1/{resource}/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@router.api_route("/v1/{resource}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def forward(resource: str, request: Request, rest: str = "") -> Response:
    service = ROUTES.get(resource)
    if service is None:
        raise NotFound(f"no such resource /v1/{resource}", code="route_not_found")
    settings: Settings = request.app.state.settings
    client: httpx.AsyncClient = request.app.state.upstreams[service]
    headers = {k: v for k, v in request.headers.items() if k in FORWARDED_REQUEST_HEADERS}
    headers["traceparent"] = tracing.current_traceparent.get() or tracing.new_traceparent()
    if service == "voting":
        address = request.client.host if request.client else "unknown"
        headers["x-agora-client-origin"] = client_hash(address, settings.client_hash_salt)
        headers["x-agora-client-device"] = client_hash(request.headers.get("user-agent", ""), settings.client_hash_salt)
    path = request.url.path
    try:
        upstream = await client.request(request.method, path, params=request.query_params, headers=headers, content=await request.body())
    except httpx.TimeoutException:
        raise GatewayTimeout(f"{service} did not answer in time") from None
    except httpx.TransportError:
        raise BadGateway(f"{service} is unavailable") from None
    out = {k: v for k, v in upstream.headers.items() if k.lower() in FORWARDED_RESPONSE_HEADERS}
    return Response(content=upstream.content, status_code=upstream.status_code, headers=out)

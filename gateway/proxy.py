"""Routing of /v1/... to the service that owns the resource, keeping the upstream's status and error shape.

The first path segment after /v1 names the resource; `ROUTES` says which service owns it. In order, a
request is: authenticated (`gateway.identity`: a bad token is a 401 here), rate limited if it is a
write that has a limit (`gateway.ratelimits`: 429), then forwarded through the upstream's retry policy
and circuit breaker (`gateway.upstreams`: 502/504 when the upstream is unreachable/slow). The caller's
Authorization and traceparent travel on, with the verified member id; the client's address and user
agent reach voting only as salted hashes (for its shared-origin checks), and clients cannot set those
headers themselves.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from gateway.config import Settings
from gateway.forwarding import upstream_headers
from gateway.identity import authenticate, client_address
from gateway.ratelimits import TokenBuckets, limit_for
from gateway.upstreams import Upstream
from services.kit.errors import NotFound

ROUTES: dict[str, str] = {
    "accounts": "profiles", "sessions": "profiles", "profiles": "profiles", "members": "profiles", "me": "profiles",
    "follows": "connections", "connections": "connections", "invitations": "connections", "blocks": "connections",
    "introductions": "connections", "suggestions": "connections", "degrees": "connections", "conversations": "connections",
    "posts": "content", "comments": "content", "feeds": "content", "topics": "content", "search": "content",
    "votes": "voting", "tallies": "voting", "moderation": "voting",
}
FORWARDED_RESPONSE_HEADERS = ("content-type", "retry-after", "location", "etag", "www-authenticate", "cache-control")

router = APIRouter(include_in_schema=False)


@router.api_route("/v1/{resource}/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@router.api_route("/v1/{resource}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def forward(resource: str, request: Request, rest: str = "") -> Response:
    service = ROUTES.get(resource)
    if service is None:
        raise NotFound(f"no such resource /v1/{resource}", code="route_not_found")
    settings: Settings = request.app.state.settings
    principal = await authenticate(request)
    address = client_address(request, settings)
    limit = limit_for(request.method, resource) if settings.rate_limits_enabled else None
    if limit is not None:
        buckets: TokenBuckets = request.app.state.rate_limits
        buckets.check(limit, member=str(principal.member_id) if principal else None, address=address)

    upstream: Upstream = request.app.state.upstreams[service]
    headers = upstream_headers(request, principal, service, address=address)
    path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path  # as sent: %2F stays %2F
    response = await upstream.request(request.method, path, query=request.url.query, headers=headers, content=await request.body())
    out = {k: v for k, v in response.headers.items() if k.lower() in FORWARDED_RESPONSE_HEADERS}
    return Response(content=response.content, status_code=response.status_code, headers=out)

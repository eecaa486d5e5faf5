"""What a call to an upstream carries on behalf of the caller — shared by the proxy and the views.

The caller's Authorization (upstreams verify it again) and an allow-list of request headers, the
request's traceparent (a new trace if none), the verified member id in `x-agora-member-id`, and, for
voting and profiles only, the caller's address and user agent as salted hashes (voting's shared-origin
checks, profiles' per-address sign-in throttling) — never the raw values. Clients cannot set any
`x-agora-*` header themselves: only the allow-list is copied from the incoming request.
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request

from gateway.config import Settings
from gateway.identity import MEMBER_HEADER, client_address
from services.kit import tracing
from services.kit.auth import Principal

# What the proxy copies from the client's request. Views copy only the Authorization: their upstream
# calls are reads the gateway composes, and a client's If-None-Match or Accept belongs to the view.
FORWARDED_REQUEST_HEADERS = ("authorization", "content-type", "accept", "if-none-match", "last-event-id")
VIEW_REQUEST_HEADERS = ("authorization",)


def client_hash(value: str, salt: str) -> str:
    return hashlib.blake2b(f"{salt}:{value}".encode(), digest_size=16).hexdigest()


def upstream_headers(request: Request, principal: Principal | None, service: str, *,
                     copy: tuple[str, ...] = FORWARDED_REQUEST_HEADERS, address: str | None = None) -> dict[str, str]:
    """The headers of a call to `service` made for this request's caller."""
    settings: Settings = request.app.state.settings
    headers = {k: v for k, v in request.headers.items() if k in copy}
    headers["traceparent"] = tracing.current_traceparent.get() or tracing.new_traceparent()
    if principal is not None:
        headers[MEMBER_HEADER] = str(principal.member_id)
    if service in ("voting", "profiles"):
        origin = address if address is not None else client_address(request, settings)
        headers["x-agora-client-origin"] = client_hash(origin, settings.client_hash_salt)
    if service == "voting":
        headers["x-agora-client-device"] = client_hash(request.headers.get("user-agent", ""), settings.client_hash_salt)
    return headers

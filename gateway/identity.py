"""Who is calling: the gateway verifies access tokens itself (kit's TokenVerifier against the JWKS that
profiles publishes, cached, refetched on an unknown key id) before anything reaches an upstream.

- no Authorization header: anonymous; the request goes on and the upstream decides whether the route
  allows anonymous callers;
- a malformed, forged, expired or unknown-key token: 401 in the common error shape, here, at the gateway;
- a valid token: the request goes on with the token (upstreams verify it again: defence in depth) and
  the verified member id in `x-agora-member-id` (for logs; clients cannot set it, the header is not
  copied from the incoming request).

Browsers cannot put headers on EventSource/WebSocket requests, so stream routes also take the token as
`?access_token=`.
"""

from __future__ import annotations

from collections.abc import Mapping

import jwt
from fastapi import FastAPI
from starlette.requests import HTTPConnection

from gateway.config import Settings
from services.kit.auth import Principal, TokenVerifier, bearer_token
from services.kit.errors import Unauthorized

MEMBER_HEADER = "x-agora-member-id"


def make_verifier(settings: Settings) -> TokenVerifier:
    # An unknown key id (a key rotated in on profiles) triggers a refetch at most every jwks_refresh_seconds:
    # fresh keys are picked up within seconds, and a flood of forged key ids costs profiles one fetch per interval.
    return TokenVerifier(settings.jwks(), min_refresh_seconds=settings.jwks_refresh_seconds)


def verifier(app: FastAPI) -> TokenVerifier:
    v: TokenVerifier | None = getattr(app.state, "verifier", None)
    if v is None:
        v = app.state.verifier = make_verifier(app.state.settings)
    return v


def _token(conn: HTTPConnection, allow_query_token: bool) -> str | None:
    header = conn.headers.get("authorization")
    if header:
        return bearer_token(header)
    if allow_query_token and conn.query_params.get("access_token"):
        return conn.query_params["access_token"]
    return None


async def authenticate(conn: HTTPConnection, *, allow_query_token: bool = False) -> Principal | None:
    """The verified caller, or None when anonymous. Raises Unauthorized (401) for a bad token."""
    token = _token(conn, allow_query_token)
    return None if token is None else await verifier(conn.app).verify(token)


def token_expiry(conn: HTTPConnection, *, allow_query_token: bool = False) -> float | None:
    """When the caller's (already verified) token expires, as a Unix time; None when anonymous.

    A long-lived stream must not outlive the token that opened it: the stream ends at this time and
    the client reconnects with a fresh token (and its last event id, losing nothing).
    """
    token = _token(conn, allow_query_token)
    if token is None:
        return None
    exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    return float(exp) if isinstance(exp, (int, float)) else None


def require(principal: Principal | None, what: str) -> Principal:
    if principal is None:
        raise Unauthorized(f"sign in: {what} needs 'Authorization: Bearer <access token>'", code="unauthenticated",
                           headers={"WWW-Authenticate": "Bearer"})
    return principal


def client_address(conn: HTTPConnection, settings: Settings) -> str:
    """The caller's address: the socket peer, or, behind a trusted proxy, the last X-Forwarded-For hop it added."""
    if settings.trust_forwarded_for:
        forwarded: Mapping[str, str] = conn.headers
        hops = [h.strip() for h in forwarded.get("x-forwarded-for", "").split(",") if h.strip()]
        if hops:
            return hops[-1]
    return conn.client.host if conn.client else "unknown"

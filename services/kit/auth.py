"""Access-token verification: every service and the gateway check tokens themselves, against a JWKS.

Tokens are JWTs signed with an asymmetric key (EdDSA/Ed25519 by default, RS256 accepted); the issuer
publishes the public keys as a JWKS. The verifier caches the key set and refetches it when a token names
an unknown key id (at most once per `min_refresh_seconds`), so keys rotate without restarts and without
invalidating unexpired tokens signed by an older key still in the set. `file://` URLs serve tests and
air-gapped deployments.

Verifying a signature costs ≈ 0.2 ms of CPU (the Ed25519 check alone ≈ 0.1 ms), a large share of a cheap
request, and a client sends the same token with every request until it expires. So a verified token is
remembered (a bounded LRU keyed by the token string) until its `exp`: a repeat costs a dict lookup. Only
time can turn a valid token invalid (`exp`; `iat`/`nbf` only become valid), and a token whose key id has
left the key set is verified afresh, so the cache answers exactly as a full verification would.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson

from services.kit.errors import Unauthorized

ISSUER = "agora"
AUDIENCE = "agora"
ALGORITHMS = ["EdDSA", "RS256", "ES256"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the member id from the token's `sub`, and the token's id."""

    member_id: uuid.UUID
    token_id: str | None
    scopes: frozenset[str]


class TokenVerifier:
    def __init__(self, jwks_url: str, *, min_refresh_seconds: float = 30.0, leeway_seconds: float = 5.0, cache_size: int = 10_000) -> None:
        self.jwks_url = jwks_url
        self.min_refresh_seconds = min_refresh_seconds
        self.leeway = leeway_seconds
        self.cache_size = cache_size
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        # token -> (principal, exp, key id) of tokens verified before, least recently used first
        self._verified: OrderedDict[str, tuple[Principal, float, str]] = OrderedDict()

    async def _fetch(self) -> dict[str, Any]:
        if self.jwks_url.startswith("file://"):
            return orjson.loads(await asyncio.to_thread(Path(self.jwks_url[7:]).read_bytes))
        async with httpx.AsyncClient(timeout=5.0) as client:
            resp = await client.get(self.jwks_url)
            resp.raise_for_status()
            return resp.json()

    async def refresh(self, *, force: bool = False) -> None:
        async with self._lock:
            if not force and time.monotonic() - self._fetched_at < self.min_refresh_seconds and self._keys:
                return
            try:
                doc = await self._fetch()
            except (OSError, httpx.HTTPError, ValueError) as exc:
                if not self._keys:
                    raise Unauthorized("token keys are unavailable; try again shortly", code="keys_unavailable") from exc
                return
            keys = {}
            for k in doc.get("keys", []):
                if k.get("kid") and k.get("use", "sig") == "sig":
                    try:
                        keys[k["kid"]] = jwt.PyJWK(k)
                    except jwt.PyJWKError:
                        continue
            self._keys = keys
            self._fetched_at = time.monotonic()

    async def key_for(self, kid: str) -> jwt.PyJWK:
        if kid not in self._keys:
            await self.refresh(force=time.monotonic() - self._fetched_at >= self.min_refresh_seconds or not self._keys)
        key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("access token signed by an unknown key", code="invalid_token")
        return key

    async def verify(self, token: str) -> Principal:
        hit = self._verified.get(token)
        if hit is not None:
            principal, exp, kid = hit
            # PyJWT refuses a token once exp <= now - leeway; a key that left the key set is checked afresh.
            if exp > time.time() - self.leeway and kid in self._keys:
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        principal, exp, kid = await self._verify(token)
        if self.cache_size > 0:
            self._verified[token] = (principal, exp, kid)
            if len(self._verified) > self.cache_size:
                self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float, str]:
        """The full check: (principal, the token's exp, its key id), or Unauthorized."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("malformed access token", code="invalid_token") from None
        kid = header.get("kid")
        if not kid or header.get("alg") not in ALGORITHMS:
            raise Unauthorized("access token has no key id or an unsupported algorithm", code="invalid_token")
        key = await self.key_for(kid)
        try:
            claims = jwt.decode(
                token, key=key.key, algorithms=[header["alg"]], audience=AUDIENCE, issuer=ISSUER,
                leeway=self.leeway, options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("access token expired; refresh it", code="token_expired") from None
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid access token: {exc}", code="invalid_token") from None
        if claims.get("typ", "access") != "access":
            raise Unauthorized("not an access token", code="invalid_token")
        try:
            member = uuid.UUID(claims["sub"])
        except (ValueError, TypeError):
            raise Unauthorized("access token subject is not a member id", code="invalid_token") from None
        principal = Principal(member_id=member, token_id=claims.get("jti"), scopes=frozenset(str(claims.get("scope", "")).split()))
        return principal, float(claims["exp"]), kid


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("sign in: this endpoint needs 'Authorization: Bearer <access token>'", code="unauthenticated", headers={"WWW-Authenticate": "Bearer"})
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <access token>'", code="unauthenticated", headers={"WWW-Authenticate": "Bearer"})
    return token.strip()

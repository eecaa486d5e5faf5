"""kit's TokenVerifier remembers verified tokens (a repeat skips the signature check), yet answers as a full
verification would: an expired token, or one whose key left the key set, is refused even if it was
verified before; the memory is bounded."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import jwt
import pytest

from services.kit.auth import TokenVerifier
from services.kit.errors import Unauthorized
from tests.support import tokens


def _counting_decode(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = jwt.decode

    def decode(token: str, *args: object, **kwargs: object) -> object:
        calls.append(token)
        return real(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", decode)
    return calls


async def test_a_repeated_token_is_not_verified_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    issuer = tokens.TestIssuer(tmp_path / "jwks.json")
    verifier = TokenVerifier(issuer.jwks_url)
    calls = _counting_decode(monkeypatch)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    a, b = issuer.token(alice, scope="moderation"), issuer.token(bob)
    first = await verifier.verify(a)
    assert first.member_id == alice and first.scopes == frozenset({"moderation"})
    assert await verifier.verify(a) == first
    assert (await verifier.verify(b)).member_id == bob
    assert len(calls) == 2


async def test_an_expired_token_is_refused_though_it_was_verified_before(tmp_path: Path) -> None:
    issuer = tokens.TestIssuer(tmp_path / "jwks.json")
    verifier = TokenVerifier(issuer.jwks_url, leeway_seconds=0)
    token = issuer.token(uuid.uuid4(), ttl=1)
    await verifier.verify(token)
    await asyncio.sleep(1.1)
    with pytest.raises(Unauthorized) as refused:
        await verifier.verify(token)
    assert refused.value.code == "token_expired"


async def test_a_token_whose_key_left_the_key_set_is_refused(tmp_path: Path) -> None:
    old = tokens.TestIssuer(tmp_path / "old.json")
    new = tokens.TestIssuer(tmp_path / "new.json")
    jwks = tmp_path / "jwks.json"
    jwks.write_text((tmp_path / "old.json").read_text())
    verifier = TokenVerifier(f"file://{jwks}")
    token = old.token(uuid.uuid4())
    await verifier.verify(token)
    jwks.write_text((tmp_path / "new.json").read_text())  # the old key is rotated out
    await verifier.refresh(force=True)
    assert json.loads(jwks.read_text())["keys"][0]["kid"] == new.kid
    with pytest.raises(Unauthorized) as refused:
        await verifier.verify(token)
    assert refused.value.code == "invalid_token"


async def test_the_memory_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    issuer = tokens.TestIssuer(tmp_path / "jwks.json")
    verifier = TokenVerifier(issuer.jwks_url, cache_size=2)
    calls = _counting_decode(monkeypatch)
    a, b, c = (issuer.token(uuid.uuid4()) for _ in range(3))
    for token in (a, b, a, c, a, b):  # b is the least recently used when c arrives
        await verifier.verify(token)
    assert calls == [a, b, c, b]

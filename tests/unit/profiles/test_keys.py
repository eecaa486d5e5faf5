"""Signing-key files: generate (mode 600, never overwritten), rotate (new key first, old ones kept),
reload by a running key ring, and tokens verifiable by kit's TokenVerifier from the public JWKS."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import jwt
import pytest

from services.kit.auth import TokenVerifier
from services.profiles import keys


def test_generate_creates_a_private_file_once(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "keys.json"
    assert keys.main(["generate", str(path)]) == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    before = path.read_text()
    assert keys.main(["generate", str(path)]) == 0
    assert path.read_text() == before
    (key,) = json.loads(before)["keys"]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["d"] and key["kid"] and key["alg"] == "EdDSA"


def test_rotate_puts_the_new_key_first_and_keeps_the_old(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    keys.generate(path)
    old = json.loads(path.read_text())["keys"][0]["kid"]
    new = keys.rotate(path)
    kids = [k["kid"] for k in json.loads(path.read_text())["keys"]]
    assert kids == [new, old]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert keys.KeyRing.from_file(path).current.kid == new


def test_rotate_refuses_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text('{"keys": [{"kid": "x"}]}')
    assert keys.main(["rotate", str(path)]) == 1
    assert path.read_text() == '{"keys": [{"kid": "x"}]}'
    assert keys.main(["explode", str(path)]) == 2


def test_missing_file_names_the_command_that_creates_it(tmp_path: Path) -> None:
    with pytest.raises(keys.KeyFileError, match="generate"):
        keys.KeyRing.from_file(tmp_path / "absent.json")


def test_public_jwks_has_no_private_part(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    keys.generate(path)
    keys.rotate(path)
    doc = keys.KeyRing.from_file(path).public_jwks()
    assert len(doc["keys"]) == 2
    assert all("d" not in k and k["use"] == "sig" and k["alg"] == "EdDSA" for k in doc["keys"])


def test_ring_reloads_a_rotated_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    keys.generate(path)
    ring = keys.KeyRing.from_file(path, reload_interval=0.0)
    new = keys.rotate(path)
    assert ring.reload_if_changed() and ring.current.kid == new
    path.write_text("not json")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert not ring.reload_if_changed() and ring.current.kid == new  # a broken file keeps the keys in use


async def test_signed_tokens_pass_kit_verifier(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    keys.generate(path)
    ring = keys.KeyRing.from_file(path)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(ring.public_jwks()))
    now = int(time.time())
    member = "8a6e0804-2bd0-4672-b79d-d97027f55e0d"
    token = ring.sign({"iss": "agora", "aud": "agora", "sub": member, "iat": now, "exp": now + 60, "jti": "j", "typ": "access"})
    assert jwt.get_unverified_header(token)["kid"] == ring.current.kid
    principal = await TokenVerifier(f"file://{jwks}").verify(token)
    assert str(principal.member_id) == member

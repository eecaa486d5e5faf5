"""Access-token signing keys: a JSON JWK set of Ed25519 private keys in a file, newest first.

    python -m services.profiles.keys generate PATH   create PATH (mode 600) with one key, if it is missing
    python -m services.profiles.keys rotate PATH     put a new signing key first; older keys stay published

The first key signs; every key in the file is published (public half only) at /.well-known/jwks.json,
so after a rotation tokens signed by an older key keep verifying until they expire. Drop an old key from
the file only after `access_token_ttl_seconds` has passed since the rotation. A running service notices
a rewritten file (mtime/size) within `reload_interval` seconds, without a restart.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

ALGORITHM = "EdDSA"


class KeyFileError(RuntimeError):
    """The signing-key file is missing, unreadable or holds no usable Ed25519 private key."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    def public_jwk(self) -> dict[str, Any]:
        jwk = json.loads(OKPAlgorithm.to_jwk(self.private.public_key()))
        jwk.update(kid=self.kid, use="sig", alg=ALGORITHM)
        return jwk


def new_key() -> dict[str, Any]:
    private = Ed25519PrivateKey.generate()
    jwk = json.loads(OKPAlgorithm.to_jwk(private))
    kid = f"{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
    jwk.update(kid=kid, use="sig", alg=ALGORITHM, created_at=datetime.now(UTC).isoformat())
    return jwk


def parse_key_set(doc: Any) -> list[SigningKey]:
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise KeyFileError('signing-key file must be a JSON object {"keys": [...]}')
    keys = []
    for jwk in doc["keys"]:
        if not isinstance(jwk, dict) or not jwk.get("kid") or "d" not in jwk:
            raise KeyFileError("every signing key needs a kid and its private part (d)")
        try:
            private = OKPAlgorithm.from_jwk(json.dumps(jwk))
        except (jwt.InvalidKeyError, ValueError, TypeError) as exc:
            raise KeyFileError(f"key {jwk.get('kid')}: {exc}") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyFileError(f"key {jwk['kid']} is not an Ed25519 private key")
        keys.append(SigningKey(kid=str(jwk["kid"]), private=private))
    if not keys:
        raise KeyFileError("signing-key file holds no keys")
    if len({k.kid for k in keys}) != len(keys):
        raise KeyFileError("signing-key file has duplicate kids")
    return keys


def _write_private(path: Path, doc: dict[str, Any]) -> None:
    # Write a sibling file created with mode 600, then rename: readers never see a half-written key set.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh, indent=2)
    os.replace(tmp, path)


def generate(path: Path) -> bool:
    """Create the key file with one key; False (and nothing touched) when it already exists."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_private(path, {"keys": [new_key()]})
    return True


def rotate(path: Path) -> str:
    """Add a new signing key in front of the existing ones; returns its kid."""
    doc = json.loads(path.read_text())
    parse_key_set(doc)  # refuse to rewrite a file we could not load
    key = new_key()
    doc["keys"].insert(0, key)
    _write_private(path, doc)
    return str(key["kid"])


class KeyRing:
    """The keys a running service signs with and publishes; reloads its file when it changes."""

    def __init__(self, keys: list[SigningKey], *, path: Path | None = None, reload_interval: float = 5.0) -> None:
        self.keys = keys
        self.path = path
        self.reload_interval = reload_interval
        self._stamp = self._file_stamp()
        self._checked_at = time.monotonic()

    @classmethod
    def from_file(cls, path: Path, **kw: Any) -> "KeyRing":
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError:
            raise KeyFileError(f"signing-key file {path} does not exist; create it with `python -m services.profiles.keys generate {path}`") from None
        except (OSError, ValueError) as exc:
            raise KeyFileError(f"cannot read signing-key file {path}: {exc}") from None
        return cls(parse_key_set(doc), path=path, **kw)

    def _file_stamp(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def reload_if_changed(self, *, now: bool = False) -> bool:
        """Cheap (one stat at most every `reload_interval`, unless `now`); a broken new file keeps the old keys."""
        if self.path is None or (not now and time.monotonic() - self._checked_at < self.reload_interval):
            return False
        self._checked_at = time.monotonic()
        stamp = self._file_stamp()
        if stamp is None or stamp == self._stamp:
            return False
        try:
            self.keys = parse_key_set(json.loads(self.path.read_text()))
        except (OSError, ValueError, KeyFileError):
            return False
        self._stamp = stamp
        return True

    @property
    def current(self) -> SigningKey:
        return self.keys[0]

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk() for k in self.keys]}

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        return next((k.private.public_key() for k in self.keys if k.kid == kid), None)

    def sign(self, claims: dict[str, Any]) -> str:
        key = self.current
        return jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid})


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("generate", "rotate"):
        print("usage: python -m services.profiles.keys generate|rotate PATH", file=sys.stderr)
        return 2
    path = Path(args[1])
    if args[0] == "generate":
        created = generate(path)
        print(f"{'created' if created else 'kept existing'} {path}", file=sys.stderr)
        return 0
    try:
        kid = rotate(path)
    except (OSError, ValueError, KeyFileError) as exc:
        print(f"cannot rotate {path}: {exc}", file=sys.stderr)
        return 1
    print(f"rotated {path}: new signing key {kid}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

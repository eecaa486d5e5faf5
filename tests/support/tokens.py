"""Access tokens for tests: an Ed25519 key, its public JWKS in a file, and tokens signed with it.

Services under test verify tokens exactly as in production (kit.auth against a JWKS URL); only the
issuer differs: here the test signs, in production the profiles service does.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm


class TestIssuer:
    def __init__(self, jwks_path: Path) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.kid = f"test-{uuid.uuid4().hex[:8]}"
        public = json.loads(OKPAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=self.kid, use="sig", alg="EdDSA")
        jwks_path.write_text(json.dumps({"keys": [public]}))
        self.jwks_url = f"file://{jwks_path}"

    def token(self, member_id: uuid.UUID, *, ttl: int = 900, **claims: object) -> str:
        now = int(time.time())
        body = {"sub": str(member_id), "iss": "agora", "aud": "agora", "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex, "typ": "access"}
        body.update(claims)
        return jwt.encode(body, self.key, algorithm="EdDSA", headers={"kid": self.kid})

    def headers(self, member_id: uuid.UUID, **claims: object) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token(member_id, **claims)}"}

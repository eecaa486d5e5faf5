"""Opaque keyset cursors: where a page ended, in which listing, and as of which instant.

A cursor is base64url JSON `{"f": listing, "k": last sort key, "i": last id, "t": as-of, ...}`. Pages
after the first keep the first page's as-of instant, so posts created since then never shift or repeat
a listing (they appear on the next first page). It is not signed: tampering with one only changes what
its holder reads, and a cursor from another listing is refused (400), never misread.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import orjson

from services.kit.errors import BadRequest


@dataclass(frozen=True)
class Cursor:
    listing: str  # e.g. "feed:all:hot:day" or "comments:<post id>:best"
    key: Any
    last_id: str
    as_of: str
    extra: dict[str, Any] = field(default_factory=dict)

    def encode(self) -> str:
        body = {"f": self.listing, "k": self.key, "i": self.last_id, "t": self.as_of, **({"x": self.extra} if self.extra else {})}
        return base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")


def decode(token: str, listing: str) -> Cursor:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        cursor = Cursor(listing=raw["f"], key=raw["k"], last_id=str(raw["i"]), as_of=str(raw["t"]), extra=dict(raw.get("x") or {}))
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise BadRequest("the cursor is malformed; use the next_cursor of a previous page as is", code="bad_cursor") from None
    if cursor.listing != listing:
        raise BadRequest("the cursor belongs to another listing (sort, window or feed); start again without it", code="bad_cursor")
    return cursor

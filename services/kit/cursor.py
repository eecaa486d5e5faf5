"""Opaque page cursors: the (timestamp, id) of the last row of a page, newest-first keyset pagination.

A cursor is base64url JSON; clients must treat it as opaque. A malformed one is a 422, never a 500.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

import orjson

from services.kit.errors import Unprocessable


def encode(at: datetime, id_: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([at.isoformat(), str(id_)])).decode().rstrip("=")


def decode(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    try:
        at, id_ = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("naive timestamp")
        return parsed, uuid.UUID(id_)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise Unprocessable("cursor is not one this API returned; start again without it", code="invalid_cursor") from None

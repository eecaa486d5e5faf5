"""Page cursors round-trip, and anything a client made up is a 422, not a crash."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.connections import cursor
from services.kit.errors import Unprocessable


def test_round_trip() -> None:
    at, id_ = datetime(2026, 11, 27, 16, 0, 0, 123456, tzinfo=UTC), uuid.uuid4()
    assert cursor.decode(cursor.encode(at, id_)) == (at, id_)
    assert cursor.decode(None) is None


@pytest.mark.parametrize("bad", ["", "garbage!", "e30", cursor.encode.__name__, "WyJ4IiwieSJd", "WyIyMDI2LTExLTI3VDE2OjAwOjAwIiwiYSJd"])
def test_malformed_cursor_is_unprocessable(bad: str) -> None:
    with pytest.raises(Unprocessable) as exc:
        cursor.decode(bad)
    assert exc.value.code == "invalid_cursor"

"""Cursors round-trip, and a cursor from another listing or a mangled one is refused, never misread."""

from __future__ import annotations

import pytest

from services.content import cursors
from services.kit.errors import BadRequest


def test_round_trip_keeps_float_keys_exactly() -> None:
    c = cursors.Cursor("feed:all::hot:", 1234.5678901, "5e0f0b8a-0000-4000-8000-000000000000", "2026-01-01T00:00:00+00:00", {"p": "x"})
    assert cursors.decode(c.encode(), "feed:all::hot:") == c


@pytest.mark.parametrize("token", ["", "!!!", "bm90IGpzb24", "eyJmIjoxfQ", "W10"])
def test_malformed_cursor_is_a_bad_request(token: str) -> None:
    with pytest.raises(BadRequest) as err:
        cursors.decode(token, "feed:all::hot:")
    assert err.value.code == "bad_cursor"


def test_cursor_of_another_listing_is_refused() -> None:
    token = cursors.Cursor("feed:all::top:day", 3, "id", "t").encode()
    with pytest.raises(BadRequest, match="another listing"):
        cursors.decode(token, "feed:all::top:week")

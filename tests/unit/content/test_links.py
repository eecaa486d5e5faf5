"""Link normalisation and the duplicate key."""

from __future__ import annotations

import pytest

from services.content.links import UnsafeLink, duplicate_key, normalise


@pytest.mark.parametrize(("raw", "expected"), [
    ("HTTPS://Example.COM", "https://example.com/"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("http://example.com:8080/a", "http://example.com:8080/a"),
    ("https://example.com/a?utm_source=x&UTM_medium=y&id=7&fbclid=z#section", "https://example.com/a?id=7"),
    ("https://example.com/a?b=2&a=1&gclid=1", "https://example.com/a?b=2&a=1"),
    ("  https://example.com/Path/Case  ", "https://example.com/Path/Case"),
    ("https://bücher.example/x", "https://xn--bcher-kva.example/x"),
    ("https://example.com./x", "https://example.com/x"),
    ("https://[2001:db8::1]:8443/x", "https://[2001:db8::1]:8443/x"),
])
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize("raw", [
    "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>", "ftp://example.com/x",
    "file:///etc/passwd", "//example.com/x", "/relative", "example.com", "https://", "https://user:pw@example.com/",
    "https://exa mple.com/", "https://example.com/\"onmouseover=1", "https://example.com:99999/", "", "https://example.com/" + "a" * 2100,
])
def test_unsafe_or_malformed_links_are_refused(raw: str) -> None:
    with pytest.raises(UnsafeLink):
        normalise(raw)


def test_duplicate_key_ignores_what_never_makes_a_different_story() -> None:
    same = ["http://www.example.com/a/?b=2&a=1", "https://example.com/a?a=1&b=2&utm_campaign=x", "https://WWW.example.com/a#top"]
    keys = {duplicate_key(normalise(u)) for u in same[:2]}
    assert keys == {"example.com/a?a=1&b=2"}
    assert duplicate_key(normalise(same[2])) == "example.com/a"
    assert duplicate_key(normalise("https://example.com/a?id=1")) != duplicate_key(normalise("https://example.com/a?id=2"))
    assert duplicate_key(normalise("https://example.com/a")) != duplicate_key(normalise("https://example.org/a"))

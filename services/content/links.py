"""Link normalisation: one canonical form per URL, and a looser key that spots the same link resubmitted.

`normalise()` is what a link post stores and shows: scheme and host lower-cased, the default port, the
fragment and known tracking parameters dropped, an empty path made `/`. It refuses anything that is not
an absolute http(s) URL with a host (javascript:, data:, file:, relative links, credentials in the URL).
`duplicate_key()` goes further for duplicate detection only: it ignores http vs https, a leading `www.`,
a trailing slash and the order of query parameters, which never make two submissions different stories.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048

# Parameters that identify the campaign or the sharer, never the resource.
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")
_TRACKING = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "mc_cid", "mc_eid",
    "_hsenc", "_hsmi", "mkt_tok", "ref_src", "ref_url", "oly_anon_id", "oly_enc_id", "vero_id", "spm", "si",
})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeLink(ValueError):
    """The URL is not an absolute http(s) URL a reader can safely follow."""


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in _TRACKING or low.startswith(_TRACKING_PREFIXES)


def normalise(raw: str) -> str:
    url = raw.strip()
    if not url:
        raise UnsafeLink("the url is empty")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeLink(f"the url is longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) < 0x21 or c in "\\<>\"" for c in url):
        raise UnsafeLink("the url contains spaces, control characters, quotes or angle brackets")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeLink(f"the url is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UnsafeLink(f"only http and https urls are accepted, not {scheme + ':' if scheme else 'a relative url'}")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeLink("the url has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeLink("the url must not carry a user name or password")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeLink("the url's host is not a valid domain name") from None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        netloc = f"[{host}]" if port in (None, _DEFAULT_PORTS[scheme]) else f"[{host}]:{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)])
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def duplicate_key(normalised: str) -> str:
    parts = urlsplit(normalised)
    host = parts.netloc.removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return f"{host}{path}" + (f"?{query}" if query else "")

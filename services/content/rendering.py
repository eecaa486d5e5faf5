"""Markdown to HTML that is safe to insert into a page, whatever the author typed.

Two layers, so one bug is not enough: markdown-it renders with raw HTML switched off (an author's
`<script>` becomes visible text), then nh3 (an allow-list sanitiser) keeps only the tags and attributes
listed below and only http(s) URLs. Links get `rel="nofollow noopener noreferrer ugc"`.
`render_checked()` (what the service uses) also refuses a body whose links or images are not http(s)
(javascript:, data:, relative...), so the author learns at once instead of seeing a link silently dropped.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt

_TAGS = {
    "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}
_SCHEMES = {"http", "https"}


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table").enable("strikethrough")
    # Accept every link at parse time: `unsafe_links()` reports the bad ones and nh3 strips them anyway.
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md


_MD = _markdown()


class UnsafeMarkdown(ValueError):
    def __init__(self, targets: list[str]) -> None:
        shown = ", ".join(repr(t[:60]) for t in targets[:3])
        super().__init__(f"links and images must be absolute http(s) URLs; refused: {shown}")
        self.targets = targets


def render_checked(source: str) -> str:
    """Parse once: refuse unsafe link targets (UnsafeMarkdown), else render and sanitise. CPU-bound: an
    adversarial 40 kB body (thousands of unclosed brackets) takes about a second, so callers run it in a
    worker thread, off the event loop."""
    tokens = _MD.parse(source)
    bad = [t for t in _link_targets(tokens) if not _is_http(t)]
    if bad:
        raise UnsafeMarkdown(bad)
    return _sanitise(_MD.renderer.render(tokens, _MD.options, {}))


def _is_http(target: str) -> bool:
    try:
        parts = urlsplit(target.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in _SCHEMES and bool(parts.netloc)


def _link_targets(tokens) -> list[str]:  # type: ignore[no-untyped-def]
    targets: list[str] = []

    def walk(tokens):  # type: ignore[no-untyped-def]
        for tok in tokens:
            if tok.type == "link_open":
                targets.append(str(tok.attrGet("href") or ""))
            elif tok.type == "image":
                targets.append(str(tok.attrGet("src") or ""))
            if tok.children:
                walk(tok.children)

    walk(tokens)
    return targets


def unsafe_links(source: str) -> list[str]:
    """The link and image targets in a Markdown text that are not absolute http(s) URLs."""
    return [t for t in _link_targets(_MD.parse(source)) if not _is_http(t)]


def render(source: str) -> str:
    """Rendered and sanitised, whatever the links (the sanitiser drops the unsafe ones)."""
    return _sanitise(_MD.render(source))


def _sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="nofollow noopener noreferrer ugc",
        filter_style_properties={"text-align"},
        strip_comments=True,
    )

"""Rendered Markdown never carries executable script, whatever the author typed (known XSS payloads)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from services.content import rendering

# From the OWASP XSS filter evasion cheat sheet and common Markdown-specific vectors.
PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
    "<svg/onload=alert(1)>",
    "<body onload=alert(1)>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<object data=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<form action=\"javascript:alert(1)\"><button>x</button></form>",
    "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
    "\"><script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](  javascript:alert(1)  )",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    "![x](https://ok.example/a.png\"onerror=\"alert(1))",
    "[x](https://ok.example/\"onmouseover=\"alert(1))",
    "<javascript:alert(1)>",
    "[a][ref]\n\n[ref]: javascript:alert(1)",
    "`<script>`alert(1)`</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "<a href=\"https://ok.example\" onclick=\"alert(1)\">x</a>",
    "<style>*{background:url('javascript:alert(1)')}</style>",
    "<base href=\"javascript:alert(1)//\">",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
    "> <script>alert(1)</script>",
    "* [x](javascript:alert(1))",
]

ALLOWED_TAGS = rendering._TAGS


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                if not (name == "style" and tag in ("th", "td") and (value or "").startswith("text-align")):
                    self.problems.append(f"attribute {name} on <{tag}>")
            if name in ("href", "src") and not (value or "").lower().startswith(("http://", "https://")):
                self.problems.append(f"{name}={value!r}")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_rendered_payload_has_no_executable_markup(payload: str) -> None:
    html = rendering.render(payload)
    audit = _Audit()
    audit.feed(html)
    assert audit.problems == [], html
    assert "<script" not in html.lower()


@pytest.mark.parametrize("payload", [p for p in PAYLOADS if p.startswith(("[", "!", "*", "<javascript")) and "ok.example" not in p])
def test_markdown_links_to_unsafe_schemes_are_reported(payload: str) -> None:
    assert rendering.unsafe_links(payload), payload


def test_ordinary_markdown_renders_with_safe_links() -> None:
    html = rendering.render("# Title\n\nSome **bold**, `code`, a [link](https://example.org/a?b=1) and\n\n- a\n- b\n")
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html and "<code>code</code>" in html and "<li>a</li>" in html
    assert '<a href="https://example.org/a?b=1" rel="nofollow noopener noreferrer ugc">link</a>' in html
    assert rendering.unsafe_links("[ok](https://example.org) ![img](http://example.org/a.png)") == []
    assert rendering.unsafe_links("[rel](/local) [mail](mailto:a@b.c)") == ["/local", "mailto:a@b.c"]


def test_render_checked_refuses_unsafe_targets_and_renders_safe_ones() -> None:
    with pytest.raises(rendering.UnsafeMarkdown, match="javascript:alert"):
        rendering.render_checked("fine [bad](javascript:alert(1)) ![also](data:image/png;base64,AA)")
    assert rendering.render_checked("[ok](https://example.org)") == rendering.render("[ok](https://example.org)")

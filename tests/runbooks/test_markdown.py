"""Runbook Markdown renders the features runbooks need, and nothing that can run script.

Output is parsed rather than compared as strings: nh3's attribute order varies between processes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runbooks.markdown import TAGS, plain_text, render


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""


@dataclass
class Parsed(HTMLParser):
    elements: list[Element] = field(default_factory=list)
    open: list[Element] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.elements.append(element)
        if tag not in {"br", "hr", "img", "input"}:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        if self.open and self.open[-1].tag == tag:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        for element in self.open:
            element.text += data

    def all(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]


def parse(markdown: str) -> Parsed:
    parsed = Parsed()
    parsed.feed(render(markdown))
    parsed.close()
    return parsed


def scheme(url: str) -> str:
    """The scheme a browser would see: it drops ASCII whitespace and control characters."""
    return urlsplit(re.sub(r"[\x00-\x20\x7f]", "", url)).scheme.lower()


def assert_harmless(parsed: Parsed) -> None:
    for element in parsed.elements:
        assert element.tag in TAGS, element
        for name, value in element.attrs.items():
            assert not name.startswith("on"), element
            assert name not in {"style", "srcdoc", "formaction", "xlink:href"}, element
            if name in {"href", "src"}:
                assert scheme(value or "") in {"", "http", "https", "mailto"}, element
        if element.tag == "input":
            assert element.attrs.get("type") == "checkbox", element
            assert "disabled" in element.attrs, element


def test_headings_get_ids_prefixed_so_they_cannot_clobber_page_ids() -> None:
    parsed = parse("# Restart the queue\n\n## Restart the queue\n\n<h2 id='content'>Raw</h2>")
    assert [h.attrs["id"] for h in parsed.elements if h.tag in {"h1", "h2"}] == [
        "h-restart-the-queue",
        "h-restart-the-queue_1",
        "h-content",
    ]


def test_in_page_links_follow_the_prefixed_ids() -> None:
    (link,) = parse("# Rollback\n\nSee [rollback](#rollback).").all("a")
    assert link.attrs["href"] == "#h-rollback"


def test_tables_keep_their_cells_and_alignment_without_style() -> None:
    parsed = parse("| Host | Port |\n|:-----|-----:|\n| db1 | 5432 |\n")
    assert [c.text for c in parsed.all("th")] == ["Host", "Port"]
    assert [c.text for c in parsed.all("td")] == ["db1", "5432"]
    assert [c.attrs.get("align") for c in parsed.all("td")] == ["left", "right"]


def test_fenced_code_keeps_a_language_class_and_escapes_its_content() -> None:
    html = render("```bash\necho '<script>alert(1)</script>' && ls\n```\n")
    parsed = parse("```bash\necho '<script>alert(1)</script>' && ls\n```\n")
    (code,) = parsed.all("code")
    assert code.attrs == {"class": "language-bash"}
    assert code.text == "echo '<script>alert(1)</script>' && ls"
    assert "<script" not in html
    assert not parsed.all("script")


def test_code_classes_other_than_a_language_are_dropped() -> None:
    (code,) = parse('<code class="language-py evil">x</code>').all("code")
    assert "class" not in code.attrs


def test_task_list_items_are_disabled_checkboxes() -> None:
    parsed = parse("- [x] page the DBA\n- [ ] fail over\n")
    boxes = parsed.all("input")
    assert [b.attrs.get("type") for b in boxes] == ["checkbox", "checkbox"]
    assert all("disabled" in b.attrs for b in boxes)
    assert ["checked" in b.attrs for b in boxes] == [True, False]
    assert [li.text.strip() for li in parsed.all("li")] == ["page the DBA", "fail over"]


def test_task_list_boxes_are_named_by_their_tasks_without_javascript() -> None:
    # Issue 16: axe-core found the task-list checkboxes unlabelled (critical); portal.js labels
    # them, but a page read without scripts, or the stored HTML elsewhere, needs its own names.
    boxes = parse("- [x] page the **DBA**\n- [ ] fail `db-2` over\n").all("input")
    assert [b.attrs.get("aria-label") for b in boxes] == [
        "Done: page the DBA",
        "To do: fail db-2 over",
    ]


def test_strikethrough_and_autolinks() -> None:
    parsed = parse("~~old step~~ see https://status.example.com or ops@example.com")
    assert [d.text for d in parsed.all("del")] == ["old step"]
    hrefs = [a.attrs["href"] for a in parsed.all("a")]
    assert hrefs == ["https://status.example.com", "mailto:ops@example.com"]


def test_no_repository_shortcuts() -> None:
    assert not parse("Fixed in facelessuser/pymdown-extensions#1 by @someone").all("a")


def test_links_get_rel_noopener_noreferrer_nofollow() -> None:
    for source in ["[docs](https://example.com)", "<https://example.com>", "<a href='/x'>x</a>"]:
        (link,) = parse(source).all("a")
        assert set((link.attrs["rel"] or "").split()) == {"noopener", "noreferrer", "nofollow"}


XSS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '![x](x" onerror="alert(1))',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](&#106;avascript:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](vbscript:msgbox(1))",
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;script&colon;alert(1)">x</a>',
    '<a href="java\nscript:alert(1)">x</a>',
    "[x][evil]\n\n[evil]: javascript:alert(1)",
    "![x][evil]\n\n[evil]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "<svg onload=alert(1)><circle/></svg>",
    "<svg><a xlink:href='javascript:alert(1)'><text>x</text></a></svg>",
    "<math><mtext><img src=x onerror=alert(1)></mtext></math>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<p style='background:url(javascript:alert(1))'>x</p>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml,<svg onload=alert(1)>)",
    "<img src='data:image/png;base64,AAAA'>",
    "<input type=text autofocus onfocus=alert(1)>",
    "<input type=hidden name=csrf value=x><input type=submit formaction=javascript:alert(1)>",
    "<form action=javascript:alert(1)><button>go</button></form>",
    "<!--><img src=x onerror=alert(1)>-->",
    "<!-- --!><script>alert(1)</script> -->",
    "<!--[if gte IE 4]><script>alert(1)</script><![endif]-->",
    "<scr<script>ipt>alert(1)</script>",
    "<object data=javascript:alert(1)></object><embed src=javascript:alert(1)>",
    "<base href=javascript:alert(1)//><meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<details open ontoggle=alert(1)>",
    "- [ ] <input type=text onfocus=alert(1)> task",
    "```\n</code></pre><script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
]


@pytest.mark.parametrize("payload", XSS)
def test_xss_payloads_come_out_harmless(payload: str) -> None:
    # Comments go too: html.parser and browsers disagree on where "<!-->" ends.
    assert "<!--" not in render(payload)
    assert_harmless(parse(payload))


def test_raw_inputs_become_disabled_checkboxes() -> None:
    (box,) = parse("<input type=text value=secret autofocus onfocus=alert(1)>").all("input")
    assert box.attrs == {"type": "checkbox", "disabled": ""}


MARKUP = st.sampled_from(
    [
        "<", ">", "\"", "'", "=", " ", "\n", "\n\n", "[", "]", "(", ")", "`", "```", "&#", ";",
        "<script>", "<img src=x ", "onerror=", " on", "javascript:", "JaVaScRiPt&colon;",
        "<a href=", "<input ", "![", "](", "- [ ] ", "|", "---", "<!--", "-->", "<svg ",
        "data:", "&#106;", "\t", "\x00", "# ",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(MARKUP | st.text(max_size=8), max_size=40).map("".join))
def test_random_text_never_yields_script_handlers_or_script_urls(text: str) -> None:
    html = render(text)
    assert "<script" not in html.lower()
    assert_harmless(parse(text))


def test_plain_text_strips_tags_and_squeezes_whitespace() -> None:
    text = plain_text("# Failover\n\n1. Run `kill <pid>`\n2. **Wait**   for *health*\n\n<b>x</b>y")
    assert text == "Failover Run kill <pid> Wait for health xy"

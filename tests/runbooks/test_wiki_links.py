"""Pages render GitHub-wiki links, `[[Title]]` and `[[text|Title]]`, and a table of contents.

A link to a page that exists goes to it; one to a page that does not is marked missing and goes
to the form that creates it. Like `render`, nothing in the output can run script, whatever the
title or text. Output is parsed rather than compared as strings (nh3's attribute order varies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runbooks.markdown import RenderedPage, render, render_page
from tests.runbooks.test_markdown import MARKUP, XSS, Element, Parsed, assert_harmless

SEED = Path("/work/shared/seed/oncall-guide.md")
PAGES = {"on-call guide": "/runbooks/on-call-guide/", "failover": "/runbooks/failover/"}
REL = {"noopener", "noreferrer", "nofollow"}


@dataclass
class Resolver:
    """Matches titles case-insensitively, as the view does, and remembers what it was asked."""

    pages: dict[str, str] = field(default_factory=lambda: dict(PAGES))
    asked: list[str] = field(default_factory=list)

    def __call__(self, title: str) -> str | None:
        self.asked.append(title)
        return self.pages.get(title.casefold())


def parse(html: str) -> Parsed:
    parsed = Parsed()
    parsed.feed(html)
    parsed.close()
    return parsed


def page(text: str, resolve: Resolver | None = None) -> tuple[RenderedPage, Parsed]:
    rendered = render_page(text, resolve or Resolver())
    return rendered, parse(rendered.html)


def is_missing(link: Element) -> bool:
    return link.attrs.get("class") == "missing-page"


def created_title(link: Element) -> str:
    """The title the create-page link offers: its href is /runbooks/new/?title=<encoded>."""
    url = urlsplit(link.attrs["href"] or "")
    assert (url.scheme, url.netloc, url.path) == ("", "", "/runbooks/new/"), link
    (title,) = parse_qs(url.query, keep_blank_values=True, strict_parsing=True)["title"]
    return title


def test_both_link_forms_resolve_to_the_page() -> None:
    rendered, parsed = page("Read [[On-call guide]] then [[the failover steps|Failover]].")
    links = parsed.all("a")
    assert [(a.attrs["href"], a.text) for a in links] == [
        ("/runbooks/on-call-guide/", "On-call guide"),
        ("/runbooks/failover/", "the failover steps"),
    ]
    for link in links:
        assert not is_missing(link)
        assert "title" not in link.attrs
        assert set((link.attrs["rel"] or "").split()) == REL
    assert rendered.links == ("On-call guide", "Failover")


def test_space_in_the_title_is_squeezed_and_the_caller_matches_case() -> None:
    resolve = Resolver()
    _, parsed = page("[[  ON-CALL\n   GUIDE ]] and [[see |  failover  ]]", resolve)
    assert [a.attrs["href"] for a in parsed.all("a")] == list(PAGES.values())
    assert resolve.asked == ["ON-CALL GUIDE", "failover"]


def test_a_missing_page_is_marked_and_offers_to_create_it_with_the_title_encoded() -> None:
    title = "Disk full? 100% & /var #1+2=3"
    rendered, parsed = page(f"[[Free some space|{title}]] and [[Restart Redis]]")
    first, second = parsed.all("a")
    assert first.text == "Free some space"
    assert second.text == "Restart Redis"
    for link in (first, second):
        assert is_missing(link)
        assert link.attrs["title"] == "No page yet: create it"
        assert set((link.attrs["rel"] or "").split()) == REL
    assert created_title(first) == title
    assert created_title(second) == "Restart Redis"
    assert "?" not in (first.attrs["href"] or "").partition("?")[2]  # encoded, not raw
    assert "&" not in (first.attrs["href"] or "")
    assert rendered.links == (title, "Restart Redis")


def test_wiki_links_in_code_stay_literal() -> None:
    resolve = Resolver()
    text = (
        "Inline `[[On-call guide]]` and ``[[x|Failover]]``.\n\n"
        "```markdown\nSee [[On-call guide]]\n```\n\n"
        "    [[Failover]] indented\n\n"
        "Escaped \\[[Failover]]."
    )
    rendered, parsed = page(text, resolve)
    assert not parsed.all("a")
    assert [c.text for c in parsed.all("code")] == [
        "[[On-call guide]]",
        "[[x|Failover]]",
        "See [[On-call guide]]",
        "[[Failover]] indented",
    ]
    assert "[[Failover]]" in parsed.all("p")[-1].text
    assert rendered.links == ()
    assert resolve.asked == []


def test_links_lists_the_titles_in_order_once_each_resolved_or_not() -> None:
    text = "[[Failover]] [[Nope]]\n\n- [[again|failover]]\n- [[On-call guide]] [[NOPE]] [[Nope]]"
    resolve = Resolver()
    rendered, parsed = page(text, resolve)
    assert rendered.links == ("Failover", "Nope", "On-call guide")
    assert len(parsed.all("a")) == 6
    assert resolve.asked == ["Failover", "Nope", "failover", "On-call guide", "NOPE"]


def test_not_wiki_links() -> None:
    for text in ["[[]]", "[[ | ]]", "[[x|]]", "[[a\n\nb]]", "[single]", "[[a]b]]"]:
        rendered, parsed = page(text)
        assert not parsed.all("a"), text
        assert rendered.links == (), text


class Toc(HTMLParser):
    """(depth in <ul>s, href, text) of each link in a table of contents."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.entries: list[tuple[int, str, str]] = []
        self.tags: set[str] = set()
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "ul":
            self.depth += 1
        if tag == "a":
            self.entries.append((self.depth, dict(attrs)["href"] or "", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "ul":
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.entries and data.strip():
            depth, href, text = self.entries[-1]
            self.entries[-1] = (depth, href, text + data.strip())


def test_the_toc_nests_the_headings_and_links_to_their_prefixed_ids() -> None:
    text = (
        "## Detect\n\ntext\n\n### Alerts <b>now</b>\n\n### Dashboards\n\n"
        "## Mitigate\n\n### Failover to [[Failover|the replica]]\n\n## Detect"
    )
    rendered, parsed = page(text)
    ids = [e.attrs["id"] for e in parsed.elements if e.tag in {"h2", "h3"}]
    assert all(i and i.startswith("h-") for i in ids)
    toc = Toc(rendered.toc)
    assert toc.tags == {"ul", "li", "a"}
    assert [(depth, text) for depth, _, text in toc.entries] == [
        (1, "Detect"),
        (2, "Alerts now"),
        (2, "Dashboards"),
        (1, "Mitigate"),
        (2, "Failover to Failover"),
        (1, "Detect"),
    ]
    assert [href for _, href, _ in toc.entries] == [f"#{i}" for i in ids]
    assert len(set(ids)) == len(ids)
    assert_harmless(parse(rendered.toc))


def test_no_toc_with_fewer_than_two_headings() -> None:
    assert render_page("Just text.", Resolver()).toc == ""
    assert render_page("## One\n\ntext", Resolver()).toc == ""
    assert render_page("# One\n\n## Two", Resolver()).toc != ""


HOSTILE = [
    "<script>alert(1)</script>",
    'x" onclick="alert(1)',
    "x' onmouseover='alert(1)' y='",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)//",
    "<img src=x onerror=alert(1)>",
    "</a><script>alert(1)</script><a>",
    '"><svg onload=alert(1)>',
    "data:text/html,<script>alert(1)</script>",
    "?title=x&next=javascript:alert(1)#frag",
    "{{ request }} {% csrf_token %} ${alert(1)}",
    "*bold* _it_ ~~del~~ <b>raw</b> https://evil.example",
    "\u202eevil\u200b",
]


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("resolved", [False, True])
def test_hostile_titles_and_texts_come_out_as_inert_text(hostile: str, resolved: bool) -> None:
    resolve = Resolver(pages={hostile.casefold(): "/runbooks/x/"} if resolved else {})
    for source in [f"[[{hostile}|{hostile}]]", f"## [[{hostile}]]\n\n## Two"]:
        rendered, parsed = page(source, resolve)
        assert "<script" not in rendered.html.lower()
        assert_harmless(parsed)
        assert_harmless(parse(rendered.toc))
        (link,) = parsed.all("a")
        assert set(link.attrs) <= {"href", "rel", "class", "title"}
        assert link.text == hostile  # shown as typed, not as Markdown or HTML
        assert resolve.asked[-1] == hostile
        assert rendered.links == (hostile,)
        if resolved:
            assert link.attrs["href"] == "/runbooks/x/"
        else:
            assert is_missing(link)
            assert created_title(link) == hostile


def test_control_characters_are_dropped_from_titles() -> None:
    resolve = Resolver(pages={})
    rendered, parsed = page("[[x|Fail\x00over\x7f&#0;]] [[\x00]] [[\x1f|\x1b]]", resolve)
    (link,) = parsed.all("a")
    assert created_title(link) == "Failover\ufffd"  # &#0; is U+FFFD, as in HTML
    assert resolve.asked == ["Failover\ufffd"]
    assert rendered.links == ("Failover\ufffd",)


def test_entities_and_escapes_in_titles_are_undone() -> None:
    resolve = Resolver(pages={})
    rendered, _ = page("[[x|&lt;b&gt; &amp; \\*]] [[`code`|a \\| b]] [[x|`[[y]]`]]", resolve)
    assert rendered.links == ("<b> & *", "a | b", "[[y]]")


def test_hostile_urls_from_resolve_are_still_sanitised() -> None:
    for url in ["javascript:alert(1)", 'x" onclick="alert(1)', "data:text/html,x"]:
        _, parsed = page("[[Failover]]", Resolver(pages={"failover": url}))
        assert_harmless(parsed)


def test_a_class_other_than_missing_page_is_dropped() -> None:
    wiki_html = render_page("<a class=x>y</a>", Resolver()).html
    for html in [render('<a class="evil" href="/x">x</a>'), wiki_html]:
        (link,) = parse(html).all("a")
        assert "class" not in link.attrs


WIKI_XSS = [
    "[[x|javascript:alert(1)]]",
    "[[javascript:alert(1)]]",
    "[[x]](javascript:alert(1))",
    "[a [[Failover]]](javascript:alert(1))",
    "[[a [b](javascript:alert(1))|Failover]]",
    "## [[<img src=x onerror=alert(1)>]]\n\n## <script>alert(1)</script>",
    "# <img src=x onerror=alert(1)>\n\n# [x](javascript:alert(1))",
    "[TOC]\n\n# a\n\n## <svg onload=alert(1)>",
    "[[`<script>alert(1)</script>`|x]]",
    "[[<!--|-->]]<img src=x onerror=alert(1)>",
]


@pytest.mark.parametrize("payload", XSS + WIKI_XSS)
def test_xss_payloads_come_out_harmless_from_render_page(payload: str) -> None:
    for resolve in [Resolver(), Resolver(pages={"failover": "/runbooks/failover/", "x": "/r/x/"})]:
        rendered = render_page(payload, resolve)
        for html in [rendered.html, rendered.toc]:
            assert "<!--" not in html
            assert "<script" not in html.lower()
            assert_harmless(parse(html))


WIKI_MARKUP = MARKUP | st.sampled_from(["[[", "]]", "|", "Failover", "`[[", "## ", "\\"])


@settings(max_examples=300, deadline=None)
@given(st.lists(WIKI_MARKUP | st.text(max_size=8), max_size=40).map("".join))
def test_random_text_never_yields_script_from_render_page(text: str) -> None:
    rendered = render_page(text, Resolver())
    for html in [rendered.html, rendered.toc]:
        assert "<script" not in html.lower()
        assert_harmless(parse(html))


@pytest.mark.skipif(not SEED.exists(), reason=f"{SEED} is not on this machine")
def test_the_seed_page_renders_its_wiki_link_and_a_toc() -> None:
    title = "Adding your oncall schedule to Google Calendar"
    for pages in [{}, {title.casefold(): "/runbooks/adding-your-oncall-schedule/"}]:
        rendered, parsed = page(SEED.read_text(), Resolver(pages=pages))
        assert rendered.links == (title,)
        wiki = [a for a in parsed.all("a") if not (a.attrs["href"] or "").startswith("http")]
        assert len(wiki) == 1
        (link,) = wiki
        assert link.text == "instructions on how to add oncall to your calendar automatically"
        if pages:
            assert link.attrs["href"] == "/runbooks/adding-your-oncall-schedule/"
        else:
            assert created_title(link) == title
        assert_harmless(parsed)
    toc = Toc(rendered.toc)
    assert [(depth, text) for depth, _, text in toc.entries] == [
        (1, "Schedule"),
        (1, "Overview"),
        (1, "Mechanics"),
        (1, "Responsibilities"),
        (2, "Primary"),
        (2, "Secondary"),
        (2, "Everyone else"),
        (1, "PagerDuty"),
        (1, "Response playbook"),
        (1, "Inspiration"),
    ]
    ids = {e.attrs["id"] for e in parsed.elements if e.tag in {"h1", "h2"}}
    assert {href for _, href, _ in toc.entries} == {f"#{i}" for i in ids}

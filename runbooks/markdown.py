"""Render runbook Markdown to HTML that is safe to show, and to plain text for snippets.

Runbooks are written by any engineer and read by everyone during an incident, so the HTML that
Markdown produces (which passes raw HTML straight through) is never trusted: it goes through nh3
with an allow-list. Links may only be http, https, mailto or relative, and get
rel="noopener noreferrer nofollow"; heading ids get the prefix "h-" so that they cannot clobber the
page's own element ids (in-page links "#x" are rewritten to "#h-x" to match); every <input>,
typed or raw, comes out as a disabled checkbox; code keeps only a `language-*` class. Pygments is
off: its classes would be stripped anyway. Python-Markdown is not thread-safe, so each call builds
its own `markdown.Markdown`.

`render_page` also turns GitHub-wiki links, `[[Title]]` and `[[text|Title]]`, into links to the
pages that exist or, marked `class="missing-page"`, to the form that creates them; it is an inline
processor, so `[[...]]` in code stays literal. It returns the table of contents and the titles
linked to as well.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode
from xml.etree.ElementTree import Element

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown.extensions import Extension
from markdown.extensions.toc import slugify
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import UnescapeTreeprocessor
from markdown.util import AtomicString

ID_PREFIX = "h-"

EXTENSIONS = [
    "tables",
    "sane_lists",
    "toc",
    "pymdownx.superfences",
    "pymdownx.highlight",
    "pymdownx.tasklist",
    "pymdownx.tilde",
    "pymdownx.magiclink",
]


def _prefixed_slug(value: str, separator: str) -> str:
    return ID_PREFIX + str(slugify(value, separator))


EXTENSION_CONFIGS: dict[str, dict[str, object]] = {
    "tables": {"use_align_attribute": True},
    "toc": {"permalink": False, "slugify": _prefixed_slug},
    "pymdownx.highlight": {"use_pygments": False},
    "pymdownx.tasklist": {"custom_checkbox": False, "clickable_checkbox": False},
    "pymdownx.magiclink": {
        "repo_url_shortener": False,
        "social_url_shortener": False,
        "repo_url_shorthand": False,
        "social_url_shorthand": False,
    },
}

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
TAGS = HEADINGS | {
    "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "table", "thead", "tbody", "tr", "th", "td", "a", "img", "input",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title", "class"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "input": {"checked"},
    **{h: {"id"} for h in HEADINGS},
}
ALIGN = {"align": {"left", "right", "center"}}
DROP_WITH_CONTENT = {"script", "style", "template", "iframe", "noscript", "svg", "math"}
LANGUAGE_CLASS = re.compile(r"language-[\w+#.-]+")
MISSING_PAGE = "missing-page"
NEW_PAGE_URL = "/runbooks/new/"
TOC_TAGS = {"ul", "li", "a"}


def _filter_attribute(tag: str, name: str, value: str) -> str | None:
    if tag == "code" and name == "class":
        return value if LANGUAGE_CLASS.fullmatch(value) else None
    if tag == "a" and name == "class":
        return value if value == MISSING_PAGE else None
    if tag == "a" and name == "href" and value.startswith("#"):
        fragment = value[1:]
        return value if fragment.startswith(ID_PREFIX) else f"#{ID_PREFIX}{fragment}"
    return value


def _clean(html: str, tags: set[str] = TAGS) -> str:
    return nh3.clean(
        html,
        tags=tags,
        clean_content_tags=DROP_WITH_CONTENT,
        attributes=ATTRIBUTES,
        attribute_filter=_filter_attribute,
        tag_attribute_values={"th": ALIGN, "td": ALIGN},
        set_tag_attribute_values={"input": {"type": "checkbox", "disabled": ""}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        id_prefix=ID_PREFIX,
    )


def render(text: str) -> SafeString:
    """The Markdown `text` as sanitised HTML, ready for a template."""
    md = markdown.Markdown(extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS)
    return mark_safe(_clean(md.convert(text)))  # nh3 has just sanitised it


# [[Title]] or [[text|Title]]: the title is after the last bar, and neither part holds a bracket.
# Escapes (priority 180) and code spans (190) are handled before this (175).
WIKI_LINK_RE = r"\[\[([^\[\]]+)\]\]"
# Dropped from titles: a database cannot store some (NUL, lone surrogates), and none is visible.
CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class _WikiLinkProcessor(InlineProcessor):  # type: ignore[misc]  # Markdown is untyped
    def __init__(
        self, md: markdown.Markdown, resolve: Callable[[str], str | None], titles: list[str]
    ) -> None:
        super().__init__(WIKI_LINK_RE, md)
        self.resolve = resolve
        self.titles = titles
        self.urls: dict[str, str | None] = {}

    def handleMatch(  # noqa: N802 (Python-Markdown's name)
        self, m: re.Match[str], data: str
    ) -> tuple[Element | None, int | None, int | None]:
        text, bar, title = m.group(1).rpartition("|")
        text = text if bar else title
        # The title as the reader sees it: code spans and \-escapes (stashed) and entities undone.
        title = UnescapeTreeprocessor().unescape(self.unescape(title))
        title = " ".join(CONTROL.sub("", html_lib.unescape(title)).split())
        if not title or not text.strip():
            return None, None, None
        if title not in self.urls:
            self.urls[title] = self.resolve(title)
        self.titles.append(title)
        link = Element("a")
        url = self.urls[title]
        if url is None:
            link.set("class", MISSING_PAGE)
            link.set("href", f"{NEW_PAGE_URL}?{urlencode({'title': title})}")
            link.set("title", "No page yet: create it")
        else:
            link.set("href", url)
        link.text = AtomicString(text.strip())  # no Markdown but code spans, escaped on output
        return link, m.start(0), m.end(0)


class _WikiLinkExtension(Extension):  # type: ignore[misc]  # Markdown is untyped
    def __init__(self, resolve: Callable[[str], str | None], titles: list[str]) -> None:
        super().__init__()
        self.resolve = resolve
        self.titles = titles

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Python-Markdown's name)
        md.inlinePatterns.register(
            _WikiLinkProcessor(md, self.resolve, self.titles), "wikilink", 175
        )


@dataclass(frozen=True)
class RenderedPage:
    html: str  # sanitised HTML (plain str, safe to mark_safe), stored on save
    toc: str  # sanitised nested <ul> of links to the headings; "" with fewer than 2 headings
    links: tuple[str, ...]  # the titles of the wiki links, in order, deduplicated


def _count(tokens: Iterable[dict[str, Any]]) -> int:
    return sum(1 + _count(token["children"]) for token in tokens)


def _unique(titles: Iterable[str]) -> tuple[str, ...]:
    """`titles` in order without repeats, compared case-insensitively as the caller matches."""
    seen: dict[str, str] = {}
    for title in titles:
        seen.setdefault(title.casefold(), title)
    return tuple(seen.values())


def render_page(text: str, resolve: Callable[[str], str | None]) -> RenderedPage:
    """The Markdown `text` of a page, with its wiki links resolved (`resolve(title)` is the URL of
    the page with that title, or None when there is none) and its table of contents."""
    titles: list[str] = []
    md = markdown.Markdown(
        extensions=[*EXTENSIONS, _WikiLinkExtension(resolve, titles)],
        extension_configs=EXTENSION_CONFIGS,
    )
    html = _clean(md.convert(text))
    tokens: list[dict[str, Any]] = getattr(md, "toc_tokens", [])
    toc = _clean(getattr(md, "toc", ""), tags=TOC_TAGS).strip() if _count(tokens) >= 2 else ""
    return RenderedPage(html=html, toc=toc, links=_unique(titles))


class _TextCollector(HTMLParser):
    BLOCKS = TAGS - {"strong", "em", "del", "code", "a"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        self.handle_starttag(tag, [])

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(text: str) -> str:
    """The rendered text of the Markdown `text` without tags, whitespace squeezed to one space."""
    collector = _TextCollector()
    collector.feed(render(text))
    collector.close()
    return " ".join("".join(collector.parts).split())

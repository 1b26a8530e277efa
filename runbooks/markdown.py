"""Render runbook Markdown to HTML that is safe to show, and to plain text for snippets.

Runbooks are written by any engineer and read by everyone during an incident, so the HTML that
Markdown produces (which passes raw HTML straight through) is never trusted: it goes through nh3
with an allow-list. Links may only be http, https, mailto or relative, and get
rel="noopener noreferrer nofollow"; heading ids get the prefix "h-" so that they cannot clobber the
page's own element ids (in-page links "#x" are rewritten to "#h-x" to match); every <input>,
typed or raw, comes out as a disabled checkbox; code keeps only a `language-*` class. Pygments is
off: its classes would be stripped anyway. Python-Markdown is not thread-safe, so each call builds
its own `markdown.Markdown`.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown.extensions.toc import slugify

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
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "input": {"checked"},
    **{h: {"id"} for h in HEADINGS},
}
ALIGN = {"align": {"left", "right", "center"}}
DROP_WITH_CONTENT = {"script", "style", "template", "iframe", "noscript", "svg", "math"}
LANGUAGE_CLASS = re.compile(r"language-[\w+#.-]+")


def _filter_attribute(tag: str, name: str, value: str) -> str | None:
    if tag == "code" and name == "class":
        return value if LANGUAGE_CLASS.fullmatch(value) else None
    if tag == "a" and name == "href" and value.startswith("#"):
        fragment = value[1:]
        return value if fragment.startswith(ID_PREFIX) else f"#{ID_PREFIX}{fragment}"
    return value


def render(text: str) -> SafeString:
    """The Markdown `text` as sanitised HTML, ready for a template."""
    md = markdown.Markdown(extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS)
    clean = nh3.clean(
        md.convert(text),
        tags=TAGS,
        clean_content_tags=DROP_WITH_CONTENT,
        attributes=ATTRIBUTES,
        attribute_filter=_filter_attribute,
        tag_attribute_values={"th": ALIGN, "td": ALIGN},
        set_tag_attribute_values={"input": {"type": "checkbox", "disabled": ""}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        id_prefix=ID_PREFIX,
    )
    return mark_safe(clean)  # nh3 has just sanitised it


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

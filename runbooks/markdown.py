"""Render runbook Markdown to HTML that is safe to show, and to plain text for snippets.

markdown-it-py parses it: a CommonMark parser whose work grows linearly with the text, which
matters because runbooks and post-mortems are written by any engineer and rendered in a web
worker (Python-Markdown, used before, backtracks: `'[' * 10000` took it 17 s). Linear is still
some microseconds a character on the worst text, so every field that holds Markdown also bounds
its length (the models' validators), and tests/runbooks/test_markdown_bounds.py renders each
field's worst cases at that length within a second. Pages show HTML rendered when it was saved.

Runbooks are read by everyone during an incident, so the HTML (raw HTML in the text passes
through the parser) is never trusted: it goes through nh3 with an allow-list. Links may only be
http, https, mailto or relative, and get rel="noopener noreferrer nofollow"; heading ids get the
prefix "h-" so that they cannot clobber the page's own element ids (in-page links "#x" are
rewritten to "#h-x" to match); every <input>, typed or raw, comes out as a disabled checkbox;
code keeps only a `language-*` class.

`render_page` also turns GitHub-wiki links, `[[Title]]` and `[[text|Title]]`, into links to the
pages that exist or, marked `class="missing-page"`, to the form that creates them; it is an inline
rule, so `[[...]]` in code stays literal. It returns the table of contents and the titles linked
to as well.
"""

from __future__ import annotations

import html as html_lib
import importlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from typing import Any, Literal
from urllib.parse import urlencode

import nh3
from django.utils.safestring import SafeString, mark_safe
from linkify_it import LinkifyIt
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.backticks import backtick
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

ID_PREFIX = "h-"
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
TAGS = HEADINGS | {
    "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "table", "thead", "tbody", "tr", "th", "td", "a", "img", "input",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title", "class"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "input": {"checked", "aria-label"},
    **{h: {"id"} for h in HEADINGS},
}
ALIGN = {"align": {"left", "right", "center"}}
DROP_WITH_CONTENT = {"script", "style", "template", "iframe", "noscript", "svg", "math"}
LANGUAGE_CLASS = re.compile(r"language-[\w+#.-]+")
MISSING_PAGE = "missing-page"
NEW_PAGE_URL = "/runbooks/new/"
TOC_TAGS = {"ul", "li", "a"}

# How deep containers nest. markdown-it has one limit for both kinds, so text within blocks is
# parsed by a second parser that differs only in it. Blocks: lists about 24 deep keep their
# content (a deeper one, and what follows it, is cut). Inline: links and emphasis nested deeper
# read as text; the limit multiplies the work on runs of "[", so it is low (half the time of
# markdown-it's usual 20 on the worst texts).
BLOCK_NESTING = 50
INLINE_NESTING = 8
# A table row with fewer cells than the header is filled with empty ones. markdown-it-py allows
# 65,536 of those per table (its module's constant; the package's name `table` is the rule), some
# seconds of work from 20 KB of "|" lines; a real table leaves out far fewer.
TABLE_RULE = importlib.import_module("markdown_it.rules_block.table")
TABLE_RULE.MAX_AUTOCOMPLETED_CELLS = 2_000  # type: ignore[attr-defined]  # a module's constant
# markdown-it-py's own rule for `scheme://` links searches all the text before each "://" for
# the scheme and hands linkify-it all the text after it, which is quadratic on a run of
# "<http://": these windows bound both (schemes are short; a URL that fills its window is
# matched again whole, and then consumed).
SCHEME_WINDOW = 64
URL_WINDOW = 2_048
SCHEME_AT_END = re.compile(r"(?:^|[^a-z0-9.+-])([a-z][a-z0-9.+-]*)$", re.IGNORECASE)
HTML_LINK_OPEN = re.compile(r"<a[>\s]", re.IGNORECASE)
HTML_LINK_CLOSE = re.compile(r"</a\s*>", re.IGNORECASE)

# The keys of a parse's `env`: what the rules are given and what they leave.
RESOLVE = "resolve"  # wiki links: title -> URL or None (only render_page links them)
URLS = "urls"  # the resolver's answers, so that each title is asked once
TITLES = "titles"  # the wiki links' titles, in order
HEADING_LIST = "headings"  # (level, id, text) of each heading, in order

# Dropped from titles: a database cannot store some (NUL, lone surrogates), and none is visible.
CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
ESCAPE_OR_ENTITY = re.compile(
    r"\\([!-/:-@\[-`{-~])|&(?:#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z][A-Za-z0-9]{1,31});"
)
ESCAPE = re.compile(r"\\[!-/:-@\[-`{-~]")
PLAIN = re.compile(r"[^\[\]`\\|]+")
BACKTICKS = re.compile(r"`+")


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


# Bare URLs ------------------------------------------------------------------------------------


def _linkify(state: StateInline, silent: bool) -> bool:
    """markdown-it-py's inline rule for `scheme://` links (it runs before emphasis can split a
    URL), the same but for the windows that keep it linear."""
    pos = state.pos
    if state.linkLevel > 0 or pos + 3 > state.posMax or not state.src.startswith("://", pos):
        return False
    scheme = SCHEME_AT_END.search(state.pending[-SCHEME_WINDOW:])
    if scheme is None:
        return False
    proto = scheme.group(1)
    start = pos - len(proto)
    linkify: LinkifyIt = state.md.linkify
    link = linkify.match_at_start(state.src[start : start + URL_WINDOW])
    if link is not None and link.last_index == URL_WINDOW:
        link = linkify.match_at_start(state.src[start:])
    if link is None:
        return False
    url: str = link.url.rstrip("*")  # a "*" after a URL closes emphasis
    full_url = state.md.normalizeLink(url)
    if not state.md.validateLink(full_url):
        return False
    if not silent:
        state.pending = state.pending[: -len(proto)]
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": full_url}
        token.markup, token.info = "linkify", "auto"
        token = state.push("text", "", 0)
        token.content = state.md.normalizeLinkText(url)
        token = state.push("link_close", "a", -1)
        token.markup, token.info = "linkify", "auto"
    state.pos += len(url) - len(proto)
    return True


def _linked(md: MarkdownIt, token: Token) -> list[Token]:
    """The text token as text and links: URLs, www. addresses and e-mail addresses. Not bare
    domain names, or every settings.py (Paraguay) and deploy.sh (St Helena) would link."""
    nodes: list[Token] = []
    text, done, level = token.content, 0, token.level
    linkify: LinkifyIt = md.linkify

    def add(kind: str, nesting: Literal[-1, 0, 1], content: str = "") -> Token:
        node = Token(kind, "a" if nesting else "", nesting, content=content, level=level)
        nodes.append(node)
        return node

    for link in linkify.match(text) or []:
        url = md.normalizeLink(link.url)
        if not (link.schema or link.text.lower().startswith("www.")) or not md.validateLink(url):
            continue
        if not link.schema:  # the www. addresses: a scheme only to normalise them
            shown = md.normalizeLinkText("http://" + link.text).removeprefix("http://")
        elif link.schema == "mailto:" and not link.text.lower().startswith("mailto:"):
            shown = md.normalizeLinkText("mailto:" + link.text).removeprefix("mailto:")
        else:
            shown = md.normalizeLinkText(link.text)
        if link.index > done:
            add("text", 0, text[done : link.index])
        opening = add("link_open", 1)
        opening.attrs, opening.markup, opening.info = {"href": url}, "linkify", "auto"
        add("text", 0, shown).level = level + 1
        closing = add("link_close", -1)
        closing.markup, closing.info = "linkify", "auto"
        done = link.last_index
    if done < len(text):
        add("text", 0, text[done:])
    return nodes


def _link_addresses(state: StateCore) -> None:
    """markdown-it-py's rule that links addresses in text, outside links, building each line's
    tokens once (the library's splices the list again for each text, quadratic in a paragraph
    of e-mail addresses)."""
    linkify: LinkifyIt = state.md.linkify
    for line in state.tokens:
        if line.type != "inline" or not line.children or not linkify.pretest(line.content):
            continue
        children: list[Token] = []
        in_link = 0  # links opened around this point, in Markdown or as <a> tags
        for token in line.children:
            if token.type in {"link_open", "link_close"}:
                in_link += token.nesting
            elif token.type == "html_inline" and HTML_LINK_OPEN.match(token.content):
                in_link += 1
            elif token.type == "html_inline" and HTML_LINK_CLOSE.match(token.content):
                in_link = max(in_link - 1, 0)
            if token.type == "text" and not in_link and linkify.test(token.content):
                children.extend(_linked(state.md, token))
            else:
                children.append(token)
        line.children = children


# Wiki links -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Piece:
    """Part of a wiki link's inside: a code span's text, or source text still to unescape."""

    text: str
    is_code: bool = False

    @property
    def shown(self) -> str:
        return self.text if self.is_code else _unescape(self.text)


def _unescape(text: str) -> str:
    """Backslash escapes and entities undone, as CommonMark does in text."""
    return ESCAPE_OR_ENTITY.sub(lambda m: m.group(1) or html_lib.unescape(m.group()), text)


def _code_span(src: str, start: int, end: int) -> str:
    """A code span's text between its backtick runs, as markdown-it's backticks rule makes it."""
    content = src[start:end].replace("\n", " ")
    if content.startswith(" ") and content.endswith(" ") and content.strip(" "):
        content = content[1:-1]
    return content


def _scan_wiki_link(state: StateInline) -> tuple[int, list[_Piece], int | None] | None:
    """For `[[` at state.pos: the position after its `]]`, the pieces inside, and where the title
    starts among them (after the last bar outside code; None without a bar); or None when this
    is no wiki link.

    Code spans and escapes are read as markdown-it reads them (a `]]` or `|` in code or escaped
    is text); any other bracket ends the attempt, so an attempt reads no further than the next
    bracket (or code span) and a whole parse stays linear."""
    src, end = state.src, state.posMax
    pieces: list[_Piece] = []
    title_from: int | None = None
    i = state.pos + 2
    while i < end:
        if plain := PLAIN.match(src, i, end):
            pieces.append(_Piece(plain.group()))
            i = plain.end()
        elif escape := ESCAPE.match(src, i, end):
            pieces.append(_Piece(escape.group()))
            i = escape.end()
        elif src[i] == "\\":
            pieces.append(_Piece("\\"))
            i += 1
        elif src[i] == "|":
            title_from = len(pieces)
            i += 1
        elif src[i] == "`":
            run = BACKTICKS.match(src, i, end)
            opener = len(run.group()) if run else 1
            saved, state.pos = state.pos, i
            backtick(state, True)  # moves past the code span, or past a run that opens none
            after, state.pos = state.pos, saved
            if after == i + opener:
                pieces.append(_Piece(src[i:after]))
            else:
                pieces.append(_Piece(_code_span(src, i + opener, after - opener), is_code=True))
            i = after
        elif src.startswith("]]", i) and i + 2 <= end:
            return i + 2, pieces, title_from
        else:
            return None
    return None


def _strip(pieces: Sequence[_Piece]) -> list[_Piece]:
    """The pieces without the white space at either end (code spans keep theirs)."""
    kept = list(pieces)
    while kept and not kept[0].is_code and not kept[0].text.strip():
        kept.pop(0)
    while kept and not kept[-1].is_code and not kept[-1].text.strip():
        kept.pop()
    if kept and not kept[0].is_code:
        kept[0] = _Piece(kept[0].text.lstrip())
    if kept and not kept[-1].is_code:
        kept[-1] = _Piece(kept[-1].text.rstrip())
    return kept


def _wiki_link(state: StateInline, silent: bool) -> bool:
    """`[[Title]]` or `[[text|Title]]`: the title is after the last bar. Runs before links, and
    after code spans and escapes have had their turn at the positions before it."""
    resolve: Callable[[str], str | None] | None = state.env.get(RESOLVE)
    if resolve is None or state.linkLevel > 0 or not state.src.startswith("[[", state.pos):
        return False
    scanned = _scan_wiki_link(state)
    if scanned is None:
        return False
    after, pieces, title_from = scanned
    shown = _strip(pieces if title_from is None else pieces[:title_from])
    title_pieces = pieces if title_from is None else pieces[title_from:]
    # The title as the reader sees it: code spans' text, escapes and entities undone.
    title = " ".join(CONTROL.sub("", "".join(p.shown for p in title_pieces)).split())
    if not title or not shown:
        return False
    if not silent:
        urls: dict[str, str | None] = state.env[URLS]
        if title not in urls:
            urls[title] = resolve(title)
        state.env[TITLES].append(title)
        url = urls[title]
        token = state.push("link_open", "a", 1)
        if url is None:
            token.attrs = {
                "href": f"{NEW_PAGE_URL}?{urlencode({'title': title})}",
                "class": MISSING_PAGE,
                "title": "No page yet: create it",
            }
        else:
            token.attrs = {"href": url}
        token.markup = "wiki"
        for piece in shown:  # no Markdown but code spans, escaped on output
            token = state.push("code_inline" if piece.is_code else "text", "", 0)
            token.content = piece.shown
        state.push("link_close", "a", -1)
    state.pos = after
    return True


# Headings and tables --------------------------------------------------------------------------


def _slugify(text: str) -> str:
    """Python-Markdown's heading ids, which pages were linked by: ASCII, lower case, dashes."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", text).strip().lower())


def _unique(slug: str, used: set[str], suffixes: dict[str, int]) -> str:
    """`slug`, or `slug_1`, `slug_2`, ... when taken; counting on from the last suffix given,
    so that a page of identical headings costs linear time."""
    candidate = slug
    while candidate in used:
        suffixes[slug] = suffixes.get(slug, 0) + 1
        candidate = f"{slug}_{suffixes[slug]}"
    used.add(candidate)
    return candidate


def _text_of(children: Iterable[Token]) -> str:
    words = (t.content for t in children if t.type in {"text", "code_inline", "softbreak"})
    return " ".join("".join(words).split())


def _heading_ids(state: StateCore) -> None:
    """Gives each heading its id, and lists the headings for the table of contents."""
    used: set[str] = set()
    suffixes: dict[str, int] = {}
    headings: list[tuple[int, str, str]] = []
    for index, token in enumerate(state.tokens):
        if token.type == "heading_open":
            text = _text_of(state.tokens[index + 1].children or [])
            ident = _unique(ID_PREFIX + _slugify(text), used, suffixes)
            token.attrSet("id", ident)
            headings.append((int(token.tag[1:]), ident, text))
    state.env[HEADING_LIST] = headings


def _as_before(state: StateCore) -> None:
    """What Python-Markdown wrote, which pages and their readers know: table cells aligned with
    `align` (nh3 strips every `style`), strikethrough as <del>, and code blocks without the
    newline after their last line."""
    for token in state.tokens:
        if token.type in {"th_open", "td_open"} and (style := token.attrGet("style")):
            token.attrs = {"align": str(style).removeprefix("text-align:")}
        elif token.type in {"fence", "code_block"}:
            token.content = token.content.removesuffix("\n")
        for child in token.children or ():
            if child.type in {"s_open", "s_close"}:
                child.tag = "del"


def _toc(headings: Sequence[tuple[int, str, str]]) -> str:
    """Nested lists of links to the headings: a deeper heading nests under the one before it, a
    shallower one goes back out to the list of its level (or the outermost)."""
    parts = ["<ul>"]
    levels = [headings[0][0]]  # the heading level of each open list, outermost first
    for number, (level, ident, text) in enumerate(headings):
        if number and level > levels[-1]:
            parts.append("<ul>")
            levels.append(level)
        elif number:
            parts.append("</li>")
            while len(levels) > 1 and levels[-2] >= level:
                parts.append("</ul></li>")
                levels.pop()
            levels[-1] = min(levels[-1], level)
        parts.append(f'<li><a href="#{ident}">{html_lib.escape(text)}</a>')
    parts.append("</li>" + "</ul></li>" * (len(levels) - 1) + "</ul>")
    return "".join(parts)


def _task_item_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """A list item; a task's checkbox is named by its task ("To do: page the DBA"), which a
    screen reader says, as the box alone says nothing of what is to be done."""
    html = RendererHTML.list_item_open(self, tokens, idx, options, env)
    meta = tokens[idx].meta
    if not (meta and "checked" in meta):
        return html
    task = next((t for t in tokens[idx + 1 :] if t.type == "inline" or t.nesting < 0), None)
    text = _text_of(task.children or []) if task is not None and task.type == "inline" else ""
    label = ("Done: " if meta["checked"] else "To do: ") + text
    return html.replace("<input ", f'<input aria-label="{escapeHtml(label)}" ', 1)


def _configured(nesting: int) -> MarkdownIt:
    md = MarkdownIt("gfm-like", {"tasklists": True, "maxNesting": nesting})
    md.add_render_rule("list_item_open", _task_item_open)
    md.inline.ruler.at("linkify", _linkify)
    md.inline.ruler.before("link", "wiki_link", _wiki_link)
    md.core.ruler.at("linkify", _link_addresses)
    md.core.ruler.push("heading_ids", _heading_ids)
    md.core.ruler.push("as_before", _as_before)
    return md


@cache
def _parser() -> MarkdownIt:
    """The one parser (markdown-it keeps each parse's state in objects of that parse, so threads
    share it), whose text within blocks the inline parser reads."""
    md, inline = _configured(BLOCK_NESTING), _configured(INLINE_NESTING)

    def parse_inline(state: StateCore) -> None:  # markdown-it's core "inline" rule, but for md
        for token in state.tokens:
            if token.type == "inline":
                token.children = token.children or []
                inline.inline.parse(token.content, inline, state.env, token.children)

    md.core.ruler.at("inline", parse_inline)
    return md


# The public functions -------------------------------------------------------------------------


def _html(text: str, env: dict[str, Any]) -> str:
    # NUL, which CommonMark shows as U+FFFD, goes: it cannot be stored, and none was meant.
    return _clean(_parser().render(text.replace("\x00", ""), env))


def render(text: str) -> SafeString:
    """The Markdown `text` as sanitised HTML, ready for a template."""
    return mark_safe(_html(text, {}))  # nh3 has just sanitised it


@dataclass(frozen=True)
class RenderedPage:
    html: str  # sanitised HTML (plain str, safe to mark_safe), stored on save
    toc: str  # sanitised nested <ul> of links to the headings; "" with fewer than 2 headings
    links: tuple[str, ...]  # the titles of the wiki links, in order, deduplicated


def _unique_titles(titles: Iterable[str]) -> tuple[str, ...]:
    """`titles` in order without repeats, compared case-insensitively as the caller matches."""
    seen: dict[str, str] = {}
    for title in titles:
        seen.setdefault(title.casefold(), title)
    return tuple(seen.values())


def render_page(text: str, resolve: Callable[[str], str | None]) -> RenderedPage:
    """The Markdown `text` of a page, with its wiki links resolved (`resolve(title)` is the URL of
    the page with that title, or None when there is none) and its table of contents."""
    env: dict[str, Any] = {RESOLVE: resolve, URLS: {}, TITLES: []}
    html = _html(text, env)
    headings = env[HEADING_LIST]
    toc = _clean(_toc(headings), tags=TOC_TAGS) if len(headings) >= 2 else ""
    return RenderedPage(html=html, toc=toc, links=_unique_titles(env[TITLES]))


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

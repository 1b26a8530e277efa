"""Full-text search over runbook titles and bodies: ranked hits with highlighted snippets.

Each database does the work with its own engine. PostgreSQL matches a weighted tsvector built in
the query itself, which the GIN expression index of migration 0002 serves, so there is nothing to
keep up to date. SQLite keeps an FTS5 table (also from 0002) that ``index`` and ``unindex`` update
after every save and delete. Both read the user's text the same way, as plain terms that are ANDed
with a prefix match on the last, and quote every term, so no input is ever read as query syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from runbooks.models import Runbook

# Must match the expression of the GIN index in migration 0002, or PostgreSQL scans the table.
CONFIG = "english"
# Longer input is cut: nobody types more, and PostgreSQL ignores words over 2,047 bytes.
MAX_QUERY_CHARS = 200
MAX_TERMS = 20
SNIPPET_WORDS = 20
# Private-use characters mark the matches while the text is still raw, so the text can be
# escaped as a whole and only then given its <mark> tags.
START, STOP = "\ue000", "\ue001"
_MARKED = re.compile(f"{START}([^{START}{STOP}]*){STOP}")
# A term is a run of anything but space, control characters and the quote characters of the
# two query languages (blanked rather than escaped: they separate words anyway).
_TERM = re.compile(r"[^\s\x00-\x1f\x7f\"'\\]+")
_WORD = re.compile(r"[^\W_]")
# A snippet is a cut of the page's Markdown source; these take the syntax out so it reads as
# the rendered page does. Applied in order; a cut may leave half a construct, hence the strays.
_MARKDOWN_SYNTAX = [
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # [text](url), ![alt](src)
    (re.compile(r"\]\([^)\s]*\)?"), " "),  # the rest of a link cut before its text
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),  # <https://...>
    (re.compile(r"</?[A-Za-z][^>]*>"), " "),  # raw HTML, which the page never shows anyway
    (re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?", re.M), ""),  # list items
    (re.compile(r"^\s{0,3}(?:#{1,6}|>+)\s*", re.M), ""),  # headings, quotes
    (re.compile(r"^\s*(?:`{3,}|~{3,})[\w+-]*\s*$", re.M), ""),  # code fences
    (re.compile(r"^[\s|:-]*-{3,}[\s|:-]*$", re.M), ""),  # rules, table separators
    (re.compile(r"\*{1,3}|(?<!\w)_{1,3}|_{1,3}(?!\w)|`+|~~"), ""),  # emphasis, code
    (re.compile(r"\|"), " "),  # table cells
    (re.compile(r"[\[\]]"), ""),
]


@dataclass(frozen=True)
class Hit:
    """A page that matched: ``snippet`` is escaped HTML with the matched words in ``<mark>``."""

    runbook_id: int
    slug: str
    title: str
    snippet: SafeString
    rank: float  # higher is better; 1 and above when the title alone matches every term


def index(runbook: Runbook) -> None:
    """Make the saved ``runbook`` findable by its current title and body. Idempotent."""
    if connection.vendor != "sqlite":
        return  # PostgreSQL reads the row itself.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT OR REPLACE INTO runbooks_search (rowid, title, body) VALUES (%s, %s, %s)",
            [runbook.pk, runbook.title, runbook.body],
        )


def unindex(runbook_id: int) -> None:
    """Forget a page (after deleting it). Idempotent."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM runbooks_search WHERE rowid = %s", [runbook_id])


@transaction.atomic
def rebuild() -> int:
    """Index every page from scratch (after bulk writes); returns how many pages are indexed."""
    if connection.vendor != "sqlite":
        return Runbook.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM runbooks_search")
        cursor.execute(
            "INSERT INTO runbooks_search (rowid, title, body) "
            "SELECT id, title, body FROM runbooks_runbook"
        )
        indexed: int = cursor.rowcount
    return indexed


def terms(query: str) -> list[str]:
    """The terms of ``query``: its space-separated words that hold a letter or digit.

    A term with punctuation inside (``db-01.prod``, ``kube-proxy``) stays one term, matched as
    a phrase, as each engine splits it in the page. The last term is also a prefix, but both
    engines stem it first, like a whole word: "runb" finds "runbook", while a partial word
    whose stem differs may not ("configura" misses "configuration"; on SQLite Porter turns
    "pay" into "pai", which misses "payment").
    """
    # Lone surrogates can't be sent to either database.
    text = query[:MAX_QUERY_CHARS].encode("utf-8", "replace").decode()
    return [term for term in _TERM.findall(text) if _WORD.search(term)][:MAX_TERMS]


def search(query: str, limit: int = 20) -> list[Hit]:
    """The pages matching every term of ``query``, best first: title matches, then the rest.

    Never raises on what a user types; a query without words returns [] without a database query.
    """
    words = terms(query)
    if not words or limit < 1:
        return []
    if connection.vendor == "postgresql":
        return _search_postgresql(words, limit)
    if connection.vendor == "sqlite":
        return _search_sqlite(words, limit)
    raise NotImplementedError(f"no full-text search for {connection.vendor}")


def _search_postgresql(words: list[str], limit: int) -> list[Hit]:
    # Each term is a quoted operand, which to_tsquery hands whole to the text parser.
    operands = [f"'{word}'" for word in words]
    operands[-1] += ":*"
    query = SearchQuery(" & ".join(operands), search_type="raw", config=CONFIG)
    document = SearchVector("title", weight="A", config=CONFIG) + SearchVector(
        "body", weight="B", config=CONFIG
    )
    rows = (
        Runbook.objects.alias(document=document, title_only=SearchVector("title", config=CONFIG))
        .filter(document=query)
        .annotate(
            # ts_rank weights are D, C, B, A; normalization 1|32 divides by the log of the
            # length and maps the result into [0, 1), below the title bonus of 1.
            rank=Case(When(title_only=query, then=Value(1.0)), default=Value(0.0))
            + SearchRank(F("document"), query, weights=[0.1, 0.2, 0.4, 1.0], normalization=33),
            body_snippet=SearchHeadline(
                "body",
                query,
                config=CONFIG,
                start_sel=START,
                stop_sel=STOP,
                max_words=SNIPPET_WORDS,
                min_words=SNIPPET_WORDS // 2,
            ),
            title_snippet=SearchHeadline(
                "title", query, config=CONFIG, start_sel=START, stop_sel=STOP, highlight_all=True
            ),
        )
        .order_by("-rank", "title")
        .values_list("id", "slug", "title", "body_snippet", "title_snippet", "rank")[:limit]
    )
    return [_hit(*row) for row in rows]


# bm25() is lower for better matches, weighted per column (title, body); the IN subquery
# marks the pages whose title alone matches the query. Both run on the FTS5 index.
_SQLITE_SEARCH = """
    SELECT r.id, r.slug, r.title,
        snippet(runbooks_search, 1, %s, %s, '…', %s),
        highlight(runbooks_search, 0, %s, %s),
        bm25(runbooks_search, 10.0, 1.0) AS score,
        runbooks_search.rowid IN (SELECT rowid FROM runbooks_search(%s)) AS in_title
    FROM runbooks_search JOIN runbooks_runbook AS r ON r.id = runbooks_search.rowid
    WHERE runbooks_search MATCH %s
    ORDER BY in_title DESC, score, r.title
    LIMIT %s
"""


def _search_sqlite(words: list[str], limit: int) -> list[Hit]:
    # A double-quoted FTS5 string is a phrase whatever it holds; `_TERM` let no quote in.
    phrases = [f'"{word}"' for word in words]
    phrases[-1] += "*"
    match = " ".join(phrases)
    params: list[str | int] = [
        START,
        STOP,
        SNIPPET_WORDS,
        START,
        STOP,
        f"title : ({match})",
        match,
        limit,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_SQLITE_SEARCH, params)
        rows = cursor.fetchall()
    return [
        _hit(pk, slug, title, body, title_marked, in_title - score / (1 - score))
        for pk, slug, title, body, title_marked, score, in_title in rows
    ]


def _hit(pk: int, slug: str, title: str, body: str, title_marked: str, rank: float) -> Hit:
    # Show where the body matched; when only the title did, the title with its marks.
    snippet = without_markdown(body) if START in body else title_marked
    return Hit(runbook_id=pk, slug=slug, title=title, snippet=_highlight(snippet), rank=rank)


def without_markdown(source: str) -> str:
    """A cut of Markdown source as its words read: link texts without their URLs, no emphasis,
    heading, list, quote, fence or table syntax. Words like ``queue_depth`` keep their marks."""
    for pattern, replacement in _MARKDOWN_SYNTAX:
        source = pattern.sub(replacement, source)
    return source


def _highlight(text: str) -> SafeString:
    """``text`` escaped, its marked runs in <mark>; markers the page itself held are dropped."""
    escaped = escape(" ".join(text.split()))
    marked = _MARKED.sub(r"<mark>\1</mark>", escaped)
    return mark_safe(marked.replace(START, "").replace(STOP, ""))  # escaped above

"""Full-text search over runbook titles and bodies: ranked hits with highlighted snippets.

Each database finds and ranks the pages with its own engine. PostgreSQL matches a weighted
tsvector built in the query itself, which the GIN expression index of migration 0002 serves, so
there is nothing to keep up to date. SQLite keeps an FTS5 table (also from 0002) that ``index``
and ``unindex`` update after every save and delete. Both read the user's text the same way, as
plain terms that must all match, the last also as a prefix, and no input is ever read as query
syntax. A term that is a common word for an outage, an error, a database... (SYNONYMS) also
matches its synonyms, so "database down" finds "Database failover"; each term the title matches
ranks a page above every page whose title matches fewer.

A search is two queries whatever the number of hits: the first ranks every matching page and
returns one page of them, the second marks the matched words of those pages only. Each hit's
snippet is then cut in one pass over its marked text (``snippet``). Neither engine's own snippet
function is used: FTS5's ``snippet()`` and ``highlight()`` take time quadratic in the matches
within a page (84,000 matches took 42 s), so on SQLite the marks come from runbooks.stems, which
reads words as FTS5 does; PostgreSQL's ``ts_headline`` marks them in linear time.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from runbooks import stems
from runbooks.models import Runbook

# Must match the expression of the GIN index in migration 0002, to the letter, or PostgreSQL
# scans the table (tests/runbooks/test_search.py compares them and reads the plan).
CONFIG = "english"
DOCUMENT = (
    "setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(body, '')), 'B')"
)
# Longer input is cut: nobody types more, and PostgreSQL ignores words over 2,047 bytes.
MAX_QUERY_CHARS = 200
MAX_TERMS = 20
PER_PAGE = 20
SNIPPET_WORDS = 20
# A snippet's text is cut to this many characters when its words are very long ones.
SNIPPET_CHARS = 320
# Private-use characters mark the matches while the text is still raw, so the text can be
# escaped as a whole and only then given its <mark> tags.
START, STOP = "\ue000", "\ue001"
_MARKED = re.compile(f"{START}([^{START}{STOP}]*){STOP}")
_UNMARK = str.maketrans("", "", START + STOP)
_SPACED = re.compile(r"\S+")
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
    rank: float  # higher is better; its whole part counts the terms the title matches


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

    A term with punctuation inside (``db-01.prod``, ``kube-proxy``) stays one term, split as
    each engine splits it in the page: a phrase on SQLite, the whole word and its parts on
    PostgreSQL (see _POSTGRESQL_QUERY). The last term is also a prefix, but both
    engines stem it first, like a whole word: "runb" finds "runbook", while a partial word
    whose stem differs may not ("configura" misses "configuration"; on SQLite Porter turns
    "pay" into "pai", which misses "payment").
    """
    # Lone surrogates can't be sent to either database.
    text = query[:MAX_QUERY_CHARS].encode("utf-8", "replace").decode()
    return [term for term in _TERM.findall(text) if _WORD.search(term)][:MAX_TERMS]


# Words an engineer types at 3 a.m. for what a runbook's title calls something else; a term
# that is one of them also matches the others (whole words: only the typed word is a prefix).
SYNONYMS: tuple[frozenset[str], ...] = tuple(
    frozenset(group.split())
    for group in [
        "down outage failover unavailable offline unreachable",
        "error errors 5xx 500 failure failures failing",
        "slow latency slowness timeout timeouts",
        "db database postgres postgresql",
        "restart reboot bounce",
        "deploy deployment release rollout",
        "rollback revert",
        "cert certificate tls ssl",
    ]
)
_SYNONYMS_OF = {word: group for group in SYNONYMS for word in group}


def groups(words: list[str]) -> list[tuple[str, ...]]:
    """Each term of a query with the words that match in its stead: the term first, then its
    synonyms (sorted, for repeatable queries). A page must match one word of every group."""
    return [
        (term, *sorted(_SYNONYMS_OF.get(term.casefold(), frozenset()) - {term.casefold()}))
        for term in words
    ]


@dataclass(frozen=True)
class Results:
    """One page of hits, best first, and whether more follow."""

    hits: list[Hit]
    number: int
    per_page: int
    more: bool

    @property
    def first(self) -> int:
        """The place of the first hit among all hits, counting from 1."""
        return (self.number - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        """The place of the last hit among all hits."""
        return self.first + len(self.hits) - 1


def search(query: str, limit: int = PER_PAGE) -> list[Hit]:
    """The best ``limit`` pages matching every term of ``query``: title matches, then the rest.

    Never raises on what a user types; a query without words returns [] without a database query.
    """
    return find(query, per_page=limit).hits


def find(query: str, *, page: int = 1, per_page: int = PER_PAGE) -> Results:
    """Page ``page`` (from 1) of the pages matching every term of ``query``, best first.

    Two queries for any number of hits: one ranks them all and returns this page (and says
    whether one more follows), one marks the matched words of this page's pages only; then one
    pass over each of those texts cuts its snippet.
    """
    page = max(page, 1)
    words = terms(query)
    if not words or per_page < 1:
        return Results([], page, max(per_page, 1), more=False)
    if connection.vendor == "postgresql":
        ranked, marked = _ranked_postgresql, _marked_postgresql
    elif connection.vendor == "sqlite":
        ranked, marked = _ranked_sqlite, _marked_sqlite
    else:
        raise NotImplementedError(f"no full-text search for {connection.vendor}")
    asked = groups(words)
    rows = ranked(asked, per_page + 1, (page - 1) * per_page)
    shown = rows[:per_page]
    texts = marked(asked, [pk for pk, *_ in shown])
    hits = [
        Hit(runbook_id=pk, slug=slug, title=title, snippet=snippet(*texts[pk]), rank=rank)
        for pk, slug, title, rank in shown
    ]
    return Results(hits, page, per_page, more=len(rows) > per_page)


def snippet(body: str, title: str) -> SafeString:
    """Escaped HTML of about SNIPPET_WORDS words of ``body`` (a page's Markdown with each
    matched word between START and STOP), where the most different matched words are, read as
    the page reads, with the matches in <mark>; the marked ``title`` when the body has no match.
    """
    cut = _window(body)
    return _highlight(title if cut is None else without_markdown(cut))


def _window(marked: str) -> str | None:
    """The cut of ``marked`` that a snippet shows, None when nothing in it is marked.

    One pass: the words and the matches are listed once, and a window slides over the matches,
    each entering it once and leaving it once.
    """
    spans = [found.span() for found in _SPACED.finditer(marked)]
    matches: list[tuple[int, str]] = []  # (the word it is in, what it says), in order
    word = 0
    for found in _MARKED.finditer(marked):
        while spans[word][1] <= found.start():
            word += 1
        matches.append((word, found.group(1).casefold()))
    if not matches:
        return None
    # For each match, the shortest run of matches ending there within SNIPPET_WORDS words that
    # says as many different things as it can: a run is kept only while it says more, or the
    # same in fewer words, than the best so far, the first such winning.
    inside: Counter[str] = Counter()
    best, best_run = (0, 0), (0, 0)  # (different words, minus words spanned), (first, last)
    first = 0
    for last, (at, said) in enumerate(matches):
        inside[said] += 1
        while matches[first][0] <= at - SNIPPET_WORDS or inside[matches[first][1]] > 1:
            gone = matches[first][1]
            inside[gone] -= 1
            if not inside[gone]:
                del inside[gone]
            first += 1
        if (len(inside), matches[first][0] - at) > best:
            best, best_run = (len(inside), matches[first][0] - at), (first, last)
    run_start, run_end = matches[best_run[0]][0], matches[best_run[1]][0]
    # The run in the middle of the window, unless an end of the page is nearer.
    spare = SNIPPET_WORDS - (run_end - run_start + 1)
    start_word = max(0, min(run_start - spare // 2, len(spans) - SNIPPET_WORDS))
    end_word = min(len(spans), start_word + SNIPPET_WORDS)
    lo, hi = spans[start_word][0], spans[end_word - 1][1]
    if hi - lo > SNIPPET_CHARS:
        # Very long words: the characters around the first match of the run.
        at = marked.index(START, spans[run_start][0])
        lo = max(lo, at - SNIPPET_CHARS // 4)
        hi = min(hi, lo + SNIPPET_CHARS)
    return ("… " if lo > 0 else "") + marked[lo:hi] + (" …" if hi < len(marked) else "")


# Each group of the query as a tsquery: the lexemes of each of its words ANDed, the words ORed;
# the user's own last term's lexemes as prefixes. The lexemes come from to_tsvector, as the
# page's do. A term with punctuation inside (kube-proxy) is the whole word and its parts, ANDed
# rather than a phrase: a tsvector records every position past 16,383 as 16,383, so a phrase far
# into a long page would never match. Lexemes never hold a quote or a backslash (terms have
# none), so quoting them is safe. A stop word gives an empty tsquery, which && and || skip.
_POSTGRESQL_WORD = """(
    SELECT coalesce(string_agg('''' || lexeme || '''' || %s, ' & '), '')
    FROM unnest(to_tsvector('english'::regconfig, %s))
)::tsquery"""
_TITLE = "to_tsvector('english'::regconfig, COALESCE(title, ''))"


def _postgresql_groups(asked: list[tuple[str, ...]]) -> tuple[str, list[str]]:
    """A CTE ``q`` with one tsquery column per group (g0, g1, ...) and their AND as ``query``,
    and its parameters."""
    columns, params = [], []
    for number, group in enumerate(asked):
        alternatives = []
        for place, word in enumerate(group):
            prefix = number == len(asked) - 1 and place == 0
            alternatives.append(_POSTGRESQL_WORD)
            params += [":*" if prefix else "", word]
        columns.append(f"({' || '.join(alternatives)}) AS g{number}")
    query = " && ".join(f"g{number}" for number in range(len(asked)))
    cte = f"""g AS MATERIALIZED (SELECT {", ".join(columns)}),
        q AS MATERIALIZED (SELECT g.*, ({query}) AS query FROM g)"""
    return cte, params


# ts_rank weights are D, C, B, A; normalization 1|32 divides by the log of the length and maps
# the result into [0, 1), below the bonus of 1 for each term the title matches.
_POSTGRESQL_SEARCH = """
    WITH {cte}
    SELECT id, slug, title,
        {title_matches}
        + ts_rank('{{0.1, 0.2, 0.4, 1.0}}', {document}, q.query, 33) AS rank
    FROM runbooks_runbook, q
    WHERE {document} @@ q.query
    ORDER BY rank DESC, title
    LIMIT %s OFFSET %s
"""
# Every matched word marked, in time linear in the text; the page's own marker characters go.
_POSTGRESQL_MARKED = """
    WITH {cte}
    SELECT id,
        ts_headline('english'::regconfig, translate(body, %s, ''), q.query, %s),
        ts_headline('english'::regconfig, translate(title, %s, ''), q.query, %s)
    FROM runbooks_runbook, q
    WHERE id = ANY(%s)
"""


def _ranked_postgresql(
    asked: list[tuple[str, ...]], limit: int, offset: int
) -> list[tuple[Any, ...]]:
    cte, params = _postgresql_groups(asked)
    title_matches = " + ".join(
        f"CASE WHEN {_TITLE} @@ q.g{number} THEN 1.0 ELSE 0.0 END" for number in range(len(asked))
    )
    sql = _POSTGRESQL_SEARCH.format(cte=cte, title_matches=title_matches, document=DOCUMENT)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit, offset])
        return [(pk, slug, title, float(rank)) for pk, slug, title, rank in cursor.fetchall()]


def _marked_postgresql(asked: list[tuple[str, ...]], ids: list[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    options = f"HighlightAll=true, StartSel={START}, StopSel={STOP}"
    markers = START + STOP
    cte, params = _postgresql_groups(asked)
    with connection.cursor() as cursor:
        cursor.execute(
            _POSTGRESQL_MARKED.format(cte=cte),
            [*params, markers, options, markers, options, ids],
        )
        return {pk: (body, title) for pk, body, title in cursor.fetchall()}


# bm25() is lower for better matches, weighted per column (title, body); each IN subquery
# marks the pages whose title matches one term of the query. All run on the FTS5 index, in time
# linear in the matches.
_SQLITE_SEARCH = """
    SELECT r.id, r.slug, r.title,
        bm25(runbooks_search, 10.0, 1.0) AS score,
        {title_matches} AS in_title
    FROM runbooks_search JOIN runbooks_runbook AS r ON r.id = runbooks_search.rowid
    WHERE runbooks_search MATCH %s
    ORDER BY in_title DESC, score, r.title
    LIMIT %s OFFSET %s
"""
_SQLITE_IN_TITLE = "(runbooks_search.rowid IN (SELECT rowid FROM runbooks_search(%s)))"


def _ranked_sqlite(asked: list[tuple[str, ...]], limit: int, offset: int) -> list[tuple[Any, ...]]:
    # A double-quoted FTS5 string is a phrase whatever it holds; `_TERM` let no quote in.
    matches = []
    for number, group in enumerate(asked):
        phrases = [f'"{word}"' for word in group]
        if number == len(asked) - 1:
            phrases[0] += "*"
        matches.append(f"({' OR '.join(phrases)})")
    title_matches = " + ".join([_SQLITE_IN_TITLE] * len(matches))
    with connection.cursor() as cursor:
        cursor.execute(
            _SQLITE_SEARCH.format(title_matches=title_matches),
            [*(f"title : {match}" for match in matches), " AND ".join(matches), limit, offset],
        )
        rows = cursor.fetchall()
    return [
        (pk, slug, title, in_title - score / (1 - score))
        for pk, slug, title, score, in_title in rows
    ]


def _marked_sqlite(asked: list[tuple[str, ...]], ids: list[int]) -> dict[int, tuple[str, str]]:
    # Every word of every term and synonym, as FTS5 reads it; the last word of the last term
    # typed as a prefix.
    typed, synonyms = [term for term, *_ in asked], [word for _, *rest in asked for word in rest]
    wanted = [stems.term(word.group()) for term in typed for word in stems.words(term)]
    prefix = wanted.pop() if wanted else None
    whole = set(wanted) | {
        stems.term(word.group()) for term in synonyms for word in stems.words(term)
    }

    def matches(word: str) -> bool:
        said = stems.term(word)
        return said in whole or (prefix is not None and said.startswith(prefix))

    pages = Runbook.objects.filter(pk__in=ids).values_list("pk", "body", "title")
    return {pk: (_mark(body, matches), _mark(title, matches)) for pk, body, title in pages}


def _mark(text: str, matches: Callable[[str], bool]) -> str:
    """``text`` with each word that ``matches`` between START and STOP, in one pass; the
    page's own marker characters go."""
    text = text.translate(_UNMARK)
    pieces, done = [], 0
    for word in stems.words(text):
        if matches(word.group()):
            pieces += [text[done : word.start()], START, word.group(), STOP]
            done = word.end()
    pieces.append(text[done:])
    return "".join(pieces)


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

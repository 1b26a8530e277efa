"""Runbook search finds pages by every word typed, title matches first, and shows safe snippets.

The same tests run on SQLite (FTS5) and on PostgreSQL (tsvector); the few that look at one
engine's machinery say so.
"""

from __future__ import annotations

import importlib
import itertools
import re
import string
import time
from collections.abc import Iterable
from typing import Any
from unittest.mock import patch

import pytest
from django.db import connection
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from portal.management.commands.seed_demo import DEMO_RUNBOOKS
from runbooks import actions, search
from runbooks.imports import import_folder
from runbooks.models import BODY_MAX_LENGTH, Runbook

pytestmark = pytest.mark.django_db

only_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL index")
only_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite FTS5 table")


def make_page(slug: str, **kwargs: Any) -> Runbook:
    kwargs.setdefault("title", slug.replace("-", " ").title())
    kwargs.setdefault("body", "")
    kwargs.setdefault("updated_at", timezone.now())
    kwargs.setdefault("review_due_at", kwargs["updated_at"])
    page = Runbook.objects.create(slug=slug, **kwargs)
    search.index(page)
    return page


def slugs(query: str) -> list[str]:
    return [hit.slug for hit in search.search(query)]


def test_title_match_ranks_above_body_only_matches() -> None:
    make_page("kafka", body="Failover of the brokers: failover, failover and failover again.")
    make_page("postgres-failover", body="Promote the replica.")
    make_page("redis", body="Nothing relevant here.")

    hits = search.search("failover")

    assert [hit.slug for hit in hits] == ["postgres-failover", "kafka"]
    assert hits[0].rank > hits[1].rank > 0


def test_snippet_marks_the_matched_words_and_escapes_everything_else() -> None:
    make_page(
        "payments",
        body="Read this first. <script>alert('pwned')</script> Then restart the payments "
        'service & check <b onclick="x()">health</b>.',
    )

    [hit] = search.search("restart")

    assert "<mark>restart</mark>" in hit.snippet
    assert "<script" not in hit.snippet
    assert not re.search(r"[<>]", re.sub(r"</?mark>", "", hit.snippet))


def test_snippet_shows_the_title_when_only_the_title_matches() -> None:
    make_page("dns", title="DNS <outage>", body="Check the resolvers.")

    [hit] = search.search("dns")

    assert hit.snippet == "<mark>DNS</mark> &lt;outage&gt;"
    assert hit.title == "DNS <outage>"


def test_markers_in_the_page_itself_cannot_unbalance_the_snippet() -> None:
    make_page("odd", body=f"stray {search.START} marker and {search.STOP} restart here")

    [hit] = search.search("restart")

    assert hit.snippet.count("<mark>") == hit.snippet.count("</mark>") >= 1
    assert search.START not in hit.snippet and search.STOP not in hit.snippet


def test_every_word_must_match() -> None:
    make_page("disk-full", body="When the disk is full, rotate the logs.")
    make_page("disk-slow", body="When the disk is slow, check the queue depth.")

    assert slugs("disk") == ["disk-full", "disk-slow"]
    assert slugs("disk rotate logs") == ["disk-full"]
    assert slugs("disk rotate queue") == []


def test_last_word_matches_as_a_prefix_and_only_the_last() -> None:
    make_page("writing-pages", body="Every runbook starts with a summary.")

    assert slugs("runb") == ["writing-pages"]
    assert slugs("summary runb") == ["writing-pages"]
    assert slugs("runb summary") == []


def test_words_match_their_other_forms() -> None:
    make_page("deploys", title="Rolling back deployments", body="The deploy restarted twice.")

    assert slugs("deployment restarts") == ["deploys"]


def test_punctuated_words_match_as_written_in_the_page() -> None:
    make_page("proxy", body="Restart kube-proxy on db-01.example.com first.")

    assert slugs("kube-proxy") == ["proxy"]
    assert slugs("db-01.example.com") == ["proxy"]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        '"',
        "'",
        "*",
        "-",
        "(",
        ")(",
        "AND OR NOT",
        "NOT",
        "title:x",
        "body : restart",
        "{title body}: x",
        "NEAR(restart check)",
        "restart & | ! <-> :*",
        "'; DROP TABLE runbooks_runbook; --",
        "\\",
        "\x00restart",
        "\ud800",
        "🔥🔥",
        "x" * 1000,
        "restart " * 200,
        "a" * 3000,
    ],
)
def test_hostile_queries_return_a_list(query: str) -> None:
    make_page("payments", body="Restart the payments service, then check it.")

    hits = search.search(query)

    assert isinstance(hits, list)
    assert all(isinstance(hit, search.Hit) for hit in hits)


@pytest.mark.parametrize(
    "query",
    ['"restart', "restart)", "(restart", "restart*", "restart -", "RESTART!", "🔥restart"],
)
def test_syntax_around_a_word_is_ignored(query: str) -> None:
    make_page("payments", body="Restart the payments service, then check it.")

    assert slugs(query) == ["payments"]


def test_a_query_without_words_makes_no_database_query(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    with django_assert_num_queries(0):
        assert search.search(" -*( ") == []


def test_reindexing_after_an_edit_finds_the_new_words_and_not_the_old() -> None:
    page = make_page("cache", body="Flush memcached.")
    page.title, page.body = "Cache eviction", "Flush redis."
    page.save()

    search.index(page)
    search.index(page)

    assert slugs("redis") == ["cache"]
    assert slugs("eviction") == ["cache"]
    assert slugs("memcached") == []


def test_a_deleted_and_unindexed_page_is_not_found() -> None:
    page = make_page("legacy", body="The old mainframe.")
    page_id = page.pk
    page.delete()

    search.unindex(page_id)
    search.unindex(page_id)

    assert slugs("mainframe") == []


@only_sqlite
def test_unindex_removes_the_page_from_the_fts_table() -> None:
    page = make_page("legacy", body="The old mainframe.")

    search.unindex(page.pk)

    assert slugs("mainframe") == []


def test_limit_caps_the_hits() -> None:
    for n in range(5):
        make_page(f"service-{n}", body="restart it")

    assert len(search.search("restart", limit=3)) == 3
    assert search.search("restart", limit=0) == []


def add_in_bulk(pages: Iterable[tuple[str, str, str]]) -> int:
    """Pages (slug, title, body) written in bulk, as an import would, then indexed with one
    rebuild; returns how many are indexed."""
    now = timezone.now()
    Runbook.objects.bulk_create(
        Runbook(slug=slug, title=title, body=body, updated_at=now, review_due_at=now)
        for slug, title, body in pages
    )
    return search.rebuild()


@pytest.fixture
def library() -> int:
    """5,000 pages, a few with "failover" in the title and a tenth that escalate."""
    return add_in_bulk(
        (
            f"page-{n}",
            f"Service {n} {'failover' if n % 1000 == 0 else 'operations'}",
            f"Runbook {n} for service-{n % 50}: restart the workers, then check "
            f"the queue. {'Escalate to the database team.' if n % 10 == 0 else ''}",
        )
        for n in range(5000)
    )


def test_rebuild_indexes_every_page(library: int) -> None:
    assert library == 5000
    assert len(search.search("restart workers", limit=50)) == 50
    assert slugs("page-1234") == []
    assert slugs("runbook 1234") == ["page-1234"]


def test_search_takes_at_most_two_queries_among_5000_pages(
    library: int, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_max_num_queries(2):
        hits = search.search("failover")
    with django_assert_max_num_queries(2):
        many = search.search("escalate datab")

    assert [hit.slug for hit in hits] == [f"page-{n}" for n in (0, 1000, 2000, 3000, 4000)]
    assert len(many) == 20
    assert [hit.rank for hit in many] == sorted((hit.rank for hit in many), reverse=True)


@only_postgresql
def test_postgresql_search_uses_the_gin_index(
    library: int, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE runbooks_runbook")
    with django_assert_max_num_queries(2) as captured:
        search.search("failover")

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + captured.captured_queries[0]["sql"])
        plan = "\n".join(line for (line,) in cursor.fetchall())

    assert "runbooks_runbook_search" in plan, plan


def test_snippet_reads_as_the_page_does_not_as_its_markdown() -> None:
    make_page(
        "payments",
        body=(
            "## Restart the **payments** worker\n\n"
            "Run `kubectl rollout restart` and watch [the dashboard](https://grafana.example.com/d/x).\n\n"
            "- [ ] check the queue_depth metric, then _page_ the secondary\n"
        ),
    )
    (hit,) = search.search("payments")
    text = re.sub(r"</?mark>", "", hit.snippet)
    assert "<mark>payments</mark>" in hit.snippet
    assert "payments worker Run kubectl rollout restart and watch the" in text
    assert "grafana" not in text
    (hit,) = search.search("secondary")
    text = re.sub(r"</?mark>", "", hit.snippet)
    assert "check the queue_depth metric, then page the secondary" in text
    assert not re.search(r"[#*`\[\]]", text), text


@pytest.mark.parametrize(
    ("source", "reads"),
    [
        ("ight](https://cut.example/x) more", "ight more"),
        ("see <https://status.example.com> now", "see https://status.example.com now"),
        ("| col | val |\n|---|---|\n| a | b |", "col val a b"),
        ("```bash\necho hi\n```", "echo hi"),
        ("> quoted **bold** ~~gone~~", "quoted bold gone"),
        ("1. first\n2) second", "first second"),
    ],
)
def test_markdown_leaves_a_cut_of_the_source(source: str, reads: str) -> None:
    assert " ".join(search.without_markdown(source).split()) == reads


def test_a_page_with_fifty_thousand_matches_is_searched_in_linear_time() -> None:
    # FTS5's snippet() compared every match with every other: 84,000 matches took 42 s.
    make_page("disks", body="disk " * 52_000)

    started = time.perf_counter()
    [hit] = search.search("disk")
    elapsed = time.perf_counter() - started

    assert elapsed < 5, f"{elapsed:.1f} s"
    assert hit.snippet.count("<mark>disk</mark>") == search.SNIPPET_WORDS


@pytest.fixture
def crowd() -> int:
    """20,000 pages that all match "restart"."""
    return add_in_bulk(
        (f"service-{n}", f"Service {n}", f"Restart service {n}, then its workers.")
        for n in range(20_000)
    )


def test_snippets_are_cut_for_the_page_of_hits_shown_only(
    crowd: int, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with (
        patch.object(search, "snippet", wraps=search.snippet) as snippet,
        django_assert_num_queries(2),
    ):
        results = search.find("restart workers", page=3)

    assert snippet.call_count == len(results.hits) == search.PER_PAGE
    assert results.more
    assert results.first == 2 * search.PER_PAGE + 1
    assert all("<mark>" in hit.snippet for hit in results.hits)


def test_a_search_takes_two_queries_however_many_pages_match(
    crowd: int, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    make_page("rare", body="The quokka restarts at dawn.")

    for query in ("quokka", "restart"):
        with django_assert_num_queries(2):
            search.find(query)


def test_pages_of_hits_follow_one_another_without_repeats() -> None:
    for n in range(7):
        make_page(f"service-{n}", body="restart " * (n + 1))

    pages = [search.find("restart", page=number, per_page=3) for number in (1, 2, 3, 4)]

    slugs_seen = [hit.slug for page in pages for hit in page.hits]
    assert [len(page.hits) for page in pages] == [3, 3, 1, 0]
    assert [page.more for page in pages] == [True, True, False, False]
    assert sorted(slugs_seen) == sorted(f"service-{n}" for n in range(7))
    assert search.find("restart", page=-5, per_page=3).number == 1


@pytest.mark.parametrize(
    ("body", "shows"),
    [
        pytest.param(
            " ".join(f"w{n}" for n in range(500)) + " the failover runbook ends here",
            "w496 w497 w498 w499 the <mark>failover</mark> runbook ends here",
            id="match-at-the-end",
        ),
        pytest.param(
            "disk " * 100 + "ends with the disk full and the queue stuck " + "queue " * 100,
            "the <mark>disk</mark> full and the <mark>queue</mark> stuck",
            id="both-words-where-they-meet",
        ),
        pytest.param(
            "x" * 5000 + " restart " + "y" * 5000,
            "<mark>restart</mark>",
            id="very-long-words",
        ),
    ],
)
def test_snippet_shows_the_words_around_the_best_matches(body: str, shows: str) -> None:
    make_page("page", title="Page", body=body)
    query = "disk queue" if "queue stuck" in body else shows.split("<mark>")[1].split("<")[0]

    [hit] = search.search(query)

    assert shows in hit.snippet
    assert len(hit.snippet) < search.SNIPPET_CHARS + 100


def test_a_punctuated_word_far_into_a_long_page_is_found() -> None:
    # A tsvector records every position past 16,383 as 16,383, where no phrase can match.
    make_page("long", body="lorem ipsum dolor " * 7000 + "then restart kube-proxy on db-01.")

    [hit] = search.search("kube-proxy")

    assert hit.slug == "long"
    assert "kube" in hit.snippet and "<mark>" in hit.snippet
    assert slugs("restart kube-pro") == ["long"]


def densest_text(size: int, last_words: str) -> str:
    """``size`` bytes that fill a tsvector fastest, ending with ``last_words``: hyphenated pairs
    of words never seen before (the pair and each word become lexemes, each with a position),
    3.3 bytes of tsvector per byte of text."""
    alphabet = string.ascii_lowercase + string.digits
    words = ("".join(w) for n in (3, 4) for w in itertools.product(alphabet, repeat=n))
    room = size - len(last_words.encode()) - 1
    pieces, used = [], 0
    for first, second in zip(words, words, strict=False):
        pair = f"{first}-{second} "
        if used + len(pair) > room:
            break
        pieces.append(pair)
        used += len(pair)
    return "".join(pieces).ljust(room) + " " + last_words


def test_the_largest_text_a_page_may_hold_saves_and_its_last_word_is_found() -> None:
    body = densest_text(BODY_MAX_LENGTH, "then page zanzibar")
    assert len(body) == BODY_MAX_LENGTH

    actions.save_page(None, {"title": "Big", "body": body}, base_revision=0, by=None)

    [hit] = search.search("zanzibar")
    assert hit.slug == "big"
    assert "page <mark>zanzibar</mark>" in hit.snippet


def test_the_search_repeats_the_index_expression_of_migration_0002() -> None:
    migration = importlib.import_module("runbooks.migrations.0002_search_index")

    assert search.DOCUMENT == migration.DOCUMENT


@pytest.fixture
def demo_runbooks() -> None:
    """The demo team's three runbooks, as `make run` loads them."""
    import_folder(DEMO_RUNBOOKS)


def test_a_page_is_found_by_a_common_synonym_of_a_word_in_its_title(demo_runbooks: None) -> None:
    # Issue 16: "database down" found nothing although "Database failover" exists.
    assert slugs("database down")[:1] == ["database-failover"]
    assert slugs("db outage")[:1] == ["database-failover"]


def test_a_page_whose_title_says_what_was_asked_ranks_above_one_whose_body_does(
    demo_runbooks: None,
) -> None:
    # Issue 16: "error rate" ranked Database failover above the Checkout 5xx page.
    assert slugs("error rate")[:1] == ["checkout-5xx"]


def test_a_synonym_is_marked_in_the_snippet_as_the_word_typed_is() -> None:
    make_page("db", title="Database failover", body="When the primary fails over, promote.")
    [hit] = search.search("database outage")
    # The body says neither word, so the snippet is the title, both words marked.
    assert hit.snippet == "<mark>Database</mark> <mark>failover</mark>"


def test_every_wiki_link_of_the_demo_runbooks_leads_to_a_page(demo_runbooks: None) -> None:
    # Issue 14: the Handoff checklist's [[On-call guide]] pointed to a page that did not exist.
    from runbooks.markdown import MISSING_PAGE
    from runbooks.models import Runbook

    pages = {runbook.slug: runbook.html for runbook in Runbook.objects.all()}
    assert "on-call-guide" in pages  # the wiki's file On-call-guide.md
    assert [slug for slug, html in pages.items() if MISSING_PAGE in html] == []

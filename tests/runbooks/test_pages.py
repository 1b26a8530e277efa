"""Runbook pages: every save a revision, diffs and restores, conflicting edits caught, wiki
imports that change only what changed, staleness, and links from incidents."""

from __future__ import annotations

import shutil
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.models import Incident
from rotation.models import Engineer, Rotation
from runbooks import actions, search
from runbooks.models import Revision, Runbook
from tests.conftest import NOW, login

pytestmark = pytest.mark.django_db

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "oncall-guide.md"


def page(title: str = "Checkout 5xx", body: str = "Roll back **first**.") -> Runbook:
    return actions.save_page(None, {"title": title, "body": body}, base_revision=0, by=None)


def edit(runbook: Runbook, body: str, base: int | None = None) -> Runbook:
    return actions.save_page(
        runbook,
        {"title": runbook.title, "body": body},
        base_revision=runbook.revision if base is None else base,
        by=None,
    )


def test_every_save_is_a_revision_with_its_text(platform: Rotation) -> None:
    runbook = edit(page(), "Roll back first, then look.")
    assert runbook.revision == 2
    assert [(r.number, r.body) for r in runbook.revisions.all()] == [
        (2, "Roll back first, then look."),
        (1, "Roll back **first**."),
    ]
    assert "<strong>first</strong>" not in runbook.html


def test_the_editor_saves_and_history_shows_a_readable_diff(
    client: Client, platform: Rotation
) -> None:
    login(client, "erin")
    response = client.post(
        "/runbooks/new/",
        {
            "title": "DB failover",
            "body": "line one\nline two",
            "base_revision": 0,
            "review_interval_days": 90,
        },
    )
    assert response.status_code == 302
    client.post(
        "/runbooks/db-failover/edit/",
        {
            "title": "DB failover",
            "body": "line one\nline 2",
            "base_revision": 1,
            "review_interval_days": 90,
            "message": "fix",
        },
    )
    history = client.get("/runbooks/db-failover/history/").content.decode()
    assert '<span class="removed">\u2212 line two</span>' in history
    assert '<span class="added">+ line 2</span>' in history
    assert "fix" in history


def test_restoring_an_old_revision_adds_a_new_one(client: Client, platform: Rotation) -> None:
    runbook = edit(page(), "A mistake")
    login(client, "erin").post(f"/runbooks/{runbook.slug}/restore/1/")
    runbook.refresh_from_db()
    assert (runbook.revision, runbook.body) == (3, "Roll back **first**.")
    assert runbook.revisions.first().message == "Restored revision 1"  # type: ignore[union-attr]


def test_a_conflicting_edit_is_caught_and_asked_to_merge(
    client: Client, platform: Rotation
) -> None:
    runbook = page(body="one\ntwo\nthree")
    edit(runbook, "one\nTWO\nthree")  # someone else saves revision 2
    login(client, "erin")
    response = client.post(
        f"/runbooks/{runbook.slug}/edit/",
        {
            "title": runbook.title,
            "body": "one\ntwo\nthree\nfour",
            "base_revision": 1,
            "review_interval_days": 90,
        },
    )
    page_text = response.content.decode()
    assert response.status_code == 200
    assert "Someone saved this page while you were editing" in page_text
    assert "one\ntwo\nthree\nfour" in page_text  # their text is kept
    runbook.refresh_from_db()
    assert (runbook.revision, runbook.body) == (2, "one\nTWO\nthree")
    # The form now carries revision 2: saving the merge goes through.
    merged = client.post(
        f"/runbooks/{runbook.slug}/edit/",
        {
            "title": runbook.title,
            "body": "one\nTWO\nthree\nfour",
            "base_revision": 2,
            "review_interval_days": 90,
        },
    )
    assert merged.status_code == 302
    runbook.refresh_from_db()
    assert runbook.revision == 3


def test_conflicts_are_caught_in_the_action_too(platform: Rotation) -> None:
    runbook = page()
    edit(runbook, "theirs")
    with pytest.raises(actions.EditConflictError):
        edit(runbook, "mine", base=1)


def test_wiki_links_resolve_and_a_new_page_fixes_links_to_it(platform: Rotation) -> None:
    runbook = page(body="See [[Database failover]] and [[the list|Checkout 5xx]].")
    assert 'class="missing-page"' in runbook.html
    page("Database failover", "Promote the replica.")
    runbook.refresh_from_db()
    assert 'href="/runbooks/database-failover/"' in runbook.html
    assert 'class="missing-page"' not in runbook.html


def test_importing_a_wiki_folder_twice_changes_nothing_the_second_time(
    platform: Rotation, tmp_path: Path
) -> None:
    (tmp_path / "Handoff-checklist.md").write_text("- [ ] walk through open incidents\n")
    (tmp_path / "Database-failover.md").write_text("Promote the replica.\n")
    out = StringIO()
    call_command("import_runbooks", str(tmp_path), stdout=out)
    assert "2 created, 0 changed, 0 unchanged" in out.getvalue()
    assert set(Runbook.objects.values_list("title", flat=True)) == {
        "Handoff checklist",
        "Database failover",
    }
    (tmp_path / "Database-failover.md").write_text("Promote replica-1.\n")
    out = StringIO()
    call_command("import_runbooks", str(tmp_path), stdout=out)
    assert "0 created, 1 changed, 1 unchanged" in out.getvalue()
    assert Runbook.objects.get(title="Database failover").revision == 2
    assert Runbook.objects.get(title="Handoff checklist").revision == 1


@pytest.mark.skipif(not SEED.exists(), reason=f"{SEED} is not on this machine")
def test_the_teams_wiki_page_imports_as_a_well_rendered_on_call_guide(
    client: Client, platform: Rotation, tmp_path: Path
) -> None:
    shutil.copy(SEED, tmp_path / "oncall-guide.md")
    call_command(
        "import_runbooks",
        str(tmp_path),
        "--title",
        "oncall-guide.md=On-call guide",
        stdout=StringIO(),
    )
    guide = Runbook.objects.get(title="On-call guide")
    assert guide.slug == "on-call-guide"
    html = login(client, "erin").get("/runbooks/on-call-guide/").content.decode()
    assert '<h1 id="h-schedule">Schedule</h1>' in html or 'id="h-schedule"' in html
    assert "<table>" in html
    assert 'class="missing-page"' in html  # its wiki links, to pages not imported yet
    assert "<script" not in guide.html


def test_search_finds_pages_by_title_and_text(client: Client, platform: Rotation) -> None:
    page("Database failover", "Promote the replica when the primary dies.")
    page("Checkout 5xx", "Check the payment provider.")
    html = login(client, "erin").get("/runbooks/?q=replica").content.decode()
    assert "1 result for" in html and "Database failover" in html and "<mark>" in html


def test_stale_pages_are_marked_and_shown_to_the_primary(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    with time_machine.travel(NOW - timedelta(days=100), tick=False):
        old = page("Old page", "text")
    page("Fresh page", "text")
    listing = login(client, "erin").get("/runbooks/").content.decode()
    assert listing.count("Review overdue") == 1
    alice = login(Client(), "alice")  # this week's primary
    dashboard = alice.get("/").content.decode()
    assert "Runbooks due for review" in dashboard and "Old page" in dashboard
    assert "Runbooks due for review" not in client.get("/").content.decode()  # erin is not
    alice.post(f"/runbooks/{old.slug}/reviewed/", {"next": "/"})
    old.refresh_from_db()
    assert old.last_reviewed_at == NOW and not old.is_stale(timezone.now())
    assert "Runbooks due for review" not in alice.get("/").content.decode()


def test_a_runbook_shows_the_incidents_that_used_it(client: Client, platform: Rotation) -> None:
    runbook = page()
    incident = Incident.objects.create(title="Checkout down", severity="SEV2", started_at=NOW)
    incident.runbooks.add(runbook)
    html = login(client, "erin").get(runbook.get_absolute_url()).content.decode()
    assert f"#{incident.pk} Checkout down" in html


def test_preview_renders_as_a_save_would_and_safely(client: Client, platform: Rotation) -> None:
    response = login(client, "erin").post(
        "/runbooks/preview/", {"body": "**hi** <script>x()</script>"}
    )
    assert "<strong>hi</strong>" in response.content.decode()
    assert "<script" not in response.content.decode()


def test_pages_need_a_login(client: Client, platform: Rotation) -> None:
    assert client.get("/runbooks/").status_code == 302


def test_list_and_page_cost_the_same_queries_with_5000_pages(
    client: Client, platform: Rotation
) -> None:
    runbook = page()
    login(client, "erin")

    def cost(path: str) -> int:
        client.get(path)  # the login's user is remembered after the first request
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        return len(queries)

    Runbook.objects.bulk_create(
        Runbook(slug=f"p{n}", title=f"Page {n}", updated_at=NOW, review_due_at=NOW)
        for n in range(60)
    )
    few = {path: cost(path) for path in ["/runbooks/", runbook.get_absolute_url()]}
    Runbook.objects.bulk_create(
        Runbook(slug=f"q{n}", title=f"More {n}", updated_at=NOW, review_due_at=NOW)
        for n in range(5_000)
    )
    search.rebuild()
    many = {path: cost(path) for path in few}
    assert many == few, connection.queries[-6:]


@pytest.mark.parametrize("query", [{"from": "x"}, {"to": "1.5"}, {"from": "99"}, {"to": "-3"}])
def test_history_answers_a_bad_revision_number_with_a_message(
    client: Client, cast: dict[str, Engineer], query: dict[str, str]
) -> None:
    login(client, "alice")
    created = client.post(
        "/runbooks/new/",
        {"title": "DB failover", "body": "one", "base_revision": 0, "review_interval_days": 90},
    )
    assert created.status_code == 302
    response = client.get("/runbooks/db-failover/history/", query)
    assert response.status_code == 400
    assert "Pick revisions between 1 and 1 to compare" in response.content.decode()


def unique_words(size: int) -> str:
    """About ``size`` bytes of words that are all different, like a pasted log of request ids:
    2 MB of them could not be saved on PostgreSQL ("string is too long for tsvector")."""
    return " ".join(f"req{n:07d}" for n in range(size // 11))


def test_an_edit_over_the_limit_is_refused_and_the_page_keeps_its_revision(
    client: Client, platform: Rotation
) -> None:
    runbook = page()
    login(client, "erin")

    response = client.post(
        f"/runbooks/{runbook.slug}/edit/",
        {
            "title": runbook.title,
            "body": unique_words(2_000_000),
            "base_revision": 1,
            "review_interval_days": 90,
        },
    )

    assert response.status_code == 200
    assert "at most 20000 characters (it has 1999997)" in response.content.decode()
    runbook.refresh_from_db()
    assert (runbook.revision, runbook.body) == (1, "Roll back **first**.")


def test_the_save_action_refuses_two_megabytes_of_text_and_saves_nothing(
    platform: Rotation,
) -> None:
    with pytest.raises(ValidationError, match=r"at most 20000 characters \(it has 1999997\)"):
        page("Request log", unique_words(2_000_000))

    assert not Runbook.objects.exists()
    assert not Revision.objects.exists()


def test_search_results_come_a_page_at_a_time(client: Client, platform: Rotation) -> None:
    for n in range(search.PER_PAGE + 5):
        page(f"Service {n}", "Restart the workers.")
    login(client, "erin")

    first = client.get("/runbooks/", {"q": "restart"}).content.decode()
    second = client.get("/runbooks/", {"q": "restart", "page": "2"}).content.decode()
    beyond = client.get("/runbooks/", {"q": "restart", "page": "9" * 40})
    garbled = client.get("/runbooks/", {"q": "restart", "page": "two"}).content.decode()

    assert "Results 1\u201320 for" in first and 'href="?q=restart&amp;page=2"' in first
    assert "Results 21\u201325 for" in second and 'href="?q=restart&amp;page=1"' in second
    assert "page=3" not in second
    assert beyond.status_code == 200
    assert "No results on page 10000" in beyond.content.decode()
    assert "Results 1\u201320 for" in garbled


# Times in the reader's zone ------------------------------------------------------------------


def test_revisions_read_in_the_viewers_profile_zone(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    Engineer.objects.filter(pk=cast["erin"].pk).update(time_zone="Europe/Berlin")
    runbook = page()  # saved at 17:00 UTC
    login(client, "erin")
    assert (
        "2 Dec 2026 18:00 CET" in client.get(f"/runbooks/{runbook.slug}/history/").content.decode()
    )
    assert "2 Dec 2026 18:00 CET" in client.get(runbook.get_absolute_url()).content.decode()


def test_without_a_profile_zone_the_browsers_is_used_and_a_bogus_one_ignored(
    client: Client, platform: Rotation
) -> None:
    runbook = page()
    login(client, "dave")  # no zone on his profile
    client.cookies["tz"] = "Asia/Tokyo"
    assert (
        "3 Dec 2026 02:00 JST" in client.get(f"/runbooks/{runbook.slug}/history/").content.decode()
    )
    client.cookies["tz"] = "Mars/Olympus_Mons"
    history = client.get(f"/runbooks/{runbook.slug}/history/")
    assert history.status_code == 200
    assert "2 Dec 2026 17:00 UTC" in history.content.decode()


def test_the_edit_conflict_says_when_in_the_viewers_zone(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    Engineer.objects.filter(pk=cast["erin"].pk).update(time_zone="America/New_York")
    runbook = page(body="one")
    edit(runbook, "two")  # someone else saves revision 2, at 17:00 UTC
    login(client, "erin")
    fields = {"title": runbook.title, "body": "three", "base_revision": 1}
    response = client.post(
        f"/runbooks/{runbook.slug}/edit/", {**fields, "review_interval_days": 90}
    )
    assert "at 12:00 EST" in response.content.decode()

"""Time off in the pages: /me/ records it and proposes swaps in one click; the dashboard and
the rotation page say where it collides."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portal.models import Notice
from rotation.models import Engineer, Rotation, Swap, SwapStatus, TimeOff
from rotation.timeoff import record_time_off
from tests.conftest import NOW, login

# Alice is primary Tue 29 Dec - Tue 5 Jan (her stint began as secondary on 22 Dec).
OFF = {"starts_on": "2026-12-30", "ends_on": "2027-01-02", "note": "family"}


def away(alice: Engineer) -> TimeOff:
    return record_time_off(
        alice, date(2026, 12, 30), date(2027, 1, 2), "family", by=alice.user, now=NOW
    )


def test_me_records_time_off_and_warns_of_the_collision(client: Client, platform: Rotation) -> None:
    login(client, "alice")
    response = client.post("/me/time-off/", OFF, follow=True)
    page = response.content.decode()
    assert TimeOff.objects.get().note == "family"
    assert "Time off recorded: Wed 30 Dec to Sat 2 Jan 2027." in page
    assert "You are primary Tue 29 Dec \N{EN DASH} Tue 5 Jan" in page
    assert "during your time off (family)" in page
    assert "Propose swap with Bob" in page
    assert page.index("Propose swap with Bob") < page.index("Propose swap with Dave")


def test_refused_form_keeps_what_was_typed_with_the_error_beside_the_field(
    client: Client, platform: Rotation
) -> None:
    login(client, "alice")
    typed = {"starts_on": "2027-01-05", "ends_on": "2027-01-02", "note": "ski trip"}
    page = client.post("/me/time-off/", typed, follow=True).content.decode()
    assert "The last day off is before the first." in page
    assert 'value="2027-01-05"' in page and 'value="2027-01-02"' in page
    assert 'value="ski trip"' in page
    assert not TimeOff.objects.exists()
    # Shown once: the next visit has a fresh form.
    assert "ski trip" not in client.get("/me/").content.decode()


def test_a_rule_the_action_refuses_shows_beside_the_form(
    client: Client, platform: Rotation
) -> None:
    login(client, "alice")
    typed = {"starts_on": "2026-11-02", "ends_on": "2026-11-05", "note": ""}
    page = client.post("/me/time-off/", typed, follow=True).content.decode()
    assert "that time off ended before today" in page
    assert 'value="2026-11-02"' in page
    missing = client.post("/me/time-off/", {"note": "x"}, follow=True).content.decode()
    assert "This field is required." in missing
    assert not TimeOff.objects.exists()


def test_delete_removes_mine_and_not_someone_elses(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    row = away(cast["alice"])
    login(client, "dave")
    assert client.post(f"/me/time-off/{row.id}/delete/").status_code == 404
    assert TimeOff.objects.exists()
    login(client, "alice")
    page = client.post(f"/me/time-off/{row.id}/delete/", follow=True).content.decode()
    assert "deleted" in page
    assert not TimeOff.objects.exists()


def test_one_click_proposes_the_swap_and_tells_the_partner(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    away(cast["alice"])
    login(client, "alice")
    page = client.get("/me/").content.decode()
    form = page.split("Propose swap with Bob")[0].rsplit("<form", 1)[1]
    fields = dict(
        (part.split('name="')[1].split('"')[0], part.split('value="')[1].split('"')[0])
        for part in form.split("<input")[1:]
    )
    response = client.post("/me/time-off/propose/", fields, follow=True)
    swap = Swap.objects.get()
    assert (swap.proposer, swap.partner, swap.status) == (
        cast["alice"],
        cast["bob"],
        SwapStatus.PROPOSED,
    )
    assert Notice.objects.filter(key=f"swap-proposed:{swap.id}", to="bob@example.com").exists()
    assert "Swap proposed to Bob" in response.content.decode()
    assert "You proposed this swap to <strong>Bob</strong>" in response.content.decode()


def test_one_click_for_a_stint_that_is_not_mine_is_refused(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "dave")
    fields = {
        "rotation": "platform",
        "mine": "2026-12-22T18:00:00+00:00",  # Alice's stint, not Dave's
        "theirs": "2026-12-08T18:00:00+00:00",
        "with": "bob@example.com",
    }
    page = client.post("/me/time-off/propose/", fields, follow=True).content.decode()
    assert "was not proposed" in page
    assert not Swap.objects.exists()


def test_dashboard_tells_only_the_engineer_concerned(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    away(cast["alice"])
    login(client, "alice")
    page = client.get("/").content.decode()
    assert "Your time off collides with your <strong>primary week</strong> from Tue 29 Dec" in page
    assert 'href="/me/#time-off"' in page
    login(client, "dave")
    assert "Your time off collides" not in client.get("/").content.decode()


def test_dashboard_line_goes_once_the_time_off_is_deleted(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    row = away(cast["alice"])
    login(client, "alice")
    assert "Your time off collides" in client.get("/").content.decode()
    client.post(f"/me/time-off/{row.id}/delete/")
    assert "Your time off collides" not in client.get("/").content.decode()


def test_rotation_page_marks_everyones_collisions(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    away(cast["alice"])
    login(client, "dave")
    page = client.get("/rotations/platform/?week=2026-12-29").content.decode()
    assert "Alice is away (30 Dec \N{EN DASH} 2 Jan) during their primary week" in page
    assert 'class="primary away"' in page
    login(client, "alice")
    page = client.get("/rotations/platform/?week=2026-12-29").content.decode()
    assert "Your time off (30 Dec \N{EN DASH} 2 Jan) collides with your primary week" in page


def test_pages_query_counts_are_flat_in_time_off_rows(
    client: Client,
    platform: Rotation,
    cast: dict[str, Engineer],
    django_assert_max_num_queries: Any,
) -> None:
    alice = cast["alice"]
    login(client, "alice")
    client.get("/")  # the session and the login's remembered lookups

    def counts() -> tuple[int, int]:
        """Queries of /me/ (computed afresh: a write to time off changes the schedule's
        stamp) and of the rotation page showing Alice's colliding week."""
        with CaptureQueriesContext(connection) as me:
            client.get("/me/")
        with CaptureQueriesContext(connection) as week:
            client.get("/rotations/platform/?week=2026-12-29")
        return len(me), len(week)

    away(alice)
    before = counts()
    # Four more ranges of Alice's in weeks she does not hold, three of her colleagues'.
    for first in (date(2027, 2, 3), date(2027, 2, 10), date(2027, 3, 3), date(2027, 3, 10)):
        record_time_off(alice, first, first + timedelta(days=1), by=alice.user, now=NOW)
    for name in ("dave", "erin", "bob"):
        person = cast[name]
        record_time_off(person, date(2027, 1, 6), date(2027, 1, 7), by=person.user, now=NOW)
    after = counts()
    assert after[0] <= before[0] and after[1] <= before[1]
    page = client.get("/me/").content.decode()
    assert page.count('class="warning collision"') == 1
    # Remembered: the proposals are not worked out again. What remains is a fixed number per
    # section: shifts and feeds (9), the permissions (2), covers (3: my requests, flagged
    # overrides and swaps), swaps (1), the onboarding checklist (1), rotation health's incidents
    # and PagerDuty pages (2), reminder choices (1), the stamp.
    with django_assert_max_num_queries(20):
        client.get("/me/")


def test_one_click_with_a_tampered_instant_is_refused_not_a_crash(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "alice")
    fields = {
        "rotation": "platform",
        "mine": "2026-12-22T18:00:00",  # no offset
        "theirs": "2026-12-08T18:00:00+00:00",
        "with": "bob@example.com",
    }
    page = client.post("/me/time-off/propose/", fields, follow=True).content.decode()
    assert "was not understood" in page
    assert not Swap.objects.exists()

"""The calendars page, the schedule as a calendar (/rotations/<slug>/) and "my shifts" (/me/)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from feeds.models import FeedToken
from rotation.actions import create_override
from rotation.models import Engineer, Rotation
from tests.conftest import login

pytestmark = pytest.mark.django_db


def rows_of(page: str) -> list[str]:
    """Each table row's text, tags stripped and spaces squeezed."""
    return [
        " ".join(re.sub(r"<[^>]+>", " ", row).split())
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S)
    ]


@pytest.mark.parametrize("path", ["/calendars/", "/me/", "/rotations/platform/"])
def test_pages_need_a_login(client: Client, platform: Rotation, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# /calendars/ ------------------------------------------------------------------------------


def test_calendars_page_lists_each_feed_with_webcal_google_and_copy_links(
    client: Client, platform: Rotation
) -> None:
    page = login(client, "erin").get("/calendars/").content.decode()
    token = FeedToken.objects.get(user__email="erin@example.com").token
    for name in [
        "my-shifts",
        "platform.all",
        "platform.primary",
        "platform.secondary",
        "platform.shadow",
    ]:
        url = f"http://testserver/calendars/{token}/{name}.ics"
        assert f'href="webcal://testserver/calendars/{token}/{name}.ics"' in page
        assert f'data-copy="{url}"' in page
    google = re.findall(r'href="(https://calendar\.google\.com/[^"]+)"', page)
    assert len(google) == 5
    cid = parse_qs(urlsplit(google[0].replace("&amp;", "&")).query)["cid"][0]
    assert cid == f"webcal://testserver/calendars/{token}/my-shifts.ics"
    assert "not yet" in page


def test_someone_without_shifts_sees_the_rotation_feeds_but_no_personal_one(
    client: Client, platform: Rotation
) -> None:
    page = login(client, "mallory").get("/calendars/").content.decode()
    assert "platform.primary.ics" in page
    assert "my-shifts.ics" not in page


def test_getting_new_addresses_retires_the_old_ones(client: Client, platform: Rotation) -> None:
    login(client, "erin").get("/calendars/")
    old = FeedToken.objects.get(user__email="erin@example.com").token
    response = client.post("/calendars/rotate/", follow=True)
    new = FeedToken.objects.get(user__email="erin@example.com").token
    assert new != old
    page = response.content.decode()
    assert "old ones stopped working" in page
    assert new in page and old not in page
    assert Client().get(f"/calendars/{old}/platform.all.ics").status_code == 404


# /rotations/<slug>/ -----------------------------------------------------------------------


def test_schedule_highlights_this_week_with_its_people(client: Client, platform: Rotation) -> None:
    page = login(client, "erin").get("/rotations/platform/").content.decode()
    current = re.search(r'<tr class="current[^"]*" aria-current="date">(.*?)</tr>', page, re.S)
    assert current is not None
    (text,) = rows_of(f"<tr>{current.group(1)}</tr>")
    assert text.startswith("Tue 1 Dec 2026 10:00 PST this week")
    assert "Alice Erin Bob" in text


def test_schedule_lists_weeks_in_order_with_the_chain_rule_visible(
    client: Client, platform: Rotation
) -> None:
    page = login(client, "erin").get("/rotations/platform/").content.decode()
    starts = re.findall(r'<th scope="row">\s*<time datetime="([^"]+)"', page)
    primaries = re.findall(r'class="primary"><span class="holder[^"]*">([^<]+)</span></td>', page)
    # (Erin's own secondary weeks ahead end with a "Swap…" link.)
    secondaries = re.findall(
        r'class="secondary"><span class="holder[^"]*">([^<]+)</span>(?: <a [^>]+>Swap…</a>)?</td>',
        page,
    )
    assert len(starts) == len(primaries) == len(secondaries) >= 12
    assert starts == sorted(starts)
    # This week's secondary is next week's primary, row after row.
    assert primaries[1:] == secondaries[:-1]


def test_schedule_marks_an_override_in_its_week(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    create_override(
        platform,
        role="secondary",
        engineer=cast["dave"],
        starts_at=datetime(2026, 12, 3, 17, tzinfo=UTC),
        ends_at=datetime(2026, 12, 4, 17, tzinfo=UTC),
        reason="dentist",
        by=None,
    )
    page = login(client, "erin").get("/rotations/platform/").content.decode()
    (week,) = [row for row in rows_of(page) if "Override" in row]
    assert "Tue 1 Dec 2026" in week
    assert "Dave covering Erin Thu 09:00\u2013Fri 09:00" in week
    assert "Override Dave: dentist" in week


def test_schedule_notes_the_weeks_whose_clocks_change(client: Client, platform: Rotation) -> None:
    page = login(client, "erin").get("/rotations/platform/?week=2027-03-09").content.decode()
    (spring,) = [row for row in rows_of(page) if "Clocks change" in row]
    assert spring.startswith("Tue 9 Mar 2027 10:00 PST")
    assert "Clocks change Sun 14 Mar to PDT: this week lasts 167 hours" in spring


def test_schedule_pages_backwards_and_forwards(client: Client, platform: Rotation) -> None:
    page = login(client, "erin").get("/rotations/platform/?week=2027-03-09").content.decode()
    assert 'href="?week=2026-12-22"' in page and 'href="?week=2027-06-01"' in page
    page = client.get("/rotations/platform/").content.decode()
    assert 'href="?week=2027-02-24"' in page
    later = client.get("/rotations/platform/?week=2027-02-24").content.decode()
    assert "This week" in later
    assert 'aria-current="date"' not in later


def test_earlier_stops_at_the_page_that_shows_the_rotations_first_week(
    client: Client, platform: Rotation
) -> None:
    # The rotation starts on Tue 24 Nov 2026: this page's rows begin before it.
    page = login(client, "erin").get("/rotations/platform/").content.decode()
    assert "Earlier" not in page
    assert rows_of(page)[1].startswith("Tue 24 Nov 2026")  # after the heading row


def test_weeks_before_the_rotation_say_so_instead_of_an_empty_table(
    client: Client, platform: Rotation
) -> None:
    page = login(client, "erin").get("/rotations/platform/?week=2020-01-07").content.decode()
    assert '<table class="weeks">' not in page
    assert "the rotation's first handoff is Tue 24 Nov 2026" in page


def test_schedule_shows_the_viewers_own_time_beside(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    Engineer.objects.filter(pk=cast["erin"].pk).update(time_zone="Europe/Berlin")
    page = login(client, "erin").get("/rotations/platform/").content.decode()
    assert "(your time Tue 1 Dec 19:00 CET)" in page


def test_schedule_refuses_a_bad_week_with_a_message(client: Client, platform: Rotation) -> None:
    page = login(client, "erin").get("/rotations/platform/?week=soon").content.decode()
    assert "is not a date like 2026-12-01" in page
    assert 'aria-current="date"' in page


def test_unknown_rotation_is_404(client: Client, platform: Rotation) -> None:
    assert login(client, "erin").get("/rotations/nope/").status_code == 404


# /me/ -------------------------------------------------------------------------------------


def test_me_lists_my_shifts_for_six_months(client: Client, platform: Rotation) -> None:
    page = login(client, "alice").get("/me/").content.decode()
    shifts = [row for row in rows_of(page) if "Platform" in row]
    assert shifts[0].startswith("Tue 1 Dec 2026 10:00 PST Tue 8 Dec 2026 10:00 PST Primary now")
    assert len(shifts) >= 12  # two shifts in every four weeks, for 26 weeks
    assert "Jun 2027" in shifts[-1] or "May 2027" in shifts[-1]


def test_me_compares_my_quarter_with_the_team_average(client: Client, platform: Rotation) -> None:
    page = " ".join(login(client, "alice").get("/me/").content.decode().split())
    # Since the rotation began (24 Nov): a week as secondary, 23 hours as primary; the team of
    # four has held 2 weeks and 46 hours between them.
    assert "on call for <strong>1.1 weeks</strong> (0.1 as primary, 1.0 as secondary)" in page
    assert "average is <strong>0.6 weeks</strong> across 4 people" in page


def test_me_offers_my_feed(client: Client, platform: Rotation) -> None:
    page = login(client, "alice").get("/me/").content.decode()
    token = FeedToken.objects.get(user__email="alice@example.com").token
    assert f"webcal://testserver/calendars/{token}/my-shifts.ics" in page


def test_me_explains_when_the_account_has_no_engineer(client: Client, platform: Rotation) -> None:
    page = login(client, "mallory").get("/me/").content.decode()
    assert "not linked to an engineer" in page

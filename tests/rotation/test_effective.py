"""The one effective schedule: what covers and overrides do to every page, and the rules that
every write keeps. The cast is tests/conftest.py's: Platform's order is dave, alice, erin, bob
(bob shadows the week of 1 Dec); now is Wednesday 2 Dec 2026, 09:00 in Los Angeles, when alice
is primary and erin secondary.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client

from portal.models import AuditEntry
from rotation import timetable
from rotation.actions import (
    RosterError,
    create_override,
    deactivate_engineer,
    delete_override,
    save_roster,
)
from rotation.effective import effective_schedule
from rotation.models import Engineer, Override, Rotation
from rotation.schedule import Duty
from rotation.stretches import Reason
from tests.conftest import NOW, login, make_engineer

# Alice's primary week of 29 Dec, handoff to handoff (10:00 PST is 18:00 UTC).
WEEK_OF_29_DEC = (datetime(2026, 12, 29, 18, tzinfo=UTC), datetime(2027, 1, 5, 18, tzinfo=UTC))


def cover(rotation: Rotation, who: Engineer, role: str, start: datetime, end: datetime) -> Override:
    return create_override(
        rotation, role=role, engineer=who, starts_at=start, ends_at=end, reason="holiday", by=None
    )


@pytest.fixture
def frank(cast: dict[str, Engineer]) -> Engineer:
    return make_engineer("frank")


def row_of(page: str, week: str) -> str:
    """The text of the schedule row whose week starts on ``week`` (e.g. "Tue 29 Dec 2026")."""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S):
        text = " ".join(re.sub(r"<[^>]+>", " ", row).split())
        if text.startswith(week):
            return text
    raise AssertionError(f"no row for {week}")


def test_the_schedule_page_names_who_covers_in_the_primary_column(
    client: Client, platform: Rotation, frank: Engineer
) -> None:
    cover(platform, frank, "primary", *WEEK_OF_29_DEC)
    page = login(client, "erin").get("/rotations/platform/", {"week": "2026-12-29"})
    row = row_of(page.content.decode(), "Tue 29 Dec 2026")
    primary = re.search(r'class="primary">(.*?)</td>', page.content.decode(), re.S)
    assert primary is not None
    assert "Frank covering Alice" in row
    assert row.index("Frank covering Alice") < row.index("Erin")  # Primary column first


def test_the_dashboard_line_follows_a_cover_of_my_week(
    client: Client, platform: Rotation, frank: Engineer
) -> None:
    cover(platform, frank, "primary", NOW - timedelta(hours=1), NOW + timedelta(days=1))
    page = login(client, "alice").get("/").content.decode()
    assert "You are <strong>primary on call</strong>" not in page
    assert "Your next shift: <strong>primary</strong> for Platform from Thu 3 Dec" in page
    assert '<span class="name">Frank</span> <span class="covering">covering Alice</span>' in page
    frank_page = login(Client(), "frank").get("/").content.decode()
    assert "You are <strong>primary on call</strong> for Platform, covering Alice," in frank_page


def test_an_override_cannot_put_someone_on_call_during_their_shadow_week(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    with pytest.raises(RosterError) as refused:
        cover(platform, cast["bob"], "secondary", NOW, NOW + timedelta(hours=3))
    assert [p.code for p in refused.value.problems] == ["shadow-late"]
    assert "Bob would be secondary" in str(refused.value)
    assert "before their shadow week ends" in str(refused.value)
    assert not Override.objects.exists()


def test_an_override_cannot_put_an_inactive_engineer_on_call(
    platform: Rotation, frank: Engineer
) -> None:
    Engineer.objects.filter(pk=frank.pk).update(is_active=False)
    with pytest.raises(RosterError) as refused:
        cover(platform, frank, "primary", NOW, NOW + timedelta(hours=3))
    assert [p.code for p in refused.value.problems] == ["inactive"]
    assert "Frank is no longer active" in str(refused.value)


def test_a_roster_edit_that_clashes_with_an_override_is_refused_naming_it(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    # Dave covers erin as primary in the week of 8 Dec (erin/bob by the roster).
    week = (datetime(2026, 12, 8, 18, tzinfo=UTC), datetime(2026, 12, 15, 18, tzinfo=UTC))
    cover(platform, cast["dave"], "primary", *week)
    # From 8 Dec this order gives erin/dave: dave would hold both roles.
    order = [cast["alice"], cast["erin"], cast["dave"], cast["bob"]]
    eras = list(platform.eras.values_list("id", flat=True))
    with pytest.raises(RosterError) as refused:
        save_roster(platform, order, by=None)
    message = str(refused.value)
    assert "Dave would be primary and secondary from Tue 8 Dec 2026 10:00 PST" in message
    assert "by an override (covering Erin)" in message
    assert list(platform.eras.values_list("id", flat=True)) == eras


def test_deactivating_an_engineer_still_rostered_says_what_to_change_first(
    platform: Rotation, cast: dict[str, Engineer], frank: Engineer
) -> None:
    with pytest.raises(RosterError, match="Erin is in the roster of Platform: remove them"):
        deactivate_engineer(cast["erin"], by=None)
    override = cover(platform, frank, "primary", *WEEK_OF_29_DEC)
    with pytest.raises(RosterError, match="Frank holds an override as primary of Platform"):
        deactivate_engineer(frank, by=None)
    delete_override(override, by=None)
    deactivate_engineer(frank, by=None)
    frank.refresh_from_db()
    assert not frank.is_active
    assert AuditEntry.objects.filter(action="engineer.deactivated", subject=frank.email).exists()


def test_the_admin_refuses_to_deactivate_a_rostered_engineer(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "carol")
    erin = cast["erin"]
    data = {
        "name": erin.name,
        "email": erin.email,
        "phone": "",
        "pagerduty_user_id": "",
        "time_zone": "",
        "user": str(erin.user_id),
    }  # is_active unticked
    response = client.post(f"/admin/rotation/engineer/{erin.pk}/change/", data)
    assert "Erin is in the roster of Platform" in response.content.decode()
    erin.refresh_from_db()
    assert erin.is_active


def test_deleting_an_override_that_keeps_two_roles_apart_is_refused(
    platform: Rotation, cast: dict[str, Engineer], frank: Engineer
) -> None:
    window = (NOW + timedelta(hours=1), NOW + timedelta(hours=3))
    frank_for_erin = cover(platform, frank, "secondary", *window)
    cover(platform, cast["erin"], "primary", *window)  # erin covers alice: fine beside frank
    with pytest.raises(RosterError, match="Erin would be primary and secondary"):
        delete_override(frank_for_erin, by=None)
    assert Override.objects.count() == 2


def test_the_admin_shows_a_refused_override_as_a_field_error(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "carol")
    data = {
        "rotation": str(platform.pk),
        "role": "secondary",
        "engineer": str(cast["bob"].pk),
        "starts_at_0": "2026-12-03",
        "starts_at_1": "09:00",
        "ends_at_0": "2026-12-03",
        "ends_at_1": "12:00",
        "reason": "",
    }
    page = client.post("/admin/rotation/override/add/", data).content.decode()
    errors = re.search(r'<ul class="errorlist"[^>]*id="id_engineer_error">(.*?)</ul>', page, re.S)
    assert errors is not None and "before their shadow week ends" in errors.group(1)
    assert not Override.objects.exists()


def test_the_schedule_api_gives_each_stretch_its_reason_and_whom_it_covers(
    client: Client, platform: Rotation, frank: Engineer
) -> None:
    cover(platform, frank, "primary", NOW + timedelta(hours=1), NOW + timedelta(hours=5))
    login(client, "erin")
    answer = client.get(
        "/api/v1/schedule",
        {"rotation": "platform", "from": "2026-12-02T17:00:00Z", "to": "2026-12-03T00:00:00Z"},
    ).json()
    primaries = [
        (s["person"]["name"], s["reason"], s["covering"]) for s in answer if s["role"] == "primary"
    ]
    assert primaries == [
        ("Alice", "rostered", None),
        ("Frank", "override", {"name": "Alice", "email": "alice@example.com"}),
        ("Alice", "rostered", None),
    ]
    assert answer[0]["start"] == "2026-12-01T18:00:00Z"
    assert {s["role"] for s in answer} == {"primary", "secondary", "shadow"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({}, "'rotation' is required"),
        ({"rotation": "nope"}, "unknown rotation 'nope'"),
        ({"rotation": "platform", "from": "yesterday"}, "ISO 8601"),
        (
            {"rotation": "platform", "from": "2027-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            "after",
        ),
        (
            {"rotation": "platform", "from": "2026-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
            "400 days",
        ),
    ],
)
def test_the_schedule_api_refuses_bad_questions_with_a_message(
    client: Client, platform: Rotation, query: dict[str, str], message: str
) -> None:
    response = login(client, "erin").get("/api/v1/schedule", query)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_the_schedule_api_needs_a_login(platform: Rotation) -> None:
    assert Client().get("/api/v1/schedule", {"rotation": "platform"}).status_code == 401


def test_the_effective_schedule_loads_the_same_for_any_number_of_rotations(
    platform: Rotation, cast: dict[str, Engineer], django_assert_num_queries: object
) -> None:
    start = NOW
    with django_assert_num_queries(5):  # type: ignore[operator]
        (effective,) = [effective_schedule(platform, start, start + timedelta(weeks=8))]
    assert {s.reason for s in effective.stretches} == {Reason.ROSTERED}
    assert effective.holder(Duty.PRIMARY, NOW) is not None


def test_this_weeks_secondary_is_next_weeks_primary_after_a_cover(
    platform: Rotation, frank: Engineer
) -> None:
    cover(platform, frank, "secondary", NOW, NOW + timedelta(days=1))
    effective = effective_schedule(platform, NOW, NOW + timedelta(weeks=3))
    weeks = sorted({s.slot_start for s in effective.stretches if s.slot_start})
    rostered = {
        (s.slot_start, s.role): s.covering or s.member
        for s in effective.stretches
        if s.role != Duty.SHADOW
    }
    for week, following in itertools.pairwise(weeks):
        assert rostered[week, Duty.SECONDARY] == rostered[following, Duty.PRIMARY]
    assert date(2026, 12, 1) <= weeks[0].date()


def test_my_page_lists_the_week_i_cover_and_whom_for(
    client: Client, platform: Rotation, frank: Engineer
) -> None:
    cover(platform, frank, "primary", *WEEK_OF_29_DEC)
    page = login(client, "frank").get("/me/").content.decode()
    assert '<span class="covering">covering Alice</span>' in page
    alice = timetable.my_shifts(platform.memberships.get(engineer__name="Alice").engineer, NOW)
    assert WEEK_OF_29_DEC[0] not in [shift.start for shift in alice.upcoming]  # Frank's now

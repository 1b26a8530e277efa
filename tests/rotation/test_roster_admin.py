"""Managers edit the roster in the admin; the rules are checked before anything is saved."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django_q.brokers import get_broker

from portal.models import AuditEntry
from portal.notices import send_pending
from rotation.actions import book_shadow_week, save_roster
from rotation.admin import roster_version
from rotation.models import Engineer, Membership, Override, RosterEra, Rotation, Shift
from tests.conftest import login, shadowed

pytestmark = pytest.mark.django_db


def roster_form(rotation: Rotation, order: list[Engineer], **changes: str) -> dict[str, str]:
    """The admin change form as a browser posts it: existing rows renumbered, new rows added."""
    data = {
        "name": rotation.name,
        "slug": rotation.slug,
        "time_zone": rotation.time_zone,
        "handoff_weekday": str(rotation.handoff_weekday),
        "handoff_time": rotation.handoff_time.strftime("%H:%M"),
        "starts_on": rotation.starts_on.isoformat(),
        "pagerduty_escalation_policy_id": "",
        "pagerduty_feeds": "{}",
        "eras-TOTAL_FORMS": "0",
        "eras-INITIAL_FORMS": "0",
    }
    existing = list(Membership.objects.filter(rotation=rotation))
    unplaced = list(enumerate(order, start=1))
    rows: list[dict[str, str]] = []
    for membership in existing:
        row = {"id": str(membership.pk), "engineer": str(membership.engineer_id)}
        place = next((item for item in unplaced if item[1].pk == membership.engineer_id), None)
        if place is None:
            row.update(position=str(membership.position), DELETE="on")
        else:
            unplaced.remove(place)
            row["position"] = str(place[0])
        rows.append(row)
    rows.extend({"id": "", "engineer": str(e.pk), "position": str(p)} for p, e in unplaced)
    for number, row in enumerate(rows):
        data.update({f"memberships-{number}-{key}": value for key, value in row.items()})
        data[f"memberships-{number}-rotation"] = str(rotation.pk)
    data["memberships-TOTAL_FORMS"] = str(len(rows))
    data["memberships-INITIAL_FORMS"] = str(len(existing))
    data["roster_version"] = roster_version(rotation)
    data.update(changes)
    return data


def change_url(rotation: Rotation) -> str:
    return f"/admin/rotation/rotation/{rotation.pk}/change/"


def test_manager_opens_the_roster_in_the_admin(client: Client, platform: Rotation) -> None:
    login(client, "carol")
    page = client.get(change_url(platform)).content.decode()
    assert "Roster order" in page
    assert "Roster history" in page


@pytest.mark.parametrize("name", ["alice", "mallory"])
def test_engineers_cannot_edit_rosters(client: Client, platform: Rotation, name: str) -> None:
    login(client, name)
    response = client.get(change_url(platform))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    client.post(change_url(platform), roster_form(platform, []))
    assert Membership.objects.filter(rotation=platform).count() == 4


def test_anonymous_cannot_reach_the_admin(client: Client, platform: Rotation) -> None:
    assert client.get(change_url(platform)).status_code == 302


def test_manager_reorders_and_only_the_future_changes(
    client: Client, platform: Rotation, cast: dict[str, Engineer], frozen_now: datetime
) -> None:
    started = list(
        Shift.objects.filter(starts_at__lte=frozen_now).values_list(
            "role", "engineer__name", "starts_at", "ends_at"
        )
    )
    login(client, "carol")
    order = [cast["erin"], cast["alice"], cast["dave"], cast["bob"]]
    response = client.post(change_url(platform), roster_form(platform, order), follow=True)
    assert response.status_code == 200
    assert "was changed successfully" in response.content.decode()
    assert (
        list(
            Shift.objects.filter(starts_at__lte=frozen_now).values_list(
                "role", "engineer__name", "starts_at", "ends_at"
            )
        )
        == started
    )
    # From the next handoff (8 Dec) the chain continues from this week's secondary, erin.
    next_week = Shift.objects.get(
        role="primary", starts_at__gt=frozen_now, starts_at__lt=frozen_now + timedelta(days=7)
    )
    assert next_week.engineer == cast["erin"]
    following = Shift.objects.get(role="secondary", starts_at=next_week.starts_at)
    assert following.engineer == cast["alice"]
    assert RosterEra.objects.filter(rotation=platform).count() == 2
    assert AuditEntry.objects.filter(action="roster.saved", actor=cast["carol"].user).exists()


def test_manager_is_told_who_gains_and_loses_weeks(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "carol")
    shadowed(platform, cast["carol"])
    order = [cast["dave"], cast["alice"], cast["erin"], cast["carol"], cast["bob"]]
    page = client.post(
        change_url(platform), roster_form(platform, order), follow=True
    ).content.decode()
    assert "Carol gains weeks of 8 Dec, 15 Dec, 12 Jan" in page
    assert "Bob gains weeks of 22 Dec" in page and "; loses weeks of 8 Dec" in page


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (["alice"], "a rotation needs at least two members"),
        (["alice", "erin", "alice"], "alice@example.com is listed twice"),
    ],
)
def test_roster_that_breaks_the_rules_is_refused_with_the_problem_named(
    client: Client, platform: Rotation, cast: dict[str, Engineer], order: list[str], message: str
) -> None:
    shifts_before = Shift.objects.count()
    login(client, "carol")
    response = client.post(
        change_url(platform), roster_form(platform, [cast[name] for name in order])
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert [m.engineer.name for m in Membership.objects.filter(rotation=platform)] == [
        "Dave",
        "Alice",
        "Erin",
        "Bob",
    ]
    assert Shift.objects.count() == shifts_before
    assert RosterEra.objects.filter(rotation=platform).count() == 1


def test_newcomer_placed_to_be_on_call_before_their_shadow_week_ends_is_refused(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    book_shadow_week(platform, cast["carol"], date(2026, 12, 22), by=None)
    login(client, "carol")
    # Straight after erin, carol would be secondary from the next handoff, 8 December.
    order = [cast["dave"], cast["alice"], cast["erin"], cast["carol"], cast["bob"]]
    page = client.post(change_url(platform), roster_form(platform, order)).content.decode()
    assert (
        "carol@example.com would be on call from 2026-12-08, before their shadow week 2026-12-22 ends"
        in page
    )
    assert not Membership.objects.filter(engineer=cast["carol"]).exists()


def test_shadow_week_booked_after_a_first_shift_is_refused(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "carol")
    data = {"rotation": str(platform.pk), "engineer": str(cast["bob"].pk), "week_of": "2026-12-15"}
    page = client.post("/admin/rotation/shadowbooking/add/", data).content.decode()
    assert (
        "bob@example.com would be on call from 2026-12-08, before their shadow week 2026-12-15 ends"
        in page
    )
    data["engineer"] = str(cast["carol"].pk)
    assert client.post("/admin/rotation/shadowbooking/add/", data).status_code == 302
    assert Shift.objects.filter(role="shadow", engineer=cast["carol"]).count() == 1


def test_a_started_rotations_first_handoff_cannot_move(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "carol")
    order = [cast["dave"], cast["alice"], cast["erin"], cast["bob"]]
    response = client.post(
        change_url(platform), roster_form(platform, order, starts_on="2026-12-01")
    )
    assert "its first handoff can&#x27;t move" in response.content.decode()


def test_handoff_day_is_checked(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "carol")
    order = [cast["dave"], cast["alice"], cast["erin"], cast["bob"]]
    response = client.post(
        change_url(platform), roster_form(platform, order, starts_on="2026-11-25")
    )
    assert "The first handoff must fall on the handoff day (Tuesday)." in response.content.decode()


def test_saving_the_same_roster_twice_changes_nothing(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    order = [cast["dave"], cast["alice"], cast["erin"], cast["bob"]]
    save_roster(platform, order, by=None)
    shifts = set(Shift.objects.values_list("id", flat=True))
    audit = AuditEntry.objects.count()
    save_roster(platform, order, by=None)
    assert set(Shift.objects.values_list("id", flat=True)) == shifts
    assert AuditEntry.objects.count() == audit
    assert RosterEra.objects.filter(rotation=platform).count() == 1


def test_a_roster_form_opened_before_someone_elses_save_is_refused_and_says_who(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    opened_by_dave = roster_form(platform, [cast["bob"], cast["alice"], cast["dave"], cast["erin"]])
    login(client, "carol")
    carols = [cast["erin"], cast["alice"], cast["dave"], cast["bob"]]
    assert client.post(change_url(platform), roster_form(platform, carols)).status_code == 302

    response = client.post(change_url(platform), opened_by_dave)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Carol changed this rotation at" in page
    assert "Nothing was saved" in page
    assert [m.engineer for m in platform.memberships.order_by("position")] == carols


def test_a_roster_form_without_its_version_is_refused(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "carol")
    data = roster_form(platform, [cast["erin"], cast["alice"], cast["dave"], cast["bob"]])
    del data["roster_version"]
    response = client.post(change_url(platform), data)
    assert response.status_code == 200
    assert "Nothing was saved" in response.content.decode()


def override_form(rotation: Rotation, engineer: Engineer, start: str, end: str) -> dict[str, str]:
    """The admin's override form as a browser posts it: primary on Thu 3 Dec, ``start``-``end``."""
    day = "2026-12-03"
    return {
        "rotation": str(rotation.pk),
        "role": "primary",
        "engineer": str(engineer.pk),
        "starts_at_0": day,
        "starts_at_1": start,
        "ends_at_0": day,
        "ends_at_1": end,
        "reason": "dentist",
    }


def test_override_in_the_admin_is_refused_when_it_doubles_someone_up(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "carol")
    data = override_form(platform, cast["erin"], "09:00", "12:00")
    response = client.post("/admin/rotation/override/add/", data)
    assert "primary and secondary must be two different people" in response.content.decode()
    data["engineer"] = str(cast["dave"].pk)
    assert client.post("/admin/rotation/override/add/", data).status_code == 302
    assert AuditEntry.objects.filter(action="override.created").count() == 1


def test_people_whose_weeks_move_are_told_after_the_save(
    platform: Rotation,
    cast: dict[str, Engineer],
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list[Any],
) -> None:
    shadowed(platform, cast["carol"])
    order = [cast["dave"], cast["alice"], cast["erin"], cast["carol"], cast["bob"]]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        save_roster(platform, order, by=cast["carol"].user)
    assert callbacks  # the sender is queued once the change is committed
    entry = AuditEntry.objects.filter(action="roster.saved").latest("at", "id")
    assert send_pending() == f"notices: {len(entry.details['changes'])} sent, 0 failed"
    [carol] = [mail for mail in mailoutbox if mail.to == ["carol@example.com"]]
    assert carol.subject == "Platform on-call weeks changed"
    assert "from the handoff on Tue 8 Dec 2026 10:00 PST" in carol.body
    assert "Weeks you are now on call: Tue 8 Dec 2026, Tue 15 Dec 2026" in carol.body


def test_an_unchanged_roster_tells_nobody(
    platform: Rotation, cast: dict[str, Engineer], django_capture_on_commit_callbacks: Any
) -> None:
    queued = get_broker().queue_size()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        save_roster(platform, [cast["dave"], cast["alice"], cast["erin"], cast["bob"]], by=None)
    assert callbacks == []
    assert get_broker().queue_size() == queued


FEED = "/private/0123abcd/feed/PSCHED1"


@pytest.mark.parametrize(
    ("url", "addresses", "problem"),
    [
        ("http://127.0.0.1:6379/", [], "must start with webcal:// or https://"),
        ("http://169.254.169.254/latest/meta-data/", [], "must start with webcal://"),
        (f"https://10.0.0.1{FEED}", [], "10.0.0.1 is not an allowed host"),
        (f"webcal://inside.pagerduty.com{FEED}", ["127.0.0.1"], "127.0.0.1, which is a loopback"),
    ],
)
def test_a_feed_url_the_worker_would_not_fetch_is_refused_at_the_form(
    client: Client,
    platform: Rotation,
    cast: dict[str, Engineer],
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    addresses: list[str],
    problem: str,
) -> None:
    monkeypatch.setattr("portal.outbound.system_resolver", lambda host: addresses)
    login(client, "carol")
    order = [cast["dave"], cast["alice"], cast["erin"], cast["bob"]]
    feeds = json.dumps({"primary": url})
    response = client.post(
        change_url(platform), roster_form(platform, order, pagerduty_feeds=feeds)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["pagerduty_feeds"]
    assert len(errors) == 1 and errors[0].startswith("primary: ") and problem in errors[0]
    assert Rotation.objects.get(pk=platform.pk).pagerduty_feeds == {}


def test_a_pagerduty_feed_url_at_a_public_address_is_saved(
    client: Client, platform: Rotation, cast: dict[str, Engineer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("portal.outbound.system_resolver", lambda host: ["52.1.1.1"])
    login(client, "carol")
    order = [cast["dave"], cast["alice"], cast["erin"], cast["bob"]]
    feeds = json.dumps({"primary": f"webcal://acme.pagerduty.com{FEED}"})
    response = client.post(
        change_url(platform), roster_form(platform, order, pagerduty_feeds=feeds)
    )
    assert response.status_code == 302
    saved = Rotation.objects.get(pk=platform.pk).pagerduty_feeds
    assert saved == {"primary": f"webcal://acme.pagerduty.com{FEED}"}


def test_every_field_of_the_roster_rows_has_a_name_for_screen_readers(
    client: Client, platform: Rotation
) -> None:
    page = login(client, "carol").get(f"/admin/rotation/rotation/{platform.pk}/change/")
    html = page.content.decode()
    rows = Membership.objects.filter(rotation=platform).count()
    extra = 1  # the blank row for adding someone
    assert html.count('aria-label="Position"') == rows + extra + 1  # and the row template
    assert html.count('aria-label="Engineer"') == rows + extra + 1
    assert html.count('aria-label="Remove from the roster"') == rows
    assert '<script src="/static/js/admin.js" defer>' in html


def test_a_manager_meets_no_link_to_pages_they_may_not_open(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    # Carol's own change: the roster history and the audit log name her.
    order = [cast[name] for name in ["dave", "alice", "bob", "erin"]]
    save_roster(platform, order, by=cast["carol"].user)
    entry = AuditEntry.objects.filter(action="roster.saved").first()
    assert entry is not None and entry.actor is not None
    login(client, "carol")
    for path in [
        f"/admin/portal/auditentry/{entry.pk}/change/",
        f"/admin/rotation/rotation/{platform.pk}/change/",
    ]:
        html = client.get(path).content.decode()
        assert "/admin/auth/user/" not in html, path


def test_override_times_are_typed_and_listed_in_the_rotations_zone(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    Engineer.objects.filter(pk=cast["carol"].pk).update(time_zone="Europe/London")
    login(client, "carol")
    form = client.get("/admin/rotation/override/add/").content.decode()
    assert "In the rotation's own zone (Platform: America/Los_Angeles)." in form
    data = override_form(platform, cast["dave"], "10:00", "14:00")
    assert client.post("/admin/rotation/override/add/", data).status_code == 302
    override = Override.objects.get()
    assert override.starts_at == datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # 10:00 PST
    listed = client.get("/admin/rotation/override/").content.decode()
    assert "Thu 3 Dec 2026 10:00 PST (your time Thu 18:00 GMT)" in listed
    assert "Thu 3 Dec 2026 14:00 PST (your time Thu 22:00 GMT)" in listed


def test_a_manager_in_the_rotations_zone_sees_one_time(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    Engineer.objects.filter(pk=cast["carol"].pk).update(time_zone="America/Los_Angeles")
    login(client, "carol")
    listed = client.get("/admin/rotation/shift/").content.decode()
    assert "Tue 1 Dec 2026 10:00 PST" in listed
    assert "your time" not in listed


def test_an_engineer_added_without_a_shadow_week_is_refused(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    """Found in use: an engineer added with no shadow booking went straight on call."""
    login(client, "carol")
    order = [cast["dave"], cast["alice"], cast["erin"], cast["carol"], cast["bob"]]
    response = client.post(change_url(platform), roster_form(platform, order))
    assert "carol@example.com is new to the rotation and has no shadow week" in (
        response.content.decode()
    )
    assert not Membership.objects.filter(rotation=platform, engineer=cast["carol"]).exists()

"""The roster preview: computed by the code the save runs, so what it shows is what is saved;
where a newcomer fits; each person told of their own changes once; broken covers flagged."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from portal.actions import rotate_api_token
from portal.models import Notice
from portal.notices import send_pending
from rotation.actions import RosterError, create_override, plan_roster, save_roster
from rotation.models import Engineer, Override, Rotation, Shift, schedule_of
from rotation.roster_mail import days
from rotation.roster_preview import placements, preview_roster, suggest_place
from rotation.schedule import Duty, RotationPlan, shifts_between
from tests.conftest import NOW, login, make_engineer

pytestmark = pytest.mark.django_db

URL = "/api/v1/rotations/platform/preview"


def order(cast: dict[str, Engineer], names: str) -> list[Engineer]:
    return [cast[name] for name in names.split()]


def weeks_held(rotation: Rotation, end: datetime) -> dict[str, set[date]]:
    """Every stored primary/secondary week from now to ``end``, by person: what is saved."""
    held: dict[str, set[date]] = {}
    shifts = Shift.objects.filter(rotation=rotation, starts_at__gte=NOW, starts_at__lt=end)
    for shift in shifts.exclude(role="shadow").select_related("engineer"):
        day = shift.starts_at.astimezone(rotation.zone).date()
        held.setdefault(shift.engineer.email, set()).add(day)
    return held


def test_the_preview_shows_exactly_the_weeks_the_save_then_moves(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    members = order(cast, "alice dave bob erin")
    preview = preview_roster(platform, members, now=NOW)
    end = preview.plan.effective + timedelta(weeks=26)  # six months from the change
    before = weeks_held(platform, end)
    save_roster(platform, members, by=None, now=NOW)
    after = weeks_held(platform, end)
    saved = {}
    for email in set(before) | set(after):
        gains = sorted(after.get(email, set()) - before.get(email, set()))
        loses = sorted(before.get(email, set()) - after.get(email, set()))
        if gains or loses:
            saved[email] = (gains, loses)
    shown = {c.email: (c.gains, c.loses) for c in preview.changes}
    assert shown == saved
    assert shown  # the edit does move weeks


def test_the_api_previews_and_saves_nothing(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "carol")
    shifts = Shift.objects.count()
    response = client.post(
        URL,
        {
            "members": [
                "alice@example.com",
                "dave@example.com",
                "bob@example.com",
                "erin@example.com",
            ]
        },
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert {"changes", "broken", "effective"} <= body.keys()
    assert all({"email", "gains", "loses"} <= change.keys() for change in body["changes"])
    assert Shift.objects.count() == shifts
    assert list(platform.memberships.values_list("engineer__email", flat=True)) == [
        "dave@example.com",
        "alice@example.com",
        "erin@example.com",
        "bob@example.com",
    ]


def test_the_api_refuses_a_roster_of_one_naming_the_rule(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "carol")
    response = client.post(URL, {"members": ["alice@example.com"]}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["rule"] == "too-few"
    assert "at least two people on call; this order has 1" in response.json()["error"]


def test_an_engineer_may_not_preview(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "alice")
    response = client.post(URL, {"members": []}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["rule"] == "manager"


def test_a_session_post_without_csrf_is_refused(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    client = login(Client(enforce_csrf_checks=True), "carol")
    response = client.post(URL, {"members": []}, content_type="application/json")
    assert response.status_code == 403


def test_without_a_login_the_api_answers_401(client: Client, platform: Rotation) -> None:
    assert client.post(URL, {}, content_type="application/json").status_code == 401


def test_the_suggested_place_keeps_everyones_next_eight_weeks(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    # A roster of ten comes round in ten weeks: a newcomer can go where nobody moves soon.
    # (The ten are the founding team, set before the rotation started: none shadows.)
    extra = [make_engineer(f"member{n}") for n in range(6)]
    members = [*order(cast, "dave alice erin bob"), *extra]
    save_roster(platform, members, by=None, now=datetime(2026, 11, 20, tzinfo=UTC))
    sam = make_engineer("sam")
    shadows = [(sam, date(2026, 12, 8))]
    found = placements(platform, members, sam, shadows, now=NOW)
    best, keeps = suggest_place(found)
    assert best is not None and keeps
    placed = [*members[: best.position], sam, *members[best.position :]]
    preview = preview_roster(platform, placed, shadows, now=NOW)
    eight = (preview.plan.effective + timedelta(weeks=8)).astimezone(platform.zone).date()
    assert all(day >= eight for c in preview.changes for day in c.gains + c.loses)


def test_no_place_keeps_a_small_rosters_weeks(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    sam = make_engineer("sam")
    found = placements(
        platform, order(cast, "dave alice erin bob"), sam, [(sam, date(2026, 12, 8))], now=NOW
    )
    best, keeps = suggest_place(found)
    assert best is not None and not keeps


def test_each_person_whose_weeks_move_gets_one_email_with_only_their_changes(
    platform: Rotation, cast: dict[str, Engineer], mailoutbox: list[Any]
) -> None:
    plan = save_roster(platform, order(cast, "alice dave bob erin"), by=None, now=NOW)
    send_pending()
    send_pending()  # the sender running twice sends nothing twice
    assert sorted(m.to[0] for m in mailoutbox) == sorted(plan.changes)
    for mail in mailoutbox:
        (email,) = mail.to
        mine = plan.changes[email]
        assert f"Weeks you are now on call: {days(mine['gains']) or 'none added'}." in mail.body
        assert f"no longer on call: {days(mine['loses']) or 'none removed'}." in mail.body
        assert mail.body.startswith(f"Hello {Engineer.objects.get(email=email).name},")
    assert Notice.objects.filter(key__startswith="roster:").count() == len(plan.changes)


def plan_or_none(rotation: Rotation, members: list[Engineer]) -> RotationPlan | None:
    try:
        return plan_roster(rotation, members, now=NOW).after
    except RosterError:
        return None


def primary_at(plan: RotationPlan | None, when: datetime) -> str | None:
    if plan is None:
        return None
    return next(
        s.member
        for s in shifts_between(plan, when, when + timedelta(hours=1))
        if s.role == "primary"
    )


def test_a_cover_a_roster_edit_breaks_is_flagged_and_told(
    platform: Rotation, cast: dict[str, Engineer], mailoutbox: list[Any]
) -> None:
    # Someone covers the primary of the week after next for four hours; moving that primary
    # to the end of the order gives the week to someone else: the cover no longer applies.
    start = NOW + timedelta(days=14)
    plan = schedule_of(platform)
    assert plan is not None
    held = {s.role: s.member for s in shifts_between(plan, start, start + timedelta(hours=1))}
    holder = Engineer.objects.get(email=held[Duty.PRIMARY])
    taker = next(e for e in cast.values() if e.email not in held.values() and e.name != "Carol")
    cover = create_override(
        platform,
        role="primary",
        engineer=taker,
        starts_at=start,
        ends_at=start + timedelta(hours=4),
        by=None,
    )
    Override.objects.filter(pk=cover.pk).update(covers=holder)
    new_order = next(
        list(members)
        for members in itertools.permutations(order(cast, "dave alice erin bob"))
        if primary_at(plan_or_none(platform, list(members)), start) not in (None, holder.email)
    )
    preview = preview_roster(platform, new_order, now=NOW)
    assert [c.id for c in preview.broken_covers] == [cover.id]
    save_roster(platform, new_order, by=None, now=NOW)
    assert Override.objects.get(pk=cover.pk).flagged_at is not None
    send_pending()
    told = {m.to[0] for m in mailoutbox if "no longer applies" in m.subject}
    assert {holder.email, taker.email, "carol@example.com"} <= told


def test_a_refused_roster_raises_and_saves_nothing(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    eras = platform.eras.count()
    with pytest.raises(RosterError):
        preview_roster(platform, [cast["alice"]], now=NOW)
    assert platform.eras.count() == eras


def test_a_script_previews_with_a_bearer_token_and_no_csrf_in_few_queries(
    platform: Rotation, cast: dict[str, Engineer], django_assert_max_num_queries: Any
) -> None:
    carol = cast["carol"].user
    assert carol is not None
    token = rotate_api_token(carol, by=None, replacing="none")
    client = Client(enforce_csrf_checks=True)
    members = ["alice@example.com", "dave@example.com", "bob@example.com", "erin@example.com"]
    with django_assert_max_num_queries(30):
        response = client.post(
            URL,
            {"members": members},
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.content
    assert response.json()["changes"]

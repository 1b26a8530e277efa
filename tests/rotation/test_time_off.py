"""Time off: recorded by the engineer (or a manager) in their own zone; where it collides with
the weeks they hold, and whom the portal proposes to swap with, ranked.

The Platform cast (tests/conftest.py): order dave, alice, erin, bob (bob after his shadow
week of 1 Dec). Stints (secondary week, then primary) begin: alice 22 Dec and 19 Jan, erin
29 Dec, bob 5 Jan, dave 15 Dec and 12 Jan. Handoffs Tuesdays 10:00 in Los Angeles.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied

from portal.models import AuditEntry
from rotation.actions import RosterError
from rotation.models import Engineer, Rotation, TimeOff
from rotation.schedule import Duty
from rotation.timeoff import (
    Proposal,
    collisions,
    delete_time_off,
    ranked,
    record_time_off,
    swap_partners,
    window,
)
from tests.conftest import NOW


def la(day: date) -> datetime:
    """The 10:00 Los Angeles handoff on ``day`` (winter: 18:00 UTC)."""
    return datetime(day.year, day.month, day.day, 18, tzinfo=UTC)


ALICE_STINT = la(date(2026, 12, 22))


def rule_of(error: RosterError) -> str:
    return error.problems[0].code


def test_window_is_in_the_engineers_zone_not_the_rotations(cast: dict[str, Engineer]) -> None:
    alice = cast["alice"]
    alice.time_zone = "Asia/Kolkata"
    alice.save()
    row = record_time_off(alice, date(2027, 1, 4), date(2027, 1, 5), by=alice.user, now=NOW)
    start, end = window(row)
    # Midnight in Kolkata (UTC+05:30) is 18:30 UTC the day before.
    assert start == datetime(2027, 1, 3, 18, 30, tzinfo=UTC)
    assert end == datetime(2027, 1, 5, 18, 30, tzinfo=UTC)


def test_kolkata_day_off_collides_with_la_week_only_by_its_own_midnights(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    # Alice's secondary week begins Tue 22 Dec 10:00 in LA = 23:30 that day in Kolkata.
    alice = cast["alice"]
    alice.time_zone = "Asia/Kolkata"
    alice.save()
    # Off on Tue 22 Dec in Kolkata: ends 18:30 UTC on the 22nd, after her week began at 18:00.
    record_time_off(alice, date(2026, 12, 22), date(2026, 12, 22), by=alice.user, now=NOW)
    assert [(c.role, c.start) for c in collisions(alice, NOW)] == [(Duty.SECONDARY, ALICE_STINT)]
    # Had the range been read in LA, it would end at 08:00 UTC on the 23rd: same answer,
    # so check the other edge: off on Mon 21 Dec in Kolkata ends before her week starts.
    TimeOff.objects.all().delete()
    record_time_off(alice, date(2026, 12, 21), date(2026, 12, 21), by=alice.user, now=NOW)
    assert collisions(alice, NOW) == []


def test_collision_names_role_week_row_and_stint(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    alice = cast["alice"]
    row = record_time_off(alice, date(2026, 12, 30), date(2027, 1, 2), by=alice.user, now=NOW)
    (found,) = collisions(alice, NOW)
    assert found.rotation == platform
    assert found.role == Duty.PRIMARY
    assert (found.start, found.end) == (la(date(2026, 12, 29)), la(date(2027, 1, 5)))
    assert found.time_off == row
    assert found.stint == ALICE_STINT  # the primary week belongs to the stint begun a week before


def test_time_off_outside_my_weeks_collides_with_nothing(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    alice = cast["alice"]
    record_time_off(alice, date(2027, 1, 6), date(2027, 1, 15), by=alice.user, now=NOW)
    assert collisions(alice, NOW) == []


def test_only_the_engineer_or_a_manager_records_or_deletes(
    cast: dict[str, Engineer],
) -> None:
    alice, dave, carol = cast["alice"], cast["dave"], cast["carol"]
    with pytest.raises(PermissionDenied):
        record_time_off(alice, date(2027, 1, 4), date(2027, 1, 5), by=dave.user, now=NOW)
    assert not TimeOff.objects.exists()
    row = record_time_off(alice, date(2027, 1, 4), date(2027, 1, 5), by=carol.user, now=NOW)
    with pytest.raises(PermissionDenied):
        delete_time_off(row, by=dave.user)
    delete_time_off(row, by=alice.user)
    assert not TimeOff.objects.exists()
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions[-2:] == ["time_off.recorded", "time_off.deleted"]


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "rule"),
    [
        (date(2027, 1, 5), date(2027, 1, 4), "time-off-order"),
        (date(2027, 1, 1), date(2028, 1, 5), "time-off-too-long"),
        (date(2026, 11, 1), date(2026, 12, 1), "time-off-past"),
    ],
)
def test_refused_ranges_write_nothing(
    cast: dict[str, Engineer], starts_on: date, ends_on: date, rule: str
) -> None:
    alice = cast["alice"]
    with pytest.raises(RosterError) as refused:
        record_time_off(alice, starts_on, ends_on, by=alice.user, now=NOW)
    assert rule_of(refused.value) == rule
    assert not TimeOff.objects.exists()


def test_time_off_that_began_yesterday_but_goes_on_is_accepted(cast: dict[str, Engineer]) -> None:
    alice = cast["alice"]
    record_time_off(alice, date(2026, 12, 1), date(2026, 12, 3), by=alice.user, now=NOW)
    assert TimeOff.objects.count() == 1


def test_overlapping_time_off_is_refused(cast: dict[str, Engineer]) -> None:
    alice = cast["alice"]
    record_time_off(alice, date(2027, 1, 4), date(2027, 1, 8), by=alice.user, now=NOW)
    with pytest.raises(RosterError) as refused:
        record_time_off(alice, date(2027, 1, 8), date(2027, 1, 9), by=alice.user, now=NOW)
    assert rule_of(refused.value) == "time-off-overlap"


def test_partners_are_other_members_whose_swap_the_rules_accept(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    alice = cast["alice"]
    proposals = swap_partners(platform, alice, ALICE_STINT, NOW)
    assert proposals, "somebody can take Alice's stint"
    assert all(p.partner != alice and p.mine == ALICE_STINT for p in proposals)
    assert all(p.theirs > NOW and p.theirs <= NOW + timedelta(weeks=16) for p in proposals)
    assert [p.rank for p in proposals] == list(range(1, len(proposals) + 1))
    # Nobody is away and nobody shadows after 1 Dec: the nearest stints come first among equals.
    assert all(p.free and not p.shadowing for p in proposals)


def test_partner_away_during_my_stint_ranks_after_one_who_is_free(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    alice, dave = cast["alice"], cast["dave"]
    record_time_off(dave, date(2026, 12, 23), date(2026, 12, 24), by=dave.user, now=NOW)
    proposals = swap_partners(platform, alice, ALICE_STINT, NOW)
    daves = [p for p in proposals if p.partner == dave]
    assert daves and not any(p.free for p in daves)
    assert all(p.rank > q.rank for p in daves for q in proposals if q.free)
    assert daves[0].reason.startswith("one of you is away")


def test_me_away_during_their_stint_ranks_it_after_free_ones(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    alice = cast["alice"]
    # Alice away Fri 8 Jan: inside Erin's stint from 29 Dec and Bob's from 5 Jan, not her own.
    record_time_off(alice, date(2027, 1, 8), date(2027, 1, 8), by=alice.user, now=NOW)
    proposals = swap_partners(platform, alice, ALICE_STINT, NOW)
    not_free = {(p.partner.name, p.theirs) for p in proposals if not p.free}
    assert not_free == {("Erin", la(date(2026, 12, 29))), ("Bob", la(date(2027, 1, 5)))}
    assert [p.free for p in proposals] == sorted((p.free for p in proposals), reverse=True)


def proposal(
    name: str,
    *,
    free: bool = True,
    shadowing: bool = False,
    weeks: int = 5,
    theirs: datetime = ALICE_STINT,
) -> Proposal:
    partner = Engineer(name=name.title(), email=f"{name}@example.com")
    return Proposal(Rotation(slug="p"), ALICE_STINT, theirs, partner, free, shadowing, weeks)


def names(proposals: list[Proposal]) -> list[str]:
    return [p.partner.name for p in proposals]


def test_ranking_free_in_both_stints_beats_everything_after_it() -> None:
    away = proposal("away", free=False, weeks=0, theirs=la(date(2026, 12, 8)))
    free = proposal("free", shadowing=True, weeks=30, theirs=la(date(2027, 3, 2)))
    assert names(ranked([away, free])) == ["Free", "Away"]


def test_ranking_not_shadowing_beats_fewer_weeks_on_call() -> None:
    shadowing = proposal("shadow", shadowing=True, weeks=0)
    busy = proposal("busy", weeks=30, theirs=la(date(2027, 3, 2)))
    assert names(ranked([shadowing, busy])) == ["Busy", "Shadow"]


def test_ranking_fewest_weeks_on_call_beats_the_nearest_date() -> None:
    near = proposal("near", weeks=12, theirs=la(date(2026, 12, 8)))
    rested = proposal("rested", weeks=3, theirs=la(date(2027, 3, 2)))
    assert names(ranked([near, rested])) == ["Rested", "Near"]


def test_ranking_then_the_nearest_stint() -> None:
    later = proposal("later", theirs=la(date(2027, 3, 2)))
    sooner = proposal("sooner", theirs=la(date(2027, 1, 5)))
    ordered = ranked([later, sooner])
    assert names(ordered) == ["Sooner", "Later"]
    assert [p.rank for p in ordered] == [1, 2]


def test_reason_says_why() -> None:
    assert (
        proposal("bob", weeks=6).reason == "free in both stints · 6 weeks on call in the last year"
    )
    assert proposal("bob", shadowing=True, weeks=1).reason == (
        "free in both stints · Bob shadows that week · 1 week on call in the last year"
    )


def test_weeks_on_call_decide_between_real_partners(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    # Three weeks in: dave (primary 24 Nov, secondary 15 Dec not yet) has 1 week behind him,
    # erin 1 (secondary now), bob none (he shadows now), alice 2.
    proposals = swap_partners(platform, cast["alice"], ALICE_STINT, NOW)
    counts = {p.partner.name: p.weeks_on_call for p in proposals}
    assert counts.get("Dave") == 1
    assert counts.get("Bob", 0) == 0

"""The rotation rules, stated as tests of the pure engine (no database)."""

import ast
import itertools
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rotation import rules, schedule, stretches
from rotation.rules import problems
from rotation.schedule import (
    Calendar,
    Duty,
    RotationPlan,
    ScheduleError,
    ShadowWeek,
    shifts_between,
    with_roster,
)
from rotation.stretches import on_call_at

LA = ZoneInfo("America/Los_Angeles")
CAST = ["alice", "bob", "carol", "dan"]
# 2026-11-24 is a Tuesday: week 0 of the Los Angeles rotations below.
STARTS_ON = date(2026, 11, 24)


def local(zone: str, year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=ZoneInfo(zone))


def pairs(rotation: RotationPlan, start: datetime, weeks: int) -> list[tuple[str, str]]:
    shifts = shifts_between(rotation, start, start + timedelta(weeks=weeks) - timedelta(hours=1))
    primaries = [s.member for s in shifts if s.role == Duty.PRIMARY]
    secondaries = [s.member for s in shifts if s.role == Duty.SECONDARY]
    return list(zip(primaries, secondaries, strict=True))


@pytest.mark.parametrize(
    "module", [schedule, stretches, rules], ids=["schedule", "stretches", "rules"]
)
def test_engine_imports_nothing_from_django(module: object) -> None:
    tree = ast.parse(Path(module.__file__).read_text())  # type: ignore[attr-defined]
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] == "django"}
    assert imported & {"rotation", "rotation.schedule"} <= {"rotation.schedule"}


def test_roster_order_gives_weeks_in_turn() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    assert pairs(rotation, rotation.start, 5) == [
        ("alice", "bob"),
        ("bob", "carol"),
        ("carol", "dan"),
        ("dan", "alice"),
        ("alice", "bob"),
    ]


def test_secondary_becomes_next_primary() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    weeks = pairs(rotation, rotation.start, 12)
    for this_week, next_week in itertools.pairwise(weeks):
        assert this_week[1] == next_week[0]


def test_handoff_is_tuesday_ten_in_the_rotation_zone() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    first = shifts_between(rotation, rotation.start, rotation.start + timedelta(hours=1))[0]
    assert first.start.astimezone(LA) == local("America/Los_Angeles", 2026, 11, 24, 10)
    assert first.end.astimezone(LA) == local("America/Los_Angeles", 2026, 12, 1, 10)


def test_nobody_is_on_call_before_the_rotation_starts() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    assert on_call_at(rotation, rotation.start - timedelta(seconds=1)) is None


def test_on_call_at_says_when_the_shift_ends_and_who_is_next() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    now = local("America/Los_Angeles", 2026, 12, 3, 15)
    on_call = on_call_at(rotation, now)
    assert on_call is not None
    assert (on_call.primary, on_call.secondary) == ("bob", "carol")
    assert on_call.shift_start.astimezone(LA) == local("America/Los_Angeles", 2026, 12, 1, 10)
    assert on_call.shift_end.astimezone(LA) == local("America/Los_Angeles", 2026, 12, 8, 10)
    assert (on_call.next_primary, on_call.next_secondary) == ("carol", "dan")


def test_the_handoff_instant_belongs_to_the_incoming_shift() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    handoff = local("America/Los_Angeles", 2026, 12, 1, 10)
    before = on_call_at(rotation, handoff - timedelta(microseconds=1))
    after = on_call_at(rotation, handoff)
    assert before is not None and after is not None
    assert before.primary == "alice" and after.primary == "bob"


def test_answers_decades_ahead_without_expanding_every_week() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    far = local("America/Los_Angeles", 2076, 11, 24, 11)
    on_call = on_call_at(rotation, far)
    assert on_call is not None
    weeks = (far.date() - STARTS_ON).days // 7
    assert on_call.primary == CAST[weeks % 4]
    assert on_call.shift_start.astimezone(LA).time() == time(10)


# (zone, a handoff date just before a DST change, hours of the shift spanning it)
DST_WEEKS = [
    ("America/Los_Angeles", date(2027, 3, 9), 167),  # spring forward on Sunday 14 March 2027
    ("America/Los_Angeles", date(2026, 10, 27), 169),  # fall back on Sunday 1 November 2026
    ("Europe/Berlin", date(2027, 3, 23), 167),  # summer time from Sunday 28 March 2027
    ("Europe/Berlin", date(2026, 10, 20), 169),  # winter time from Sunday 25 October 2026
    ("Australia/Sydney", date(2027, 3, 30), 169),  # daylight time ends on Sunday 4 April 2027
    ("Australia/Sydney", date(2026, 9, 29), 167),  # daylight time starts on Sunday 4 October 2026
]


@pytest.mark.parametrize(("zone", "handoff_day", "hours"), DST_WEEKS)
def test_handoff_keeps_its_wall_clock_time_across_dst(
    zone: str, handoff_day: date, hours: int
) -> None:
    rotation = RotationPlan.weekly(CAST, handoff_day - timedelta(weeks=4), time_zone=zone)
    start = local(zone, handoff_day.year, handoff_day.month, handoff_day.day, 12)
    shift = shifts_between(rotation, start, start + timedelta(minutes=1))[0]
    assert shift.start.astimezone(ZoneInfo(zone)).replace(tzinfo=None) == datetime.combine(
        handoff_day, time(10)
    )
    assert shift.end.astimezone(ZoneInfo(zone)).replace(tzinfo=None) == datetime.combine(
        handoff_day + timedelta(days=7), time(10)
    )
    assert (shift.end - shift.start) == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("zone", "offset"),
    [
        ("Asia/Kolkata", timedelta(hours=5, minutes=30)),
        ("Asia/Kathmandu", timedelta(hours=5, minutes=45)),
        ("UTC", timedelta(0)),
    ],
)
def test_zones_without_dst_or_with_odd_offsets_hand_off_on_the_hour(
    zone: str, offset: timedelta
) -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON, time_zone=zone)
    shifts = shifts_between(rotation, rotation.start, rotation.start + timedelta(weeks=52))
    for shift in shifts:
        assert shift.end - shift.start == timedelta(days=7)
        assert (shift.start + offset).time() == time(10)


def test_handoff_at_a_wall_time_skipped_by_dst_lands_after_the_gap() -> None:
    # Sunday 02:30 does not exist in Los Angeles on 14 March 2027.
    rotation = RotationPlan.weekly(CAST, date(2027, 3, 7), weekday=6, at=time(2, 30))
    shifts = shifts_between(rotation, rotation.start, rotation.start + timedelta(weeks=2))
    assert shifts[0].end.astimezone(LA).time() == time(3, 30)
    assert shifts[0].end - shifts[0].start == timedelta(hours=168)
    assert shifts[2].end.astimezone(LA).time() == time(2, 30)
    assert shifts[2].end - shifts[2].start == timedelta(hours=167)


def test_shadow_sits_beside_that_weeks_primary() -> None:
    shadow = ShadowWeek("erin", date(2026, 12, 8))
    rotation = RotationPlan.weekly(CAST, STARTS_ON, shadows=[shadow])
    on_call = on_call_at(rotation, local("America/Los_Angeles", 2026, 12, 10, 9))
    assert on_call is not None
    assert on_call.shadows == ("erin",)
    assert on_call.primary == "carol"
    assert on_call_at(rotation, local("America/Los_Angeles", 2026, 12, 15, 10)).shadows == ()  # type: ignore[union-attr]


def test_shadow_placed_after_their_shadow_week_is_fine() -> None:
    # erin is fifth: her first turn is as secondary in week 3 (2026-12-15), after her shadow week.
    rotation = RotationPlan.weekly(
        [*CAST, "erin"], STARTS_ON, shadows=[ShadowWeek("erin", date(2026, 12, 8))]
    )
    assert problems(rotation) == []


def test_shadow_never_on_call_before_their_shadow_week_ends() -> None:
    rotation = RotationPlan.weekly(
        ["alice", "erin", *CAST[1:]], STARTS_ON, shadows=[ShadowWeek("erin", date(2026, 12, 8))]
    )
    [problem] = problems(rotation)
    assert problem.code == "shadow-late"
    assert problem.member == "erin"
    assert "2026-11-24" in problem.message


def test_shadow_week_must_start_on_a_handoff_day() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON, shadows=[ShadowWeek("erin", date(2026, 12, 9))])
    [problem] = problems(rotation)
    assert problem.code == "shadow-day"
    assert "Tuesdays" in problem.message


@pytest.mark.parametrize(
    ("members", "code"), [(["alice"], "too-few"), (["alice", "bob", "alice"], "duplicate")]
)
def test_broken_rosters_are_reported(members: list[str], code: str) -> None:
    rotation = RotationPlan.weekly(members, STARTS_ON)
    assert [problem.code for problem in problems(rotation)] == [code]
    with pytest.raises(ScheduleError):
        rules.check(rotation)


def test_member_joining_at_a_handoff_enters_after_the_outgoing_secondary() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    change = local("America/Los_Angeles", 2026, 12, 8, 10)  # week 2
    edited = with_roster(rotation, ["alice", "bob", "carol", "erin", "dan"], change)
    assert pairs(edited, rotation.start, 7) == [
        ("alice", "bob"),
        ("bob", "carol"),
        ("carol", "erin"),  # week 1's secondary carol leads; erin follows her in the new order
        ("erin", "dan"),
        ("dan", "alice"),
        ("alice", "bob"),
        ("bob", "carol"),
    ]


def test_member_leaving_at_a_handoff_is_skipped_from_then_on() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    change = local("America/Los_Angeles", 2026, 12, 8, 10)
    edited = with_roster(rotation, ["alice", "bob", "dan"], change)
    weeks = pairs(edited, rotation.start, 6)
    assert weeks[:2] == [("alice", "bob"), ("bob", "carol")]
    assert weeks[2:] == [("dan", "alice"), ("alice", "bob"), ("bob", "dan"), ("dan", "alice")]
    assert all("carol" not in week for week in weeks[2:])


def test_editing_the_roster_never_rewrites_started_shifts() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    change = local("America/Los_Angeles", 2026, 12, 22, 10)
    edited = with_roster(rotation, ["dan", "carol", "bob", "alice"], change)
    assert shifts_between(edited, rotation.start, change) == shifts_between(
        rotation, rotation.start, change
    )


def test_calendar_change_takes_effect_after_the_current_shift() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    change = local("America/Los_Angeles", 2026, 12, 8, 10)
    berlin_monday = Calendar(ZoneInfo("Europe/Berlin"), 0, time(9))
    edited = with_roster(rotation, CAST, change, berlin_monday)
    shifts = [
        s
        for s in shifts_between(edited, change, change + timedelta(days=15))
        if s.role == Duty.PRIMARY
    ]
    assert shifts[0].start == change
    assert shifts[0].end.astimezone(ZoneInfo("Europe/Berlin")) == local(
        "Europe/Berlin", 2026, 12, 14, 9
    )
    assert shifts[1].end - shifts[1].start == timedelta(days=7)


# Property tests: the invariants hold for any roster, start, zone and roster edits.

zones = st.sampled_from(
    ["America/Los_Angeles", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "UTC"]
)
rosters = st.integers(min_value=2, max_value=40).map(lambda n: [f"m{i}" for i in range(n)])


@st.composite
def rotations(draw: st.DrawFn) -> RotationPlan:
    members = draw(rosters)
    start = date(2026, 1, 6) + timedelta(weeks=draw(st.integers(0, 200)))
    zone = draw(zones)
    rotation = RotationPlan.weekly(members, start, time_zone=zone, weekday=1)
    for _ in range(draw(st.integers(0, 3))):
        weeks_later = draw(st.integers(1, 30))
        when = rotation.eras[-1].start + timedelta(weeks=weeks_later, hours=1)
        effective = schedule.next_handoff(rotation, when)
        pool = [f"m{i}" for i in range(45)]
        size = draw(st.integers(2, 40))
        order = draw(st.permutations(pool))[:size]
        rotation = with_roster(rotation, order, effective)
    return rotation


@settings(max_examples=150, deadline=None)
@given(rotation=rotations(), weeks=st.integers(1, 80))
def test_one_primary_and_one_secondary_at_every_instant_with_no_gaps(
    rotation: RotationPlan, weeks: int
) -> None:
    end = rotation.start + timedelta(weeks=weeks)
    shifts = shifts_between(rotation, rotation.start, end)
    for role in (Duty.PRIMARY, Duty.SECONDARY):
        mine = [s for s in shifts if s.role == role]
        assert mine[0].start == rotation.start
        assert mine[-1].end >= end
        for before, after in itertools.pairwise(mine):
            assert before.end == after.start
            assert before.start < before.end
    primaries = [s for s in shifts if s.role == Duty.PRIMARY]
    secondaries = [s for s in shifts if s.role == Duty.SECONDARY]
    for primary, secondary in zip(primaries, secondaries, strict=True):
        assert primary.member != secondary.member
        assert (primary.start, primary.end) == (secondary.start, secondary.end)


@settings(max_examples=150, deadline=None)
@given(rotation=rotations(), weeks=st.integers(2, 80))
def test_chain_rule_holds_wherever_the_outgoing_secondary_stays(
    rotation: RotationPlan, weeks: int
) -> None:
    shifts = shifts_between(rotation, rotation.start, rotation.start + timedelta(weeks=weeks))
    primaries = [s for s in shifts if s.role == Duty.PRIMARY]
    secondaries = [s for s in shifts if s.role == Duty.SECONDARY]
    orders = {era.start: set(era.members) for era in rotation.eras}
    for number in range(len(primaries) - 1):
        handed_to = secondaries[number].member
        boundary = primaries[number + 1].start
        if boundary in orders and handed_to not in orders[boundary]:
            continue  # they left the roster at this handoff
        assert primaries[number + 1].member == handed_to


@settings(max_examples=150, deadline=None)
@given(rotation=rotations(), probe=st.integers(0, 60 * 24 * 7 * 80))
def test_on_call_at_agrees_with_the_shift_list(rotation: RotationPlan, probe: int) -> None:
    at = rotation.start + timedelta(minutes=probe)
    on_call = on_call_at(rotation, at)
    assert on_call is not None
    covering = [
        s
        for s in shifts_between(rotation, at, at + timedelta(microseconds=1))
        if s.start <= at < s.end
    ]
    assert {(s.role, s.member) for s in covering if s.role != Duty.SHADOW} == {
        (Duty.PRIMARY, on_call.primary),
        (Duty.SECONDARY, on_call.secondary),
    }
    assert on_call.shift_start <= at < on_call.shift_end
    assert on_call.shift_end.tzinfo == UTC


@settings(max_examples=100, deadline=None)
@given(members=rosters, week=st.integers(0, 12), position=st.integers(0, 40), zone=zones)
def test_a_valid_shadow_never_holds_primary_or_secondary_before_their_week_ends(
    members: list[str], week: int, position: int, zone: str
) -> None:
    order = [*members]
    order.insert(position % (len(order) + 1), "new")
    shadow_day = STARTS_ON + timedelta(weeks=week)
    rotation = RotationPlan.weekly(
        order, STARTS_ON, time_zone=zone, shadows=[ShadowWeek("new", shadow_day)]
    )
    window_end = rotation.shadow_window(ShadowWeek("new", shadow_day))[1]  # type: ignore[index]
    shifts = shifts_between(rotation, rotation.start, window_end)
    on_call_early = any(s.member == "new" and s.role != Duty.SHADOW for s in shifts)
    assert on_call_early == bool(problems(rotation))


def test_a_later_handoff_time_lengthens_the_first_shift_instead_of_skipping_a_turn() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    change = local("America/Los_Angeles", 2026, 12, 8, 10)
    eleven = Calendar(LA, 1, time(11))
    edited = with_roster(rotation, CAST, change, eleven)
    shifts = [
        s
        for s in shifts_between(edited, change, change + timedelta(days=15))
        if s.role == Duty.PRIMARY
    ]
    assert [s.member for s in shifts] == ["carol", "dan", "alice"]
    assert shifts[0].end - shifts[0].start == timedelta(days=7, hours=1)
    assert shifts[1].start.astimezone(LA) == local("America/Los_Angeles", 2026, 12, 15, 11)


def test_moving_the_handoff_a_day_later_never_makes_a_one_day_turn() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    change = local("America/Los_Angeles", 2026, 12, 8, 10)
    wednesday = Calendar(LA, 2, time(10))
    edited = with_roster(rotation, CAST, change, wednesday)
    first = shifts_between(edited, change, change + timedelta(hours=1))[0]
    assert first.end - first.start == timedelta(days=8)

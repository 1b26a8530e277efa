"""The effective schedule, stated as tests of the pure engine (no database): overrides cut
the slots into stretches that say whom they cover, and the rules every write keeps."""

from datetime import date, timedelta

from rotation.rules import effective_problems, new_problems
from rotation.schedule import Duty, RotationPlan, ShadowWeek
from rotation.stretches import OverrideWindow, Reason, effective_stretches, on_call_at
from tests.rotation.test_schedule import CAST, STARTS_ON, local


def test_override_replaces_primary_for_its_window() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    start = local("America/Los_Angeles", 2026, 11, 26, 9)
    cover = OverrideWindow(Duty.PRIMARY, "dan", start, start + timedelta(hours=3))
    assert on_call_at(rotation, start + timedelta(hours=1), [cover]).primary == "dan"  # type: ignore[union-attr]
    assert on_call_at(rotation, start + timedelta(hours=3), [cover]).primary == "alice"  # type: ignore[union-attr]
    assert on_call_at(rotation, start - timedelta(seconds=1), [cover]).primary == "alice"  # type: ignore[union-attr]


def test_later_override_wins_where_two_overlap() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    start = local("America/Los_Angeles", 2026, 11, 26, 9)
    first = OverrideWindow(Duty.SECONDARY, "carol", start, start + timedelta(days=2))
    second = OverrideWindow(
        Duty.SECONDARY, "dan", start + timedelta(days=1), start + timedelta(days=3)
    )
    assert on_call_at(rotation, start + timedelta(hours=30), [first, second]).secondary == "dan"  # type: ignore[union-attr]


def test_override_covering_the_next_handoff_shows_in_next() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    handoff = local("America/Los_Angeles", 2026, 12, 1, 10)
    cover = OverrideWindow(
        Duty.PRIMARY, "dan", handoff - timedelta(hours=1), handoff + timedelta(hours=5)
    )
    on_call = on_call_at(rotation, handoff - timedelta(hours=2), [cover])
    assert on_call is not None and on_call.next_primary == "dan"


def test_effective_shifts_cut_the_week_around_an_override() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    start = local("America/Los_Angeles", 2026, 11, 26, 9)
    cover = OverrideWindow(Duty.PRIMARY, "dan", start, start + timedelta(days=1))
    primaries = [
        (s.member, s.end - s.start)
        for s in effective_stretches(
            rotation, [cover], rotation.start, rotation.start + timedelta(days=6)
        )
        if s.role == Duty.PRIMARY
    ]
    assert [member for member, _ in primaries] == ["alice", "dan", "alice"]
    assert sum((length for _, length in primaries), timedelta()) == timedelta(days=7)


def clash_check(
    rotation: RotationPlan, overrides: list[OverrideWindow], **kwargs: object
) -> list[str]:
    found = effective_problems(
        rotation,
        overrides,
        rotation.start,
        rotation.start + timedelta(weeks=8),
        **kwargs,  # type: ignore[arg-type]
    )
    return [problem.code for problem in found]


def test_override_cannot_make_primary_and_secondary_the_same_person() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    start = local("America/Los_Angeles", 2026, 11, 26, 9)
    bob_as_primary = OverrideWindow(Duty.PRIMARY, "bob", start, start + timedelta(hours=2))
    assert clash_check(rotation, [bob_as_primary]) == ["same-person"]
    dan_as_primary = OverrideWindow(Duty.PRIMARY, "dan", start, start + timedelta(hours=2))
    assert clash_check(rotation, [dan_as_primary]) == []


def test_the_clash_message_names_the_person_the_role_and_the_window() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    start = local("America/Los_Angeles", 2026, 11, 26, 9)
    [problem] = effective_problems(
        rotation,
        [OverrideWindow(Duty.SECONDARY, "alice", start, start + timedelta(hours=2))],
        rotation.start,
        rotation.start + timedelta(weeks=2),
        names={"alice": "Alice Nguyen", "bob": "Bob Okafor"},
    )
    assert problem.member == "alice" and problem.role == "secondary"
    assert (
        "Alice Nguyen would be primary and secondary from Thu 26 Nov 2026 09:00 PST"
        in problem.message
    )
    assert "covering Bob Okafor" in problem.message


def test_nobody_holds_a_role_before_their_shadow_week_ends() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON, shadows=[ShadowWeek("erin", date(2026, 12, 8))])
    start = local("America/Los_Angeles", 2026, 12, 9, 9)  # inside erin's shadow week
    early = OverrideWindow(Duty.SECONDARY, "erin", start, start + timedelta(hours=4))
    assert clash_check(rotation, [early]) == ["shadow-late"]
    after = local("America/Los_Angeles", 2026, 12, 16, 9)  # the week after it
    assert (
        clash_check(
            rotation, [OverrideWindow(Duty.SECONDARY, "erin", after, after + timedelta(hours=4))]
        )
        == []
    )


def test_no_inactive_engineer_holds_a_role() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    assert "inactive" in clash_check(rotation, [], inactive={"dan"})
    start = local("America/Los_Angeles", 2026, 11, 26, 9)
    frank = OverrideWindow(Duty.PRIMARY, "frank", start, start + timedelta(hours=1))
    assert clash_check(rotation, [frank], inactive={"frank"}) == ["inactive"]


def test_a_write_is_refused_only_for_what_it_breaks() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    before = effective_problems(
        rotation, [], rotation.start, rotation.start + timedelta(weeks=8), inactive={"dan"}
    )
    week = local("America/Los_Angeles", 2026, 12, 8, 10)  # dan's first week, as secondary
    frank_for_dan = OverrideWindow(Duty.SECONDARY, "frank", week, week + timedelta(days=7))
    after = effective_problems(
        rotation,
        [frank_for_dan],
        rotation.start,
        rotation.start + timedelta(weeks=8),
        inactive={"dan"},
    )
    assert len(after) < len(before)
    assert new_problems(before, after) == []


def test_a_stretch_says_whom_an_override_covers_and_why() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    start = local("America/Los_Angeles", 2026, 11, 26, 9)
    cover = OverrideWindow(Duty.PRIMARY, "frank", start, start + timedelta(days=1), ref=7)
    stretches = effective_stretches(rotation, [cover], start, start + timedelta(hours=1))
    [primary] = [s for s in stretches if s.role == Duty.PRIMARY]
    assert (primary.member, primary.reason, primary.covering, primary.override) == (
        "frank",
        Reason.OVERRIDE,
        "alice",
        7,
    )
    assert (primary.slot_start, primary.slot_end) == (
        rotation.start,
        rotation.start + timedelta(days=7),
    )


def test_an_override_across_a_handoff_covers_each_week_s_holder_apart() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    handoff = local("America/Los_Angeles", 2026, 12, 1, 10)
    cover = OverrideWindow(
        Duty.PRIMARY, "erin", handoff - timedelta(hours=2), handoff + timedelta(hours=2)
    )
    covered = [
        (s.covering, s.end - s.start)
        for s in effective_stretches(
            rotation, [cover], handoff - timedelta(hours=1), handoff + timedelta(hours=1)
        )
        if s.role == Duty.PRIMARY
    ]
    assert covered == [("alice", timedelta(hours=2)), ("bob", timedelta(hours=2))]


def test_stretches_are_the_same_whatever_window_asks_for_them() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    start = local("America/Los_Angeles", 2026, 11, 26, 9)
    cover = OverrideWindow(Duty.PRIMARY, "frank", start, start + timedelta(days=1))
    wide = effective_stretches(
        rotation, [cover], rotation.start, rotation.start + timedelta(weeks=2)
    )
    narrow = effective_stretches(
        rotation, [cover], start + timedelta(hours=30), start + timedelta(hours=31)
    )
    assert set(narrow) <= set(wide)


def test_an_override_of_someone_by_themselves_leaves_their_week_whole() -> None:
    rotation = RotationPlan.weekly(CAST, STARTS_ON)
    start = local("America/Los_Angeles", 2026, 11, 26, 9)
    same = OverrideWindow(Duty.PRIMARY, "alice", start, start + timedelta(days=1), ref=3)
    primaries = [
        s
        for s in effective_stretches(rotation, [same], rotation.start, start)
        if s.role == Duty.PRIMARY
    ]
    assert [(s.member, s.reason, s.end - s.start) for s in primaries] == [
        ("alice", Reason.ROSTERED, timedelta(days=7))
    ]

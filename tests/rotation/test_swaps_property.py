"""A swap keeps the chain, whatever the roster, zone, handoff and stints (the pure engine).

Over random rosters of 2 to 8 people, zones with odd offsets and clock changes (Los Angeles,
London, Lord Howe's half-hour shift, Kolkata's half-hour offset), handoff weekdays and times,
and two different people's different stints: after the swap, in every week around both
stints, this week's secondary is next week's primary; each of the two holds exactly the
other's stint; and one person holds both roles in a week exactly when the rules say so (so
``plan_swap`` refuses it and no such schedule is ever saved).
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from itertools import pairwise

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rotation import rules, schedule
from rotation.schedule import Duty, RotationPlan, StintSwap

ZONES = ["America/Los_Angeles", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
STARTS_ON = date(2026, 1, 5)
WEEK = timedelta(weeks=1)


def weeks(plan: RotationPlan, start: datetime, end: datetime) -> list[tuple[datetime, str, str]]:
    """(slot start, primary, secondary) of every week overlapping [start, end)."""
    held: dict[datetime, dict[Duty, str]] = {}
    for shift in schedule.shifts_between(plan, start, end):
        if shift.role != Duty.SHADOW:
            held.setdefault(shift.start, {})[shift.role] = shift.member
    return [
        (when, roles[Duty.PRIMARY], roles[Duty.SECONDARY]) for when, roles in sorted(held.items())
    ]


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(2, 8),
    zone=st.sampled_from(ZONES),
    weekday=st.integers(0, 6),
    at=st.times().map(lambda t: time(t.hour, t.minute)),
    first=st.integers(1, 40),
    second=st.integers(1, 40),
)
def test_a_swap_keeps_the_chain_in_every_week_around_it(
    size: int, zone: str, weekday: int, at: time, first: int, second: int
) -> None:
    members = [f"p{n}" for n in range(size)]
    plan = RotationPlan.weekly(members, STARTS_ON, time_zone=zone, weekday=weekday, at=at)
    horizon = plan.start + 50 * WEEK
    secondaries = [(when, sec) for when, _, sec in weeks(plan, plan.start, horizon)]
    (mine, member), (theirs, other) = secondaries[first], secondaries[second]
    assume(member != other and mine != theirs)
    assert schedule.stint_of(plan, member, mine) and schedule.stint_of(plan, other, theirs)

    after = dataclasses.replace(plan, swaps=(StintSwap(member, mine, other, theirs, ref=1),))

    assert schedule.broken_swaps(after) == ()
    assert schedule.stint_of(after, other, mine), "each holds the other's stint"
    assert schedule.stint_of(after, member, theirs)
    assert not schedule.stint_of(after, member, mine)
    assert not schedule.stint_of(after, other, theirs)
    around = weeks(after, min(mine, theirs) - 3 * WEEK, max(mine, theirs) + 4 * WEEK)
    for (_, _, secondary), (_, primary, _) in pairwise(around):
        assert secondary == primary, "this week's secondary is next week's primary"
    both_roles = [when for when, primary, secondary in around if primary == secondary]
    start, end = around[0][0], around[-1][0] + WEEK
    found = rules.new_problems(
        rules.effective_problems(plan, [], start, end),
        rules.effective_problems(after, [], start, end),
    )
    assert bool(both_roles) == bool(found), "a week with one person in both roles is refused"
    # Only the two people's cells move, and only between the two of them.
    cells_before = {
        (w, role): m for w, p, s in weeks(plan, start, end) for role, m in (("p", p), ("s", s))
    }
    for w, p, s in around:
        for role, m in (("p", p), ("s", s)):
            if cells_before[w, role] != m:
                assert {m, cells_before[w, role]} == {member, other}

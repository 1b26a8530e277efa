"""The rules a rotation must keep, checked before anything is saved. Pure Python, like the engine.

Each check returns Problems whose messages name the person and the date, for people to read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, tzinfo

from rotation.schedule import (
    WEEKDAYS,
    Duty,
    Problem,
    RotationPlan,
    ScheduleError,
    ShadowWeek,
    first_shift_start,
    shifts_between,
)
from rotation.stretches import OverrideWindow, Reason, Stretch, effective_stretches


def problems(rotation: RotationPlan) -> list[Problem]:
    """Every rule the rotation breaks; an empty list means it can be scheduled."""
    found: list[Problem] = []
    for era in rotation.eras:
        when = era.start.astimezone(era.calendar.time_zone).date().isoformat()
        if len(era.members) < 2:
            found.append(Problem("too-few", f"a rotation needs at least two members (from {when})"))
        seen: set[str] = set()
        for member in era.members:
            if member in seen:
                found.append(Problem("duplicate", f"{member} is listed twice", member))
            seen.add(member)
    if found:
        return found
    for booking in rotation.shadows:
        found.extend(_shadow_problems(rotation, booking))
    return found


def newcomer_problems(before: RotationPlan | None, after: RotationPlan) -> list[Problem]:
    """New engineers shadow a week before they go on call: a member the rotation has never
    had needs a shadow booking (``problems`` then checks it ends before their first shift).
    A rotation's first roster is its founding team, which has nobody to shadow."""
    if before is None:
        return []
    known = {member for era in before.eras for member in era.members}
    shadowing = {week.member for week in after.shadows}
    return [
        Problem(
            "no-shadow",
            f"{member} is new to the rotation and has no shadow week: book one (beside a "
            "week's primary) before they go on call",
            member,
        )
        for member in after.eras[-1].members
        if member not in known and member not in shadowing
    ]


def _shadow_problems(rotation: RotationPlan, booking: ShadowWeek) -> list[Problem]:
    member, week = booking.member, booking.week_of.isoformat()
    calendar = rotation.eras[0].calendar
    if booking.week_of < rotation.start.astimezone(calendar.time_zone).date():
        return [
            Problem(
                "shadow-early",
                f"{member}'s shadow week {week} is before the rotation starts",
                member,
            )
        ]
    window = rotation.shadow_window(booking)
    if window is None:
        day = WEEKDAYS[calendar.weekday].title()
        return [
            Problem(
                "shadow-day",
                f"{member}'s shadow week {week} is not a handoff day (handoffs are on {day}s)",
                member,
            )
        ]
    first = first_shift_start(rotation, member, before=window[1])
    if first is not None and first < window[1]:
        return [
            Problem(
                "shadow-late",
                f"{member} would be on call from {first.date().isoformat()}, before their shadow "
                f"week {week} ends; place them later in the order or shadow earlier",
                member,
            )
        ]
    return []


def effective_problems(
    rotation: RotationPlan,
    overrides: Sequence[OverrideWindow],
    start: datetime,
    end: datetime,
    *,
    inactive: Collection[str] = (),
    names: Mapping[str, str] | None = None,
) -> list[Problem]:
    """What the effective schedule over [start, end) breaks, one problem per stretch at fault.

    The rules: one person never holds primary and secondary at once; nobody holds either
    before their shadow week ends; no inactive engineer holds a role. (No gap needs checking
    here: every slot has both roles, and ``problems`` refuses an era of fewer than two.)
    Messages name the person, the role and the window, and the override when one is the cause.
    """
    names = names or {}
    zone = rotation.eras[-1].calendar.time_zone
    stretches = effective_stretches(rotation, overrides, start, end)
    found: list[Problem] = []

    def window(stretch: Stretch) -> str:
        return f"{_local(stretch.start, zone)} to {_local(stretch.end, zone)}"

    def cause(stretch: Stretch) -> str:
        if stretch.reason == Reason.ROSTERED:
            return "by the roster order"
        who = names.get(stretch.covering or "", stretch.covering)
        if stretch.reason == Reason.SWAP:
            return f"by a swap (with {who})" if who else "by a swap"
        article = "an" if stretch.reason == Reason.OVERRIDE else "a"
        return (
            f"by {article} {stretch.reason.value} (covering {who})"
            if who
            else f"by {article} {stretch.reason.value}"
        )

    holding = [s for s in stretches if s.role != Duty.SHADOW and s.end > start]
    # Stretches lie inside their slot, so a secondary can only overlap primaries of its slot.
    primaries: dict[datetime | None, list[Stretch]] = defaultdict(list)
    for stretch in holding:
        if stretch.role == Duty.PRIMARY:
            primaries[stretch.slot_start].append(stretch)
    for secondary in (s for s in holding if s.role == Duty.SECONDARY):
        for primary in primaries[secondary.slot_start]:
            if primary.member != secondary.member or not primary.overlaps(
                secondary.start, secondary.end
            ):
                continue
            clash = Stretch(
                max(primary.start, secondary.start),
                min(primary.end, secondary.end),
                Duty.SECONDARY,
                secondary.member,
                slot_start=secondary.slot_start,
            )
            culprit = secondary if secondary.reason != Reason.ROSTERED else primary
            found.append(
                Problem(
                    "same-person",
                    f"{names.get(clash.member, clash.member)} would be primary and secondary "
                    f"from {window(clash)}, {cause(culprit)}; primary and secondary must be two "
                    "different people",
                    clash.member,
                    role=culprit.role.value,
                    week=secondary.slot_start,
                )
            )
    shadow_ends: dict[str, datetime] = {}
    for booking in rotation.shadows:
        span = rotation.shadow_window(booking)
        if span is not None:
            shadow_ends[booking.member] = max(span[1], shadow_ends.get(booking.member, span[1]))
    for stretch in holding:
        who = names.get(stretch.member, stretch.member)
        ends = shadow_ends.get(stretch.member)
        if ends is not None and stretch.start < ends:
            found.append(
                Problem(
                    "shadow-late",
                    f"{who} would be {stretch.role.value} from {window(stretch)}, {cause(stretch)}, "
                    f"before their shadow week ends ({_local(ends, zone)})",
                    stretch.member,
                    role=stretch.role.value,
                    week=stretch.slot_start,
                )
            )
        if stretch.member in inactive:
            found.append(
                Problem(
                    "inactive",
                    f"{who} is no longer active but would be {stretch.role.value} from "
                    f"{window(stretch)}, {cause(stretch)}",
                    stretch.member,
                    role=stretch.role.value,
                    week=stretch.slot_start,
                )
            )
    return found


def new_problems(before: Sequence[Problem], after: Sequence[Problem]) -> list[Problem]:
    """The problems in ``after`` that ``before`` did not have: what a write would introduce.

    A write is refused for what it breaks, not for what was already broken (an engineer
    deactivated while still rostered must not block the override that replaces them)."""
    known = {problem.key for problem in before}
    return [problem for problem in after if problem.key not in known]


def _local(when: datetime, zone: tzinfo) -> str:
    return f"{when.astimezone(zone):%a %-d %b %Y %H:%M %Z}"


def weeks_changed(
    before: RotationPlan, after: RotationPlan, start: datetime, end: datetime
) -> dict[str, dict[str, list[date]]]:
    """Who gains and who loses which primary/secondary weeks in [start, end), by member.

    Weeks are named by the local date their shift starts on: ``{"alice": {"gains": [...],
    "loses": [...]}}``; members whose weeks stay the same are left out.
    """

    def weeks(rotation: RotationPlan) -> set[tuple[str, date]]:
        return {
            (s.member, s.start.astimezone(rotation.eras[-1].calendar.time_zone).date())
            for s in shifts_between(rotation, start, end)
            if s.role != Duty.SHADOW and s.start >= start
        }

    old, new = weeks(before), weeks(after)
    changes: dict[str, dict[str, list[date]]] = {}
    for label, found in (("gains", new - old), ("loses", old - new)):
        for member, day in sorted(found):
            changes.setdefault(member, {"gains": [], "loses": []})[label].append(day)
    return changes


def check(rotation: RotationPlan) -> RotationPlan:
    """The rotation itself, or ScheduleError with every problem found."""
    found = problems(rotation)
    if found:
        raise ScheduleError("; ".join(problem.message for problem in found))
    return rotation

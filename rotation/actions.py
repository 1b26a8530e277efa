"""Every write to rotations with consequences: rosters, shadow weeks, overrides, shifts.

Each action runs in a transaction, writes an audit entry, and leaves the materialised shifts
equal to what the engine says, so "who is on call" is right the moment it returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.models import Actor, AuditEntry, user_or_none
from rotation import rules, schedule
from rotation.effective import override_windows
from rotation.flags import flag_broken
from rotation.models import (
    Engineer,
    Membership,
    Override,
    Role,
    RosterEra,
    Rotation,
    ShadowBooking,
    Shift,
    schedule_of,
)
from rotation.roster_mail import tell_roster_change

# Materialised shifts reach this far back, for calendars and the dashboard's history.
HISTORY = timedelta(days=35)
WEEK = timedelta(days=7)


class RosterError(Exception):
    """The roster breaks the rotation rules; ``problems`` says how, one message each."""

    def __init__(self, problems: Sequence[schedule.Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(problem.message for problem in self.problems))


@dataclass(frozen=True)
class RosterPlan:
    """What saving a roster would do: the new schedule, from when, and who gains or loses."""

    before: schedule.RotationPlan | None
    after: schedule.RotationPlan
    effective: datetime
    changes: dict[str, dict[str, list[date]]]

    @property
    def is_change(self) -> bool:
        # Shadow weeks compare as sets: the database keeps no order among bookings.
        return (
            self.before is None
            or self.before.eras != self.after.eras
            or set(self.before.shadows) != set(self.after.shadows)
        )


def plan_roster(
    rotation: Rotation,
    members: Sequence[Engineer],
    shadows: Sequence[tuple[Engineer, date]] | None = None,
    *,
    now: datetime | None = None,
) -> RosterPlan:
    """The schedule if ``members`` (in order) became the roster now, or RosterError.

    A rotation that has not started is replaced whole; one that has changes from its next
    handoff, so shifts that have started stay as they were.
    """
    now = now or timezone.now()
    before = schedule_of(rotation) if rotation.pk else None
    weeks = before.shadows if before else ()
    if shadows is not None:
        # A shadow week that has begun is history: it stays whatever the new list says.
        today = now.astimezone(rotation.zone).date()
        weeks = tuple(
            dict.fromkeys(
                [
                    *(schedule.ShadowWeek(e.email, day) for e, day in shadows),
                    *(week for week in weeks if week.week_of <= today),
                ]
            )
        )
    emails = tuple(member.email for member in members)
    calendar = rotation.calendar
    problems: list[schedule.Problem] = []
    if before is None or now < before.start:
        first = calendar.handoff_at(rotation.starts_on)
        after = schedule.RotationPlan((schedule.Era(first, emails, calendar),), weeks)
        effective = first
    else:
        if before.eras[0].calendar.handoff_at(rotation.starts_on) != before.start:
            started = before.start.astimezone(calendar.time_zone).date()
            problems.append(
                schedule.Problem(
                    "starts-on", f"the rotation started on {started}; its first handoff can't move"
                )
            )
        effective = schedule.next_handoff(before, now)
        after = schedule.with_roster(
            dataclasses.replace(before, shadows=weeks), emails, effective, calendar
        )
    problems.extend(rules.problems(after))
    if before is not None and now >= before.start:  # a rotation not started is all founders
        problems.extend(rules.newcomer_problems(before, after))
    if problems:
        raise RosterError(problems)
    overrides = future_overrides(rotation, now) if rotation.pk else []
    check_effective(rotation, (before, overrides), (after, overrides), now=now)
    changes = {}
    if before is not None:
        window = (max(effective, now), max(effective, now) + timedelta(weeks=26))
        changes = rules.weeks_changed(before, after, *window)
    return RosterPlan(before, after, effective, changes)


@transaction.atomic
def save_roster(
    rotation: Rotation,
    members: Sequence[Engineer],
    shadows: Sequence[tuple[Engineer, date]] | None = None,
    *,
    by: Actor,
    now: datetime | None = None,
) -> RosterPlan:
    """Make ``members`` the roster order (and ``shadows`` the shadow weeks, when given).

    Raises RosterError, writing nothing, when the result would break a rule.
    """
    now = now or timezone.now()
    if rotation.pk:
        lock_rotation(rotation)
    plan = plan_roster(rotation, members, shadows, now=now)
    current = list(rotation.memberships.order_by("position").values_list("engineer_id", flat=True))
    if current != [member.id for member in members]:
        Membership.objects.filter(rotation=rotation).delete()
        Membership.objects.bulk_create(
            Membership(rotation=rotation, engineer=engineer, position=position)
            for position, engineer in enumerate(members, start=1)
        )
    if shadows is not None:
        _save_shadows(rotation, plan.after.shadows)
    if plan.is_change:
        _save_eras(rotation, plan, members, by=by)
        changes = {
            email: {label: [d.isoformat() for d in days] for label, days in change.items()}
            for email, change in plan.changes.items()
        }
        entry = AuditEntry.record(
            "roster.saved",
            rotation.slug,
            by=by,
            members=[member.email for member in members],
            effective=plan.effective.isoformat(),
            changes=changes,
        )
        tell_roster_change(rotation, entry.pk, plan.effective, plan.changes)
    materialise_shifts(rotation, now=now, spec=plan.after)
    if plan.before is not None:
        # A cover or swap naming someone who no longer holds its window or stint is
        # flagged and its people told, never moved onto someone else.
        flag_broken(rotation, now=now)
    return plan


def _save_eras(
    rotation: Rotation, plan: RosterPlan, members: Sequence[Engineer], *, by: Actor
) -> None:
    RosterEra.objects.filter(rotation=rotation, starts_at__gte=plan.effective).delete()
    last = plan.after.eras[-1]
    if last.start != plan.effective:
        return  # the new order is the one already in force: only later eras went away
    RosterEra.objects.create(
        rotation=rotation,
        starts_at=plan.effective,
        member_ids=[member.id for member in members],
        time_zone=rotation.time_zone,
        handoff_weekday=rotation.handoff_weekday,
        handoff_time=rotation.handoff_time,
        created_by=user_or_none(by),
    )


def _save_shadows(rotation: Rotation, weeks: Sequence[schedule.ShadowWeek]) -> None:
    """Make the stored bookings exactly ``weeks`` (plan_roster has kept the ones begun)."""
    ids = dict(
        Engineer.objects.filter(email__in={week.member for week in weeks}).values_list(
            "email", "id"
        )
    )
    wanted = {(ids[week.member], week.week_of) for week in weeks}
    stored = {(b.engineer_id, b.week_of): b.pk for b in rotation.shadows.all()}
    ShadowBooking.objects.filter(
        pk__in=[pk for key, pk in stored.items() if key not in wanted]
    ).delete()
    ShadowBooking.objects.bulk_create(
        ShadowBooking(rotation=rotation, engineer_id=engineer_id, week_of=day)
        for engineer_id, day in wanted - stored.keys()
    )


def plan_shadow_week(
    rotation: Rotation, engineer: Engineer, week_of: date
) -> schedule.RotationPlan:
    """The schedule with the shadow week booked, or RosterError saying why it can't be."""
    spec = schedule_of(rotation)
    if spec is None:
        raise RosterError([schedule.Problem("no-roster", "the rotation has no roster yet")])
    booking = schedule.ShadowWeek(engineer.email, week_of)
    after = dataclasses.replace(spec, shadows=(*spec.shadows, booking))
    found = rules.problems(after)
    if found:
        raise RosterError(found)
    return after


@transaction.atomic
def book_shadow_week(rotation: Rotation, engineer: Engineer, week_of: date, *, by: Actor) -> None:
    """Book ``engineer`` to shadow the primary for the week starting on ``week_of``."""
    lock_rotation(rotation)
    after = plan_shadow_week(rotation, engineer, week_of)
    ShadowBooking.objects.get_or_create(rotation=rotation, engineer=engineer, week_of=week_of)
    AuditEntry.record(
        "shadow.booked", rotation.slug, by=by, engineer=engineer.email, week_of=week_of.isoformat()
    )
    materialise_shifts(rotation, spec=after)


def override_problems(
    rotation: Rotation,
    role: str,
    engineer: Engineer,
    starts_at: datetime,
    ends_at: datetime,
    *,
    now: datetime | None = None,
) -> list[schedule.Problem]:
    """Why an override could not be created (empty when it can): its window, and every rule
    of the effective schedule as it would be with the override added."""
    now = now or timezone.now()
    spec = schedule_of(rotation)
    if spec is None:
        return [schedule.Problem("no-roster", "the rotation has no roster yet")]
    if ends_at <= starts_at:
        return [schedule.Problem("override-window", "an override must end after it starts")]
    if starts_at < spec.start:
        return [schedule.Problem("override-window", "the override starts before the rotation does")]
    if role not in (Role.PRIMARY, Role.SECONDARY):
        return [schedule.Problem("override-role", "overrides replace the primary or the secondary")]
    candidate = Override(
        rotation=rotation, role=role, engineer=engineer, starts_at=starts_at, ends_at=ends_at
    )
    overrides = future_overrides(rotation, now)
    try:
        check_effective(rotation, (spec, overrides), (spec, [*overrides, candidate]), now=now)
    except RosterError as error:
        return error.problems
    return []


@transaction.atomic
def create_override(
    rotation: Rotation,
    *,
    role: str,
    engineer: Engineer,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    by: Actor,
) -> Override:
    """Put ``engineer`` in ``role`` for the window; RosterError if that breaks a rule.

    The rotation is locked before the rules are checked, so two overrides saved at once are
    checked one after the other, each against the schedule the other left."""
    lock_rotation(rotation)
    found = override_problems(rotation, role, engineer, starts_at, ends_at)
    if found:
        raise RosterError(found)
    override = Override.objects.create(
        rotation=rotation,
        role=role,
        engineer=engineer,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        created_by=user_or_none(by),
    )
    AuditEntry.record(
        "override.created",
        rotation.slug,
        by=by,
        role=role,
        engineer=engineer.email,
        starts_at=starts_at.isoformat(),
        ends_at=ends_at.isoformat(),
    )
    return override


@transaction.atomic
def delete_override(override: Override, *, by: Actor, now: datetime | None = None) -> None:
    """Remove an override; RosterError if the schedule without it would break a rule (the
    override may be what keeps two roles apart)."""
    now = now or timezone.now()
    rotation = override.rotation
    lock_rotation(rotation)
    spec = schedule_of(rotation)
    if spec is not None:
        overrides = future_overrides(rotation, now)
        remaining = [o for o in overrides if o.pk != override.pk]
        check_effective(rotation, (spec, overrides), (spec, remaining), now=now)
    AuditEntry.record(
        "override.deleted",
        rotation.slug,
        by=by,
        role=override.role,
        engineer=override.engineer.email,
        starts_at=override.starts_at.isoformat(),
        ends_at=override.ends_at.isoformat(),
    )
    override.delete()


def deactivation_problems(engineer: Engineer, *, now: datetime | None = None) -> list[str]:
    """What must change before ``engineer`` can be made inactive (empty when nothing)."""
    now = now or timezone.now()
    found = [
        f"{engineer.name} is in the roster of {rotation.name}: remove them from its order "
        "first (their weeks go to the others from the next handoff)"
        for rotation in Rotation.objects.filter(memberships__engineer=engineer).distinct()
    ]
    for override in engineer.overrides.filter(ends_at__gt=now).select_related("rotation"):
        zone = override.rotation.zone
        found.append(
            f"{engineer.name} holds an override as {override.role} of {override.rotation.name} "
            f"from {override.starts_at.astimezone(zone):%a %-d %b %Y %H:%M %Z}: delete it or "
            "give it to someone else first"
        )
    return found


@transaction.atomic
def deactivate_engineer(engineer: Engineer, *, by: Actor, now: datetime | None = None) -> None:
    """Make ``engineer`` inactive; RosterError when a roster or a future override still names
    them (an inactive engineer is never scheduled, and nobody is silently dropped)."""
    for rotation in Rotation.objects.filter(memberships__engineer=engineer).distinct():
        lock_rotation(rotation)
    found = deactivation_problems(engineer, now=now)
    if found:
        raise RosterError([schedule.Problem("deactivate", message) for message in found])
    Engineer.objects.filter(pk=engineer.pk).update(is_active=False)
    engineer.is_active = False
    AuditEntry.record("engineer.deactivated", engineer.email, by=by)


def lock_rotation(rotation: Rotation) -> None:
    """Hold the rotation's row lock until the transaction ends: every write that changes who
    is on call takes it first, so checks and writes of two writers never interleave.

    (PostgreSQL: a row lock. SQLite: the project opens every transaction IMMEDIATE, which
    already serialises writers, and ignores FOR UPDATE.)"""
    Rotation.objects.select_for_update().filter(pk=rotation.pk).exists()


def future_overrides(rotation: Rotation, now: datetime) -> list[Override]:
    """The rotation's overrides that have not ended, oldest first."""
    return list(
        rotation.overrides.filter(ends_at__gt=now)
        .select_related("engineer", "covers")
        .order_by("created_at", "id")
    )


ScheduleState = tuple[schedule.RotationPlan | None, Sequence[Override]]


def check_effective(
    rotation: Rotation, before: ScheduleState, after: ScheduleState, *, now: datetime
) -> None:
    """RosterError with every rule the effective schedule ``after`` breaks from ``now`` on
    that ``before`` did not already break (what the write would introduce)."""
    plan_after, overrides_after = after
    if plan_after is None:
        return
    windows = list(overrides_after)
    horizon = max(
        [now, plan_after.eras[-1].start]
        + [o.ends_at for o in windows]
        + [span[1] for span in map(plan_after.shadow_window, plan_after.shadows) if span]
    ) + WEEK * (len(plan_after.eras[-1].members) + 2)
    start = max(now, plan_after.start)
    emails = {m for era in plan_after.eras for m in era.members} | {
        o.engineer.email for o in windows
    }
    people = {e.email: e for e in Engineer.objects.filter(email__in=emails)}
    names = {email: person.name for email, person in people.items()}
    inactive = {email for email, person in people.items() if not person.is_active}

    def problems(state: ScheduleState) -> list[schedule.Problem]:
        plan, overrides = state
        if plan is None:
            return []
        return rules.effective_problems(
            plan,
            override_windows(overrides),
            start,
            horizon,
            inactive=inactive,
            names=names,
        )

    found = rules.new_problems(problems(before), problems(after))
    if found:
        raise RosterError(found)


@transaction.atomic
def materialise_shifts(
    rotation: Rotation, *, now: datetime | None = None, spec: schedule.RotationPlan | None = None
) -> tuple[int, int]:
    """Make the stored shifts equal the engine's, from a few weeks back to a year ahead.

    Shifts that have started are only ever added (a gap filled), never changed or removed.
    Returns (created, deleted). Safe to run twice at once: the rotation row is locked.
    """
    now = now or timezone.now()
    Rotation.objects.select_for_update().filter(pk=rotation.pk).exists()
    spec = spec or schedule_of(rotation)
    if spec is None:
        return 0, 0
    start = max(spec.start, now - HISTORY)
    horizon = now + timedelta(days=settings.SHIFT_HORIZON_DAYS)
    ids = dict(Engineer.objects.values_list("email", "id"))
    desired = {
        (shift.role.value, ids[shift.member], shift.start, shift.end)
        for shift in schedule.shifts_between(spec, start, horizon)
    }
    stored = {
        (row.role, row.engineer_id, row.starts_at, row.ends_at): row.id
        for row in Shift.objects.filter(rotation=rotation, ends_at__gt=start)
    }
    stale = [row_id for key, row_id in stored.items() if key not in desired and key[2] > now]
    Shift.objects.filter(id__in=stale).delete()
    Shift.objects.bulk_create(
        (
            Shift(
                rotation=rotation,
                role=role,
                engineer_id=engineer_id,
                starts_at=starts,
                ends_at=ends,
            )
            for role, engineer_id, starts, ends in desired - stored.keys()
        ),
        ignore_conflicts=True,
    )
    return len(desired - stored.keys()), len(stale)

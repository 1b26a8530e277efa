"""Time off: recording it, where it collides with someone's effective schedule, and whom to
ask for a swap, ranked.

Time off is a range of dates in the engineer's own zone (their profile's, else the portal's):
away from 00:00 on the first day to 00:00 after the last. It changes nobody's schedule by
itself; it makes a person unavailable, and the portal says where that collides with the weeks
they hold and proposes stint swaps (``rotation.swaps``) to solve it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction

from portal.models import Actor, AuditEntry
from rotation import schedule
from rotation.actions import RosterError, future_overrides
from rotation.effective import effective_schedules, stretches_of
from rotation.models import Engineer, Override, Rotation, TimeOff, schedule_of
from rotation.schedule import Duty
from rotation.stretches import Reason, Stretch
from rotation.swaps import engineer_of, is_manager, plan_swap, refuse, stints_of

# Time off longer than a year is a leave, for a manager's roster edit, not a swap.
LONGEST = timedelta(days=366)
# How far ahead a partner's stints are offered in exchange.
PARTNER_HORIZON = timedelta(weeks=16)
# "Fewest weeks on call" looks back this far.
LOOKBACK = timedelta(days=365)
ON_CALL = (Duty.PRIMARY, Duty.SECONDARY)


def zone_of(engineer: Engineer) -> ZoneInfo:
    """The zone an engineer's dates are in: their own, else the portal's."""
    return ZoneInfo(engineer.time_zone or settings.TIME_ZONE)


def window_of(starts_on: date, ends_on: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[starts_on 00:00, the day after ends_on 00:00) in ``zone``."""
    start = datetime.combine(starts_on, time(0), zone)
    end = datetime.combine(ends_on + timedelta(days=1), time(0), zone)
    return start, end


def window(row: TimeOff) -> tuple[datetime, datetime]:
    return window_of(row.starts_on, row.ends_on, zone_of(row.engineer))


def _overlaps(span: tuple[datetime, datetime], start: datetime, end: datetime) -> bool:
    return span[0] < end and span[1] > start


def _may_act_for(engineer: Engineer, by: Actor) -> bool:
    me = engineer_of(by)
    return is_manager(by) or (me is not None and me.pk == engineer.pk)


@transaction.atomic
def record_time_off(
    engineer: Engineer,
    starts_on: date,
    ends_on: date,
    note: str = "",
    *,
    by: Actor,
    now: datetime,
) -> TimeOff:
    """``engineer`` is away from ``starts_on`` to ``ends_on`` (both included, their zone).

    Only the engineer or a manager records it (else PermissionDenied); RosterError when the
    range is backwards, longer than a year, over already, or overlaps time off they recorded.
    """
    if not _may_act_for(engineer, by):
        raise PermissionDenied("only the engineer themselves or a manager can record time off")
    if ends_on < starts_on:
        raise refuse("time-off-order", "the last day off is before the first")
    if ends_on - starts_on >= LONGEST:
        raise refuse("time-off-too-long", "time off is at most a year at a time")
    today = now.astimezone(zone_of(engineer)).date()
    if ends_on < today:
        raise refuse("time-off-past", f"that time off ended before today ({today:%a %-d %b %Y})")
    # Locks the engineer's row so two overlapping ranges sent at once cannot both pass.
    Engineer.objects.select_for_update().filter(pk=engineer.pk).first()
    clash = engineer.time_off.filter(starts_on__lte=ends_on, ends_on__gte=starts_on).first()
    if clash is not None:
        raise refuse(
            "time-off-overlap",
            f"it overlaps time off already recorded ({clash.starts_on:%-d %b} to "
            f"{clash.ends_on:%-d %b %Y}): delete that first or pick other dates",
        )
    row = TimeOff.objects.create(
        engineer=engineer, starts_on=starts_on, ends_on=ends_on, note=note[:200]
    )
    AuditEntry.record(
        "time_off.recorded",
        engineer.email,
        by=by,
        time_off=row.id,
        starts_on=starts_on.isoformat(),
        ends_on=ends_on.isoformat(),
    )
    return row


@transaction.atomic
def delete_time_off(row: TimeOff, *, by: Actor) -> None:
    """Removes time off; only its engineer or a manager may."""
    if not _may_act_for(row.engineer, by):
        raise PermissionDenied("only the engineer themselves or a manager can delete time off")
    AuditEntry.record(
        "time_off.deleted",
        row.engineer.email,
        by=by,
        time_off=row.id,
        starts_on=row.starts_on.isoformat(),
        ends_on=row.ends_on.isoformat(),
    )
    row.delete()


def upcoming_time_off(engineer: Engineer, now: datetime) -> list[TimeOff]:
    """The engineer's time off that has not ended, first first."""
    today = now.astimezone(zone_of(engineer)).date()
    rows = engineer.time_off.filter(ends_on__gte=today).order_by("starts_on")
    found = list(rows)
    for row in found:
        row.engineer = engineer  # spares a query per row in window()
    return found


@dataclass(frozen=True)
class Collision:
    """``engineer`` holds ``role`` in ``rotation`` over [start, end), during ``time_off``;
    ``stint`` is the handoff beginning the stint it belongs to (None for an override or cover
    they took, which is not a stint and cannot be swapped)."""

    rotation: Rotation
    role: Duty
    start: datetime
    end: datetime
    time_off: TimeOff
    stint: datetime | None


def collisions(engineer: Engineer, now: datetime) -> list[Collision]:
    """``engineer``'s future primary and secondary stretches, in the one effective schedule,
    that overlap their time off; by start."""
    rows = upcoming_time_off(engineer, now)
    return collisions_in(engineer, rows, now)


def collisions_in(engineer: Engineer, rows: Sequence[TimeOff], now: datetime) -> list[Collision]:
    spans = [(row, window(row)) for row in rows]
    spans = [(row, span) for row, span in spans if span[1] > now]
    if not spans:
        return []
    start = max(now, min(span[0] for _, span in spans))
    end = max(span[1] for _, span in spans)
    found: list[Collision] = []
    for effective, stretch in stretches_of(engineer, start, end):
        if stretch.role not in ON_CALL or stretch.start <= now:
            continue
        row = next((r for r, span in spans if _overlaps(span, stretch.start, stretch.end)), None)
        if row is None:
            continue
        stint = None
        if effective.plan is not None and stretch.reason in (Reason.ROSTERED, Reason.SWAP):
            stint = stint_containing(effective.plan, engineer.email, stretch)
        found.append(
            Collision(effective.rotation, stretch.role, stretch.start, stretch.end, row, stint)
        )
    return found


def stint_containing(plan: schedule.RotationPlan, member: str, stretch: Stretch) -> datetime | None:
    """The handoff beginning ``member``'s stint that holds ``stretch``'s slot, if any."""
    slot_start = stretch.slot_start
    if slot_start is None:
        return None
    for begins in stints_of(
        plan, member, slot_start - timedelta(days=12), slot_start + timedelta(hours=1)
    ):
        stint = plan.stint_slots(begins)
        if stint is not None and slot_start in (stint[0].start, stint[1].start):
            return begins
    return None


def stint_window(plan: schedule.RotationPlan, begins: datetime) -> tuple[datetime, datetime]:
    """From the stint's first handoff to the end of its primary week."""
    stint = plan.stint_slots(begins)
    assert stint is not None
    return stint[0].start, stint[1].end


@dataclass(frozen=True)
class Proposal:
    """Swap ``mine`` (my stint's first handoff) for ``partner``'s stint from ``theirs``."""

    rotation: Rotation
    mine: datetime
    theirs: datetime
    partner: Engineer
    free: bool  # neither is away during the stint they would take
    shadowing: bool  # the partner shadows in one of the two stints' weeks
    weeks_on_call: int  # the partner's primary and secondary weeks in the past year
    rank: int = 0

    @property
    def reason(self) -> str:
        first = "free in both stints" if self.free else "one of you is away in the other's stint"
        parts = [first]
        if self.shadowing:
            parts.append(f"{self.partner.name} shadows that week")
        week = "week" if self.weeks_on_call == 1 else "weeks"
        parts.append(f"{self.weeks_on_call} {week} on call in the last year")
        return " · ".join(parts)

    def key(self) -> tuple[bool, bool, int, datetime, str]:
        return (not self.free, self.shadowing, self.weeks_on_call, self.theirs, self.partner.name)


def ranked(proposals: Iterable[Proposal]) -> list[Proposal]:
    """Free in both stints first, then not shadowing, then fewest weeks on call in the past
    year, then the nearest stint; ``rank`` numbered from 1."""
    ordered = sorted(proposals, key=Proposal.key)
    return [
        Proposal(p.rotation, p.mine, p.theirs, p.partner, p.free, p.shadowing, p.weeks_on_call, n)
        for n, p in enumerate(ordered, start=1)
    ]


def weeks_on_call(emails: Iterable[str], now: datetime) -> dict[str, int]:
    """Primary and secondary slots each person held, in any rotation, in the past year."""
    wanted = set(emails)
    held: dict[str, set[tuple[int, datetime | None, Duty]]] = defaultdict(set)
    rotations = list(Rotation.objects.all())
    for effective in effective_schedules(rotations, now - LOOKBACK, now):
        for s in effective.stretches:
            counts = s.member in wanted and s.role in ON_CALL and s.start < now
            if counts and s.slot_start is not None and s.slot_start >= now - LOOKBACK:
                held[s.member].add((effective.rotation.id, s.slot_start, s.role))
    return {email: len(held[email]) for email in wanted}


def _away(rows: Sequence[TimeOff], start: datetime, end: datetime) -> bool:
    return any(_overlaps(window(row), start, end) for row in rows)


@dataclass
class Setting:
    """What weighing swaps in one rotation reads once: the plan and future overrides (for
    ``plan_swap``), the other active members, their time off and their past year on call."""

    plan: schedule.RotationPlan
    overrides: list[Override]
    partners: list[Engineer]
    away: dict[int, list[TimeOff]]
    weeks_on_call: dict[str, int]

    @classmethod
    def read(cls, rotation: Rotation, engineer: Engineer, now: datetime) -> Setting | None:
        plan = schedule_of(rotation)
        if plan is None:
            return None
        partners = [
            m.engineer
            for m in rotation.memberships.select_related("engineer")
            if m.engineer.is_active and m.engineer.pk != engineer.pk
        ]
        everyone = {p.pk: p for p in [engineer, *partners]}
        away: dict[int, list[TimeOff]] = defaultdict(list)
        horizon = now + PARTNER_HORIZON + timedelta(weeks=3)
        for row in TimeOff.objects.filter(
            engineer_id__in=everyone,
            ends_on__gte=(now - timedelta(days=2)).date(),
            starts_on__lte=horizon.date(),
        ):
            row.engineer = everyone[row.engineer_id]
            away[row.engineer_id].append(row)
        counts = weeks_on_call((p.email for p in partners), now) if partners else {}
        return cls(plan, future_overrides(rotation, now), partners, away, counts)


def swap_partners(
    rotation: Rotation,
    engineer: Engineer,
    stint_start: datetime,
    now: datetime,
    *,
    setting: Setting | None = None,
) -> list[Proposal]:
    """Ranked swaps that would take ``engineer``'s stint from ``stint_start`` off them: each
    other active member's stints in the next 16 weeks that have not started and that
    ``plan_swap`` accepts (the rules checked on the schedule as it would be)."""
    setting = setting or Setting.read(rotation, engineer, now)
    if setting is None or setting.plan.stint_slots(stint_start) is None:
        return []
    plan, away = setting.plan, setting.away
    mine = stint_window(plan, stint_start)
    found: list[Proposal] = []
    for partner in setting.partners:
        shadows = [
            span
            for booking in plan.shadows
            if booking.member == partner.email and (span := plan.shadow_window(booking)) is not None
        ]
        for theirs_start in stints_of(plan, partner.email, now, now + PARTNER_HORIZON):
            if theirs_start <= now:
                continue
            try:
                plan_swap(
                    rotation,
                    engineer,
                    stint_start,
                    partner,
                    theirs_start,
                    now=now,
                    state=(plan, setting.overrides),
                )
            except RosterError:
                continue
            theirs = stint_window(plan, theirs_start)
            free = not _away(away[partner.pk], *mine) and not _away(away[engineer.pk], *theirs)
            shadowing = any(_overlaps(s, *mine) or _overlaps(s, *theirs) for s in shadows)
            weeks = setting.weeks_on_call[partner.email]
            found.append(
                Proposal(rotation, stint_start, theirs_start, partner, free, shadowing, weeks)
            )
    return ranked(found)


def proposals_for(
    engineer: Engineer, found: Sequence[Collision], now: datetime
) -> dict[tuple[int, datetime], list[Proposal]]:
    """Ranked proposals for each colliding stint, keyed by (rotation id, stint start); each
    rotation's setting is read once, however many stints collide."""
    proposals: dict[tuple[int, datetime], list[Proposal]] = {}
    settings_: dict[int, Setting | None] = {}
    for collision in found:
        rotation = collision.rotation
        if collision.stint is None or (rotation.id, collision.stint) in proposals:
            continue
        if rotation.id not in settings_:
            settings_[rotation.id] = Setting.read(rotation, engineer, now)
        setting = settings_[rotation.id]
        proposals[rotation.id, collision.stint] = (
            swap_partners(rotation, engineer, collision.stint, now, setting=setting)
            if setting is not None
            else []
        )
    return proposals

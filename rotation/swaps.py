"""Stint swaps: proposed by one engineer, accepted or declined by the other, or made by a manager.

A stint is a person's secondary week and the primary week after it; a swap exchanges two
people's whole stints, so this week's secondary is still next week's primary all around them.
Every write locks the rotation and checks the rules against the schedule as it will be, and
tells the other person by email (``portal.notices``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from portal.models import Actor, AuditEntry, user_or_none
from portal.notices import tell, tell_if_wanted
from rotation import rules, schedule
from rotation.actions import (
    RosterError,
    ScheduleState,
    check_effective,
    future_overrides,
    lock_rotation,
    materialise_shifts,
)
from rotation.flags import flag_broken
from rotation.models import Engineer, Rotation, Swap, SwapStatus, schedule_of

# How far ahead "who gains and loses which weeks" looks: past any stint one can swap.
PREVIEW = timedelta(weeks=60)


def refuse(code: str, message: str) -> RosterError:
    return RosterError([schedule.Problem(code, message)])


def is_manager(user: Actor) -> bool:
    return isinstance(user, User) and user.has_perm("rotation.change_rotation")


def engineer_of(user: Actor) -> Engineer | None:
    return Engineer.objects.filter(user=user).first() if isinstance(user, User) else None


def handoff_on(plan: schedule.RotationPlan, day: date) -> datetime | None:
    """The UTC handoff on local date ``day`` that starts a slot, under the era in force then."""
    for era in reversed(plan.eras):
        handoff = era.calendar.handoff_at(day)
        if handoff >= era.start:
            slots = plan.stint_slots(handoff)
            return handoff if slots is not None else None
    return None


def local_day(rotation: Rotation, when: datetime) -> date:
    return when.astimezone(rotation.zone).date()


def stints_of(
    plan: schedule.RotationPlan, member: str, start: datetime, end: datetime
) -> list[datetime]:
    """The handoffs beginning ``member``'s stints (swaps applied) in [start, end)."""
    return [
        shift.start
        for shift in schedule.shifts_between(plan, start, end)
        if shift.role == schedule.Duty.SECONDARY
        and shift.member == member
        and shift.start >= start
        and schedule.stint_of(plan, member, shift.start)
    ]


@dataclass(frozen=True)
class SwapPlan:
    """What a swap would do: the schedule after it, and the weeks each of the two gains and
    loses (local dates of the shifts' starts)."""

    after: schedule.RotationPlan
    changes: dict[str, dict[str, list[date]]]


def plan_swap(
    rotation: Rotation,
    proposer: Engineer,
    mine: datetime,
    partner: Engineer,
    theirs: datetime,
    *,
    now: datetime,
    ref: int | None = None,
    state: ScheduleState | None = None,
) -> SwapPlan:
    """The schedule with the swap applied, or RosterError naming the rule it breaks.

    ``state`` (the plan and future overrides, as read under the lock) spares the reads when
    one caller weighs many swaps of the same schedule (``rotation.timeoff``)."""
    plan, overrides = state if state is not None else (schedule_of(rotation), None)
    if plan is None:
        raise refuse("no-roster", f"{rotation.name} has no roster yet")
    if proposer.pk == partner.pk:
        raise refuse("swap-self", "a swap is between two different people")
    for person in (proposer, partner):
        if not person.is_active:
            raise refuse("inactive", f"{person.name} is no longer active")
    for person, start in ((proposer, mine), (partner, theirs)):
        day = local_day(rotation, start)
        if plan.stint_slots(start) is None:
            raise refuse("swap-stint", f"no handoff of {rotation.name} starts a week on {day}")
        if start <= now:
            raise refuse(
                "swap-started", f"the stint from {day} has started; only future stints can swap"
            )
        if not schedule.stint_of(plan, person.email, start):
            raise refuse(
                "swap-stint",
                f"{person.name} does not hold the stint (secondary, then primary) from {day}",
            )
    if mine == theirs:
        raise refuse("swap-stint", "the two stints are the same")
    swap = schedule.StintSwap(proposer.email, mine, partner.email, theirs, ref=ref)
    after = dataclasses.replace(plan, swaps=(*plan.swaps, swap))
    if overrides is None:
        overrides = future_overrides(rotation, now)
    check_effective(rotation, (plan, overrides), (after, overrides), now=now)
    changes = rules.weeks_changed(plan, after, now, now + PREVIEW)
    return SwapPlan(after, changes)


def _describe(rotation: Rotation, swap: Swap) -> str:
    return (
        f"{swap.proposer.name}'s stint from {local_day(rotation, swap.proposer_stint):%a %-d %b %Y} "
        f"for {swap.partner.name}'s from {local_day(rotation, swap.partner_stint):%a %-d %b %Y}"
    )


def _new_swap(
    rotation: Rotation,
    mine: tuple[Engineer, datetime],
    theirs: tuple[Engineer, datetime],
    *,
    note: str,
    by: Actor,
    **decided: object,
) -> Swap:
    return Swap.objects.create(
        rotation=rotation,
        proposer=mine[0],
        proposer_stint=mine[1],
        partner=theirs[0],
        partner_stint=theirs[1],
        note=note[:200],
        created_by=user_or_none(by),
        **decided,
    )


@transaction.atomic
def propose_swap(
    rotation: Rotation,
    proposer: Engineer,
    mine: datetime,
    partner: Engineer,
    theirs: datetime,
    *,
    by: Actor,
    note: str = "",
    now: datetime | None = None,
) -> Swap:
    """``proposer`` offers their stint from ``mine`` for ``partner``'s from ``theirs``.

    Only the proposer may propose for themselves; a manager makes swaps with ``make_swap``."""
    now = now or timezone.now()
    me = engineer_of(by)
    if me is None or me.pk != proposer.pk:
        raise PermissionDenied("only the engineer whose stint it is can propose a swap of it")
    lock_rotation(rotation)
    plan_swap(rotation, proposer, mine, partner, theirs, now=now)
    swap = _new_swap(rotation, (proposer, mine), (partner, theirs), note=note, by=by)
    AuditEntry.record("swap.proposed", rotation.slug, by=by, swap=swap.id)
    tell(
        f"swap-proposed:{swap.id}",
        partner.email,
        f"{proposer.name} proposes a swap in {rotation.name}",
        f"{proposer.name} proposes to swap {_describe(rotation, swap)}.\n"
        + (f"Note: {note}\n" if note else "")
        + "\nAccept or decline it on your page (/me/) in the portal.",
    )
    return swap


@transaction.atomic
def make_swap(
    rotation: Rotation,
    proposer: Engineer,
    mine: datetime,
    partner: Engineer,
    theirs: datetime,
    *,
    by: Actor,
    note: str = "",
    now: datetime | None = None,
) -> Swap:
    """A manager swaps two people's stints directly; both are told."""
    if not is_manager(by):
        raise PermissionDenied("only a manager can make a swap for two other people")
    now = now or timezone.now()
    lock_rotation(rotation)
    plan = plan_swap(rotation, proposer, mine, partner, theirs, now=now)
    swap = _new_swap(
        rotation,
        (proposer, mine),
        (partner, theirs),
        note=note,
        by=by,
        status=SwapStatus.ACCEPTED,
        decided_at=now,
        decided_by=user_or_none(by),
    )
    _applied(rotation, swap, plan, by=by, now=now, action="swap.made")
    return swap


@transaction.atomic
def accept_swap(swap: Swap, *, by: Actor, now: datetime | None = None) -> Swap:
    """The partner (or a manager) accepts; the rules are checked again against the schedule
    as it is now, under the lock, since other swaps and edits may have come in between."""
    now = now or timezone.now()
    me = engineer_of(by)
    if not (is_manager(by) or (me is not None and me.pk == swap.partner_id)):
        raise PermissionDenied("only the person asked (or a manager) can accept this swap")
    rotation = swap.rotation
    lock_rotation(rotation)
    swap = Swap.objects.select_related("rotation", "proposer", "partner").get(pk=swap.pk)
    if swap.status != SwapStatus.PROPOSED:
        raise refuse("swap-decided", f"this swap is already {swap.status}")
    plan = plan_swap(
        rotation,
        swap.proposer,
        swap.proposer_stint,
        swap.partner,
        swap.partner_stint,
        now=now,
        ref=swap.id,
    )
    Swap.objects.filter(pk=swap.pk).update(
        status=SwapStatus.ACCEPTED, decided_at=now, decided_by=user_or_none(by)
    )
    swap.status, swap.decided_at = SwapStatus.ACCEPTED, now
    _applied(rotation, swap, plan, by=by, now=now, action="swap.accepted")
    return swap


def _applied(
    rotation: Rotation, swap: Swap, plan: SwapPlan, *, by: Actor, now: datetime, action: str
) -> None:
    changes = {
        email: {label: [d.isoformat() for d in days] for label, days in change.items()}
        for email, change in plan.changes.items()
    }
    AuditEntry.record(action, rotation.slug, by=by, swap=swap.id, changes=changes)
    materialise_shifts(rotation, now=now)
    flag_broken(rotation, now=now)
    for person in (swap.proposer, swap.partner):
        mine = changes.get(person.email, {"gains": [], "loses": []})
        tell_if_wanted(
            "schedule_changes",
            f"swap-accepted:{swap.id}:{person.email}",
            person.email,
            f"Swap in {rotation.name} confirmed",
            f"The swap of {_describe(rotation, swap)} is confirmed.\n"
            f"Weeks you now hold: {', '.join(mine['gains']) or 'none'}.\n"
            f"Weeks you no longer hold: {', '.join(mine['loses']) or 'none'}.\n",
        )


@transaction.atomic
def decline_swap(swap: Swap, *, by: Actor, now: datetime | None = None) -> Swap:
    """The partner (or a manager) declines a proposed swap; the proposer is told."""
    me = engineer_of(by)
    if not (is_manager(by) or (me is not None and me.pk == swap.partner_id)):
        raise PermissionDenied("only the person asked (or a manager) can decline this swap")
    return _close(swap, SwapStatus.DECLINED, by=by, now=now or timezone.now())


@transaction.atomic
def cancel_swap(swap: Swap, *, by: Actor, now: datetime | None = None) -> Swap:
    """Either person (or a manager) cancels a swap before either stint starts."""
    now = now or timezone.now()
    me = engineer_of(by)
    if not (is_manager(by) or (me is not None and me.pk in (swap.proposer_id, swap.partner_id))):
        raise PermissionDenied("only the two people in a swap (or a manager) can cancel it")
    return _close(swap, SwapStatus.CANCELLED, by=by, now=now)


def _close(swap: Swap, status: SwapStatus, *, by: Actor, now: datetime) -> Swap:
    rotation = swap.rotation
    lock_rotation(rotation)
    swap = Swap.objects.select_related("rotation", "proposer", "partner").get(pk=swap.pk)
    was_accepted = swap.status == SwapStatus.ACCEPTED
    if status == SwapStatus.DECLINED and swap.status != SwapStatus.PROPOSED:
        raise refuse("swap-decided", f"this swap is already {swap.status}")
    if status == SwapStatus.CANCELLED:
        if swap.status not in (SwapStatus.PROPOSED, SwapStatus.ACCEPTED):
            raise refuse("swap-decided", f"this swap is already {swap.status}")
        # A proposal can always be withdrawn (it changes no schedule); an accepted swap stands
        # once either stint has started.
        if was_accepted and min(swap.proposer_stint, swap.partner_stint) <= now:
            raise refuse("swap-started", "one of the stints has started; the swap stands")
    if was_accepted:
        # Undoing it must leave a schedule that keeps the rules, as any other write must.
        plan = schedule_of(rotation)
        assert plan is not None
        without = dataclasses.replace(plan, swaps=tuple(s for s in plan.swaps if s.ref != swap.id))
        overrides = future_overrides(rotation, now)
        check_effective(rotation, (plan, overrides), (without, overrides), now=now)
    Swap.objects.filter(pk=swap.pk).update(
        status=status, decided_at=now, decided_by=user_or_none(by)
    )
    swap.status = status
    AuditEntry.record(f"swap.{status}", rotation.slug, by=by, swap=swap.id)
    if was_accepted:
        materialise_shifts(rotation, now=now)
        flag_broken(rotation, now=now)
    for person in (swap.proposer, swap.partner):
        tell_if_wanted(
            "schedule_changes",
            f"swap-{status}:{swap.id}:{person.email}",
            person.email,
            f"Swap in {rotation.name} {status}",
            f"The swap of {_describe(rotation, swap)} was {status}."
            + (" Each of you holds the weeks the roster gives you." if was_accepted else ""),
        )
    return swap

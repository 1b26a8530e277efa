"""What a roster edit would do, before it is saved: who gains and loses which weeks over the
next six months, which covers and swaps stop applying, and where a newcomer fits.

Everything here is computed by ``actions.plan_roster``, the function ``save_roster`` runs, so
the preview's weeks are the save's weeks. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from rotation import schedule, stretches
from rotation.actions import RosterError, RosterPlan, future_overrides, plan_roster
from rotation.models import (
    Engineer,
    Override,
    Rotation,
    Swap,
    SwapStatus,
    TimeOff,
    schedule_of,
)

# A newcomer's place keeps everyone's weeks this far ahead unchanged, when one can.
KEEP_AHEAD = timedelta(weeks=8)


@dataclass(frozen=True)
class Change:
    """One person's weeks that move: named by the local date their shift starts on."""

    email: str
    name: str
    gains: list[date]
    loses: list[date]

    def as_json(self) -> dict[str, object]:
        return {
            "email": self.email,
            "name": self.name,
            "gains": [day.isoformat() for day in self.gains],
            "loses": [day.isoformat() for day in self.loses],
        }


@dataclass(frozen=True)
class RosterPreview:
    """A roster edit's effect; ``plan`` is what ``save_roster`` would save."""

    plan: RosterPlan
    changes: list[Change]
    broken_covers: list[Override] = field(default_factory=list)
    broken_swaps: list[Swap] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        broken: list[dict[str, object]] = [
            {
                "kind": "cover",
                "id": cover.id,
                "role": cover.role,
                "person": cover.engineer.email,
                "covering": cover.covers.email if cover.covers else None,
                "start": cover.starts_at.isoformat(),
                "end": cover.ends_at.isoformat(),
            }
            for cover in self.broken_covers
        ]
        broken += [
            {
                "kind": "swap",
                "id": swap.id,
                "proposer": swap.proposer.email,
                "proposer_stint": swap.proposer_stint.isoformat(),
                "partner": swap.partner.email,
                "partner_stint": swap.partner_stint.isoformat(),
            }
            for swap in self.broken_swaps
        ]
        return {
            "effective": self.plan.effective.isoformat(),
            "changes": [change.as_json() for change in self.changes],
            "broken": broken,
        }


def preview_roster(
    rotation: Rotation,
    members: Sequence[Engineer],
    shadows: Sequence[tuple[Engineer, date]] | None = None,
    *,
    now: datetime,
) -> RosterPreview:
    """What saving ``members`` (and ``shadows``) would do, or RosterError saying why it can't."""
    plan = plan_roster(rotation, members, shadows, now=now)
    people = {member.email: member.name for member in members}
    people |= dict(
        Engineer.objects.filter(email__in=plan.changes.keys() - people.keys()).values_list(
            "email", "name"
        )
    )
    changes = [
        Change(email, people.get(email, email), change["gains"], change["loses"])
        for email, change in sorted(plan.changes.items(), key=lambda i: people.get(i[0], i[0]))
    ]
    if plan.before is None:
        return RosterPreview(plan, changes)
    return RosterPreview(plan, changes, *_broken(rotation, plan, now))


def _broken(
    rotation: Rotation, plan: RosterPlan, now: datetime
) -> tuple[list[Override], list[Swap]]:
    """The covers and swaps that apply now and would not after the edit."""
    assert plan.before is not None
    overrides = future_overrides(rotation, now)
    covers = [o for o in overrides if o.covers_id is not None]
    newly_broken: set[int | None] = set()
    if covers:
        windows = [override.as_schedule() for override in overrides]
        end = max(cover.ends_at for cover in covers)
        newly_broken = stretches.broken_covers(
            plan.after, windows, now, end
        ) - stretches.broken_covers(plan.before, windows, now, end)
    refs = {s.ref for s in schedule.broken_swaps(plan.after)} - {
        s.ref for s in schedule.broken_swaps(plan.before)
    }
    swaps = list(
        Swap.objects.filter(id__in=[ref for ref in refs if ref is not None]).select_related(
            "proposer", "partner"
        )
    )
    return [c for c in covers if c.id in newly_broken], swaps


@dataclass(frozen=True)
class Placement:
    """Where a newcomer could go: ``position`` (0 = first), and how many people's weeks move in
    the next eight weeks there; ``problem`` when the rules refuse that place."""

    position: int
    moves_soon: int
    problem: str = ""


def placements(
    rotation: Rotation,
    members: Sequence[Engineer],
    newcomer: Engineer,
    shadows: Sequence[tuple[Engineer, date]] | None,
    *,
    now: datetime,
) -> list[Placement]:
    """Every place in ``members`` (without ``newcomer``) to put ``newcomer``, tried with
    ``plan_roster``: the places the rules allow, and why the others are refused."""
    others = [member for member in members if member.email != newcomer.email]
    found = []
    for position in range(len(others) + 1):
        order = [*others[:position], newcomer, *others[position:]]
        try:
            plan = plan_roster(rotation, order, shadows, now=now)
        except RosterError as error:
            found.append(Placement(position, -1, error.problems[0].message))
            continue
        soon = plan.effective + KEEP_AHEAD
        moves = {
            email
            for email, change in plan.changes.items()
            for day in (*change["gains"], *change["loses"])
            if day < soon.astimezone(rotation.zone).date()
        }
        found.append(Placement(position, len(moves)))
    return found


def suggest_place(found: Sequence[Placement]) -> tuple[Placement | None, bool]:
    """The place to offer: one where nobody's weeks move in the next eight weeks (True), else
    the allowed place that moves fewest people's (False); None when the rules allow none."""
    allowed = [place for place in found if not place.problem]
    if not allowed:
        return None, False
    best = min(allowed, key=lambda place: (place.moves_soon, -place.position))
    return best, best.moves_soon == 0


def first_free_week(
    rotation: Rotation, engineer: Engineer, *, now: datetime, within: int = 26
) -> date | None:
    """The handoff date of the first week from the next handoff in which ``engineer`` has no
    time off: their shadow week, beside that week's primary."""
    plan = schedule_of(rotation)
    if plan is None:
        return None
    zone = ZoneInfo(engineer.time_zone or rotation.time_zone)
    away = (
        list(TimeOff.objects.filter(engineer=engineer, ends_on__gte=now.date()))
        if engineer.pk
        else []
    )
    start = schedule.next_handoff(plan, now)
    for _ in range(within):
        bounds = schedule.slot_bounds(plan, start)
        if bounds is None:
            return None
        first, last = (moment.astimezone(zone).date() for moment in bounds)
        if not any(off.starts_on <= last and off.ends_on >= first for off in away):
            return bounds[0].astimezone(rotation.zone).date()
        start = bounds[1]
    return None


def leaver_commitments(
    rotation: Rotation, engineer: Engineer, *, now: datetime
) -> tuple[list[Override], list[Swap]]:
    """A leaver's future covers (given or received) and accepted swaps: to be reassigned."""
    covers = list(
        Override.objects.filter(rotation=rotation, ends_at__gt=now)
        .filter(Q(engineer=engineer) | Q(covers=engineer))
        .select_related("engineer", "covers")
        .order_by("starts_at")
    )
    swaps = list(
        Swap.objects.filter(rotation=rotation, status=SwapStatus.ACCEPTED)
        .filter(Q(proposer=engineer) | Q(partner=engineer))
        .filter(Q(proposer_stint__gt=now) | Q(partner_stint__gt=now))
        .select_related("proposer", "partner")
    )
    return covers, swaps


def explain(code: str, message: str, count: int) -> str:
    """The rules' refusals, said for the page: a leaver who would leave too few is common."""
    if code == "too-few":
        return (
            f"A rotation needs at least two people on call; this order has {count}. "
            "Add someone before removing anyone else."
        )
    return message[:1].upper() + message[1:]

"""The swap pages: propose a swap of one of my stints, with a preview of who gains and loses
which weeks before anything is sent; and the "Swaps" section of /me/.

A stint is found by the local date of the handoff that starts it (its secondary week). The
person who holds it is whoever the schedule says (swaps applied): the viewer proposes a swap
of their own; a manager may swap any two people's directly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from portal.stamp import Stamps, pick, remember
from portal.viewer import signed_in_user
from rotation import schedule, swaps
from rotation.actions import RosterError
from rotation.models import Engineer, Rotation, Swap, SwapStatus, plans_of, schedule_of

# The colleague's stints the page offers: about half a year ahead.
OFFERED = timedelta(weeks=26)


@dataclass(frozen=True)
class Stint:
    person: Engineer
    start: datetime  # the handoff that starts the secondary week
    primary_from: datetime  # the handoff that starts the primary week

    @property
    def value(self) -> str:
        return f"{self.person.email}|{self.start.isoformat()}"


@dataclass(frozen=True)
class Week:
    start: datetime
    role: str


@dataclass(frozen=True)
class Change:
    """What one person gains and loses: weeks named by their shift's start and role."""

    person: Engineer
    gains: list[Week]
    loses: list[Week]


def holder_of(plan: schedule.RotationPlan, start: datetime) -> str | None:
    """Who holds the stint that begins at ``start`` (swaps applied), if anyone does."""
    stint = plan.stint_slots(start)
    if stint is None:
        return None
    for shift in schedule.shifts_between(plan, stint[0].start, stint[0].end):
        if shift.role == schedule.Duty.SECONDARY and shift.start == stint[0].start:
            return shift.member if schedule.stint_of(plan, shift.member, start) else None
    return None


def stints_between(
    plan: schedule.RotationPlan, people: dict[str, Engineer], start: datetime, end: datetime
) -> list[Stint]:
    """Everyone's stints that begin in (start, end), in order."""
    found = []
    for shift in schedule.shifts_between(plan, start, end):
        if shift.role != schedule.Duty.SECONDARY or shift.start <= start:
            continue
        if shift.member in people and schedule.stint_of(plan, shift.member, shift.start):
            slots = plan.stint_slots(shift.start)
            assert slots is not None
            found.append(Stint(people[shift.member], shift.start, slots[1].start))
    return found


def changes_of(
    before: schedule.RotationPlan,
    after: schedule.RotationPlan,
    people: dict[str, Engineer],
    start: datetime,
    end: datetime,
) -> list[Change]:
    """Who gains and loses which weeks in [start, end), with each week's role."""

    def held(plan: schedule.RotationPlan) -> set[tuple[str, datetime, str]]:
        return {
            (s.member, s.start, s.role.value.title())
            for s in schedule.shifts_between(plan, start, end)
            if s.role != schedule.Duty.SHADOW and s.start >= start
        }

    old, new = held(before), held(after)
    members = sorted({m for m, _, _ in old ^ new}, key=lambda m: people[m].name)
    return [
        Change(
            people[member],
            [Week(s, r) for m, s, r in sorted(new - old, key=lambda x: x[1]) if m == member],
            [Week(s, r) for m, s, r in sorted(old - new, key=lambda x: x[1]) if m == member],
        )
        for member in members
    ]


def swap_changes(
    plan: schedule.RotationPlan, swap: schedule.StintSwap, people: dict[str, Engineer]
) -> list[Change]:
    """The weeks a swap moves, from the engine alone (no queries)."""
    after = dataclasses.replace(plan, swaps=(*plan.swaps, swap))
    start = min(swap.start, swap.other_start)
    end = max(swap.start, swap.other_start) + timedelta(weeks=3)
    return changes_of(plan, after, people, start, end)


def _people(rotation: Rotation) -> dict[str, Engineer]:
    return {e.email: e for e in Engineer.objects.filter(memberships__rotation=rotation)}


def new_swap(request: HttpRequest) -> HttpResponse:
    """Pick a colleague's stint for mine, preview the weeks that move, then send (or, for a
    manager, make the swap directly)."""
    user = signed_in_user(request)
    data = request.POST if request.method == "POST" else request.GET
    rotation = get_object_or_404(Rotation, slug=data.get("rotation", ""))
    plan = schedule_of(rotation)
    now = timezone.now()
    try:
        day = date.fromisoformat(data.get("mine", ""))
    except ValueError:
        raise Http404("no such stint") from None
    mine = swaps.handoff_on(plan, day) if plan is not None else None
    holder = holder_of(plan, mine) if plan is not None and mine is not None else None
    if plan is None or mine is None or holder is None or mine <= now:
        messages.error(request, f"No stint of {rotation.name} you can swap starts on {day}.")
        return redirect("rotation:schedule", rotation.slug)
    people = _people(rotation)
    me = swaps.engineer_of(user)
    manager = swaps.is_manager(user)
    if (me is None or me.email != holder) and not manager:
        raise PermissionDenied("only the person whose stint it is (or a manager) can swap it")
    owner = people[holder]
    offered = [
        stint
        for stint in stints_between(plan, people, now, now + OFFERED)
        if stint.person.pk != owner.pk and stint.person.is_active
    ]
    context: dict[str, Any] = {
        "rotation": rotation,
        "owner": owner,
        "is_mine": me is not None and me.pk == owner.pk,
        "is_manager": manager,
        "mine": Stint(owner, mine, plan.stint_slots(mine)[1].start),  # type: ignore[index]
        "offered": offered,
        "chosen": data.get("theirs", ""),
        "note": data.get("note", "")[:200],
        "direct": data.get("direct") == "on",
        "my_zone": me.time_zone if me else "",
        "error": "",
    }
    if request.method == "POST":
        return _post(request, user, context)
    return render(request, "rotation/swap_new.html", context)


def _post(request: HttpRequest, user: User, context: dict[str, Any]) -> HttpResponse:
    rotation, owner, mine = context["rotation"], context["owner"], context["mine"]
    chosen = next((s for s in context["offered"] if s.value == context["chosen"]), None)
    if chosen is None:
        context["error"] = "Choose one of the colleague's stints below."
        return render(request, "rotation/swap_new.html", context, status=400)
    context["theirs"] = chosen
    step = request.POST.get("step", "preview")
    direct = context["direct"] or not context["is_mine"]
    try:
        if step == "send" and direct:
            swaps.make_swap(
                rotation,
                owner,
                mine.start,
                chosen.person,
                chosen.start,
                by=user,
                note=context["note"],
            )
            messages.success(request, f"Swapped: {owner.name} and {chosen.person.name} were told.")
            return redirect("rotation:schedule", rotation.slug)
        if step == "send":
            swaps.propose_swap(
                rotation,
                owner,
                mine.start,
                chosen.person,
                chosen.start,
                by=user,
                note=context["note"],
            )
            messages.success(request, f"Proposal sent to {chosen.person.name}.")
            return redirect("portal:me")
        plan = swaps.plan_swap(
            rotation, owner, mine.start, chosen.person, chosen.start, now=timezone.now()
        )
    except RosterError as error:
        context["error"] = str(error)
        return render(request, "rotation/swap_new.html", context, status=400)
    before = schedule_of(rotation)
    assert before is not None
    swap = plan.after.swaps[-1]
    context["changes"] = swap_changes(before, swap, _people(rotation))
    context["previewed"] = True
    return render(request, "rotation/swap_new.html", context)


@dataclass(frozen=True)
class SwapRow:
    swap: Swap
    changes: list[Change]  # for the viewer (proposals to them) or both (the others)
    can_cancel: bool


def my_swaps(engineer: Engineer, now: datetime) -> dict[str, list[SwapRow]]:
    """The /me/ page's Swaps section: proposals to me (with what I gain and lose), mine, the
    accepted ones still ahead, and those flagged as no longer applying. A fixed number of
    queries however many swaps there are."""
    found = list(
        Swap.objects.filter(Q(proposer=engineer) | Q(partner=engineer))
        .filter(Q(status=SwapStatus.PROPOSED) | Q(status=SwapStatus.ACCEPTED))
        .filter(Q(proposer_stint__gt=now) | Q(partner_stint__gt=now) | Q(flagged_at__isnull=False))
        .select_related("rotation", "proposer", "partner")
        .order_by("proposer_stint", "id")
    )
    rotations = {swap.rotation_id: swap.rotation for swap in found}
    plans, people = plans_of(list(rotations.values())) if rotations else ({}, {})
    for swap in found:
        people |= {swap.proposer.email: swap.proposer, swap.partner.email: swap.partner}

    def row(swap: Swap, *, only_me: bool) -> SwapRow:
        plan = plans[swap.rotation_id]
        changes = swap_changes(plan, swap.as_schedule(), people) if plan is not None else []
        if only_me:
            changes = [c for c in changes if c.person.pk == engineer.pk]
        started = min(swap.proposer_stint, swap.partner_stint) <= now
        return SwapRow(swap, changes, not started)

    section: dict[str, list[SwapRow]] = {"to_me": [], "by_me": [], "accepted": [], "flagged": []}
    for swap in found:
        if swap.status == SwapStatus.PROPOSED and swap.partner_id == engineer.pk:
            section["to_me"].append(row(swap, only_me=True))
        elif swap.status == SwapStatus.PROPOSED:
            section["by_me"].append(row(swap, only_me=False))
        elif swap.flagged_at is not None:
            section["flagged"].append(SwapRow(swap, [], False))
        elif min(swap.proposer_stint, swap.partner_stint) > now:
            section["accepted"].append(SwapRow(swap, [], True))
    return section


ACTIONS = {
    "accept": (swaps.accept_swap, "Swap accepted: the schedule now shows it."),
    "decline": (swaps.decline_swap, "Swap declined."),
    "cancel": (swaps.cancel_swap, "Swap cancelled."),
}


@require_POST
def decide_swap(request: HttpRequest, swap_id: int, action: str) -> HttpResponse:
    """Accept, decline or cancel from /me/; refusals come back as a message there."""
    user = signed_in_user(request)
    me = swaps.engineer_of(user)
    swap = get_object_or_404(Swap.objects.select_related("rotation"), pk=swap_id)
    if not swaps.is_manager(user) and (
        me is None or me.pk not in (swap.proposer_id, swap.partner_id)
    ):
        raise Http404("no such swap of yours")
    act, done = ACTIONS[action]
    try:
        act(swap, by=user)
    except RosterError as error:
        messages.error(request, f"Not done: {error}")
    else:
        messages.success(request, done)
    return redirect("portal:me")


def swaps_line(me: Engineer, found: Stamps | None, now: datetime) -> str:
    """The dashboard's line about swaps waiting for my answer or voided by a roster change;
    '' when there are none. Remembered until the schedule changes."""

    def render_line() -> tuple[str, datetime | None]:
        waiting = Q(partner=me, status=SwapStatus.PROPOSED, proposer_stint__gt=now)
        voided = Q(status=SwapStatus.ACCEPTED, flagged_at__isnull=False) & (
            Q(proposer=me) | Q(partner=me)
        )
        rows = list(
            Swap.objects.filter(waiting | voided).values_list(
                "status", "proposer_stint", "partner_stint"
            )
        )
        asked = [min(mine, theirs) for status, mine, theirs in rows if status == "proposed"]
        asked = [start for start in asked if start > now]
        counts = {
            "waiting": len(asked),
            "voided": len(rows) - sum(r[0] == "proposed" for r in rows),
        }
        if not any(counts.values()):
            return "", None
        first = [min(asked)] if asked else []
        html = render_to_string("rotation/_my_swaps.html#dashboard_line", counts)
        # Remembered until the first proposal's stint starts (it can no longer be accepted).
        return mark_safe(html), first[0] if first else None

    return remember(("swaps_line", me.pk), pick(found, "schedule"), now, render_line)

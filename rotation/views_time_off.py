"""Time off in the pages: the section of /me/ (form, list, collisions with one-click swap
proposals), the dashboard's line about a collision, and the rotation page's marks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from portal.stamp import Stamps, pick, remember, stamps
from portal.viewer import signed_in_user
from rotation.actions import RosterError
from rotation.forms import TimeOffForm
from rotation.models import Engineer, Rotation, Swap, SwapStatus, TimeOff
from rotation.schedule import Duty
from rotation.swaps import engineer_of, propose_swap
from rotation.timeoff import (
    Collision,
    Proposal,
    collisions_in,
    delete_time_off,
    proposals_for,
    record_time_off,
    upcoming_time_off,
    window,
)
from rotation.timetable import WeekRow

# A refused form is kept in the session for the page it returns to, so nothing typed is lost.
PENDING = "time_off_form"
# /me/ offers this many people first for each stint, the other weeks folded away.
SHOWN = 5
# Which field a refusal of the action belongs beside.
RULE_FIELD = {"time-off-overlap": "starts_on"}


@dataclass(frozen=True)
class StintTrouble:
    """One of my stints that my time off collides with, and whom to ask to swap it."""

    rotation: Rotation
    stint: datetime | None
    collisions: list[Collision]
    proposals: list[Proposal]

    @property
    def best(self) -> list[Proposal]:
        """Each partner's best-ranked proposal, best first, up to ``SHOWN``."""
        firsts: dict[int, Proposal] = {}
        for proposal in self.proposals:
            firsts.setdefault(proposal.partner.pk, proposal)
        return list(firsts.values())[:SHOWN]

    @property
    def others(self) -> list[Proposal]:
        """The rest, in rank order: other weeks of the same people."""
        shown = set(map(id, self.best))
        return [p for p in self.proposals if id(p) not in shown]


def _troubles(engineer: Engineer, rows: list[TimeOff], now: datetime) -> list[StintTrouble]:
    found = collisions_in(engineer, rows, now)
    proposals = proposals_for(engineer, found, now)
    grouped: dict[tuple[int, datetime | None, datetime], list[Collision]] = {}
    for collision in found:
        # Covers and overrides I took are no stint: each is a trouble of its own.
        key = (collision.rotation.id, collision.stint, collision.stint or collision.start)
        grouped.setdefault(key, []).append(collision)
    return [
        StintTrouble(
            group[0].rotation,
            group[0].stint,
            group,
            proposals.get((group[0].rotation.id, group[0].stint), []) if group[0].stint else [],
        )
        for group in grouped.values()
    ]


def my_time_off(request: HttpRequest, engineer: Engineer) -> dict[str, object]:
    """The context of ``rotation/_my_time_off.html`` for /me/."""
    now, found = timezone.now(), stamps("schedule")
    pending = request.session.pop(PENDING, None)
    form = TimeOffForm(pending["data"]) if pending else TimeOffForm()
    if pending:
        form.is_valid()
        for field, message in pending["errors"]:
            form.add_error(field, message)
    rows = upcoming_time_off(engineer, now)

    def compute() -> tuple[list[StintTrouble], datetime | None]:
        troubles = _troubles(engineer, rows, now)
        # The answer holds while no stint it names starts (and within the hour: the past
        # year of weeks on call moves with the clock).
        edges = [c.start for t in troubles for c in t.collisions]
        edges += [p.theirs for t in troubles for p in t.proposals]
        return troubles, min([now + timedelta(hours=1), *edges])

    key = ("my_time_off", engineer.pk)
    troubles = remember(key, pick(found, "schedule"), now, compute)
    stints = [t.stint for t in troubles if t.stint is not None]
    pending = Swap.objects.filter(
        proposer=engineer, status=SwapStatus.PROPOSED, proposer_stint__in=stints
    ).select_related("partner")
    return {
        "time_off_pending": list(pending) if stints else [],
        "time_off_form": form,
        "time_off_rows": rows,
        "time_off_troubles": troubles,
        "time_off_zone": engineer.time_zone,
        "days_zone": engineer.time_zone or settings.TIME_ZONE,
    }


@require_POST
def time_off_add(request: HttpRequest) -> HttpResponse:
    """Records my time off from the /me/ form; a refusal goes back to the form, kept."""
    user = signed_in_user(request)
    engineer = _me(user)
    form = TimeOffForm(request.POST)
    errors: list[tuple[str | None, str]] = []
    if form.is_valid():
        data = form.cleaned_data
        try:
            row = record_time_off(
                engineer,
                data["starts_on"],
                data["ends_on"],
                data["note"],
                by=user,
                now=timezone.now(),
            )
        except RosterError as error:
            errors = [(RULE_FIELD.get(p.code, "ends_on"), p.message) for p in error.problems]
        else:
            messages.success(request, f"Time off recorded: {_days(row.starts_on, row.ends_on)}.")
            return redirect("/me/#time-off")
    typed = {name: request.POST.get(name, "") for name in form.fields}
    request.session[PENDING] = {"data": typed, "errors": errors}
    return redirect("/me/#time-off")


@require_POST
def time_off_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    row = get_object_or_404(TimeOff.objects.select_related("engineer"), pk=pk)
    if row.engineer_id != _me(user).pk:
        raise Http404("no such time off of yours")
    delete_time_off(row, by=user)
    messages.success(request, f"Time off {_days(row.starts_on, row.ends_on)} deleted.")
    return redirect("/me/#time-off")


@require_POST
def propose_from_time_off(request: HttpRequest) -> HttpResponse:
    """One click: proposes the swap the /me/ page offered, then back to it."""
    user = signed_in_user(request)
    me = _me(user)
    rotation = get_object_or_404(Rotation, slug=request.POST.get("rotation", ""))
    partner = get_object_or_404(Engineer, email=request.POST.get("with", ""))
    try:
        mine = _instant(request.POST.get("mine", ""))
        theirs = _instant(request.POST.get("theirs", ""))
        propose_swap(rotation, me, mine, partner, theirs, by=user, note="time off")
    except ValueError:
        messages.error(request, "That proposal was not understood; pick one from the list.")
    except RosterError as error:
        messages.error(request, f"The swap with {partner.name} was not proposed: {error}")
    else:
        messages.success(
            request,
            f"Swap proposed to {partner.name}: you take their stint from "
            f"{theirs.astimezone(rotation.zone):%a %-d %b}, they take yours from "
            f"{mine.astimezone(rotation.zone):%a %-d %b}. They have been emailed.",
        )
    return redirect("/me/#time-off")


def _instant(text: str) -> datetime:
    """An ISO 8601 instant with its offset, as the page's buttons send them."""
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"{text} has no offset")
    return when


def _me(user: User) -> Engineer:
    engineer = engineer_of(user)
    if engineer is None:
        raise PermissionDenied("your login is not linked to an engineer")
    return engineer


def _days(first: date, last: date) -> str:
    return f"{first:%a %-d %b %Y}" if first == last else f"{first:%a %-d %b} to {last:%a %-d %b %Y}"


def time_off_line(me: Engineer, found: Stamps | None, now: datetime) -> str:
    """The dashboard's line when my time off collides with a week I hold; '' otherwise."""

    def render_line() -> tuple[str, datetime | None]:
        found_ = collisions_in(me, upcoming_time_off(me, now), now)
        if not found_:
            return "", None
        context = {"first": found_[0], "more": len(found_) - 1, "zone": _zone(me, found_[0])}
        html = render_to_string("rotation/_my_time_off.html#dashboard_line", context)
        return mark_safe(html), min(c.start for c in found_)

    return remember(("time_off_line", me.pk), pick(found, "schedule"), now, render_line)


def _zone(me: Engineer, collision: Collision) -> str:
    return me.time_zone or collision.rotation.time_zone


@dataclass(frozen=True)
class Away:
    """On the rotation page: ``person`` holds ``role`` this week during their time off."""

    person: Engineer
    role: Duty
    time_off: TimeOff


def away_in(rows: list[WeekRow], now: datetime) -> list[tuple[WeekRow, list[Away]]]:
    """Each row of the rotation page with the primary and secondary holders who are away
    during it (one query for the whole page)."""
    holdings = [
        (row, role, h)
        for row in rows
        if not row.is_past
        for role, held in ((Duty.PRIMARY, row.primary), (Duty.SECONDARY, row.secondary))
        for h in held
        if h.end > now
    ]
    if not holdings:
        return [(row, []) for row in rows]
    people = {h.person.pk: h.person for _, _, h in holdings}
    first = min(h.start for _, _, h in holdings).date() - timedelta(days=1)
    last = max(h.end for _, _, h in holdings).date() + timedelta(days=1)
    by_person: dict[int, list[TimeOff]] = {}
    for row in TimeOff.objects.filter(
        engineer_id__in=people, ends_on__gte=first, starts_on__lte=last
    ):
        row.engineer = people[row.engineer_id]
        by_person.setdefault(row.engineer_id, []).append(row)
    marks: dict[int, list[Away]] = {}
    for week, role, h in holdings:
        for off in by_person.get(h.person.pk, []):
            start, end = window(off)
            if start < h.end and end > h.start:
                marks.setdefault(id(week), []).append(Away(h.person, role, off))
                break
    return [(row, marks.get(id(row), [])) for row in rows]

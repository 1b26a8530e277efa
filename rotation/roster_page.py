"""The state of the manager's roster page between requests, and what the page shows of it.

The page carries the proposed order (emails), a new engineer not yet saved and the version
of the roster it was opened on in hidden fields; each button (move, add, remove, preview)
posts them back and gets the page for the new order, its preview recomputed. Nothing here
writes: ``roster_edit.save_roster_edit`` saves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import available_timezones

from django.http import QueryDict

from rotation import schedule
from rotation.actions import RosterError
from rotation.models import Engineer, Rotation
from rotation.roster_edit import NewEngineer, Proposal, proposal, roster_version
from rotation.roster_preview import (
    RosterPreview,
    explain,
    leaver_commitments,
    placements,
    preview_roster,
    suggest_place,
)


@dataclass
class RosterState:
    emails: list[str]
    version: str
    newcomer: NewEngineer | None = None
    notes: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def current(cls, rotation: Rotation) -> RosterState:
        emails = rotation.memberships.order_by("position").values_list("engineer__email", flat=True)
        return cls(list(emails), roster_version(rotation))

    @classmethod
    def posted(cls, data: QueryDict) -> RosterState:
        newcomer = None
        if data.get("newcomer_email"):
            newcomer = NewEngineer(
                data.get("newcomer_name", ""),
                data.get("newcomer_email", ""),
                data.get("newcomer_zone", ""),
                data.get("newcomer_login") == "1",
            )
        emails = [email for email in data.getlist("member") if email]
        return cls(list(dict.fromkeys(emails)), data.get("version", ""), newcomer)

    @property
    def signature(self) -> str:
        return ",".join(self.emails)


def apply(rotation: Rotation, state: RosterState, op: str, data: QueryDict, now: datetime) -> None:
    """Do one of the page's buttons to ``state``: move, remove, add an engineer or a new one."""
    verb, _, arg = op.partition(":")
    index = int(arg) if arg.isdigit() else -1
    emails = state.emails
    if verb in ("up", "down") and 0 <= index < len(emails):
        other = index - 1 if verb == "up" else index + 1
        if 0 <= other < len(emails):
            emails[index], emails[other] = emails[other], emails[index]
    elif verb == "remove" and 0 <= index < len(emails):
        removed = emails.pop(index)
        if state.newcomer and state.newcomer.email == removed:
            state.newcomer = None
    elif verb == "add":
        email = data.get("engineer", "")
        engineer = Engineer.objects.filter(email=email, is_active=True).first()
        if engineer is None or email in emails:
            state.errors["engineer"] = "Choose an active engineer who is not in the order yet."
            return
        place(rotation, state, engineer, data.get("position", ""), now)
    elif verb == "add_new":
        newcomer = new_engineer(state, data)
        if newcomer is not None:
            state.newcomer = newcomer
            place(rotation, state, newcomer.unsaved(), data.get("new_position", ""), now)


def new_engineer(state: RosterState, data: QueryDict) -> NewEngineer | None:
    name, email = data.get("new_name", "").strip(), data.get("new_email", "").strip().lower()
    zone = data.get("new_zone", "").strip()
    if not name:
        state.errors["new_name"] = "Enter their name."
    if "@" not in email or len(email) > 254:
        state.errors["new_email"] = "Enter their email address, like sam@example.com."
    elif Engineer.objects.filter(email=email).exists():
        state.errors["new_email"] = f"{email} is already an engineer: add them from the list."
    if zone and zone not in available_timezones():
        state.errors["new_zone"] = f"{zone!r} is not a time zone, like Europe/Berlin."
    if state.newcomer is not None:
        state.errors["new_email"] = "Save or remove the new engineer already added first."
    if state.errors:
        return None
    return NewEngineer(name[:200], email, zone, data.get("new_login") == "1")


def place(
    rotation: Rotation, state: RosterState, engineer: Engineer, chosen: str, now: datetime
) -> None:
    """Put a joiner where the manager chose, else where nobody's next 8 weeks move."""
    members = [*state.emails, engineer.email]
    try:
        found = proposal(rotation, members, state.newcomer, now=now)
    except RosterError as error:
        state.errors["engineer"] = str(error)
        return
    others = [m for m in found.members if m.email != engineer.email]
    options = placements(rotation, others, engineer, found.shadows, now=now)
    best, keeps = suggest_place(options)
    if chosen.isdigit() and 1 <= int(chosen) <= len(others) + 1:
        position = int(chosen) - 1
        state.notes.append(f"Placed {engineer.name} at place {position + 1}, as you chose.")
    elif best is not None:
        position = best.position
        if keeps:
            state.notes.append(
                f"Placed {engineer.name} at place {position + 1}, the suggested place: "
                "nobody's weeks move in the next eight weeks."
            )
        else:
            state.notes.append(
                f"No place keeps everyone's next 8 weeks. Placed {engineer.name} at place "
                f"{position + 1}, where fewest people's weeks move soon ({best.moves_soon})."
            )
    else:
        position = len(others)
        state.notes.append(f"The rules allow no place for {engineer.name}: see below.")
    state.emails.insert(position, engineer.email)


@dataclass
class PageView:
    """What the template shows."""

    rotation: Rotation
    state: RosterState
    people: dict[str, Engineer]
    preview: RosterPreview | None = None
    problems: list[str] = field(default_factory=list)
    shadows: list[tuple[Engineer, date | None, str]] = field(default_factory=list)
    leavers: list[dict[str, object]] = field(default_factory=list)
    candidates: list[Engineer] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def places(self) -> range:
        return range(1, len(self.state.emails) + 2)

    @property
    def rows(self) -> list[Engineer]:
        return [self.people[email] for email in self.state.emails if email in self.people]


def page_view(rotation: Rotation, state: RosterState, now: datetime) -> PageView:
    people = {e.email: e for e in Engineer.objects.filter(email__in=state.emails)}
    if state.newcomer is not None and state.newcomer.email in state.emails:
        people.setdefault(state.newcomer.email, state.newcomer.unsaved())
    view = PageView(rotation, state, people)
    view.candidates = list(
        Engineer.objects.filter(is_active=True).exclude(email__in=state.emails).order_by("name")
    )
    current = list(rotation.memberships.select_related("engineer").order_by("position"))
    for membership in current:
        if membership.engineer.email not in state.emails:
            covers, swaps = leaver_commitments(rotation, membership.engineer, now=now)
            view.leavers.append({"engineer": membership.engineer, "covers": covers, "swaps": swaps})
    found: Proposal | None = None
    try:
        found = proposal(rotation, state.emails, state.newcomer, now=now)
        view.preview = preview_roster(rotation, found.members, found.shadows, now=now)
    except RosterError as error:
        view.problems = [explain(p.code, p.message, len(state.emails)) for p in error.problems]
    if found is not None:
        for email, week in found.joiners.items():
            view.shadows.append((people[email], week, shadow_primary_name(view.preview, week)))
            if week is None:
                view.warnings.append(f"{people[email].name} has no free week to shadow soon.")
    if view.preview is not None:
        soon = view.preview.plan.effective.astimezone(rotation.zone).date()
        moved = [c.name for c in view.preview.changes if any(d <= soon for d in c.gains + c.loses)]
        if moved:
            view.warnings.append(
                f"Weeks change from the very next handoff for {', '.join(moved)}: tell them now."
            )
    return view


def shadow_primary_name(preview: RosterPreview | None, week: date | None) -> str:
    """Who is primary in the shadow week, in the previewed schedule."""
    if preview is None or week is None:
        return ""
    plan = preview.plan.after
    for shift in schedule.shifts_between(
        plan, preview.plan.effective, preview.plan.effective + timedelta(weeks=26)
    ):
        if (
            shift.role == schedule.Duty.PRIMARY
            and shift.start.astimezone(plan.eras[-1].calendar.time_zone).date() == week
        ):
            engineer = Engineer.objects.filter(email=shift.member).first()
            return engineer.name if engineer else shift.member
    return ""

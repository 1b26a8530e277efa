"""Roster as code: engineers and rotations loaded from, and dumped to, a TOML roster file."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import tomli_w
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from portal.models import Actor
from rotation import schedule
from rotation.actions import RosterError, RosterPlan, plan_roster, save_roster
from rotation.models import Engineer, Membership, Rotation, ShadowBooking
from rotation.roster_checks import FEED_ROLES as FEED_ROLES
from rotation.roster_checks import SHADOW_KEYS as SHADOW_KEYS
from rotation.roster_checks import Checker, Issue, Locator, Table, messages, off_weekday, toml
from rotation.roster_checks import EngineerEntry as EngineerEntry
from rotation.roster_checks import RosterFile as RosterFile
from rotation.roster_checks import RosterFileError as RosterFileError
from rotation.roster_checks import RotationEntry as RotationEntry
from rotation.roster_checks import ShadowEntry as ShadowEntry

ENGINEER_REQUIRED = ("email", "name")
ENGINEER_OPTIONAL = ("pagerduty_user_id", "time_zone", "phone")
ROTATION_REQUIRED = (
    "slug",
    "name",
    "time_zone",
    "handoff_weekday",
    "handoff_time",
    "starts_on",
    "members",
)
ROTATION_OPTIONAL = ("pagerduty_escalation_policy_id", "pagerduty_feeds", "shadows")
TABLES = ("engineers", "rotations")
# The load summary names this many weeks gained or lost per person, then counts the rest.
SUMMARY_WEEKS = 3


@dataclass(frozen=True)
class RosterOutcome:
    """What loading did to one rotation's roster; ``effective`` is None when it was unchanged."""

    slug: str
    time_zone: str
    effective: datetime | None
    changes: dict[str, dict[str, list[date]]]

    @property
    def saved(self) -> bool:
        return self.effective is not None


@dataclass
class LoadReport:
    """What ``load_roster`` created and updated (emails and slugs), and each roster's outcome."""

    engineers_created: list[str] = field(default_factory=list)
    engineers_updated: list[str] = field(default_factory=list)
    users_created: list[str] = field(default_factory=list)
    rotations_created: list[str] = field(default_factory=list)
    rotations_updated: list[str] = field(default_factory=list)
    rosters: list[RosterOutcome] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.engineers_created
            or self.engineers_updated
            or self.users_created
            or self.rotations_created
            or self.rotations_updated
            or any(outcome.saved for outcome in self.rosters)
        )

    def summary(self) -> list[str]:
        """Short lines for people: counts, then each roster and who gains or loses weeks."""
        lines = [
            f"engineers: {len(self.engineers_created)} created, "
            f"{len(self.engineers_updated)} updated, {len(self.users_created)} logins created",
            f"rotations: {len(self.rotations_created)} created, "
            f"{len(self.rotations_updated)} updated",
        ]
        for outcome in self.rosters:
            if outcome.effective is None:
                lines.append(f"{outcome.slug}: roster unchanged")
                continue
            local = outcome.effective.astimezone(ZoneInfo(outcome.time_zone))
            lines.append(f"{outcome.slug}: roster saved, in force from {local:%Y-%m-%d %H:%M %Z}")
            for email, change in sorted(outcome.changes.items()):
                parts = [
                    f"{label} {_some_weeks(change[label])}"
                    for label in ("gains", "loses")
                    if change.get(label)
                ]
                lines.append(f"  {email} {'; '.join(parts)}")
        return lines


def _some_weeks(days: Sequence[date]) -> str:
    shown = ", ".join(day.isoformat() for day in days[:SUMMARY_WEEKS])
    hidden = len(days) - SUMMARY_WEEKS
    return f"{shown} (+{hidden} more)" if hidden > 0 else shown


def parse_roster(text: str, known_emails: Collection[str] = ()) -> RosterFile:
    """The file's contents, or RosterFileError with every problem found, each with its line.

    ``known_emails`` are engineers who exist already, whom rotations may name without listing
    them under ``[[engineers]]``. The rotation rules (shadow weeks, a started rotation's first
    handoff) need each rotation's history, so ``load_roster`` checks those.
    """
    return _parse(text, Locator(text), known_emails)


def load_roster(text: str, *, by: Actor) -> LoadReport:
    """Create or update the file's engineers and rotations, all or nothing.

    The whole file is checked first, the rotation rules included, and nothing is written when
    any check fails. Engineers are matched by email and rotations by slug; those the file does
    not mention are left alone. A roster that has not changed is not saved again, so loading
    the same file twice writes nothing the second time.
    """
    locator = Locator(text)
    data = toml(text, locator)
    now = timezone.now()
    report = LoadReport()
    with transaction.atomic():
        engineers = {engineer.email.lower(): engineer for engineer in Engineer.objects.all()}
        roster, issues = _check(data, locator, engineers.keys())
        existing = Rotation.objects.in_bulk(
            [entry.slug for entry in roster.rotations], field_name="slug"
        )
        staged: list[tuple[RotationEntry, Rotation, list[str]]] = []
        for entry in roster.rotations:
            rotation = existing.get(entry.slug) or Rotation(slug=entry.slug)
            changed = _apply(rotation, _rotation_fields(entry))
            try:
                plan_roster(rotation, *_roster_of(entry, engineers), now=now)
            except RosterError as error:
                issues.extend(_rule_issue(locator, entry, problem) for problem in error.problems)
            staged.append((entry, rotation, changed))
        if issues:
            raise RosterFileError(messages(issues))
        for engineer_entry in roster.engineers:
            engineer = engineers.get(engineer_entry.email)
            engineers[engineer_entry.email] = _upsert_engineer(engineer_entry, engineer, report)
        for entry, rotation, changed in staged:
            _save_rotation(rotation, changed, report)
            members, shadows = _roster_of(entry, engineers)
            plan = plan_roster(rotation, members, shadows, now=now)
            if _roster_unchanged(rotation, plan, members):
                report.rosters.append(RosterOutcome(rotation.slug, rotation.time_zone, None, {}))
                continue
            saved = save_roster(rotation, members, shadows, by=by, now=now)
            report.rosters.append(
                RosterOutcome(rotation.slug, rotation.time_zone, saved.effective, saved.changes)
            )
    return report


def dump_roster() -> str:
    """Every engineer and rotation in the roster file format, ready for ``load_roster``."""
    blocks: list[str] = []
    for engineer in sorted(Engineer.objects.all(), key=lambda engineer: engineer.email):
        fields = {"email": engineer.email, "name": engineer.name}
        optional = zip(
            ENGINEER_OPTIONAL,
            (engineer.pagerduty_user_id, engineer.time_zone, engineer.phone),
            strict=True,
        )
        fields |= {key: value for key, value in optional if value}
        # The [[engineers]] header is written here: tomli-w would make the whole list inline
        # when every engineer fits on a line, and the loader's error locator reads headers.
        blocks.append("[[engineers]]\n" + tomli_w.dumps(fields))
    rotations = Rotation.objects.prefetch_related(
        Prefetch(
            "memberships",
            queryset=Membership.objects.select_related("engineer").order_by("position"),
        ),
        Prefetch("shadows", queryset=ShadowBooking.objects.select_related("engineer")),
    )
    for rotation in sorted(rotations, key=lambda rotation: rotation.slug):
        # Left to tomli-w whole, so that nested shadows and feeds sit under their rotation.
        blocks.append(tomli_w.dumps({"rotations": [_rotation_fields_of(rotation)]}))
    return "\n".join(blocks)


def _parse(text: str, locator: Locator, known_emails: Collection[str]) -> RosterFile:
    roster, issues = _check(toml(text, locator), locator, known_emails)
    if issues:
        raise RosterFileError(messages(issues))
    return roster


def _check(
    data: dict[str, Any], locator: Locator, known_emails: Collection[str]
) -> tuple[RosterFile, list[Issue]]:
    """The tables that are valid, and the problems found in the others."""
    checker = Checker(locator)
    for key in data:
        if key not in TABLES:
            checker.report(
                locator.top_level_line(key),
                key,
                "unknown key (expected [[engineers]] and [[rotations]] tables)",
            )
    engineer_tables = checker.tables(data, "engineers")
    rotation_tables = checker.tables(data, "rotations")
    # An engineer table with a mistake elsewhere still makes its email known, so that one typo
    # does not also turn into an "unknown member" on every rotation.
    known = {email.lower() for email in known_emails} | {
        values["email"].strip().lower()
        for values in engineer_tables
        if isinstance(values.get("email"), str)
    }
    engineers = _check_engineers(checker, engineer_tables)
    rotations = _check_rotations(checker, rotation_tables, known)
    return RosterFile(tuple(engineers), tuple(rotations)), checker.issues


def _is_repeat(table: Table, first_seen: dict[str, int], key: str, value: str, what: str) -> bool:
    """Report ``value`` as a duplicate if an earlier table had it; else remember its line."""
    if value in first_seen:
        table.problem(key, f"duplicate {what} {value!r} (also on line {first_seen[value]})")
        return True
    first_seen[value] = table.locator.key_line(table.table, table.index, key)
    return False


def _check_engineers(checker: Checker, tables: list[dict[str, Any]]) -> list[EngineerEntry]:
    engineers: list[EngineerEntry] = []
    first_seen: dict[str, int] = {}
    for index, values in enumerate(tables):
        table = Table(checker, "engineers", index, values)
        table.check_keys(ENGINEER_REQUIRED, ENGINEER_OPTIONAL)
        email = table.email("email")
        name = table.text("name", max_length=200)
        pagerduty_user_id = table.text("pagerduty_user_id", max_length=20, required=False)
        time_zone = table.zone("time_zone", required=False)
        phone = table.text("phone", max_length=40, required=False)
        if email is not None and _is_repeat(table, first_seen, "email", email, "engineer"):
            continue
        if (
            email is None
            or name is None
            or pagerduty_user_id is None
            or time_zone is None
            or phone is None
        ):
            continue
        engineers.append(EngineerEntry(email, name, pagerduty_user_id, time_zone, phone))
    return engineers


def _check_rotations(
    checker: Checker, tables: list[dict[str, Any]], known: Collection[str]
) -> list[RotationEntry]:
    rotations: list[RotationEntry] = []
    first_seen: dict[str, int] = {}
    for index, values in enumerate(tables):
        table = Table(checker, "rotations", index, values)
        table.check_keys(ROTATION_REQUIRED, ROTATION_OPTIONAL)
        slug = table.slug("slug")
        name = table.text("name", max_length=200)
        time_zone = table.zone("time_zone")
        weekday = table.weekday("handoff_weekday")
        handoff_time = table.clock("handoff_time")
        starts_on = table.day("starts_on")
        if starts_on is not None and weekday is not None and starts_on.weekday() != weekday:
            table.problem("starts_on", off_weekday(starts_on, weekday))
            starts_on = None
        members = table.members(known)
        policy = table.text("pagerduty_escalation_policy_id", max_length=20, required=False)
        feeds = table.feeds()
        shadows = table.shadows(known, weekday)
        if slug is not None and _is_repeat(table, first_seen, "slug", slug, "rotation"):
            continue
        if (
            slug is None
            or name is None
            or time_zone is None
            or weekday is None
            or handoff_time is None
            or starts_on is None
            or members is None
            or policy is None
            or feeds is None
            or shadows is None
        ):
            continue
        rotations.append(
            RotationEntry(
                index=index,
                slug=slug,
                name=name,
                time_zone=time_zone,
                handoff_weekday=weekday,
                handoff_time=handoff_time,
                starts_on=starts_on,
                members=members,
                pagerduty_escalation_policy_id=policy,
                pagerduty_feeds=feeds,
                shadows=shadows,
            )
        )
    return rotations


def _rule_issue(locator: Locator, entry: RotationEntry, problem: schedule.Problem) -> Issue:
    """Where a rule the engine found broken belongs: a shadow, a member, or the rotation."""
    index, path = entry.index, f"rotations[{entry.index}]"
    if problem.code == "starts-on":
        return Issue(
            locator.key_line("rotations", index, "starts_on"), f"{path}.starts_on", problem.message
        )
    member = (problem.member or "").lower()
    shadows = [position for position, s in enumerate(entry.shadows) if s.email == member]
    # A member with several shadow weeks: the message names the week it is about.
    about = [p for p in shadows if entry.shadows[p].week_of.isoformat() in problem.message]
    shadow = next(iter(about or shadows), None)
    positions = [position for position, email in enumerate(entry.members) if email == member]
    if shadow is not None and (problem.code.startswith("shadow") or not positions):
        return Issue(
            locator.shadow_line(index, shadow), f"{path}.shadows[{shadow}]", problem.message
        )
    if positions:
        position = positions[-1]
        return Issue(
            locator.member_line(index, entry.members, position),
            f"{path}.members[{position}]",
            problem.message,
        )
    return Issue(locator.header_line("rotations", index), path, problem.message)


def _roster_of(
    entry: RotationEntry, engineers: dict[str, Engineer]
) -> tuple[list[Engineer], list[tuple[Engineer, date]]]:
    """The rotation's members and shadows as engineers.

    Before anything is saved, an engineer new in this file is an unsaved stand-in: the rules
    are checked by email alone.
    """

    def engineer(email: str) -> Engineer:
        return engineers.get(email) or Engineer(email=email)

    members = [engineer(email) for email in entry.members]
    shadows = [(engineer(shadow.email), shadow.week_of) for shadow in entry.shadows]
    return members, shadows


def _roster_unchanged(rotation: Rotation, plan: RosterPlan, members: Sequence[Engineer]) -> bool:
    # plan.is_change compares shadow weeks in order, and the database does not order shadows
    # booked for the same week; compare them as sets so that a reload is not seen as a change.
    if plan.before is None or plan.before.eras != plan.after.eras:
        return False
    if set(plan.before.shadows) != set(plan.after.shadows):
        return False
    order = rotation.memberships.order_by("position").values_list("engineer_id", flat=True)
    return list(order) == [member.id for member in members]


def _apply(instance: Engineer | Rotation, wanted: dict[str, object]) -> list[str]:
    """Set the fields whose value differs; the names of those fields."""
    changed = [name for name, value in wanted.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, wanted[name])
    return changed


def _upsert_engineer(
    entry: EngineerEntry, engineer: Engineer | None, report: LoadReport
) -> Engineer:
    wanted: dict[str, object] = {
        "email": entry.email,
        "name": entry.name,
        "pagerduty_user_id": entry.pagerduty_user_id,
        "time_zone": entry.time_zone,
        "phone": entry.phone,
    }
    if engineer is None:
        engineer = Engineer()
        _apply(engineer, wanted)
        engineer.save()
        report.engineers_created.append(entry.email)
    elif changed := _apply(engineer, wanted):
        engineer.save(update_fields=changed)
        report.engineers_updated.append(entry.email)
    if engineer.user_id is None:
        _link_user(engineer, report)
    return engineer


def _link_user(engineer: Engineer, report: LoadReport) -> None:
    user_model = get_user_model()
    user = user_model.objects.filter(username=engineer.email).first()
    if user is None:
        user = user_model.objects.create_user(username=engineer.email, email=engineer.email)
        report.users_created.append(engineer.email)
    elif Engineer.objects.filter(user=user).exists():
        return  # that login belongs to another engineer; linking it would steal it
    engineer.user = user
    engineer.save(update_fields=["user"])


def _rotation_fields(entry: RotationEntry) -> dict[str, object]:
    return {
        "name": entry.name,
        "time_zone": entry.time_zone,
        "handoff_weekday": entry.handoff_weekday,
        "handoff_time": entry.handoff_time,
        "starts_on": entry.starts_on,
        "pagerduty_escalation_policy_id": entry.pagerduty_escalation_policy_id,
        "pagerduty_feeds": entry.pagerduty_feeds,
    }


def _save_rotation(rotation: Rotation, changed: list[str], report: LoadReport) -> None:
    if rotation.pk is None:
        rotation.save()
        report.rotations_created.append(rotation.slug)
    elif changed:
        rotation.save(update_fields=changed)
        report.rotations_updated.append(rotation.slug)


def _rotation_fields_of(rotation: Rotation) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "slug": rotation.slug,
        "name": rotation.name,
        "time_zone": rotation.time_zone,
        "handoff_weekday": schedule.WEEKDAYS[rotation.handoff_weekday],
        "handoff_time": rotation.handoff_time.strftime("%H:%M"),
        "starts_on": rotation.starts_on.isoformat(),
        "members": [m.engineer.email for m in rotation.memberships.all()],
    }
    if rotation.pagerduty_escalation_policy_id:
        fields["pagerduty_escalation_policy_id"] = rotation.pagerduty_escalation_policy_id
    feeds = rotation.pagerduty_feeds or {}
    known_feeds = {role: str(feeds[role]) for role in FEED_ROLES if role in feeds}
    if known_feeds:
        fields["pagerduty_feeds"] = known_feeds
    bookings = sorted(
        rotation.shadows.all(), key=lambda booking: (booking.week_of, booking.engineer.email)
    )
    if bookings:
        fields["shadows"] = [
            {"email": booking.engineer.email, "week_of": booking.week_of.isoformat()}
            for booking in bookings
        ]
    return fields

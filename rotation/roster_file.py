"""Roster as code: engineers and rotations loaded from, and dumped to, a TOML roster file."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from portal.models import Actor
from rotation import schedule
from rotation.actions import RosterError, RosterPlan, plan_roster, save_roster
from rotation.models import Engineer, Membership, Rotation, ShadowBooking

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
SHADOW_KEYS = ("email", "week_of")
FEED_ROLES = ("primary", "secondary", "shadow")
TABLES = ("engineers", "rotations")
# The load summary names this many weeks gained or lost per person, then counts the rest.
SUMMARY_WEEKS = 3

_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
# date.fromisoformat also takes "20261124" and week dates; the file format is only YYYY-MM-DD.
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ARRAY_TABLE_HEADER = re.compile(r"\s*\[\[\s*([^\[\]]+?)\s*\]\]\s*(?:#.*)?")
_TABLE_HEADER = re.compile(r"\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?")
_KEY = re.compile(r"""\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*[.=]""")
_SYNTAX_POSITION = re.compile(r"\(at line ([0-9]+), column [0-9]+\)$")
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


class RosterFileError(Exception):
    """The roster file is invalid; ``errors`` has one ``line N: key: message`` string each."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


@dataclass(frozen=True)
class EngineerEntry:
    """One ``[[engineers]]`` table; optional keys that are absent are empty strings."""

    email: str
    name: str
    pagerduty_user_id: str = ""
    time_zone: str = ""
    phone: str = ""


@dataclass(frozen=True)
class ShadowEntry:
    email: str
    week_of: date


@dataclass(frozen=True)
class RotationEntry:
    """One ``[[rotations]]`` table; ``index`` is its place among them in the file."""

    index: int
    slug: str
    name: str
    time_zone: str
    handoff_weekday: int
    handoff_time: time
    starts_on: date
    members: tuple[str, ...]
    pagerduty_escalation_policy_id: str = ""
    pagerduty_feeds: dict[str, str] = field(default_factory=dict)
    shadows: tuple[ShadowEntry, ...] = ()


@dataclass(frozen=True)
class RosterFile:
    engineers: tuple[EngineerEntry, ...]
    rotations: tuple[RotationEntry, ...]


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
    return _parse(text, _Locator(text), known_emails)


def load_roster(text: str, *, by: Actor) -> LoadReport:
    """Create or update the file's engineers and rotations, all or nothing.

    The whole file is checked first, the rotation rules included, and nothing is written when
    any check fails. Engineers are matched by email and rotations by slug; those the file does
    not mention are left alone. A roster that has not changed is not saved again, so loading
    the same file twice writes nothing the second time.
    """
    locator = _Locator(text)
    data = _toml(text, locator)
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
            raise RosterFileError(_messages(issues))
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
        lines = [
            "[[engineers]]",
            f"email = {_quote(engineer.email)}",
            f"name = {_quote(engineer.name)}",
        ]
        optional = zip(
            ENGINEER_OPTIONAL,
            (engineer.pagerduty_user_id, engineer.time_zone, engineer.phone),
            strict=True,
        )
        lines.extend(f"{key} = {_quote(value)}" for key, value in optional if value)
        blocks.append("\n".join(lines))
    rotations = Rotation.objects.prefetch_related(
        Prefetch(
            "memberships",
            queryset=Membership.objects.select_related("engineer").order_by("position"),
        ),
        Prefetch("shadows", queryset=ShadowBooking.objects.select_related("engineer")),
    )
    for rotation in sorted(rotations, key=lambda rotation: rotation.slug):
        blocks.append(_dump_rotation(rotation))
    return "\n\n".join(blocks) + "\n" if blocks else ""


@dataclass(frozen=True)
class _Issue:
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.path}: {self.message}"


def _messages(issues: Iterable[_Issue]) -> list[str]:
    return [str(issue) for issue in sorted(issues, key=lambda issue: issue.line)]


class _Locator:
    """Finds the line a key or value is on in the raw text, which tomllib does not report.

    It reads only what the format needs: ``[[table]]`` headers, ``key =`` lines inside a
    table, and entries of arrays that may span lines. Whatever it cannot find falls back to
    the enclosing key's line, then the table's header, then line 1.
    """

    def __init__(self, text: str) -> None:
        # tomllib counts lines by "\n" alone; str.splitlines would also split on \f, \x1c, ...
        self.lines = text.split("\n")
        self.headers: list[tuple[int, str]] = []
        for number, line in enumerate(self.lines):
            if match := _ARRAY_TABLE_HEADER.fullmatch(line):
                self.headers.append((number, f"[[{match[1]}]]"))
            elif match := _TABLE_HEADER.fullmatch(line):
                self.headers.append((number, f"[{match[1]}]"))

    @property
    def last_line(self) -> int:
        return len(self.lines)

    def _block(self, table: str, index: int) -> tuple[int, int] | None:
        """Line numbers (0-based, end excluded) of the ``index``-th ``[[table]]`` block."""
        starts = [number for number, name in self.headers if name == f"[[{table}]]"]
        if index >= len(starts):
            return None
        following = [number for number, _ in self.headers if number > starts[index]]
        return starts[index], following[0] if following else len(self.lines)

    def _key_in(self, key: str, start: int, end: int) -> tuple[int, int] | None:
        """The lines (0-based, end excluded) from ``key =`` up to the next key, in a range."""
        for number in range(start, end):
            match = _KEY.match(self.lines[number])
            if match and key in match.groups():
                following = (n for n in range(number + 1, end) if _KEY.match(self.lines[n]))
                return number, next(following, end)
        return None

    def top_level_line(self, key: str) -> int:
        first_header = self.headers[0][0] if self.headers else len(self.lines)
        span = self._key_in(key, 0, first_header)
        if span is not None:
            return span[0] + 1
        for number, name in self.headers:
            if name.strip("[]").split(".")[0].strip() == key:
                return number + 1
        return 1

    def header_line(self, table: str, index: int) -> int:
        block = self._block(table, index)
        return block[0] + 1 if block else self.top_level_line(table)

    def key_line(self, table: str, index: int, key: str) -> int:
        block = self._block(table, index)
        if block is None:
            return self.header_line(table, index)
        span = self._key_in(key, block[0] + 1, block[1])
        if span is not None:
            return span[0] + 1
        # A key may also be written as a sub-table: [rotations.pagerduty_feeds] after the block.
        sub_tables = {f"[{table}.{key}]", f"[[{table}.{key}]]"}
        following = (n for n, name in self.headers if n >= block[1] and name in sub_tables)
        return next(following, block[0]) + 1

    def entry_line(
        self, table: str, index: int, key: str, needles: Sequence[str], occurrence: int
    ) -> int:
        """The line of the ``occurrence``-th (0-based) hit of any needle in ``key``'s value."""
        block = self._block(table, index)
        span = self._key_in(key, block[0] + 1, block[1]) if block else None
        if span is None:
            return self.header_line(table, index)
        seen = 0
        for number in range(*span):
            text = self.lines[number].split("#")[0].lower()
            seen += sum(text.count(needle.lower()) for needle in needles)
            if seen > occurrence:
                return number + 1
        return span[0] + 1

    def member_line(self, index: int, members: Sequence[object], position: int) -> int:
        email = str(members[position]).lower()
        occurrence = sum(
            1
            for member in members[:position]
            if isinstance(member, str) and member.lower() == email
        )
        quoted = (f'"{email}"', f"'{email}'")
        return self.entry_line("rotations", index, "members", quoted, occurrence)

    def shadow_line(self, index: int, position: int) -> int:
        # Inline tables cannot span lines in TOML, so each "{" begins the next shadow entry.
        return self.entry_line("rotations", index, "shadows", ("{",), position)


def _toml(text: str, locator: _Locator) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = _SYNTAX_POSITION.search(str(error))
        line = int(found[1]) if found else locator.last_line
        raise RosterFileError([f"line {line}: invalid TOML: {error}"]) from None


def _parse(text: str, locator: _Locator, known_emails: Collection[str]) -> RosterFile:
    roster, issues = _check(_toml(text, locator), locator, known_emails)
    if issues:
        raise RosterFileError(_messages(issues))
    return roster


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _kind(value: object) -> str:
    kinds: tuple[tuple[type, str], ...] = (
        (bool, "a boolean"),
        (str, "a string"),
        (int, "an integer"),
        (float, "a float"),
        (datetime, "a date-time"),
        (date, "a date"),
        (time, "a time"),
        (list, "an array"),
        (dict, "a table"),
    )
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


def _parse_day(value: object) -> date | str:
    """The date a value stands for, or why it is not one."""
    if isinstance(value, datetime):
        return 'expected a date "YYYY-MM-DD", got a date-time'
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return f'expected a date "YYYY-MM-DD", got {_kind(value)}'
    if _DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    return f'{value!r} is not a date "YYYY-MM-DD"'


def _off_weekday(day: date, weekday: int) -> str:
    return (
        f"{day.isoformat()} is a {schedule.WEEKDAYS[day.weekday()]}, "
        f"not the handoff day ({schedule.WEEKDAYS[weekday]})"
    )


class _Checker:
    """Collects every problem in a parsed file, each pinned to a line."""

    def __init__(self, locator: _Locator) -> None:
        self.locator = locator
        self.issues: list[_Issue] = []

    def report(self, line: int, path: str, message: str) -> None:
        self.issues.append(_Issue(line, path, message))

    def tables(self, data: dict[str, Any], name: str) -> list[dict[str, Any]]:
        value = data.get(name, [])
        if isinstance(value, list) and all(isinstance(item, dict) for item in value):
            return value
        self.report(
            self.locator.top_level_line(name),
            name,
            f"expected [[{name}]] tables, got {_kind(value)}",
        )
        return []


class _Table:
    """One ``[[engineers]]`` or ``[[rotations]]`` table being checked."""

    def __init__(self, checker: _Checker, table: str, index: int, values: dict[str, Any]) -> None:
        self.checker = checker
        self.locator = checker.locator
        self.table = table
        self.index = index
        self.values = values

    @property
    def header_line(self) -> int:
        return self.locator.header_line(self.table, self.index)

    def path(self, key: str) -> str:
        return f"{self.table}[{self.index}].{key}"

    def problem(self, key: str, message: str, *, line: int | None = None) -> None:
        line = line or self.locator.key_line(self.table, self.index, key)
        self.checker.report(line, self.path(key), message)

    def check_keys(self, required: Sequence[str], optional: Sequence[str]) -> None:
        expected = ", ".join((*required, *optional))
        for key in self.values:
            if key not in required and key not in optional:
                self.problem(key, f"unknown key (expected one of: {expected})")
        for key in required:
            if key not in self.values:
                self.problem(key, "missing required key", line=self.header_line)

    def text(
        self, key: str, *, max_length: int, required: bool = True, kind: str = "a string"
    ) -> str | None:
        """The string at ``key``: "" when optional and absent, None when missing or wrong."""
        if key not in self.values:
            return None if required else ""
        value = self.values[key]
        if not isinstance(value, str):
            self.problem(key, f"expected {kind}, got {_kind(value)}")
            return None
        if required and not value.strip():
            self.problem(key, "must not be empty")
            return None
        if len(value) > max_length:
            self.problem(key, f"is longer than {max_length} characters")
            return None
        return value

    def zone(self, key: str, *, required: bool = True) -> str | None:
        value = self.text(key, max_length=64, required=required)
        if value and value not in _zones():
            self.problem(key, f"{value!r} is not an IANA time zone")
            return None
        return value

    def email(self, key: str) -> str | None:
        value = self.text(key, max_length=254)
        if value is None:
            return None
        email = value.strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            self.problem(key, f"{value!r} is not an email address")
            return None
        return email

    def slug(self, key: str) -> str | None:
        value = self.text(key, max_length=50)
        if value is not None and not _SLUG.fullmatch(value):
            self.problem(key, f"{value!r} is not a slug (letters, digits, '-' and '_' only)")
            return None
        return value

    def weekday(self, key: str) -> int | None:
        value = self.text(key, max_length=20, kind="a weekday name")
        if value is None:
            return None
        if value not in schedule.WEEKDAYS:
            names = ", ".join(schedule.WEEKDAYS)
            self.problem(key, f"{value!r} is not a weekday (one of: {names})")
            return None
        return schedule.WEEKDAYS.index(value)

    def clock(self, key: str) -> time | None:
        value = self.text(key, max_length=20, kind='a time "HH:MM"')
        if value is None:
            return None
        match = _CLOCK.fullmatch(value)
        if match is None:
            self.problem(key, f'{value!r} is not a time of day "HH:MM" (24-hour)')
            return None
        return time(int(match[1]), int(match[2]))

    def day(self, key: str) -> date | None:
        if key not in self.values:
            return None
        day = _parse_day(self.values[key])
        if isinstance(day, str):
            self.problem(key, day)
            return None
        return day

    def members(self, known: Collection[str]) -> tuple[str, ...] | None:
        value = self.values.get("members")
        if value is None:
            return None
        if not isinstance(value, list):
            self.problem("members", f"expected an array of emails, got {_kind(value)}")
            return None
        emails: list[str] = []
        valid = True
        for position, item in enumerate(value):
            path = self.path(f"members[{position}]")
            if not isinstance(item, str):
                line = self.locator.key_line(self.table, self.index, "members")
                self.checker.report(line, path, f"expected an email, got {_kind(item)}")
                valid = False
                continue
            email = item.strip().lower()
            line = self.locator.member_line(self.index, value, position)
            if email in emails:
                self.checker.report(line, path, f"{item!r} is listed twice")
                valid = False
            elif email not in known:
                self.checker.report(
                    line,
                    path,
                    f"unknown member {item!r}: not in this file's [[engineers]] nor in the portal",
                )
                valid = False
            emails.append(email)
        if len(value) < 2:
            self.problem("members", f"a rotation needs at least two members, got {len(value)}")
            valid = False
        return tuple(emails) if valid else None

    def feeds(self) -> dict[str, str] | None:
        value = self.values.get("pagerduty_feeds", {})
        if not isinstance(value, dict):
            self.problem("pagerduty_feeds", f"expected a table, got {_kind(value)}")
            return None
        feeds: dict[str, str] = {}
        line = self.locator.key_line(self.table, self.index, "pagerduty_feeds")
        for role, url in value.items():
            path = self.path(f"pagerduty_feeds.{role}")
            if role not in FEED_ROLES:
                expected = ", ".join(FEED_ROLES)
                self.checker.report(line, path, f"unknown key (expected one of: {expected})")
            elif not isinstance(url, str):
                self.checker.report(line, path, f"expected a string, got {_kind(url)}")
            else:
                feeds[role] = url
        return feeds if len(feeds) == len(value) else None

    def shadows(
        self, known: Collection[str], weekday: int | None
    ) -> tuple[ShadowEntry, ...] | None:
        value = self.values.get("shadows", [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.problem("shadows", "expected an array of { email = ..., week_of = ... } tables")
            return None
        shadows: list[ShadowEntry] = []
        for position, item in enumerate(value):
            line = self.locator.shadow_line(self.index, position)
            path = self.path(f"shadows[{position}]")
            for key in item:
                if key not in SHADOW_KEYS:
                    expected = ", ".join(SHADOW_KEYS)
                    self.checker.report(
                        line, f"{path}.{key}", f"unknown key (expected one of: {expected})"
                    )
            for key in SHADOW_KEYS:
                if key not in item:
                    self.checker.report(line, f"{path}.{key}", "missing required key")
            email, day = item.get("email"), item.get("week_of")
            if email is not None and not isinstance(email, str):
                self.checker.report(line, f"{path}.email", f"expected an email, got {_kind(email)}")
                email = None
            elif email is not None and email.strip().lower() not in known:
                self.checker.report(
                    line,
                    f"{path}.email",
                    f"unknown engineer {email!r}: not in this file's [[engineers]] "
                    "nor in the portal",
                )
                email = None
            week_of = None if day is None else _parse_day(day)
            if isinstance(week_of, str):
                self.checker.report(line, f"{path}.week_of", week_of)
                week_of = None
            elif week_of is not None and weekday is not None and week_of.weekday() != weekday:
                self.checker.report(line, f"{path}.week_of", _off_weekday(week_of, weekday))
                week_of = None
            if email is None or week_of is None:
                continue
            shadow = ShadowEntry(email.strip().lower(), week_of)
            if shadow in shadows:
                self.checker.report(
                    line, path, f"{email!r} shadowing {week_of.isoformat()} is listed twice"
                )
            shadows.append(shadow)
        return tuple(shadows) if len(shadows) == len(value) else None


def _check(
    data: dict[str, Any], locator: _Locator, known_emails: Collection[str]
) -> tuple[RosterFile, list[_Issue]]:
    """The tables that are valid, and the problems found in the others."""
    checker = _Checker(locator)
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


def _check_engineers(checker: _Checker, tables: list[dict[str, Any]]) -> list[EngineerEntry]:
    engineers: list[EngineerEntry] = []
    first_seen: dict[str, int] = {}
    for index, values in enumerate(tables):
        table = _Table(checker, "engineers", index, values)
        table.check_keys(ENGINEER_REQUIRED, ENGINEER_OPTIONAL)
        email = table.email("email")
        name = table.text("name", max_length=200)
        pagerduty_user_id = table.text("pagerduty_user_id", max_length=20, required=False)
        time_zone = table.zone("time_zone", required=False)
        phone = table.text("phone", max_length=40, required=False)
        if email is not None:
            line = checker.locator.key_line("engineers", index, "email")
            if email in first_seen:
                table.problem(
                    "email", f"duplicate engineer {email!r} (also on line {first_seen[email]})"
                )
                continue
            first_seen[email] = line
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
    checker: _Checker, tables: list[dict[str, Any]], known: Collection[str]
) -> list[RotationEntry]:
    rotations: list[RotationEntry] = []
    first_seen: dict[str, int] = {}
    for index, values in enumerate(tables):
        table = _Table(checker, "rotations", index, values)
        table.check_keys(ROTATION_REQUIRED, ROTATION_OPTIONAL)
        slug = table.slug("slug")
        name = table.text("name", max_length=200)
        time_zone = table.zone("time_zone")
        weekday = table.weekday("handoff_weekday")
        handoff_time = table.clock("handoff_time")
        starts_on = table.day("starts_on")
        if starts_on is not None and weekday is not None and starts_on.weekday() != weekday:
            table.problem("starts_on", _off_weekday(starts_on, weekday))
            starts_on = None
        members = table.members(known)
        policy = table.text("pagerduty_escalation_policy_id", max_length=20, required=False)
        feeds = table.feeds()
        shadows = table.shadows(known, weekday)
        if slug is not None:
            if slug in first_seen:
                table.problem(
                    "slug", f"duplicate rotation {slug!r} (also on line {first_seen[slug]})"
                )
                continue
            first_seen[slug] = checker.locator.key_line("rotations", index, "slug")
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


def _rule_issue(locator: _Locator, entry: RotationEntry, problem: schedule.Problem) -> _Issue:
    """Where a rule the engine found broken belongs: a shadow, a member, or the rotation."""
    index, path = entry.index, f"rotations[{entry.index}]"
    if problem.code == "starts-on":
        return _Issue(
            locator.key_line("rotations", index, "starts_on"), f"{path}.starts_on", problem.message
        )
    member = (problem.member or "").lower()
    shadows = [position for position, s in enumerate(entry.shadows) if s.email == member]
    # A member with several shadow weeks: the message names the week it is about.
    about = [p for p in shadows if entry.shadows[p].week_of.isoformat() in problem.message]
    shadow = next(iter(about or shadows), None)
    positions = [position for position, email in enumerate(entry.members) if email == member]
    if shadow is not None and (problem.code.startswith("shadow") or not positions):
        return _Issue(
            locator.shadow_line(index, shadow), f"{path}.shadows[{shadow}]", problem.message
        )
    if positions:
        position = positions[-1]
        return _Issue(
            locator.member_line(index, entry.members, position),
            f"{path}.members[{position}]",
            problem.message,
        )
    return _Issue(locator.header_line("rotations", index), path, problem.message)


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


def _quote(value: str) -> str:
    """A TOML basic string: backslash, quote and control characters escaped."""
    escaped = "".join(
        _ESCAPES.get(char)
        or (f"\\u{ord(char):04X}" if ord(char) < 0x20 or ord(char) == 0x7F else char)
        for char in value
    )
    return f'"{escaped}"'


def _dump_rotation(rotation: Rotation) -> str:
    lines = [
        "[[rotations]]",
        f"slug = {_quote(rotation.slug)}",
        f"name = {_quote(rotation.name)}",
        f"time_zone = {_quote(rotation.time_zone)}",
        f"handoff_weekday = {_quote(schedule.WEEKDAYS[rotation.handoff_weekday])}",
        f"handoff_time = {_quote(rotation.handoff_time.strftime('%H:%M'))}",
        f"starts_on = {_quote(rotation.starts_on.isoformat())}",
        "members = [",
        *(f"    {_quote(m.engineer.email)}," for m in rotation.memberships.all()),
        "]",
    ]
    if rotation.pagerduty_escalation_policy_id:
        lines.append(
            f"pagerduty_escalation_policy_id = {_quote(rotation.pagerduty_escalation_policy_id)}"
        )
    feeds = rotation.pagerduty_feeds or {}
    known_feeds = [f"{role} = {_quote(str(feeds[role]))}" for role in FEED_ROLES if role in feeds]
    if known_feeds:
        lines.append(f"pagerduty_feeds = {{ {', '.join(known_feeds)} }}")
    bookings = sorted(
        rotation.shadows.all(), key=lambda booking: (booking.week_of, booking.engineer.email)
    )
    if bookings:
        lines.append("shadows = [")
        lines.extend(
            f"    {{ email = {_quote(booking.engineer.email)}, "
            f"week_of = {_quote(booking.week_of.isoformat())} }},"
            for booking in bookings
        )
        lines.append("]")
    return "\n".join(lines)

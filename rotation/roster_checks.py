"""Reading a TOML roster file and checking its values, each problem pinned to its line."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from portal.outbound import OutboundRefusedError, check_url, checked_target
from rotation import schedule

SHADOW_KEYS = ("email", "week_of")
FEED_ROLES = ("primary", "secondary", "shadow")

_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
# date.fromisoformat also takes "20261124" and week dates; the file format is only YYYY-MM-DD.
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ARRAY_TABLE_HEADER = re.compile(r"\s*\[\[\s*([^\[\]]+?)\s*\]\]\s*(?:#.*)?")
_TABLE_HEADER = re.compile(r"\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?")
_KEY = re.compile(r"""\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*[.=]""")
_SYNTAX_POSITION = re.compile(r"\(at line ([0-9]+), column [0-9]+\)$")


def feed_url_problem(url: str, *, resolve: bool = False) -> str | None:
    """Why the worker would refuse to fetch this PagerDuty feed URL, or None: the rules of
    portal/outbound.py with PAGERDUTY_FEED_HOSTS and PAGERDUTY_FEED_TRUSTED_ORIGINS. With
    ``resolve`` the host is looked up too (a form); a file is checked without the network."""
    hosts, trusted = settings.PAGERDUTY_FEED_HOSTS, settings.PAGERDUTY_FEED_TRUSTED_ORIGINS
    try:
        if resolve:
            checked_target(url, hosts=hosts, trusted_origins=trusted)
        else:
            check_url(url, hosts=hosts, trusted_origins=trusted)
    except OutboundRefusedError as refused:
        return str(refused)
    return None


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
class Issue:
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.path}: {self.message}"


def messages(issues: Iterable[Issue]) -> list[str]:
    return [str(issue) for issue in sorted(issues, key=lambda issue: issue.line)]


class Locator:
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


def toml(text: str, locator: Locator) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = _SYNTAX_POSITION.search(str(error))
        line = int(found[1]) if found else locator.last_line
        raise RosterFileError([f"line {line}: invalid TOML: {error}"]) from None


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


def off_weekday(day: date, weekday: int) -> str:
    return (
        f"{day.isoformat()} is a {schedule.WEEKDAYS[day.weekday()]}, "
        f"not the handoff day ({schedule.WEEKDAYS[weekday]})"
    )


class Checker:
    """Collects every problem in a parsed file, each pinned to a line."""

    def __init__(self, locator: Locator) -> None:
        self.locator = locator
        self.issues: list[Issue] = []

    def report(self, line: int, path: str, message: str) -> None:
        self.issues.append(Issue(line, path, message))

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


class Table:
    """One ``[[engineers]]`` or ``[[rotations]]`` table being checked."""

    def __init__(self, checker: Checker, table: str, index: int, values: dict[str, Any]) -> None:
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
        if "\x00" in value:  # TOML allows "\u0000"; PostgreSQL text cannot hold it
            self.problem(key, "NUL characters are not allowed")
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
            elif "\x00" in url:
                self.checker.report(line, path, "NUL characters are not allowed")
            elif problem := feed_url_problem(url):
                self.checker.report(line, path, problem)
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
                self.checker.report(line, f"{path}.week_of", off_weekday(week_of, weekday))
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

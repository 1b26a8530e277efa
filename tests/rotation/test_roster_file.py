"""Roster as code: ``load_roster`` and ``dump_roster``, the functions and the commands.

Time is frozen at Saturday 28 November 2026, in week 0 of a Los Angeles rotation whose first
handoff is Tuesday 24 November: alice/bob this week, bob/carol next, carol/dan after.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from portal.models import AuditEntry
from rotation.models import Engineer, Membership, RosterEra, Rotation, ShadowBooking, Shift
from rotation.roster_file import RosterFileError, dump_roster, load_roster, parse_roster

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
LA = ZoneInfo("America/Los_Angeles")

# Written the way dump_roster writes it, so that the dump of this file is this file.
ROSTER = """\
[[engineers]]
email = "alice@example.com"
name = "Alice Nguyen"
pagerduty_user_id = "PALICE1"
time_zone = "Europe/Berlin"

[[engineers]]
email = "bob@example.com"
name = "Bob Okafor"

[[engineers]]
email = "carol@example.com"
name = "Carol Díaz"
phone = "+1 415 555 0103"

[[engineers]]
email = "dan@example.com"
name = "Dan Brooks"

[[rotations]]
slug = "platform"
name = "Platform"
time_zone = "America/Los_Angeles"
handoff_weekday = "tuesday"
handoff_time = "10:00"
starts_on = "2026-11-24"
members = [
    "alice@example.com",
    "bob@example.com",
    "carol@example.com",
    "dan@example.com",
]
pagerduty_escalation_policy_id = "PEP1234"
pagerduty_feeds = { primary = "webcal://example.pagerduty.com/primary.ics" }
shadows = [
    { email = "dan@example.com", week_of = "2026-12-01" },
]
"""

# bob and alice trade places: from the next handoff the chain runs bob/alice, alice/carol, ...
SWAPPED = ROSTER.replace(
    '    "alice@example.com",\n    "bob@example.com",\n',
    '    "bob@example.com",\n    "alice@example.com",\n',
)

SECOND_ROTATION = """
[[rotations]]
slug = "data"
name = "Data"
time_zone = "America/Los_Angeles"
handoff_weekday = "tuesday"
handoff_time = "10:00"
starts_on = "2026-11-24"
members = ["carol@example.com", "alice@example.com"]
"""


@pytest.fixture(autouse=True)
def frozen() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


def line_of(text: str, fragment: str, occurrence: int = 0) -> int:
    """The 1-based line holding the ``occurrence``-th (0-based) line containing ``fragment``."""
    numbers = [n for n, line in enumerate(text.split("\n"), start=1) if fragment in line]
    return numbers[occurrence]


def errors_of(text: str) -> list[str]:
    with pytest.raises(RosterFileError) as raised:
        load_roster(text, by=None)
    return raised.value.errors


def counts() -> dict[str, int]:
    return {
        "engineers": Engineer.objects.count(),
        "users": User.objects.count(),
        "rotations": Rotation.objects.count(),
        "memberships": Membership.objects.count(),
        "eras": RosterEra.objects.count(),
        "shadows": ShadowBooking.objects.count(),
        "shifts": Shift.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def pairs(rotation: Rotation, weeks: int) -> list[tuple[str, str]]:
    """(primary, secondary) of the first ``weeks`` weeks, from the stored shifts, by name."""
    shifts = Shift.objects.filter(rotation=rotation).select_related("engineer")
    by_start: dict[datetime, dict[str, str]] = {}
    for shift in shifts:
        by_start.setdefault(shift.starts_at, {})[shift.role] = shift.engineer.email.split("@")[0]
    return [(roles["primary"], roles["secondary"]) for _, roles in sorted(by_start.items())[:weeks]]


# Loading


def test_loading_creates_engineers_logins_rotation_and_shifts() -> None:
    report = load_roster(ROSTER, by=None)

    alice = Engineer.objects.get(email="alice@example.com")
    assert (alice.name, alice.pagerduty_user_id, alice.time_zone) == (
        "Alice Nguyen",
        "PALICE1",
        "Europe/Berlin",
    )
    assert alice.user is not None
    assert alice.user.username == "alice@example.com"
    assert not alice.user.has_usable_password()
    platform = Rotation.objects.get(slug="platform")
    assert platform.starts_on == date(2026, 11, 24)
    assert platform.pagerduty_escalation_policy_id == "PEP1234"
    assert platform.pagerduty_feeds == {"primary": "webcal://example.pagerduty.com/primary.ics"}
    assert pairs(platform, 4) == [
        ("alice", "bob"),
        ("bob", "carol"),
        ("carol", "dan"),
        ("dan", "alice"),
    ]
    assert Shift.objects.filter(role="shadow", engineer__email="dan@example.com").count() == 1
    assert len(report.engineers_created) == 4
    assert report.rotations_created == ["platform"]
    assert report.rosters[0].saved


def test_loading_twice_changes_nothing() -> None:
    load_roster(ROSTER, by=None)
    before = counts()
    membership_ids = list(Membership.objects.values_list("id", flat=True))

    report = load_roster(ROSTER, by=None)

    assert counts() == before
    assert list(Membership.objects.values_list("id", flat=True)) == membership_ids
    assert not report.changed
    assert report.summary()[-1] == "platform: roster unchanged"


def test_loading_a_changed_order_twice_appends_one_era() -> None:
    load_roster(ROSTER, by=None)
    load_roster(SWAPPED, by=None)
    after_first = counts()

    report = load_roster(SWAPPED, by=None)

    assert counts() == after_first
    assert after_first["eras"] == 2
    assert not report.changed


def test_member_known_only_to_the_portal_is_accepted() -> None:
    Engineer.objects.create(email="erin@example.com", name="Erin Walsh")
    text = ROSTER.replace(
        '    "dan@example.com",\n]', '    "dan@example.com",\n    "erin@example.com",\n]'
    )

    load_roster(text, by=None)

    order = Membership.objects.filter(rotation__slug="platform").order_by("position")
    assert [m.engineer.email for m in order][-1] == "erin@example.com"


def test_removing_an_optional_key_clears_it() -> None:
    load_roster(ROSTER, by=None)

    report = load_roster(ROSTER.replace('pagerduty_user_id = "PALICE1"\n', ""), by=None)

    assert Engineer.objects.get(email="alice@example.com").pagerduty_user_id == ""
    assert report.engineers_updated == ["alice@example.com"]


def test_emails_are_matched_case_insensitively() -> None:
    load_roster(ROSTER, by=None)

    report = load_roster(ROSTER.replace('"bob@example.com"', '"Bob@Example.com"'), by=None)

    assert Engineer.objects.count() == 4
    assert not report.changed


def test_starts_on_may_be_a_toml_date() -> None:
    load_roster(ROSTER.replace('starts_on = "2026-11-24"', "starts_on = 2026-11-24"), by=None)

    assert Rotation.objects.get(slug="platform").starts_on == date(2026, 11, 24)


def test_changed_order_for_a_started_rotation_keeps_the_current_week() -> None:
    load_roster(ROSTER, by=None)
    platform = Rotation.objects.get(slug="platform")
    started = {
        (s.id, s.role, s.engineer_id, s.starts_at, s.ends_at)
        for s in Shift.objects.filter(rotation=platform, starts_at__lte=timezone.now())
    }
    assert started

    report = load_roster(SWAPPED, by=None)

    assert {
        (s.id, s.role, s.engineer_id, s.starts_at, s.ends_at)
        for s in Shift.objects.filter(rotation=platform, starts_at__lte=timezone.now())
    } == started
    # The chain carries on from bob, this week's secondary: bob/alice, alice/carol, carol/dan.
    assert pairs(platform, 4) == [
        ("alice", "bob"),
        ("bob", "alice"),
        ("alice", "carol"),
        ("carol", "dan"),
    ]
    [outcome] = report.rosters
    assert outcome.effective == datetime(2026, 12, 1, 10, tzinfo=LA)
    assert outcome.changes["carol@example.com"]["loses"][0] == date(2026, 12, 1)
    assert outcome.changes["alice@example.com"]["gains"][:2] == [
        date(2026, 12, 1),
        date(2026, 12, 8),
    ]


def test_new_handoff_time_for_a_started_rotation_applies_from_the_next_handoff() -> None:
    without_shadows = ROSTER[: ROSTER.index("shadows = [")]
    load_roster(without_shadows, by=None)

    report = load_roster(
        without_shadows.replace('handoff_time = "10:00"', 'handoff_time = "11:00"'), by=None
    )

    assert report.rosters[0].effective == datetime(2026, 12, 1, 10, tzinfo=LA)
    first_at_eleven = Shift.objects.filter(
        role="primary", starts_at__gte=datetime(2026, 12, 1, 10, tzinfo=LA)
    ).order_by("starts_at")[1]
    assert first_at_eleven.starts_at == datetime(2026, 12, 8, 11, tzinfo=LA)


# Rejected files: every check names the line and the key


def test_syntax_error_keeps_tomllib_position() -> None:
    text = ROSTER.replace('name = "Bob Okafor"', 'name = "Bob Okafor')

    [error] = errors_of(text)

    line = line_of(text, 'name = "Bob Okafor')
    assert error.startswith(f"line {line}: invalid TOML: ")
    assert f"(at line {line}, column" in error


def test_unknown_keys_are_rejected_with_their_lines() -> None:
    text = 'owner = "sre"\n' + ROSTER.replace(
        'name = "Bob Okafor"', 'name = "Bob Okafor"\nnickname = "Bobby"'
    ).replace('handoff_time = "10:00"', 'handoff_time = "10:00"\nhandoff_day = "tuesday"').replace(
        'primary = "webcal', 'tertiary = "webcal'
    ).replace('week_of = "2026-12-01" }', 'week_of = "2026-12-01", role = "primary" }')

    errors = errors_of(text)

    assert errors == [
        "line 1: owner: unknown key (expected [[engineers]] and [[rotations]] tables)",
        f"line {line_of(text, 'nickname')}: engineers[1].nickname: unknown key (expected one "
        "of: email, name, pagerduty_user_id, time_zone, phone)",
        f"line {line_of(text, 'handoff_day')}: rotations[0].handoff_day: unknown key (expected "
        "one of: slug, name, time_zone, handoff_weekday, handoff_time, starts_on, members, "
        "pagerduty_escalation_policy_id, pagerduty_feeds, shadows)",
        f"line {line_of(text, 'tertiary')}: rotations[0].pagerduty_feeds.tertiary: unknown key "
        "(expected one of: primary, secondary, shadow)",
        f"line {line_of(text, 'role =')}: rotations[0].shadows[0].role: unknown key (expected "
        "one of: email, week_of)",
    ]


def test_missing_required_key_is_reported_on_the_table_header() -> None:
    text = ROSTER.replace('name = "Platform"\n', "").replace('name = "Dan Brooks"\n', "")

    assert errors_of(text) == [
        f"line {line_of(text, '[[engineers]]', 3)}: engineers[3].name: missing required key",
        f"line {line_of(text, '[[rotations]]')}: rotations[0].name: missing required key",
    ]


def test_wrong_types_are_rejected_with_their_lines() -> None:
    text = (
        ROSTER.replace('name = "Bob Okafor"', "name = 42")
        .replace('handoff_time = "10:00"', "handoff_time = 10")
        .replace('    "dan@example.com",\n]', "    7,\n]")
    )

    assert errors_of(text) == [
        f"line {line_of(text, 'name = 42')}: engineers[1].name: expected a string, got an integer",
        f"line {line_of(text, 'handoff_time')}: rotations[0].handoff_time: expected a time "
        '"HH:MM", got an integer',
        f"line {line_of(text, 'members = [')}: rotations[0].members[3]: expected an email, "
        "got an integer",
    ]


def test_duplicate_engineer_email_is_rejected_case_insensitively() -> None:
    text = ROSTER.replace(
        "[[rotations]]", '[[engineers]]\nemail = "Alice@Example.com"\nname = "Al"\n\n[[rotations]]'
    )
    first = line_of(text, "alice@example.com")

    assert errors_of(text) == [
        f"line {line_of(text, 'Alice@Example.com')}: engineers[4].email: duplicate engineer "
        f"'alice@example.com' (also on line {first})",
    ]


def test_duplicate_rotation_slug_is_rejected() -> None:
    text = ROSTER + SECOND_ROTATION.replace('slug = "data"', 'slug = "platform"')

    assert errors_of(text) == [
        f"line {line_of(text, 'slug = ', 1)}: rotations[1].slug: duplicate rotation 'platform' "
        f"(also on line {line_of(text, 'slug = ')})",
    ]


def test_invalid_slug_is_rejected() -> None:
    text = ROSTER.replace('slug = "platform"', 'slug = "plat form"')

    assert errors_of(text) == [
        f"line {line_of(text, 'slug')}: rotations[0].slug: 'plat form' is not a slug "
        "(letters, digits, '-' and '_' only)",
    ]


def test_bad_time_zone_is_rejected() -> None:
    text = ROSTER.replace('time_zone = "America/Los_Angeles"', 'time_zone = "Mars/Olympus"')

    assert errors_of(text) == [
        f"line {line_of(text, 'Mars')}: rotations[0].time_zone: 'Mars/Olympus' is not an IANA "
        "time zone",
    ]


def test_bad_engineer_time_zone_is_rejected() -> None:
    text = ROSTER.replace('time_zone = "Europe/Berlin"', 'time_zone = "Europe/Atlantis"')

    assert errors_of(text) == [
        f"line {line_of(text, 'Atlantis')}: engineers[0].time_zone: 'Europe/Atlantis' is not an "
        "IANA time zone",
    ]


def test_bad_weekday_is_rejected() -> None:
    text = ROSTER.replace('handoff_weekday = "tuesday"', 'handoff_weekday = "Tuesday"')

    assert errors_of(text) == [
        f"line {line_of(text, 'handoff_weekday')}: rotations[0].handoff_weekday: 'Tuesday' is "
        "not a weekday (one of: monday, tuesday, wednesday, thursday, friday, saturday, sunday)",
    ]


@pytest.mark.parametrize("value", ["25:00", "10:60", "9:00", "10:00:00", "ten"])
def test_bad_handoff_time_is_rejected(value: str) -> None:
    text = ROSTER.replace('handoff_time = "10:00"', f'handoff_time = "{value}"')

    assert errors_of(text) == [
        f"line {line_of(text, 'handoff_time')}: rotations[0].handoff_time: '{value}' is not a "
        'time of day "HH:MM" (24-hour)',
    ]


def test_bad_starts_on_date_is_rejected() -> None:
    text = ROSTER.replace('starts_on = "2026-11-24"', 'starts_on = "2026-11-31"')

    assert errors_of(text) == [
        f"line {line_of(text, 'starts_on')}: rotations[0].starts_on: '2026-11-31' is not a date "
        '"YYYY-MM-DD"',
    ]


def test_starts_on_off_the_handoff_weekday_is_rejected() -> None:
    text = ROSTER.replace('starts_on = "2026-11-24"', 'starts_on = "2026-11-25"')

    assert errors_of(text) == [
        f"line {line_of(text, 'starts_on')}: rotations[0].starts_on: 2026-11-25 is a wednesday, "
        "not the handoff day (tuesday)",
    ]


def test_unknown_member_is_rejected_with_its_line() -> None:
    text = ROSTER.replace(
        '    "carol@example.com",\n', '    "carol@example.com",\n    "zed@example.com",\n'
    )

    assert errors_of(text) == [
        f"line {line_of(text, 'zed@')}: rotations[0].members[3]: unknown member "
        "'zed@example.com': not in this file's [[engineers]] nor in the portal",
    ]


def test_member_listed_twice_is_rejected_on_the_second_entry() -> None:
    text = ROSTER.replace(
        '    "dan@example.com",\n]', '    "dan@example.com",\n    "BOB@example.com",\n]'
    )

    assert errors_of(text) == [
        f"line {line_of(text, 'BOB@')}: rotations[0].members[4]: 'BOB@example.com' is listed twice",
    ]


def test_member_listed_twice_on_one_line_is_found() -> None:
    text = ROSTER + SECOND_ROTATION.replace(
        '["carol@example.com", "alice@example.com"]',
        '["carol@example.com",\n  "alice@example.com", "carol@example.com"]',
    )

    second_line = line_of(text, '  "alice@example.com", "carol')

    assert errors_of(text) == [
        f"line {second_line}: rotations[1].members[2]: 'carol@example.com' is listed twice",
    ]


def test_member_lines_are_found_past_a_mistyped_member() -> None:
    text = ROSTER + SECOND_ROTATION.replace(
        '["carol@example.com", "alice@example.com"]',
        '[\n  "carol@example.com",\n  7,\n  "carol@example.com",\n]',
    )

    members_line, second_carol_line = line_of(text, "members = [", 1), line_of(text, "carol@", 3)

    # An entry that is not a string cannot be searched for: it is reported on the key's line.
    assert errors_of(text) == [
        f"line {members_line}: rotations[1].members[1]: expected an email, got an integer",
        f"line {second_carol_line}: rotations[1].members[2]: 'carol@example.com' is listed twice",
    ]


def test_roster_of_fewer_than_two_is_rejected() -> None:
    text = ROSTER + SECOND_ROTATION.replace(
        '["carol@example.com", "alice@example.com"]', '["carol@example.com"]'
    )

    members_line = line_of(text, 'members = ["carol')

    assert errors_of(text) == [
        f"line {members_line}: rotations[1].members: a rotation needs at least two members, got 1",
    ]


def test_shadow_for_an_unknown_engineer_is_rejected() -> None:
    text = ROSTER.replace('{ email = "dan@example.com"', '{ email = "zed@example.com"')

    assert errors_of(text) == [
        f"line {line_of(text, 'zed@')}: rotations[0].shadows[0].email: unknown engineer "
        "'zed@example.com': not in this file's [[engineers]] nor in the portal",
    ]


def test_shadow_week_off_the_handoff_weekday_is_rejected() -> None:
    text = ROSTER.replace('week_of = "2026-12-01"', 'week_of = "2026-12-02"')

    assert errors_of(text) == [
        f"line {line_of(text, 'week_of')}: rotations[0].shadows[0].week_of: 2026-12-02 is a "
        "wednesday, not the handoff day (tuesday)",
    ]


def test_shadow_after_the_first_shift_is_reported_on_the_shadow_line() -> None:
    text = ROSTER.replace(
        '    { email = "dan@example.com", week_of = "2026-12-01" },\n',
        '    { email = "bob@example.com", week_of = "2026-11-24" },\n'
        '    { email = "dan@example.com", week_of = "2026-12-08" },\n',
    )

    bob_line, dan_line = line_of(text, '{ email = "bob@'), line_of(text, '{ email = "dan@')

    assert errors_of(text) == [
        f"line {bob_line}: rotations[0].shadows[0]: bob@example.com would be on call from "
        "2026-11-24, before their shadow week 2026-11-24 ends; place them later in the order or "
        "shadow earlier",
        f"line {dan_line}: rotations[0].shadows[1]: dan@example.com would be on call from "
        "2026-12-08, before their shadow week 2026-12-08 ends; place them later in the order or "
        "shadow earlier",
    ]


def test_shadow_before_the_rotation_starts_is_reported_on_the_shadow_line() -> None:
    text = ROSTER.replace('week_of = "2026-12-01"', 'week_of = "2026-11-17"')

    assert errors_of(text) == [
        f"line {line_of(text, 'week_of')}: rotations[0].shadows[0]: dan@example.com's shadow "
        "week 2026-11-17 is before the rotation starts",
    ]


def test_moving_the_start_of_a_started_rotation_is_rejected_on_starts_on() -> None:
    load_roster(ROSTER, by=None)
    text = ROSTER.replace('starts_on = "2026-11-24"', 'starts_on = "2026-12-01"')

    assert errors_of(text) == [
        f"line {line_of(text, 'starts_on')}: rotations[0].starts_on: the rotation started on "
        "2026-11-24; its first handoff can't move",
    ]


def test_every_error_in_the_file_is_reported_at_once() -> None:
    text = ROSTER.replace('time_zone = "Europe/Berlin"', 'time_zone = "Nowhere"').replace(
        'handoff_weekday = "tuesday"', 'handoff_weekday = "tuesdai"'
    ) + SECOND_ROTATION.replace('slug = "data"', 'slug = "da ta"')

    errors = errors_of(text)

    assert [error.split(":")[0] for error in errors] == [
        f"line {line_of(text, 'Nowhere')}",
        f"line {line_of(text, 'tuesdai')}",
        f"line {line_of(text, 'da ta')}",
    ]


def test_broken_rules_are_reported_with_the_other_errors() -> None:
    text = ROSTER.replace('time_zone = "Europe/Berlin"', 'time_zone = "Nowhere"').replace(
        'week_of = "2026-12-01"', 'week_of = "2026-12-08"'
    )

    errors = errors_of(text)

    assert [error.split(":")[0] for error in errors] == [
        f"line {line_of(text, 'Nowhere')}",
        f"line {line_of(text, 'week_of')}",
    ]
    assert "dan@example.com would be on call from 2026-12-08" in errors[1]


def test_bad_file_writes_nothing() -> None:
    text = ROSTER + SECOND_ROTATION.replace(
        '["carol@example.com", "alice@example.com"]', '["carol@example.com", "carol@example.com"]'
    )

    errors = errors_of(text)

    assert len(errors) == 1
    assert counts() == dict.fromkeys(counts(), 0)


def test_rule_broken_in_the_second_rotation_writes_nothing_of_the_first() -> None:
    # Only the engine finds this one, after the engineers and rotations have been upserted.
    text = (
        ROSTER
        + SECOND_ROTATION
        + ('shadows = [{ email = "carol@example.com", week_of = "2026-11-24" }]\n')
    )

    errors = errors_of(text)

    assert errors[0].startswith(f"line {line_of(text, 'shadows = [{')}: rotations[1].shadows[0]:")
    assert counts() == dict.fromkeys(counts(), 0)


def test_crlf_line_endings_keep_line_numbers() -> None:
    text = ROSTER.replace('slug = "platform"', 'slug = "Plat form"')

    [error] = errors_of(text.replace("\n", "\r\n"))

    assert error.startswith(f"line {line_of(text, 'slug')}: rotations[0].slug:")


def test_parse_roster_needs_no_database() -> None:
    roster = parse_roster(ROSTER)

    assert [engineer.email for engineer in roster.engineers][-1] == "dan@example.com"
    assert roster.rotations[0].members[0] == "alice@example.com"


# Dumping


def test_dump_writes_the_roster_file_format() -> None:
    load_roster(ROSTER, by=None)

    assert dump_roster() == ROSTER


def test_dump_round_trips() -> None:
    load_roster(ROSTER + SECOND_ROTATION, by=None)
    Engineer.objects.create(
        email="zoe@example.com", name='Zoë "Z" O\'Brien \\ tab\there', phone="+44\n20"
    )
    dumped = dump_roster()
    before = counts()

    report = load_roster(dumped, by=None)

    assert report.users_created == ["zoe@example.com"]  # the one engineer without a login
    assert counts() == before | {"users": before["users"] + 1}
    assert not load_roster(dumped, by=None).changed

    Rotation.objects.all().delete()
    Engineer.objects.all().delete()
    User.objects.all().delete()
    load_roster(dumped, by=None)

    assert dump_roster() == dumped
    assert Engineer.objects.get(email="zoe@example.com").name == 'Zoë "Z" O\'Brien \\ tab\there'


def test_dump_after_a_roster_change_loads_back_unchanged() -> None:
    load_roster(ROSTER, by=None)
    load_roster(SWAPPED, by=None)

    assert dump_roster() == SWAPPED
    assert not load_roster(dump_roster(), by=None).changed


def test_dump_of_an_empty_portal_is_empty() -> None:
    assert dump_roster() == ""


# The commands


def test_load_roster_command_prints_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "roster.toml"
    path.write_text(ROSTER, encoding="utf-8")
    out = StringIO()

    call_command("load_roster", str(path), stdout=out)
    call_command("load_roster", str(path), stdout=out)

    assert out.getvalue().splitlines() == [
        "engineers: 4 created, 0 updated, 4 logins created",
        "rotations: 1 created, 0 updated",
        "platform: roster saved, in force from 2026-11-24 10:00 PST",
        "engineers: 0 created, 0 updated, 0 logins created",
        "rotations: 0 created, 0 updated",
        "platform: roster unchanged",
        "nothing changed",
    ]


def test_load_roster_command_lists_who_gains_and_loses_weeks(tmp_path: Path) -> None:
    load_roster(ROSTER, by=None)
    path = tmp_path / "roster.toml"
    path.write_text(SWAPPED, encoding="utf-8")
    out = StringIO()

    call_command("load_roster", str(path), stdout=out)

    lines = out.getvalue().splitlines()
    assert "platform: roster saved, in force from 2026-12-01 10:00 PST" in lines
    assert (
        "  carol@example.com gains 2026-12-15, 2027-01-12, 2027-02-09 (+4 more); "
        "loses 2026-12-01, 2026-12-29, 2027-01-26 (+4 more)"
    ) in lines


def test_load_roster_command_rejects_a_bad_file_with_status_1(tmp_path: Path) -> None:
    path = tmp_path / "roster.toml"
    text = ROSTER.replace('"Europe/Berlin"', '"Mars/Olympus"').replace('"2026-11-24"', '"soon"')
    path.write_text(text, encoding="utf-8")
    err = StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("load_roster", str(path), stdout=StringIO(), stderr=err)

    assert raised.value.returncode == 1
    assert str(raised.value) == f"{path}: 2 errors; nothing was changed"
    assert err.getvalue().splitlines() == [
        f"{path}:line {line_of(text, 'Mars')}: engineers[0].time_zone: 'Mars/Olympus' is not an "
        "IANA time zone",
        f"{path}:line {line_of(text, 'soon')}: rotations[0].starts_on: 'soon' is not a date "
        '"YYYY-MM-DD"',
    ]
    assert Engineer.objects.count() == 0


def test_load_roster_command_reports_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"

    with pytest.raises(CommandError, match=r"missing\.toml: No such file or directory$"):
        call_command("load_roster", str(path))


def test_load_roster_command_exits_1_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    manage = Path(__file__).resolve().parents[2] / "manage.py"

    result = subprocess.run(
        [sys.executable, str(manage), "load_roster", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode == 1
    assert result.stderr.strip() == f"CommandError: {path}: No such file or directory"


def test_dump_roster_command_prints_the_roster() -> None:
    load_roster(ROSTER, by=None)
    out = StringIO()

    call_command("dump_roster", stdout=out)

    assert out.getvalue() == ROSTER


def test_loaded_roster_shifts_start_at_the_handoff() -> None:
    load_roster(ROSTER, by=None)

    first = Shift.objects.filter(rotation__slug="platform").order_by("starts_at").first()

    assert first is not None
    assert first.starts_at == datetime(2026, 11, 24, 10, tzinfo=LA)
    assert first.ends_at - first.starts_at == timedelta(days=7)


def test_unknown_sub_table_is_reported_on_its_header() -> None:
    text = ROSTER + "\n[rotations.escalation]\nafter_minutes = 5\n"

    assert errors_of(text) == [
        f"line {line_of(text, '[rotations.escalation]')}: rotations[0].escalation: unknown key "
        "(expected one of: slug, name, time_zone, handoff_weekday, handoff_time, starts_on, "
        "members, pagerduty_escalation_policy_id, pagerduty_feeds, shadows)",
    ]

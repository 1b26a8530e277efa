"""Roster as code: rejected files, where every check names the line and the key.

Time is frozen at ``NOW``; ``roster_samples`` describes the sample roster's first weeks.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import time_machine

from rotation.roster_file import RosterFileError, load_roster
from tests.rotation.roster_samples import NOW, ROSTER, SECOND_ROTATION, counts, line_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


def errors_of(text: str) -> list[str]:
    with pytest.raises(RosterFileError) as raised:
        load_roster(text, by=None)
    return raised.value.errors


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


def test_unknown_sub_table_is_reported_on_its_header() -> None:
    text = ROSTER + "\n[rotations.escalation]\nafter_minutes = 5\n"

    assert errors_of(text) == [
        f"line {line_of(text, '[rotations.escalation]')}: rotations[0].escalation: unknown key "
        "(expected one of: slug, name, time_zone, handoff_weekday, handoff_time, starts_on, "
        "members, pagerduty_escalation_policy_id, pagerduty_feeds, shadows)",
    ]


def test_a_feed_url_the_worker_would_not_fetch_is_rejected_with_its_line() -> None:
    text = ROSTER.replace(
        "webcal://example.pagerduty.com/primary.ics", "http://169.254.169.254/latest/meta-data/"
    )

    assert errors_of(text) == [
        f"line {line_of(text, 'pagerduty_feeds')}: rotations[0].pagerduty_feeds.primary: "
        "The URL must start with webcal:// or https://.",
    ]

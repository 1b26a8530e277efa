"""Roster as code: loading, loading again, the dump round trip, and the commands.

Time is frozen at ``NOW``; ``roster_samples`` describes the sample roster's first weeks.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from rotation.models import Engineer, Membership, Rotation, Shift
from rotation.roster_file import dump_roster, load_roster, parse_roster
from tests.rotation.roster_samples import NOW, ROSTER, SECOND_ROTATION, SWAPPED, counts, line_of

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")

# ROSTER as dump_roster writes it: tomli-w puts a mapping (pagerduty_feeds) in a sub-table
# after the rotation's keys, where ROSTER has it inline.
FEEDS_INLINE = 'pagerduty_feeds = { primary = "webcal://example.pagerduty.com/primary.ics" }\n'
FEEDS_TABLE = (
    '\n[rotations.pagerduty_feeds]\nprimary = "webcal://example.pagerduty.com/primary.ics"\n'
)
DUMPED = ROSTER.replace(FEEDS_INLINE, "") + FEEDS_TABLE
DUMPED_SWAPPED = SWAPPED.replace(FEEDS_INLINE, "") + FEEDS_TABLE


@pytest.fixture(autouse=True)
def frozen() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


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


def test_parse_roster_needs_no_database() -> None:
    roster = parse_roster(ROSTER)

    assert [engineer.email for engineer in roster.engineers][-1] == "dan@example.com"
    assert roster.rotations[0].members[0] == "alice@example.com"


# Dumping


def test_dump_writes_the_roster_file_format() -> None:
    load_roster(ROSTER, by=None)

    assert dump_roster() == DUMPED
    assert parse_roster(DUMPED) == parse_roster(ROSTER)


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

    assert dump_roster() == DUMPED_SWAPPED
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

    assert out.getvalue() == DUMPED


def test_loaded_roster_shifts_start_at_the_handoff() -> None:
    load_roster(ROSTER, by=None)

    first = Shift.objects.filter(rotation__slug="platform").order_by("starts_at").first()

    assert first is not None
    assert first.starts_at == datetime(2026, 11, 24, 10, tzinfo=LA)
    assert first.ends_at - first.starts_at == timedelta(days=7)

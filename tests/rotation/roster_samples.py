"""Sample roster files and helpers shared by the roster-file tests (not a test module).

The tests freeze time at ``NOW``, Saturday 28 November 2026, in week 0 of ``ROSTER``'s Los
Angeles rotation whose first handoff is Tuesday 24 November: alice/bob this week, bob/carol
next, carol/dan after.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.auth.models import User

from portal.models import AuditEntry
from rotation.models import Engineer, Membership, RosterEra, Rotation, ShadowBooking, Shift

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)

# Written the way dump_roster writes it, but for pagerduty_feeds (inline here, a sub-table there).
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


def line_of(text: str, fragment: str, occurrence: int = 0) -> int:
    """The 1-based line holding the ``occurrence``-th (0-based) line containing ``fragment``."""
    numbers = [n for n, line in enumerate(text.split("\n"), start=1) if fragment in line]
    return numbers[occurrence]


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

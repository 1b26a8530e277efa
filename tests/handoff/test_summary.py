"""The weekly livesite summary: its Markdown, what it reads from a week, and its pages."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from handoff.models import HandoffReport, Holiday, Release, ReleaseStep, TriageDay, WeekSetup
from handoff.summary import (
    HandoffLine,
    HeadsUpLine,
    Holding,
    IncidentLine,
    PagesLine,
    PostmortemLine,
    ReleaseLine,
    TriageLine,
    WeekSummary,
    escape,
    summary_markdown,
    week_summary,
)
from incidents import metrics
from incidents.models import HeadsUp, Incident, Postmortem, PostmortemStatus
from rotation.models import Engineer, Override, Rotation
from tests.conftest import login

LA = ZoneInfo("America/Los_Angeles")
LAST_WEEK = (datetime(2026, 11, 24, 10, tzinfo=LA), datetime(2026, 12, 1, 10, tzinfo=LA))
MINUTES_5 = timedelta(minutes=5)
THIS_WEEK = (datetime(2026, 12, 1, 10, tzinfo=LA), datetime(2026, 12, 8, 10, tzinfo=LA))


def la(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LA)


def hand_built_week() -> WeekSummary:
    return WeekSummary(
        rotation="Platform",
        slug="platform",
        zone="America/Los_Angeles",
        week_start=LAST_WEEK[0],
        week_end=LAST_WEEK[1],
        on_call=[
            Holding("primary", "Dave", la(24, 10), la(26, 9)),
            Holding("primary", "Bob", la(26, 9), la(26, 13), "cover", "Dave"),
            Holding("primary", "Dave", la(26, 13), la(1, 10, month=12)),
            Holding("secondary", "Alice", la(24, 10), la(1, 10, month=12)),
        ],
        shadows=[],
        incidents=[
            IncidentLine(
                "API 500s",
                "SEV2",
                la(25, 14, 5),
                timedelta(minutes=4),
                timedelta(hours=2, minutes=5),
                "draft",
            ),
            IncidentLine("Slow builds", "SEV4", la(27, 9), None, None, "not needed"),
        ],
        pages=PagesLine(4, 2, timedelta(minutes=5), 1, 2),
        postmortems=[
            PostmortemLine("API 500s", "draft", "Dave", date(2026, 12, 3)),
        ],
        heads_ups=[
            HeadsUpLine("Database upgrade", "Planned downtime", la(28, 22), la(29, 1)),
        ],
        triage=[
            TriageLine(date(2026, 11, 24), done_by="Dave"),
            TriageLine(date(2026, 11, 25)),
            TriageLine(date(2026, 11, 26), holiday="Thanksgiving"),
            TriageLine(date(2026, 11, 27), done_by="Alice"),
            TriageLine(date(2026, 11, 30), done_by="Dave"),
        ],
        release=ReleaseLine("Dave", 3, 3, la(24, 15, 30)),
        handoff=HandoffLine(
            "Dave",
            "Alice",
            "The disk on db-2 is at 80%.\nWatch the nightly export.",
            la(1, 9, 30, month=12),
            la(1, 10, 5, month=12),
            "Alice",
        ),
    )


HAND_BUILT_MARKDOWN = """\
# Platform livesite summary: week of 2026-11-24

Tue 24 Nov 10:00 to Tue 1 Dec 10:00. Times in America/Los_Angeles.

## On call

- Primary: Dave, Tue 24 Nov 10:00 to Thu 26 Nov 09:00
- Primary: Bob (cover for Dave), Thu 26 Nov 09:00 to Thu 26 Nov 13:00
- Primary: Dave, Thu 26 Nov 13:00 to Tue 1 Dec 10:00
- Secondary: Alice, Tue 24 Nov 10:00 to Tue 1 Dec 10:00
- Shadow: nobody

## Incidents

| Title | Severity | Started | TTA | TTR | Post-mortem |
| --- | --- | --- | --- | --- | --- |
| API 500s | SEV2 | Wed 25 Nov 14:05 | 4 min | 2 h 5 min | draft |
| Slow builds | SEV4 | Fri 27 Nov 09:00 | \u2013 | \u2013 | not needed |

## Pages

- 4 pages: 2 acknowledged within 5 min (50%), 1 escalated to the secondary, 2 out of hours

## Post-mortems

- API 500s: draft, owner Dave, due 2026-12-03

## Heads-ups

- Planned downtime: Database upgrade, Sat 28 Nov 22:00 to Sun 29 Nov 01:00

## Triage

- Tue 24 Nov: done by Dave
- Wed 25 Nov: missed
- Thu 26 Nov: holiday (Thanksgiving)
- Fri 27 Nov: done by Alice
- Mon 30 Nov: done by Dave

## Release

- Shepherded by Dave: 3 of 3 steps done, finished Tue 24 Nov 15:30

## Handoff notes

- From Dave to Alice: submitted Tue 1 Dec 09:30, acknowledged by Alice Tue 1 Dec 10:05

Worries:

> The disk on db-2 is at 80%.
> Watch the nightly export.
"""


def test_a_hand_built_week_gives_exactly_this_markdown() -> None:
    assert summary_markdown(hand_built_week()) == HAND_BUILT_MARKDOWN


def test_a_quiet_week_says_none_in_each_section() -> None:
    quiet = WeekSummary("Platform", "platform", "America/Los_Angeles", *LAST_WEEK)
    text = summary_markdown(quiet)
    assert "## Incidents\n\nNone.\n" in text
    assert "## Pages\n\nNot linked to PagerDuty.\n" in text
    linked_but_quiet = WeekSummary(**(quiet.__dict__ | {"pages": PagesLine(0, 0, MINUTES_5, 0, 0)}))
    assert "## Pages\n\nNone.\n" in summary_markdown(linked_but_quiet)
    assert "## Post-mortems\n\nNone.\n" in text
    assert "## Release\n\nNo release checklist.\n" in text
    assert text.endswith("## Handoff notes\n\nNo handoff report yet.\n")


def test_a_hostile_title_cannot_break_the_table() -> None:
    week = hand_built_week()
    hostile = IncidentLine("*x* | y\n# [z](http://evil) <b>", "SEV1", la(25, 1), None, None, "")
    text = summary_markdown(
        WeekSummary(**(week.__dict__ | {"incidents": [hostile], "postmortems": []}))
    )
    row = next(line for line in text.splitlines() if "SEV1" in line)
    assert row.startswith(r"| \*x\* \| y \# \[z\](http://evil) \<b\> | SEV1 |")
    # Six cells: the escaped pipe does not start a seventh.
    assert row.replace(r"\|", "").count("|") == 7


def test_user_text_cannot_start_a_list_or_quote_or_heading() -> None:
    assert escape("- not a list") == r"\- not a list"
    assert escape("1. not a list") == r"1\. not a list"
    assert escape("> not a quote") == r"\> not a quote"
    assert escape("back\\slash `code` _em_ & ~x~") == r"back\\slash \`code\` \_em\_ \& \~x\~"


def test_a_running_week_says_so_far() -> None:
    week = WeekSummary("Platform", "platform", "America/Los_Angeles", *THIS_WEEK, is_running=True)
    assert "Tue 1 Dec 10:00 to Tue 8 Dec 10:00, so far. Times in" in summary_markdown(week)


# The reader, on the cast's rotation: week 0 (24 Nov) dave/alice; week 1 (1 Dec, now) alice/erin.


def make_incident(rotation: Rotation, title: str, started: datetime, **times: datetime) -> Incident:
    return Incident.objects.create(
        rotation=rotation, title=title, severity="SEV2", started_at=started, **times
    )


@pytest.fixture
def busy_last_week(platform: Rotation, cast: dict[str, Engineer]) -> Rotation:
    """Last week with a cover, two incidents (one with a post-mortem), a heads-up, triage ticks,
    a holiday, a release and the handoff report that ended it."""
    Override.objects.create(
        rotation=platform,
        role="primary",
        engineer=cast["bob"],
        covers=cast["dave"],
        starts_at=la(26, 9),
        ends_at=la(26, 13),
    )
    api = make_incident(
        platform,
        "API 500s",
        la(25, 14),
        detected_at=la(25, 14, 10),
        acknowledged_at=la(25, 14, 15),
        resolved_at=la(25, 16),
    )
    Postmortem.objects.create(
        incident=api, owner=cast["dave"], due_on=date(2026, 12, 3), status=PostmortemStatus.DRAFT
    )
    make_incident(platform, "Slow builds", la(27, 9))
    make_incident(platform, "Too early", la(24, 9))  # the week before
    HeadsUp.objects.create(title="Database upgrade", starts_at=la(23, 22), ends_at=la(24, 11))
    HeadsUp.objects.create(title="Long before", starts_at=la(20, 1), ends_at=la(20, 2))
    WeekSetup.objects.create(rotation=platform, triage_due_at=time(11, 0))
    Holiday.objects.create(rotation=platform, day=date(2026, 11, 26), name="Thanksgiving")
    for day in (24, 27):
        TriageDay.objects.create(
            rotation=platform,
            day=date(2026, 11, day),
            done_at=la(day, 10),
            done_by=cast["dave"].user,
        )
    release = Release.objects.create(rotation=platform, week_start=LAST_WEEK[0], owner=cast["dave"])
    ReleaseStep.objects.create(release=release, position=1, text="Cut", done_at=la(24, 12))
    ReleaseStep.objects.create(release=release, position=2, text="Ship")
    HandoffReport.objects.create(
        rotation=platform,
        week_start=LAST_WEEK[0],
        handoff_at=LAST_WEEK[1],
        outgoing=cast["dave"],
        incoming=cast["alice"],
        worries="db-2's disk",
        submitted_at=la(1, 9, month=12),
        acknowledged_at=la(1, 10, 5, month=12),
        acknowledged_by=cast["alice"].user,
    )
    return platform


def test_a_cover_is_shown_as_a_cover_for_the_person_it_covers(busy_last_week: Rotation) -> None:
    summary = week_summary(busy_last_week, *LAST_WEEK, now=datetime.now(UTC))
    assert [(h.role, h.name, h.reason, h.covering) for h in summary.on_call] == [
        ("primary", "Dave", "rostered", None),
        ("primary", "Bob", "cover", "Dave"),
        ("primary", "Dave", "rostered", None),
        ("secondary", "Alice", "rostered", None),
    ]
    assert "- Primary: Bob (cover for Dave), Thu 26 Nov 09:00 to Thu 26 Nov 13:00" in (
        summary_markdown(summary)
    )


def test_tta_and_ttr_are_the_metrics_pages_own(busy_last_week: Rotation) -> None:
    summary = week_summary(busy_last_week, *LAST_WEEK, now=datetime.now(UTC))
    api, slow = summary.incidents
    facts = metrics.IncidentFacts(
        "SEV2", la(25, 14), la(25, 14, 10), la(25, 14, 15), la(25, 16), True, False, None
    )
    assert api.acknowledge_time == metrics.time_to_acknowledge([facts]).median
    assert api.acknowledge_time == timedelta(minutes=5)  # from detection, not the start
    assert api.resolve_time == metrics.time_to_resolve([facts]).median == timedelta(hours=2)
    assert (slow.title, slow.acknowledge_time, slow.resolve_time) == ("Slow builds", None, None)


def test_the_reader_gathers_the_whole_week(busy_last_week: Rotation) -> None:
    summary = week_summary(busy_last_week, *LAST_WEEK, now=datetime.now(UTC))
    assert not summary.is_running
    assert [i.postmortem for i in summary.incidents] == ["draft", "not needed"]
    assert [(p.incident, p.owner, p.status) for p in summary.postmortems] == [
        ("API 500s", "Dave", "draft")
    ]
    assert [h.title for h in summary.heads_ups] == ["Database upgrade"]
    assert [t.state for t in summary.triage] == [
        "done by Dave",
        "missed",
        "holiday (Thanksgiving)",
        "done by Dave",
        "missed",
    ]
    assert summary.release == ReleaseLine("Dave", 1, 2, None)
    assert summary.handoff == HandoffLine(
        "Dave", "Alice", "db-2's disk", la(1, 9, month=12), la(1, 10, 5, month=12), "Alice"
    )


def test_the_running_week_says_so_far_and_its_coming_days_are_to_come(
    platform: Rotation,
) -> None:
    summary = week_summary(platform, *THIS_WEEK, now=datetime.now(UTC))  # Wed 2 Dec 09:00
    assert summary.is_running
    assert summary.shadows == ["Bob"]
    assert [t.state for t in summary.triage] == [
        "missed",
        "to come",
        "to come",
        "to come",
        "to come",
    ]
    assert ", so far. Times in America/Los_Angeles." in summary_markdown(summary)


# The pages.


def test_the_page_shows_the_week_and_its_markdown(client: Client, busy_last_week: Rotation) -> None:
    login(client, "erin")
    response = client.get("/rotations/platform/summary/2026-11-24/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "API 500s" in page and "Thanksgiving" in page
    assert "| API 500s | SEV2 |" in page  # the Markdown, in the box to copy
    # The Copy button waits for the script; without it the box is there to select.
    assert 'data-copy-from="summary-markdown" hidden' in page
    assert '<textarea id="summary-markdown"' in page
    assert 'href="/rotations/platform/summary/2026-11-24.md"' in page
    assert 'href="/rotations/platform/summary/2026-12-01/"' in page  # the next week


def test_the_export_is_a_markdown_attachment(client: Client, busy_last_week: Rotation) -> None:
    login(client, "erin")
    response = client.get("/rotations/platform/summary/2026-11-24.md")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="platform-livesite-2026-11-24.md"'
    )
    assert response.content.decode().startswith("# Platform livesite summary: week of 2026-11-24")


def test_the_bare_summary_address_opens_the_last_completed_week(
    client: Client, platform: Rotation
) -> None:
    login(client, "erin")
    response = client.get("/rotations/platform/summary/")
    assert response.status_code == 302
    assert response["Location"] == "/rotations/platform/summary/2026-11-24/"


@pytest.mark.parametrize(
    "path",
    [
        "/rotations/platform/summary/2026-11-25/",  # a Wednesday: no handoff
        "/rotations/platform/summary/2026-11-17/",  # before the rotation
        "/rotations/platform/summary/2026-12-08/",  # not begun
        "/rotations/platform/summary/2026-13-01/",  # no such date
        "/rotations/platform/summary/2026-11-25.md",
    ],
)
def test_a_date_without_a_handoff_is_not_found(
    client: Client, platform: Rotation, path: str
) -> None:
    login(client, "erin")
    assert client.get(path).status_code == 404


def test_the_summary_needs_a_login(client: Client, platform: Rotation) -> None:
    for path in [
        "/rotations/platform/summary/2026-11-24/",
        "/rotations/platform/summary/2026-11-24.md",
    ]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_the_page_reads_a_busy_week_in_a_few_queries(
    client: Client, busy_last_week: Rotation, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    login(client, "erin")
    with django_assert_max_num_queries(18):
        assert client.get("/rotations/platform/summary/2026-11-24/").status_code == 200


def test_the_schedule_links_each_past_week_to_its_summary(
    client: Client, platform: Rotation
) -> None:
    login(client, "erin")
    page = client.get("/rotations/platform/").content.decode()
    assert 'href="/rotations/platform/summary/2026-11-24/"' in page
    assert 'href="/rotations/platform/summary/2026-12-01/"' in page  # this week, so far
    assert 'href="/rotations/platform/summary/2026-12-08/"' not in page

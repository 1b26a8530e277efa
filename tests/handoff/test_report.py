"""The handoff report: what it fills in for a week, who may submit and acknowledge it, and the
job that opens it a day ahead.

The cast's platform (tests/conftest.py): this week (from Tue 1 Dec 10:00 in Los Angeles) Alice
is primary and Erin secondary; Erin is primary from the handoff on Tue 8 Dec. It is Wed 2 Dec.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.test import Client

from handoff.actions import ReportError, acknowledge_report, open_report, submit_report
from handoff.jobs import open_handoff_reports
from handoff.models import HandoffReport, TriageDay
from handoff.report import report_contents
from incidents import actions as incident_actions
from incidents.heads_up import post_heads_up
from incidents.models import Postmortem
from pagerduty.models import SyncRun
from portal.models import AuditEntry, Notice
from rotation.covers import accept_cover, ask_for_cover
from rotation.models import Engineer, Rotation, Swap, SwapStatus
from tests.conftest import NOW, login
from tests.rotation.test_swaps_race import at_once

WEEK_START = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # Tue 1 Dec 10:00 in Los Angeles
HANDOFF = datetime(2026, 12, 8, 18, 0, tzinfo=UTC)  # Tue 8 Dec 10:00


@pytest.fixture
def week(platform: Rotation, cast: dict[str, Engineer], frozen_now: datetime) -> Rotation:
    """Alice's week so far: a SEV2 still open, a SEV1 resolved owing its post-mortem with an
    action item, an incident resolved the week before (not this week's), a heads-up
    tomorrow, Dave covering Alice on Thursday, a swap accepted for the coming week, Monday's
    triage ticked and the PagerDuty sync failing."""
    alice = cast["alice"].user
    assert alice is not None
    incident_actions.open_incident(
        {"title": "Checkout down", "severity": "SEV2", "started_at": NOW - timedelta(hours=2)},
        by=alice,
    )
    resolved = incident_actions.open_incident(
        {
            "title": "Queue stuck",
            "severity": "SEV1",
            "status": "resolved",
            "started_at": NOW - timedelta(hours=20),
            "resolved_at": NOW - timedelta(hours=18),
        },
        by=alice,
    )
    incident_actions.open_incident(
        {
            "title": "Last week's blip",
            "severity": "SEV3",
            "status": "resolved",
            "started_at": WEEK_START - timedelta(days=3),
            "resolved_at": WEEK_START - timedelta(days=3) + timedelta(hours=1),
        },
        by=alice,
    )
    postmortem = Postmortem.objects.get(incident=resolved)
    incident_actions.add_action_item(
        postmortem,
        {"title": "Alert on queue depth", "owner": cast["bob"], "due_on": date(2026, 12, 1)},
        by=alice,
    )
    post_heads_up(
        {
            "title": "Postgres upgrade",
            "kind": "change",
            "starts_at": NOW + timedelta(days=1),
            "ends_at": NOW + timedelta(days=1, hours=1),
            "rollback": "Fail back to the old primary.",
            "customer_facing": True,
        },
        by=alice,
    )
    thursday = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
    ask = ask_for_cover(
        platform,
        covered=cast["alice"],
        role="primary",
        starts_at=thursday,
        ends_at=thursday + timedelta(hours=4),
        note="dentist",
        by=alice,
    )
    accept_cover(ask, by=cast["dave"].user)
    Swap.objects.create(
        rotation=platform,
        proposer=cast["bob"],
        proposer_stint=HANDOFF,
        partner=cast["dave"],
        partner_stint=HANDOFF + timedelta(days=7),
        status=SwapStatus.ACCEPTED,
    )
    TriageDay.objects.create(
        rotation=platform, day=date(2026, 12, 2), done_at=NOW - timedelta(hours=1), note="Quiet."
    )
    platform.pagerduty_escalation_policy_id = "P123"
    platform.save()
    SyncRun.objects.create(
        kind=SyncRun.Kind.POLICY,
        rotation=platform,
        started_at=NOW - timedelta(minutes=5),
        outcome=SyncRun.Outcome.FAILED,
        error="PagerDuty answered 503",
    )
    return platform


def test_the_report_fills_in_the_week_from_incidents_to_covers_and_swaps_ahead(
    week: Rotation, django_assert_max_num_queries: object
) -> None:
    with django_assert_max_num_queries(14):  # type: ignore[operator]
        contents = report_contents(week, WEEK_START, HANDOFF, NOW)

    titles = [(i["severity"], i["title"], i["open"]) for i in contents["incidents"]]
    assert titles == [("SEV1", "Queue stuck", False), ("SEV2", "Checkout down", True)]
    assert contents["incidents"][0]["started_at"] == "2026-12-01T21:00:00+00:00"
    assert contents["incidents"][0]["link"].startswith("/incidents/")
    owed = {p["incident"]: p for p in contents["postmortems_owed"]}
    assert "Queue stuck" in owed and owed["Queue stuck"]["owner"] == "Alice"
    (item,) = contents["action_items"]
    assert (item["title"], item["owner"], item["overdue"]) == ("Alert on queue depth", "Bob", True)
    (heads_up,) = contents["heads_ups"]
    assert heads_up["title"] == "Postgres upgrade" and heads_up["customer_facing"]
    (cover,) = contents["covers"]
    assert (cover["by"], cover["for"], cover["role"]) == ("Dave", "Alice", "primary")
    assert cover["starts_at"] == "2026-12-03T18:00:00+00:00"
    (swap,) = contents["swaps"]
    assert (swap["proposer"], swap["partner"]) == ("Bob", "Dave")
    triage = {t["day"]: t["done_at"] for t in contents["triage"]}
    assert triage["2026-12-02"] is not None and triage["2026-12-07"] is None
    assert contents["release"] is None
    assert contents["pagerduty"]["last_error"] == "PagerDuty answered 503"
    assert contents["pagerduty"]["failing_since"] == "2026-12-02T16:55:00+00:00"


def test_a_report_is_opened_between_the_primary_before_and_after_the_handoff(
    platform: Rotation, cast: dict[str, Engineer], frozen_now: datetime
) -> None:
    report = open_report(platform, HANDOFF)
    assert report is not None
    assert (report.outgoing, report.incoming) == (cast["alice"], cast["erin"])
    assert report.week_start == WEEK_START
    assert open_report(platform, HANDOFF) == report
    assert HandoffReport.objects.count() == 1
    assert open_report(platform, HANDOFF + timedelta(hours=1)) is None  # no week ends then


def test_only_the_outgoing_primary_or_a_manager_submits_and_the_incoming_one_is_told(
    week: Rotation, cast: dict[str, Engineer]
) -> None:
    report = open_report(week, HANDOFF)
    assert report is not None
    with pytest.raises(PermissionDenied):
        submit_report(report, "", by=cast["erin"].user)
    submit_report(report, "Disk on db-2 fills by Friday.", by=cast["alice"].user)
    report.refresh_from_db()
    assert report.submitted_at == NOW and report.worries == "Disk on db-2 fills by Friday."
    assert [i["title"] for i in report.contents["incidents"]] == ["Queue stuck", "Checkout down"]
    assert Notice.objects.filter(to="erin@example.com", subject__contains="handoff").exists()
    # Resubmitted with new worries until acknowledged, by a manager too.
    submit_report(report, "And the cert expires.", by=cast["carol"].user)
    report.refresh_from_db()
    assert report.worries == "And the cert expires."
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"handoff.opened", "handoff.submitted", "handoff.resubmitted"} <= actions


def test_the_frozen_contents_do_not_change_when_the_week_does(
    week: Rotation, cast: dict[str, Engineer]
) -> None:
    report = open_report(week, HANDOFF)
    assert report is not None
    submit_report(report, "", by=cast["alice"].user)
    incident_actions.open_incident(
        {"title": "After the report", "severity": "SEV3", "started_at": NOW},
        by=cast["alice"].user,
    )
    report.refresh_from_db()
    assert "After the report" not in [i["title"] for i in report.contents["incidents"]]


def test_acknowledging_before_submission_is_refused(
    platform: Rotation, cast: dict[str, Engineer], frozen_now: datetime
) -> None:
    report = open_report(platform, HANDOFF)
    assert report is not None
    with pytest.raises(ReportError, match="not been submitted"):
        acknowledge_report(report, by=cast["erin"].user)
    report.refresh_from_db()
    assert report.acknowledged_at is None


def test_only_the_incoming_primary_or_a_manager_acknowledges_and_only_once(
    platform: Rotation, cast: dict[str, Engineer], frozen_now: datetime
) -> None:
    report = open_report(platform, HANDOFF)
    assert report is not None
    submit_report(report, "", by=cast["alice"].user)
    with pytest.raises(PermissionDenied):
        acknowledge_report(report, by=cast["alice"].user)
    acknowledge_report(report, by=cast["erin"].user)
    report.refresh_from_db()
    assert report.acknowledged_at == NOW and report.acknowledged_by == cast["erin"].user
    assert Notice.objects.filter(to="alice@example.com", subject__contains="acknowledged").exists()
    with pytest.raises(ReportError, match="Erin already acknowledged"):
        acknowledge_report(report, by=cast["carol"].user)
    with pytest.raises(ReportError, match="Erin already acknowledged"):
        submit_report(report, "Too late", by=cast["alice"].user)
    report.refresh_from_db()
    assert report.worries == ""


@pytest.mark.django_db(transaction=True)
def test_two_acknowledgements_at_once_make_one(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    report = open_report(platform, HANDOFF)
    assert report is not None
    submit_report(report, "", by=cast["alice"].user)

    def acknowledge(name: str) -> object:
        return acknowledge_report(HandoffReport.objects.get(pk=report.pk), by=cast[name].user)

    failures = at_once([lambda: acknowledge("erin"), lambda: acknowledge("carol")])

    assert len(failures) == 1 and isinstance(failures[0], ReportError)
    assert "already acknowledged" in str(failures[0])
    assert AuditEntry.objects.filter(action="handoff.acknowledged").count() == 1
    assert Notice.objects.filter(subject__contains="acknowledged").count() == 1


def test_the_job_opens_the_report_a_day_before_the_handoff_and_only_once(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    # Two days ahead: only the report of the handoff just passed (1 Dec) is owed.
    open_handoff_reports(HANDOFF - timedelta(days=2))
    assert [r.handoff_at for r in HandoffReport.objects.all()] == [WEEK_START]
    open_handoff_reports(HANDOFF - timedelta(hours=23))
    open_handoff_reports(HANDOFF - timedelta(hours=22))
    assert [r.handoff_at for r in HandoffReport.objects.all()] == [HANDOFF, WEEK_START]
    latest = HandoffReport.objects.first()
    assert latest is not None and (latest.outgoing, latest.incoming) == (
        cast["alice"],
        cast["erin"],
    )
    assert AuditEntry.objects.filter(action="handoff.opened").count() == 2


def test_the_pages_list_reports_and_let_the_outgoing_primary_submit(
    client: Client, week: Rotation, cast: dict[str, Engineer], django_assert_max_num_queries: object
) -> None:
    login(client, "alice")
    page = client.get("/rotations/platform/handoffs/2026-12-08/")
    assert page.status_code == 200
    assert b"Submit report" in page.content and b"Queue stuck" in page.content
    assert client.get("/rotations/platform/handoffs/2026-12-09/").status_code == 404
    assert client.get("/rotations/platform/handoffs/not-a-day/").status_code == 404
    assert client.get("/rotations/platform/handoffs/2027-03-02/").status_code == 404  # far ahead
    too_long = client.post("/rotations/platform/handoffs/2026-12-08/", {"worries": "x" * 10_001})
    assert b"at most 10000 characters" in too_long.content
    done = client.post(
        "/rotations/platform/handoffs/2026-12-08/", {"worries": "Watch db-2.", "do": "submit"}
    )
    assert done.status_code == 302
    with django_assert_max_num_queries(8):  # type: ignore[operator]
        listing = client.get("/rotations/platform/handoffs/")
    assert b"Alice" in listing.content and b"Erin" in listing.content
    login(client, "erin")
    page = client.get("/rotations/platform/handoffs/2026-12-08/")
    assert b"Watch db-2." in page.content and b"Acknowledge" in page.content
    assert b"Submit report" not in page.content
    client.post("/rotations/platform/handoffs/2026-12-08/", {"do": "acknowledge"})
    login(client, "carol")
    again = client.post(
        "/rotations/platform/handoffs/2026-12-08/", {"do": "acknowledge"}, follow=True
    )
    assert b"Erin already acknowledged this report" in again.content


def test_the_dashboard_shows_the_pending_report_to_both_until_acknowledged(
    client: Client, platform: Rotation, cast: dict[str, Engineer], frozen_now: datetime
) -> None:
    report = open_report(platform, HANDOFF)
    assert report is not None
    assert "Complete" in login(client, "alice").get("/").content.decode()
    assert "is writing your" in login(client, "erin").get("/").content.decode()
    submit_report(report, "", by=cast["alice"].user)
    assert "Acknowledge" in login(client, "erin").get("/").content.decode()
    assert "waits for Erin" in login(client, "alice").get("/").content.decode()
    assert "not submitted yet" not in login(client, "bob").get("/").content.decode()
    acknowledge_report(report, by=cast["erin"].user)
    for name in ("alice", "erin"):
        page = login(client, name).get("/").content.decode()
        assert "Pending" not in page and "Acknowledge</strong>" not in page
        assert "acknowledged" in page  # the latest state, one line


def test_the_next_week_s_report_is_between_that_week_s_primaries(
    platform: Rotation, cast: dict[str, Engineer]
) -> None:
    with time_machine.travel(HANDOFF + timedelta(days=1), tick=False):
        report = open_report(platform, HANDOFF + timedelta(days=7))
    assert report is not None
    assert (report.outgoing, report.incoming) == (cast["erin"], cast["bob"])

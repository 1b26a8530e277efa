"""PagerDuty's incidents become portal incidents: read through the pages, waiting out a 429;
each linked once however often or however concurrently imported; high urgency opens an
incident, low urgency only joins one that names it; acknowledgement and resolution times come
from the log entries; a failed read changes nothing and says what failed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.models import Incident, Severity, Status
from pagerduty.client import PagerDuty
from pagerduty.fake import FakePagerDuty
from pagerduty.incident_import import (
    FOLLOW_FOR,
    OVERLAP,
    import_rotation_incidents,
    reading_of,
    window_start,
    with_log_entries,
)
from pagerduty.jobs import import_incidents
from pagerduty.management.commands.fake_pagerduty import demo_fake
from pagerduty.models import IncidentImport, IncidentLink
from rotation.models import Engineer, Rotation
from tests.conftest import NOW, fake_client, login
from tests.pagerduty.conftest import POLICY
from tests.rotation.test_swaps_race import at_once

pytestmark = pytest.mark.django_db

SERVICE = "PSVC001"
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def fake(cast: dict[str, Engineer]) -> FakePagerDuty:
    fake = FakePagerDuty(token="test-token")
    fake.add_user("Alice", "alice@example.com", "PALICE1")
    policy = fake.add_escalation_policy(POLICY, "Platform On-Call", [["PALICE1"]])
    policy["services"] = [{"id": SERVICE, "type": "service_reference"}]
    return fake


def run(rotation: Rotation, fake: FakePagerDuty, now: datetime = NOW) -> IncidentImport:
    with fake_client(fake) as client:
        return import_rotation_incidents(rotation, client, now=now)


def test_three_hundred_incidents_are_read_through_a_429_and_all_linked(
    linked: Rotation, fake: FakePagerDuty
) -> None:
    for n in range(300):
        fake.add_incident(f"PINC{n:03d}", f"Disk full {n}", SERVICE, NOW - timedelta(minutes=n + 1))
    waits: list[float] = []
    fake.fail_at(3, 429)  # the policy, page 1, then page 2 is refused once
    with PagerDuty("test-token", transport=fake.transport(), sleep=waits.append) as client:
        state = import_rotation_incidents(linked, client, now=NOW)
    assert state.error == ""
    assert len(waits) == 1 and 20 < waits[0] <= 21  # ratelimit-reset plus a little
    assert IncidentLink.objects.count() == 300
    assert Incident.objects.filter(pagerduty_url__contains="/incidents/PINC").count() == 300
    pages = [r.url.params.get("offset") for r in fake.requests if r.url.path == "/incidents"]
    assert pages == ["0", "100", "100", "200"]  # the refused page asked again, nothing skipped
    assert state.found["read"] == 300 and state.found["opened"] == 300


def test_an_incident_imported_twice_stays_one_incident(
    linked: Rotation, fake: FakePagerDuty
) -> None:
    fake.add_incident(
        "PINC001", "Checkout down", SERVICE, NOW - HOUR, acknowledged_at=NOW - HOUR / 2
    )
    run(linked, fake)
    run(linked, fake, NOW + timedelta(minutes=5))
    assert Incident.objects.count() == 1
    assert IncidentLink.objects.get().incident == Incident.objects.get()
    incident = Incident.objects.get()
    assert incident.timeline.filter(kind="pagerduty").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_importing_at_once_open_one_incident(
    linked: Rotation, fake: FakePagerDuty
) -> None:
    fake.add_incident(
        "PINC001", "Checkout down", SERVICE, NOW - HOUR, acknowledged_at=NOW - HOUR / 2,
        resolved_at=NOW - HOUR / 4,
    )  # fmt: skip
    failures = at_once([lambda: run(linked, fake), lambda: run(linked, fake)])
    assert failures == []
    assert Incident.objects.count() == 1
    assert IncidentLink.objects.count() == 1
    texts = list(Incident.objects.get().timeline.filter(kind="pagerduty").values_list("text"))
    assert len(texts) == 2  # acknowledged once, resolved once


def test_a_high_urgency_incident_opens_a_portal_incident(
    linked: Rotation, fake: FakePagerDuty
) -> None:
    fake.add_incident("PINC001", "Checkout down", SERVICE, NOW - HOUR, priority="P1")
    run(linked, fake)
    incident = Incident.objects.get()
    assert incident.title == "Checkout down"
    assert incident.severity == Severity.SEV1
    assert incident.status == Status.INVESTIGATING
    assert incident.started_at == NOW - HOUR
    assert incident.rotation == linked
    assert incident.pagerduty_url == "https://demo.pagerduty.com/incidents/PINC001"
    assert incident.opened_by is None


def test_without_a_priority_high_urgency_is_sev2(linked: Rotation, fake: FakePagerDuty) -> None:
    fake.add_incident("PINC001", "Checkout slow", SERVICE, NOW - HOUR)
    run(linked, fake)
    assert Incident.objects.get().severity == Severity.SEV2


def test_a_low_urgency_incident_opens_nothing(linked: Rotation, fake: FakePagerDuty) -> None:
    fake.add_incident("PINC001", "Cert expires in 20 days", SERVICE, NOW - HOUR, urgency="low")
    state = run(linked, fake)
    assert Incident.objects.count() == 0
    assert IncidentLink.objects.count() == 0
    assert state.found["read"] == 1


def test_a_low_urgency_incident_joins_the_portal_incident_naming_it(
    linked: Rotation, fake: FakePagerDuty
) -> None:
    fake.add_incident(
        "PINC001",
        "Queue backlog",
        SERVICE,
        NOW - HOUR,
        urgency="low",
        acknowledged_at=NOW - HOUR / 2,
    )
    named = Incident.objects.create(
        title="Backlog",
        severity=Severity.SEV3,
        started_at=NOW - 2 * HOUR,
        pagerduty_url="https://demo.pagerduty.com/incidents/PINC001",
    )
    run(linked, fake)
    assert Incident.objects.count() == 1
    assert IncidentLink.objects.get().incident == named
    named.refresh_from_db()
    assert named.acknowledged_at == NOW - HOUR / 2


def test_acknowledged_and_resolved_times_come_from_the_first_log_entries(
    linked: Rotation, fake: FakePagerDuty
) -> None:
    incident = fake.add_incident(
        "PINC001", "Checkout down", SERVICE, NOW - HOUR, acknowledged_at=NOW - HOUR / 2,
        resolved_at=NOW - HOUR / 4,
    )  # fmt: skip
    incident["acknowledgements"] = []  # PagerDuty clears them on resolving
    # Acknowledged again later (after an unacknowledge): the first one counts.
    again = dict(fake.log_entries["PINC001"][1], id="QAGAIN", created_at="2026-12-02T16:50:00Z")
    fake.log_entries["PINC001"].insert(0, again)
    run(linked, fake)
    portal = Incident.objects.get()
    assert portal.acknowledged_at == NOW - HOUR / 2
    assert portal.resolved_at == NOW - HOUR / 4
    assert portal.status == Status.RESOLVED
    texts = [entry.text for entry in portal.timeline.filter(kind="pagerduty")]
    assert texts == [
        "Acknowledged in PagerDuty at {t:2026-12-02T16:30:00Z}.",
        "Resolved in PagerDuty at {t:2026-12-02T16:45:00Z}.",
    ]


def test_a_later_acknowledgement_is_written_once_and_keeps_a_time_people_set(
    linked: Rotation, fake: FakePagerDuty
) -> None:
    fake.add_incident("PINC001", "Checkout down", SERVICE, NOW - HOUR)
    run(linked, fake)
    portal = Incident.objects.get()
    portal.acknowledged_at = NOW - 50 * timedelta(minutes=1)
    portal.save()
    fake.add_incident("PINC001", "Checkout down", SERVICE, NOW - HOUR, acknowledged_at=NOW)
    run(linked, fake, NOW + timedelta(minutes=5))
    run(linked, fake, NOW + timedelta(minutes=10))
    portal.refresh_from_db()
    assert portal.acknowledged_at == NOW - 50 * timedelta(minutes=1)
    assert IncidentLink.objects.get().acknowledged_at == NOW
    assert portal.timeline.filter(kind="pagerduty").count() == 1


def test_a_failed_read_keeps_the_watermark_and_says_what_failed(
    linked: Rotation, fake: FakePagerDuty
) -> None:
    fake.add_incident("PINC001", "Checkout down", SERVICE, NOW - HOUR)
    first = run(linked, fake)
    assert first.read_until == NOW
    for n in range(150):
        fake.add_incident(f"PNEW{n:03d}", "Flapping", SERVICE, NOW + timedelta(seconds=n + 1))
    fake.fail_at(3, 500)  # page 2 of the incidents, on each of the four attempts
    fake.fail_at(4, 500)
    fake.fail_at(5, 500)
    fake.fail_at(6, 500)
    later = NOW + timedelta(minutes=5)
    failed = run(linked, fake, later)
    assert failed.read_until == NOW
    assert failed.imported_at == NOW
    assert failed.attempted_at == later
    assert "answered 500" in failed.error
    assert Incident.objects.count() == 1  # page 1 was read, but nothing written
    assert run(linked, fake, later + timedelta(minutes=5)).error == ""
    assert Incident.objects.count() == 151


def test_an_unchanged_import_costs_the_same_queries_for_3_or_60_incidents(
    linked: Rotation, fake: FakePagerDuty
) -> None:
    def queries_of_second_import(count: int, service: str, start: datetime) -> int:
        fake.escalation_policies[POLICY]["services"] = [{"id": service, "type": "service"}]
        for n in range(count):
            fake.add_incident(
                f"P{service}{n:03d}", "Slow", service, start + timedelta(seconds=n),
                acknowledged_at=start + timedelta(minutes=2),
            )  # fmt: skip
        run(linked, fake, start + HOUR)
        with CaptureQueriesContext(connection) as queries:
            run(linked, fake, start + HOUR + timedelta(minutes=5))
        return len(queries)

    few = queries_of_second_import(3, "PSVCFEW", NOW - 30 * HOUR)
    many = queries_of_second_import(60, "PSVCMANY", NOW - 20 * HOUR)
    assert few == many <= 8


def test_a_first_import_costs_a_bounded_number_of_queries_per_incident(
    linked: Rotation, fake: FakePagerDuty
) -> None:
    for n in range(20):
        fake.add_incident(f"PINC{n:03d}", "Slow", SERVICE, NOW - timedelta(minutes=n + 5))
    with CaptureQueriesContext(connection) as queries:
        run(linked, fake)
    assert Incident.objects.count() == 20
    # Opening an incident (incidents.actions.open_incident) reads who is on call now and at its
    # start, and writes its row, timeline and audit entry: about 22 queries, the same for each.
    assert len(queries) <= 10 + 20 * 23


def test_the_job_imports_each_linked_rotation_and_says_what_it_did(
    linked: Rotation, fake: FakePagerDuty
) -> None:
    fake.add_incident("PINC001", "Checkout down", SERVICE, NOW - HOUR)
    assert import_incidents(NOW, client=fake_client(fake)) == (
        "Platform: 1 read, 1 opened, 1 linked"
    )
    fake.fail_next(401)
    summary = import_incidents(NOW + HOUR, client=fake_client(fake))
    assert summary.startswith("Platform: failed: PagerDuty GET api.pagerduty.com/escalation_")


def test_the_job_is_off_without_a_token(settings: Any) -> None:
    settings.PAGERDUTY_API_TOKEN = ""
    assert import_incidents(NOW) == "PagerDuty incidents are off: PAGERDUTY_API_TOKEN is not set"


def test_the_window_follows_unresolved_incidents_but_not_for_ever() -> None:
    assert window_start(None, None, NOW) == NOW - timedelta(days=30)
    assert window_start(NOW - HOUR, None, NOW) == NOW - HOUR - OVERLAP
    assert window_start(NOW - HOUR, NOW - 5 * HOUR, NOW) == NOW - 5 * HOUR
    assert window_start(NOW - HOUR, NOW - timedelta(days=400), NOW) == NOW - FOLLOW_FOR


def test_a_reading_takes_the_first_of_each_kind_of_log_entry() -> None:
    reading = reading_of(
        {
            "id": "P1",
            "html_url": "https://x.pagerduty.com/incidents/P1",
            "title": "T",
            "urgency": "high",
            "status": "resolved",
            "created_at": "2026-12-02T10:00:00Z",
            "priority": {"summary": "P3"},
            "resolved_at": "2026-12-02T12:00:00Z",
            "acknowledgements": [],
        }
    )
    assert reading.severity == Severity.SEV3
    entries = [
        {"type": "resolve_log_entry", "created_at": "2026-12-02T11:00:00Z"},
        {"type": "acknowledge_log_entry", "created_at": "2026-12-02T10:30:00Z"},
        {"type": "acknowledge_log_entry", "created_at": "2026-12-02T10:10:00Z"},
    ]
    read = with_log_entries(reading, entries)
    assert read.acknowledged_at == datetime.fromisoformat("2026-12-02T10:10:00+00:00")
    assert read.resolved_at == datetime.fromisoformat("2026-12-02T11:00:00+00:00")


def test_the_first_escalation_and_who_acknowledged_come_from_the_log_entries(
    linked: Rotation, fake: FakePagerDuty
) -> None:
    fake.add_incident(
        "PINC001", "Checkout down", SERVICE, NOW - HOUR, acknowledged_at=NOW - HOUR + 7 * MINUTE,
        acknowledged_by="PALICE1",
    )  # fmt: skip
    fake.add_incident(
        "PINC002", "Disk full", SERVICE, NOW - HOUR, acknowledged_at=NOW - HOUR + 2 * MINUTE,
        acknowledged_by="PALICE1",
    )  # fmt: skip
    # Escalated by hand as well, later: the first escalation counts.
    again = dict(fake.log_entries["PINC001"][1], id="QAGAIN", created_at="2026-12-02T16:20:00Z")
    assert again["type"] == "escalate_log_entry" and again["channel"] == {"type": "timeout"}
    fake.log_entries["PINC001"].insert(0, again)
    run(linked, fake)
    late, prompt = (
        IncidentLink.objects.get(pagerduty_id="PINC001"),
        IncidentLink.objects.get(pagerduty_id="PINC002"),
    )
    assert late.escalated_at == NOW - HOUR + 5 * MINUTE  # the policy's 5-minute delay ran out
    assert late.acknowledged_by_pd_user == "PALICE1"
    assert prompt.escalated_at is None and prompt.acknowledged_by_pd_user == "PALICE1"


def test_a_page_still_unanswered_escalates_once_its_delay_has_passed(
    linked: Rotation, fake: FakePagerDuty
) -> None:
    fake.add_incident("PINC001", "Checkout down", SERVICE, NOW - 3 * MINUTE, now=NOW)
    fake.add_incident("PINC002", "Disk full", SERVICE, NOW - 9 * MINUTE, now=NOW)
    kinds = {i: [e["type"] for e in fake.log_entries[i]] for i in ("PINC001", "PINC002")}
    assert kinds == {
        "PINC001": ["trigger_log_entry"],
        "PINC002": ["escalate_log_entry", "trigger_log_entry"],
    }


def test_the_demo_fakes_incidents_open_three_portal_incidents(
    linked: Rotation, settings: Any
) -> None:
    settings.PAGERDUTY_API_TOKEN = ""
    demo = demo_fake()
    assert len(demo.escalation_policies[POLICY]["services"]) == 2
    with fake_client(demo, "fake-token") as client:
        state = import_rotation_incidents(linked, client, now=NOW)
    assert state.found["read"] == 4
    assert set(Incident.objects.values_list("services", flat=True)) == {
        "platform-api",
        "platform-web",
    }
    opened = dict(Incident.objects.values_list("title", "status"))
    assert opened == {
        "API 5xx rate above 2%": Status.INVESTIGATING,
        "Checkout latency p99 over 3 s": Status.RESOLVED,
        "Payments queue backlog": Status.INVESTIGATING,
    }


def test_a_resolved_incident_never_acknowledged_has_its_log_read_once(
    linked: Rotation, fake: FakePagerDuty
) -> None:
    fake.add_incident("POLD001", "Still open", SERVICE, NOW - 5 * HOUR)  # keeps the window wide
    fake.add_incident("PAUTO01", "Flapped", SERVICE, NOW - HOUR, resolved_at=NOW - HOUR / 2)
    for minutes in (0, 5, 10):
        run(linked, fake, NOW + timedelta(minutes=minutes))
    logs = [r.url.path for r in fake.requests if r.url.path.endswith("/log_entries")]
    # The open one's log is read once too, for its escalation, then no more.
    assert logs == ["/incidents/POLD001/log_entries", "/incidents/PAUTO01/log_entries"]
    assert IncidentLink.objects.get(pagerduty_id="PAUTO01").resolved_at == NOW - HOUR / 2


def test_the_sync_page_shows_the_last_import_and_what_failed_since(
    linked: Rotation, fake: FakePagerDuty, client: Client
) -> None:
    fake.add_incident("PINC001", "Checkout down", SERVICE, NOW - HOUR)
    run(linked, fake)
    login(client, "alice")
    page = client.get(reverse("pagerduty:sync")).content.decode()
    assert "Incidents read" in page and "1 in the window, 1 opened here" in page
    assert "Last read failed" not in page
    fake.fail_next(401)
    run(linked, fake, NOW + timedelta(minutes=5))
    page = client.get(reverse("pagerduty:sync")).content.decode()
    assert "Last read failed" in page
    assert "answered 401: Authentication failed (code 2006)" in page

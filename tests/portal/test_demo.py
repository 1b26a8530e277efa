"""The demo opens with a few weeks of real-looking history, and loading it twice changes nothing."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from handoff.models import HandoffReport, Holiday, Release, TriageDay
from incidents.models import CustomerUpdate, HeadsUp, Incident, Postmortem, PostmortemStatus
from portal.demo_history import WORRIES
from portal.models import AuditEntry

pytestmark = pytest.mark.django_db


def seed() -> None:
    call_command("seed_demo", stdout=StringIO())


def test_the_demo_has_incidents_with_customer_updates_and_a_published_postmortem() -> None:
    seed()
    assert Incident.objects.filter(status="resolved").count() == 2
    assert CustomerUpdate.objects.filter(sent_at__isnull=False).count() == 3
    statuses = set(Postmortem.objects.values_list("status", flat=True))
    assert statuses == {PostmortemStatus.PUBLISHED, PostmortemStatus.DRAFT}
    assert HeadsUp.objects.filter(customer_facing=True).count() == 1


def test_loading_the_demo_twice_writes_its_history_once() -> None:
    seed()
    counts = (Incident.objects.count(), HeadsUp.objects.count(), AuditEntry.objects.count())
    seed()
    assert (Incident.objects.count(), HeadsUp.objects.count(), AuditEntry.objects.count()) == counts


def test_the_incident_pages_open_on_the_demo_history(client: Client) -> None:
    seed()
    client.force_login(User.objects.get(username="alice@example.com"))
    listing = client.get("/incidents/").content.decode()
    assert "Checkout latency over 2 seconds" in listing
    assert "Search indexer stalled" in listing
    dashboard = client.get("/").content.decode()
    assert "PostgreSQL 16 upgrade of the orders cluster" in dashboard


def test_every_past_week_has_its_release_triage_and_an_acknowledged_handoff_report() -> None:
    seed()
    reports = HandoffReport.objects.all()
    assert reports.count() == 3  # the demo rotation began three weeks ago
    assert all(r.acknowledged_at and r.worries for r in reports)
    releases = list(Release.objects.order_by("week_start"))
    assert len(releases) == 4  # three past weeks and this one
    assert all(not r.steps.filter(done_at__isnull=True).exists() for r in releases[:-1])
    assert releases[-1].steps.filter(done_at__isnull=False).count() == 2  # under way
    assert TriageDay.objects.exists()
    assert Holiday.objects.filter(name="Thanksgiving").exists()


def test_the_week_pages_open_on_the_demo_record(client: Client) -> None:
    seed()
    client.force_login(User.objects.get(username="alice@example.com"))
    handoffs = client.get("/rotations/platform/handoffs/").content.decode()
    assert handoffs.count('<td data-label="Acknowledged"><time') == 3
    assert "pending" not in handoffs
    # The last completed week holds the out-of-hours SEV2 and its handoff notes.
    summary = client.get("/rotations/platform/summary/", follow=True).content.decode()
    assert "Search indexer stalled" in summary
    assert WORRIES[2] in summary  # the third week's report
    assert "Quiet." in client.get("/rotations/platform/triage/").content.decode()

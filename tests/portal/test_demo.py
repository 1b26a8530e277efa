"""The demo opens with a few weeks of real-looking history, and loading it twice changes nothing."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from incidents.models import CustomerUpdate, HeadsUp, Incident, Postmortem, PostmortemStatus
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

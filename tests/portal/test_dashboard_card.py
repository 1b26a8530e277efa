"""The dashboard's rotation card says how escalation works and what time it is for each
person on call, in their own zone."""

from __future__ import annotations

from django.test import Client

from rotation.models import Engineer, Rotation
from tests.conftest import login


def test_the_card_says_pagerduty_pages_the_secondary_after_5_minutes(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    login(client, "bob")
    page = client.get("/").content.decode()
    assert "PagerDuty pages the secondary after 5 minutes" in page


def test_the_card_shows_each_on_call_persons_local_time_now(
    client: Client, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    # Now is Wednesday 2 December, 17:00 UTC; alice is primary, erin secondary.
    Engineer.objects.filter(pk=cast["alice"].pk).update(time_zone="Europe/Berlin")
    Engineer.objects.filter(pk=cast["erin"].pk).update(time_zone="Asia/Kolkata")
    login(client, "bob")
    page = client.get("/").content.decode()
    assert 'data-zone="Europe/Berlin"' in page and ">Wed 18:00</time> (Europe/Berlin)" in page
    assert 'data-zone="Asia/Kolkata"' in page and ">Wed 22:30</time> (Asia/Kolkata)" in page

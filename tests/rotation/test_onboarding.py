"""A newcomer's onboarding checklist: on /me/ for them and their shadow week's primary, who
both tick it; nobody else may."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from rotation.models import Engineer, OnboardingStep, Rotation
from rotation.roster_edit import roster_version, save_roster_edit
from tests.conftest import NOW, login, make_engineer

pytestmark = pytest.mark.django_db

ORDER = ["dave@example.com", "alice@example.com", "erin@example.com", "bob@example.com"]


@pytest.fixture
def sam(platform: Rotation) -> Engineer:
    sam = make_engineer("sam")
    # Sam shadows the week from Tue 8 Dec, whose primary is Erin (this week's secondary).
    save_roster_edit(
        platform,
        [*ORDER, sam.email],
        None,
        version=roster_version(platform),
        by=None,
        now=NOW,
    )
    assert platform.shadows.filter(engineer=sam, week_of=date(2026, 12, 8)).exists()
    return sam


def test_the_newcomer_sees_their_checklist_and_ticks_it(client: Client, sam: Engineer) -> None:
    login(client, "sam")
    page = client.get("/me/").content.decode()
    assert "Your onboarding for Platform" in page
    assert "Read the on-call guide runbook" in page
    assert "beside Erin" in page
    step = OnboardingStep.objects.filter(engineer=sam).first()
    assert step is not None
    assert client.post(f"/onboarding/{step.pk}/tick/", {"done": "1"}).status_code == 302
    step.refresh_from_db()
    assert step.done_at is not None


def test_the_shadow_weeks_primary_sees_it_and_may_tick(client: Client, sam: Engineer) -> None:
    login(client, "erin")
    assert "Sam's onboarding (Platform)" in client.get("/me/").content.decode()
    step = OnboardingStep.objects.filter(engineer=sam, step="handoff").get()
    assert client.post(f"/onboarding/{step.pk}/tick/", {"done": "1"}).status_code == 302
    step.refresh_from_db()
    assert step.done_by is not None and step.done_by.username == "erin@example.com"


def test_anyone_else_may_not_tick(client: Client, sam: Engineer) -> None:
    login(client, "alice")
    assert "Sam's onboarding" not in client.get("/me/").content.decode()
    step = OnboardingStep.objects.filter(engineer=sam).first()
    assert step is not None
    assert client.post(f"/onboarding/{step.pk}/tick/", {"done": "1"}).status_code == 403
    step.refresh_from_db()
    assert step.done_at is None

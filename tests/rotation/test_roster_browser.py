"""In Chromium: a manager adds a newcomer on the roster page and sees the preview (who gains
and loses which weeks, the newcomer's shadow week) before saving; reordering from the keyboard
works in place and asks for a new preview."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from portal.actions import ensure_managers_group
from rotation import onboarding
from rotation.models import Engineer, OnboardingStep, ShadowBooking
from rotation.roster_edit import roster_version, save_roster_edit
from tests.conftest import make_engineer
from tests.portal.test_browser import DESKTOP, PHONE, log_in, screenshot, team_three_weeks_in


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] if page.viewport_size else True, width


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_manager_adds_a_newcomer_and_sees_the_preview_before_saving(
    live_server: LiveServer, page: Page
) -> None:
    rotation, _ = team_three_weeks_in()
    carol = make_engineer("carol", staff=True)
    assert carol.user is not None
    carol.user.groups.add(ensure_managers_group())
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, "carol@example.com")
    page.goto(f"{live_server.url}/rotations/platform/")
    page.get_by_role("link", name="Change the roster").click()
    expect(page.get_by_role("heading", name="Platform roster")).to_be_visible()

    page.get_by_label("Name", exact=True).fill("Sam Newman")
    page.get_by_label("Email", exact=True).fill("sam@example.com")
    page.get_by_label("Create their login").check()
    page.get_by_role("button", name="Add the new engineer").click()

    preview = page.locator("#preview")
    expect(preview).to_contain_text("Sam Newman shadows the week from")
    expect(preview.locator("table.changes")).to_contain_text("Gains")
    expect(page.locator("#roster-list")).to_contain_text("Sam Newman")
    assert not Engineer.objects.filter(email="sam@example.com").exists()  # nothing saved yet
    screenshot(page, "roster-preview-desktop")
    no_sideways_scroll(page)
    page.set_viewport_size(PHONE)
    screenshot(page, "roster-preview-phone")
    no_sideways_scroll(page)
    page.set_viewport_size(DESKTOP)

    page.get_by_role("button", name="Save this order").click()
    expect(page.locator(".messages")).to_contain_text("The roster was saved")
    sam = Engineer.objects.get(email="sam@example.com")
    assert ShadowBooking.objects.filter(engineer=sam, rotation=rotation).exists()
    assert OnboardingStep.objects.filter(engineer=sam).count() == 4
    expect(page.locator("#roster-list")).to_contain_text("Sam Newman")

    # From the keyboard: Alice one place down, in place, announced; Save waits for a preview.
    page.get_by_role("button", name="Move down Alice").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#roster-announce")).to_contain_text("Alice moved to place 2")
    expect(page.get_by_role("button", name="Save this order")).to_be_disabled()
    expect(page.locator("#stale-note")).to_be_visible()
    names = page.locator("#roster-list li").evaluate_all(
        "rows => rows.map(row => row.dataset.name)"
    )
    assert names.index("Alice") == 1
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("button", name="Save this order")).to_be_enabled()
    page.get_by_role("button", name="Save this order").click()
    expect(page.locator(".messages")).to_contain_text("The roster was saved")
    order = list(rotation.memberships.order_by("position").values_list("engineer__name", flat=True))
    assert order.index("Alice") == 1
    screenshot(page, "roster-saved-desktop")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_shadow_weeks_primary_ticks_the_newcomers_checklist_on_me(
    live_server: LiveServer, page: Page
) -> None:
    rotation, people = team_three_weeks_in()
    sam = make_engineer("sam")
    save_roster_edit(
        rotation,
        [*rotation.memberships.values_list("engineer__email", flat=True), sam.email],
        None,
        version=roster_version(rotation),
        by=None,
        now=timezone.now(),
    )
    checklist = onboarding.checklist(rotation, sam)
    primary = people[checklist.primary.split("@")[0]] if checklist.primary else None
    assert primary is not None
    page.set_viewport_size(PHONE)
    log_in(page, live_server, primary.email)
    page.goto(f"{live_server.url}/me/")
    card = page.locator("section.onboarding")
    expect(card).to_contain_text("Sam's onboarding (Platform)")
    card.get_by_role("button", name=re.compile("Attend a handoff")).click()
    expect(page.locator("section.onboarding")).to_contain_text("1 of 4 done")
    no_sideways_scroll(page)
    screenshot(page, "onboarding-phone")

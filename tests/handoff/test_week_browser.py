"""End to end in Chromium, from the keyboard: this week's primary ticks a release step and a
triage day with a note, and the dashboard's week panel shows both; the pages fit a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.incidents.test_heads_up_browser import WIDE, no_sideways_scroll
from tests.portal.test_browser import PHONE, log_in, screenshot, team_three_weeks_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_primary_ticks_a_step_and_a_triage_day_from_the_keyboard(
    live_server: LiveServer, page: Page
) -> None:
    team_three_weeks_in()
    page.set_viewport_size(WIDE)
    log_in(page, live_server, "erin@example.com")
    page.goto(f"{live_server.url}/rotations/platform/")
    page.get_by_role("link", name="Release checklist").click()
    expect(page.locator("#steps-heading")).to_have_text("0 of 5 steps done")
    step = page.locator(".release-checklist li").filter(has_text="Deploy to staging")
    step.get_by_role("button").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#steps-heading")).to_have_text("1 of 5 steps done")
    expect(page.locator(".release-checklist li.done")).to_contain_text("Deploy to staging")
    expect(page.locator(".release-checklist li.done")).to_contain_text("Erin")
    page.set_viewport_size(PHONE)
    no_sideways_scroll(page)
    screenshot(page, "release-phone")

    page.get_by_role("link", name="Triage", exact=True).click()
    note = page.locator(".triage-tick input[name=note]").first
    note.focus()
    page.keyboard.type("Two disk alerts, both known.")
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("is triaged.")
    expect(page.locator(".triage-week")).to_contain_text("Two disk alerts, both known.")
    no_sideways_scroll(page)
    screenshot(page, "triage-phone")

    page.set_viewport_size(WIDE)
    page.goto(f"{live_server.url}/")
    expect(page.locator(".week-panel")).to_contain_text("release 1 of 5 steps done")

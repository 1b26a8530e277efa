"""End to end in Chromium: Erin, primary this week, completes her handoff report from the
schedule; Alice, primary next, sees it to acknowledge on her dashboard and acknowledges it;
then neither dashboard shows it pending. The pages fit a phone without sideways scrolling."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.incidents.test_heads_up_browser import WIDE, no_sideways_scroll
from tests.portal.test_browser import PHONE, log_in, screenshot, team_three_weeks_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def switch_to(page: Page, live_server: LiveServer, email: str) -> None:
    page.context.clear_cookies()
    log_in(page, live_server, email)


def test_outgoing_completes_the_report_and_incoming_acknowledges_it(
    live_server: LiveServer, page: Page
) -> None:
    team_three_weeks_in()
    page.set_viewport_size(WIDE)
    log_in(page, live_server, "erin@example.com")
    page.goto(f"{live_server.url}/rotations/platform/")
    page.locator("tr[aria-current=date]").get_by_role("link", name="Handoff report").click()
    expect(page.locator("h1")).to_contain_text("Platform handoff")
    expect(page.locator(".lede")).to_contain_text("Erin hands over to Alice")
    page.get_by_label("What I am worried about").fill("The disk on db-2 fills by Friday.")
    page.get_by_role("button", name="Submit report").click()
    expect(page.locator(".messages")).to_contain_text("Submitted: Alice is told to read it.")
    expect(page.locator(".handoff-state")).to_contain_text("waiting for Alice")
    screenshot(page, "handoff-report")
    page.set_viewport_size(PHONE)
    no_sideways_scroll(page)
    screenshot(page, "handoff-report-phone")
    page.set_viewport_size(WIDE)
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator(".handoff-panel")).to_contain_text("waits for Alice to acknowledge it")

    switch_to(page, live_server, "alice@example.com")
    panel = page.locator(".handoff-panel")
    expect(panel).to_contain_text("Acknowledge Erin's Platform handoff report")
    panel.get_by_role("link", name="Erin's Platform handoff report").click()
    expect(page.locator(".prewrap")).to_have_text("The disk on db-2 fills by Friday.")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".messages")).to_contain_text("Acknowledged")
    expect(page.locator(".handoff-state")).to_contain_text("acknowledged by Alice")
    page.get_by_role("link", name="All handoff reports").click()
    expect(page.locator("table.weeks tbody tr")).to_have_count(1)
    screenshot(page, "handoff-list")
    page.set_viewport_size(PHONE)
    no_sideways_scroll(page)
    screenshot(page, "handoff-list-phone")
    page.set_viewport_size(WIDE)

    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator(".handoff-mine")).to_have_count(0)
    expect(page.locator(".handoff-panel")).to_contain_text("Erin → Alice, acknowledged")
    switch_to(page, live_server, "erin@example.com")
    expect(page.locator(".handoff-mine")).to_have_count(0)
    expect(page.locator(".handoff-panel")).to_contain_text("acknowledged")

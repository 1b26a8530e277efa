"""End to end in Chromium: a responder opens an incident, posts two customer updates, resolves
it, and the primary writes and publishes the post-mortem with an action item."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.portal.test_browser import DESKTOP, log_in, screenshot, team_three_weeks_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_open_update_resolve_and_publish_the_postmortem(
    live_server: LiveServer, page: Page
) -> None:
    team_three_weeks_in()
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, "alice@example.com")  # this week's secondary

    page.get_by_role("link", name="Incidents").first.click()
    page.get_by_role("link", name="Open an incident").click()
    page.get_by_label("Title").fill("Checkout returns 500s")
    page.get_by_label("SEV2: Major").check()
    page.get_by_label("Affected services").fill("checkout")
    page.get_by_label("Customers affected").check()
    screenshot(page, "incident-new")
    page.get_by_role("button", name="Open the incident").click()
    expect(page.locator(".messages")).to_contain_text("opened")
    expect(page.locator(".facts")).to_contain_text("Erin (primary), Alice (secondary)")
    expect(page.locator(".facts")).to_contain_text("Commander")

    for text in ["We are looking into failed checkouts.", "A fix is rolling out."]:
        page.get_by_role("button", name="Draft a").click()
        page.locator(".draft textarea").fill(text)
        page.get_by_role("button", name="Mark as sent").click()
        expect(page.locator(".status-history")).to_contain_text(text)
    expect(page.locator(".status-history li")).to_have_count(2)

    page.get_by_text("Change status, severity, commander or times").click()
    page.locator(".change select[name=status]").select_option("resolved")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".status.resolved")).to_have_text("Resolved")
    expect(page.locator(".timeline")).to_contain_text("Status: Investigating → Resolved.")
    expect(page.locator(".timeline")).to_contain_text("Post-mortem owed by Erin")
    screenshot(page, "incident-detail")

    # Erin was primary when it started: she writes and publishes the post-mortem.
    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server, "erin@example.com")
    expect(page.locator(".incident-panel")).to_contain_text("yours")
    page.locator(".incident-panel").get_by_role("link", name="Checkout returns 500s").click()
    page.get_by_label("Summary").fill("Checkout failed for **40 minutes** after deploy 512.")
    page.get_by_label("Root causes").fill("- A config flag defaulted to off")
    page.get_by_label("Title").fill("Alert on checkout 5xx rate")
    page.locator(".add-action input[name=due_on]").fill("2030-01-15")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".actions-list")).to_contain_text("Alert on checkout 5xx rate \u2013 Erin")
    page.get_by_label("Summary").fill("Checkout failed for **40 minutes** after deploy 512.")
    page.get_by_label("Status").select_option("published")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".page-head .status")).to_have_text("Published")
    expect(page.locator(".rendered")).to_contain_text("Checkout failed for 40 minutes")
    expect(page.locator(".rendered strong")).to_have_text("40 minutes")
    screenshot(page, "postmortem")
    page.goto(f"{live_server.url}/incidents/metrics/")
    expect(page.locator("svg")).to_have_count(2)
    screenshot(page, "incident-metrics")

"""End to end in Chromium: Alice records time off on /me/, sees it collide with her primary
week, and proposes a swap in one click; the dashboard and the rotation page say so too.

Built with the real clock (see tests/portal/test_browser.py): this week Erin is primary and
Alice secondary, so Alice's next stint begins four weeks on, her primary week five weeks on.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from portal.models import Notice
from rotation.models import Swap, SwapStatus
from tests.portal.test_browser import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    log_in,
    screenshot,
    team_three_weeks_in,
)


def fits_the_width(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_alice_records_time_off_sees_the_collision_and_proposes_a_swap(
    live_server: LiveServer, page: Page
) -> None:
    rotation, people = team_three_weeks_in()
    this_week = rotation.starts_on + timedelta(weeks=3)
    primary_week = this_week + timedelta(weeks=5)
    first, last = primary_week + timedelta(days=1), primary_week + timedelta(days=3)

    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, "alice@example.com")
    page.goto(f"{live_server.url}/me/")
    section = page.locator("#time-off")
    expect(section.get_by_role("heading", name="Time off", exact=True)).to_be_visible()

    # A backwards range is refused beside the field, and what was typed stays.
    section.get_by_label("First day off").fill(last.isoformat())
    section.get_by_label("Last day off").fill(first.isoformat())
    section.get_by_label("Note").fill("family visit")
    section.get_by_role("button", name="Record time off").click()
    expect(section.locator(".field-ends_on .error")).to_have_text(
        "The last day off is before the first."
    )
    expect(section.get_by_label("Note")).to_have_value("family visit")
    screenshot(page, "time-off-refused-desktop")

    section.get_by_label("First day off").fill(first.isoformat())
    section.get_by_label("Last day off").fill(last.isoformat())
    section.get_by_role("button", name="Record time off").click()
    expect(page.locator(".messages")).to_contain_text("Time off recorded")
    warning = section.locator(".collision")
    expect(warning).to_contain_text(f"You are primary {primary_week:%a %-d %b}")
    expect(warning).to_contain_text("during your time off (family visit)")
    buttons = warning.get_by_role("button", name="Propose swap with")
    expect(buttons.first).to_be_visible()
    screenshot(page, "time-off-me-desktop")
    page.set_viewport_size(PHONE)
    assert fits_the_width(page)
    screenshot(page, "time-off-me-phone")
    if os.environ.get("SCREENSHOTS"):  # the section alone, legible at phone width
        section.screenshot(path=SCREENSHOTS / "time-off-section-phone.png")
    page.set_viewport_size(DESKTOP)

    page.goto(f"{live_server.url}/")
    expect(page.locator(".time-off-line")).to_contain_text(
        f"Your time off collides with your primary week from {primary_week:%a %-d %b}"
    )
    screenshot(page, "time-off-dashboard-desktop")
    page.goto(f"{live_server.url}/rotations/{rotation.slug}/?week={primary_week.isoformat()}")
    expect(page.locator("td.primary.away").first).to_be_visible()
    expect(page.locator("p.away").first).to_contain_text("collides with your primary week")
    screenshot(page, "time-off-rotation-desktop")
    page.set_viewport_size(PHONE)
    assert fits_the_width(page)
    screenshot(page, "time-off-rotation-phone")
    page.set_viewport_size(DESKTOP)

    page.goto(f"{live_server.url}/me/")
    first_button = (
        page.locator("#time-off .collision").get_by_role("button", name="Propose swap with").first
    )
    label = first_button.inner_text()  # "Propose swap with Dave: you take the stint from ..."
    partner = label.split(":")[0].removeprefix("Propose swap with ").strip()
    first_button.focus()
    page.keyboard.press("Enter")  # reachable from the keyboard
    expect(page.locator(".messages")).to_contain_text(f"Swap proposed to {partner}")
    expect(page.locator("#time-off .pending")).to_contain_text(
        f"You proposed this swap to {partner}"
    )
    screenshot(page, "time-off-proposed-desktop")
    if os.environ.get("SCREENSHOTS"):
        page.locator("#time-off").screenshot(path=SCREENSHOTS / "time-off-section-proposed.png")

    swap = Swap.objects.get()
    assert swap.proposer == people["alice"]
    assert swap.partner.name == partner
    assert swap.status == SwapStatus.PROPOSED
    assert Notice.objects.filter(to=swap.partner.email, key=f"swap-proposed:{swap.id}").exists()

"""End to end in Chromium: an engineer edits a runbook with the live preview, saves it, finds
it by search and opens its history."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from runbooks.actions import save_page
from runbooks.models import BODY_MAX_LENGTH
from tests.conftest import make_engineer, restore_stamps
from tests.portal.test_browser import DESKTOP, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_edit_with_preview_save_search_and_read_the_history(
    live_server: LiveServer, page: Page
) -> None:
    restore_stamps()
    make_engineer("erin")
    save_page(
        None,
        {"title": "Database failover", "body": "Promote the replica."},
        base_revision=0,
        by=None,
    )
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, "erin@example.com")

    page.get_by_role("link", name="Runbooks").click()
    page.get_by_role("link", name="Database failover").click()
    page.get_by_role("link", name="Edit").click()
    body = page.get_by_label("Text (Markdown")
    body.fill(
        "Promote the replica when the primary stops answering.\n\n"
        "## Steps\n\n1. Check **replica lag**\n2. Run `db promote`\n\n"
        "See [[Checkout 5xx]] for the symptoms.\n\n<script>alert(1)</script>"
    )
    preview = page.locator("#preview")
    expect(preview.locator("h2")).to_have_text("Steps")
    expect(preview.locator("strong")).to_have_text("replica lag")
    expect(preview.locator("a.missing-page")).to_have_text("Checkout 5xx")
    expect(preview.locator("script")).to_have_count(0)
    screenshot(page, "runbook-edit")
    page.get_by_label("What changed").fill("Steps for the failover")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Saved revision 2")
    expect(page.locator("article.markdown h2")).to_have_text("Steps")
    expect(page.locator("nav.toc")).to_have_count(0)  # one heading: no contents list
    screenshot(page, "runbook-page")

    page.get_by_role("link", name="Runbooks").click()
    page.get_by_label("Search runbooks").fill("replica lag")
    page.get_by_role("button", name="Search").click()
    hit = page.locator(".hits li").first
    expect(hit).to_contain_text("Database failover")
    expect(hit.locator("mark").first).to_be_visible()
    screenshot(page, "runbook-search")

    hit.get_by_role("link", name="Database failover").click()
    page.get_by_role("link", name="History").click()
    expect(page.locator("table.revisions tbody tr")).to_have_count(2)
    expect(page.locator("pre.diff .removed")).to_contain_text("Promote the replica.")
    expect(page.locator("pre.diff .added").first).to_contain_text("when the primary stops")
    screenshot(page, "runbook-history")


def test_the_preview_says_when_a_text_is_too_long_and_goes_on_previewing(
    live_server: LiveServer, page: Page
) -> None:
    restore_stamps()
    make_engineer("erin")
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, "erin@example.com")
    page.goto(f"{live_server.url}/runbooks/new/")
    body = page.get_by_label("Text (Markdown")
    preview = page.locator("#preview")
    body.fill("x" * (BODY_MAX_LENGTH + 1))  # the preview answers 413 with the reason
    expect(preview.get_by_role("alert")).to_have_text(
        f"Too long to preview or save: at most {BODY_MAX_LENGTH:,} characters, "
        f"this is {BODY_MAX_LENGTH + 1:,}."
    )
    body.fill("## Steps")
    expect(preview.locator("h2")).to_have_text("Steps")


def test_task_list_boxes_are_named_by_their_task(live_server: LiveServer, page: Page) -> None:
    restore_stamps()
    make_engineer("erin")
    runbook = save_page(
        None,
        {"title": "Handoff", "body": "- [ ] Walk through open incidents\n- [x] Check the sync\n"},
        base_revision=0,
        by=None,
    )
    log_in(page, live_server, "erin@example.com")
    page.goto(f"{live_server.url}{runbook.get_absolute_url()}")
    expect(page.get_by_role("checkbox", name="To do: Walk through open incidents")).to_be_disabled()
    expect(page.get_by_role("checkbox", name="Done: Check the sync")).to_be_checked()

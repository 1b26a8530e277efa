"""Every page, as every role, on a laptop and a phone, light and dark: no serious or critical
axe-core violation, and nothing wider than the screen.

The crawl follows the links each role sees, from the dashboard (and the admin's index for
staff), visiting one page per URL name; pages no link reaches are named in ``extra_pages``, and
the engineer's crawl fails when a page of the portal is reached by neither.
axe-core is Deque's, pinned in ``tests/axe/package-lock.json`` (``make test`` runs ``npm ci``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page
from pytest_django.live_server_helper import LiveServer

from incidents import actions as incident_actions
from incidents.models import Incident
from pagerduty.fake import FakePagerDuty
from pagerduty.sync import sync_policy
from portal.actions import ensure_managers_group, rotate_api_token
from rotation.actions import create_override
from rotation.models import Engineer
from rotation.swaps import propose_swap
from rotation.timeoff import record_time_off
from runbooks.actions import save_page
from runbooks.imports import import_folder
from runbooks.models import Runbook
from tests.conftest import PASSWORD, fake_client, make_engineer, restore_stamps
from tests.portal.test_browser import team_three_weeks_in

AXE = Path(settings.BASE_DIR) / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
DEMO_RUNBOOKS = Path(settings.BASE_DIR) / "runbooks" / "demo"
WIDTHS = (1366, 390)
SCHEMES = ("light", "dark")
FAILING_IMPACTS = {"serious", "critical"}
# Enough for every page there is, with room for the pages later issues add; a crawl that
# reaches this many has found a family of URLs without end (a calendar, a pager).
MOST_PAGES = 120

# With SCREENSHOTS set, the manager's crawl saves these pages at each width and scheme, for
# people to look at (screenshots/ is git-ignored): URL name -> file name.
SCREENSHOTS = Path(settings.BASE_DIR) / "screenshots"
SCREENSHOT_PAGES = {
    "portal:dashboard": "dashboard",
    "rotation:schedule": "schedule",
    "rotation:swap_new": "swap-new",
    "portal:me": "me",
    "incidents:detail": "incident",
    "runbooks:page": "runbook",
    "admin:rotation_rotation_change": "admin-roster",
    "rotation:roster": "roster",
    "handoff:list": "handoff-list",
    "handoff:report": "handoff-report",
    "handoff:release": "release",
    "handoff:triage": "triage",
    "pagerduty:escalation": "escalation",
}

# Pages only a manager may open (an engineer gets 403): the manager's crawl visits them.
MANAGERS_ONLY = {"rotation:roster", "portal:jobs"}

# Pages that are not HTML for people, or that only answer a POST.
NOT_PAGES = {
    "healthz": "JSON for load balancers",
    "favicon": "a redirect to the icon",
    "web_manifest": "JSON for phones",
    "logout": "a POST form in the top bar",
    "api_oncall": "JSON API",
    "api_schedule": "JSON API",
    "api_swaps": "JSON API",
    "api_swap_accept": "JSON API",
    "api_swap_decline": "JSON API",
    "api_swap_cancel": "JSON API",
    "rotation:swap_accept": "POST only",
    "rotation:cover_decide": "POST only (take, accept, decline or cancel a cover)",
    "rotation:swap_decline": "POST only",
    "rotation:swap_cancel": "POST only",
    "api_time_off": "JSON API",
    "api_time_off_item": "JSON API",
    "feeds:feed": "an iCalendar feed",
    "slack:commands": "Slack's slash command endpoint (POST, signed by Slack)",
    "slack:interactions": "Slack's button endpoint (POST, signed by Slack)",
    "feeds:calendars_rotate": "POST only",
    "portal:api_token_rotate": "POST only",
    "portal:api_token_revoke": "POST only",
    "portal:choose_reminders": "POST only (the reminder switches on /me/)",
    "incidents:send_update": "POST only",
    "incidents:action_done": "POST only",
    "incidents:postmortem_markdown": "a Markdown download",
    "summary:markdown": "a Markdown download",
    "runbooks:preview": "an htmx fragment of the editor",
    "runbooks:restore": "POST only",
    "runbooks:reviewed": "POST only",
    "rotation:time_off_add": "POST only (the form on /me/)",
    "rotation:time_off_delete": "POST only",
    "rotation:time_off_propose": "POST only",
    "rotation:onboarding_tick": "POST only",
    "api_roster_preview": "JSON API, POST only",
    "password_reset_confirm": "reached from the emailed link to set a password",
    "password_reset_complete": "reached after setting a password",
    "sso:start": "a redirect to the OpenID provider (404 without OIDC_ISSUER)",
    "sso:callback": "the OpenID provider's return; its refusal pages: tests/sso/test_browser.py",
}


@dataclass
class Visit:
    """What one page did at one width and scheme."""

    url: str
    status: int
    problems: list[str] = field(default_factory=list)


def busy_team() -> dict[str, Any]:
    """A team with something on every page: a rotation three weeks in with an override, open
    and resolved incidents (a SEV3 among them), a post-mortem with action items, runbooks with
    task lists and several revisions, a PagerDuty sync run and an API token."""
    restore_stamps()
    rotation, people = team_three_weeks_in()
    carol = make_engineer("carol", staff=True)
    assert carol.user is not None
    carol.user.groups.add(ensure_managers_group())
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    alice = people["alice"].user
    assert alice is not None
    now = timezone.now()
    start = rotation.calendar.handoff_day_at_or_before(now)
    # Dave holds no role this week or next, so his four hours tomorrow are valid at any hour
    # the crawl runs (Bob, next week's secondary, was not on a Monday morning).
    create_override(
        rotation,
        role="primary",
        engineer=people["dave"],
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=4),
        reason="Erin at the dentist",
        by=carol.user,
    )
    # Alice away in her primary week five weeks on: /me/, the dashboard and the rotation page
    # show the collision (and /me/ the swap proposals).
    record_time_off(
        people["alice"],
        start + timedelta(weeks=5, days=1),
        start + timedelta(weeks=5, days=2),
        "family",
        by=alice,
        now=now,
    )
    import_folder(DEMO_RUNBOOKS)
    failover = Runbook.objects.get(title="Database failover")
    save_page(
        failover,
        {"title": failover.title, "body": failover.body + "\n\n- [x] Replica promoted\n"},
        base_revision=failover.revision,
        message="A checklist",
        by=alice,
    )
    open_one = incident_actions.open_incident(
        {"title": "Search is slow", "severity": "SEV3", "status": "investigating",
         "services": "search", "started_at": now - timedelta(hours=1)},
        by=alice,
    )  # fmt: skip
    incident_actions.draft_update(open_one, by=alice)
    resolved = incident_actions.open_incident(
        {"title": "Checkout returns 500s", "severity": "SEV2", "status": "investigating",
         "services": "checkout", "customer_impact": True,
         "started_at": now - timedelta(days=2)},
        by=alice,
    )  # fmt: skip
    resolved.runbooks.set([failover])
    update = incident_actions.draft_update(resolved, by=alice)
    incident_actions.send_update(update, "We are looking into it.", by=alice)
    incident_actions.update_incident(
        resolved, {"status": "resolved", "resolved_at": now - timedelta(days=1)}, by=alice
    )
    postmortem = Incident.objects.get(pk=resolved.pk).postmortem
    for title, due in [("Alert on 5xx rate", 7), ("Retry the payment call", -1)]:
        item = incident_actions.add_action_item(
            postmortem,
            {"title": title, "owner": people["erin"], "due_on": (now + timedelta(days=due)).date()},
            by=alice,
        )
    incident_actions.set_action_done(item, True, by=alice)
    fake = FakePagerDuty(token="test-token")
    rotation.pagerduty_escalation_policy_id = "PEPLAT1"
    rotation.save()
    for engineer in Engineer.objects.all():
        fake.add_user(engineer.name, engineer.email)
    fake.add_escalation_policy("PEPLAT1", "Platform", [[], []])
    with fake_client(fake) as client:
        sync_policy(rotation, client, match_roster=True)
    rotate_api_token(alice, by=alice)
    # Bob offers Alice his second stint for her next one: /me/ shows it with its weeks.
    bobs, alices = (
        rotation.calendar.handoff_at(start + timedelta(weeks=weeks)) for weeks in (5, 4)
    )
    propose_swap(rotation, people["bob"], bobs, people["alice"], alices, by=people["bob"].user)
    return {"rotation": rotation, "start": start, "failover": failover}


# Who logs in for each role, and where their crawl starts.
ROLES = {
    "anonymous": (None, ["/", "/login/"]),
    "engineer": ("alice@example.com", ["/"]),
    "manager": ("carol@example.com", ["/", "/admin/"]),
    "superuser": ("root", ["/", "/admin/"]),
}


def extra_pages(role: str, team: dict[str, Any]) -> list[str]:
    """Pages, or states of a page, that no link leads to."""
    pages = ["/no-such-page/"]  # the 404 page
    if role != "anonymous":
        slug = team["failover"].slug
        pages += [
            f"/runbooks/{slug}/history/?a=1&b=2",  # a diff
            "/runbooks/?q=replica",  # search results
            "/incidents/?q=no-such-incident",  # no incident matches
        ]
    return pages


def session_cookie(live_server: LiveServer, username: str) -> dict[str, Any]:
    client = Client()
    # django-axes' backend counts attempts per request, so authenticate() needs one.
    assert client.login(request=HttpRequest(), username=username, password=PASSWORD)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    return {"name": cookie.key, "value": cookie.value, "url": live_server.url}


def view_name(path: str) -> str | None:
    try:
        return resolve(urlsplit(path).path).view_name
    except Resolver404:
        return None


def is_followed(path: str) -> bool:
    """Links the crawl follows: pages of this site, not files, feeds or the API."""
    skipped = ("/static/", "/api/", "/calendars/rotate", "/admin/logout", "/admin/r/")
    if path.startswith(skipped) or path.endswith((".ics", ".md", ".ico", ".webmanifest")):
        return False
    return view_name(path) not in NOT_PAGES


def check(page: Page, axe_script: str, *, rules: list[str] | None = None) -> list[str]:
    """The serious and critical axe violations, and a page wider than the screen."""
    problems = []
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        wide = page.evaluate(WIDEST_ELEMENTS)
        problems.append(f"{width[0]} px wide in a {width[1]} px screen; widest: {wide}")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(content=axe_script)
        # The admin fades link and button colours: measured mid-fade after the switch to dark,
        # they fail. Colours as they settle are the ones to check.
        page.add_style_tag(content="*, *::before, *::after { transition: none !important; }")
    options: dict[str, Any] = {"resultTypes": ["violations"]}
    if rules:
        options["runOnly"] = {"type": "rule", "values": rules}
    result = page.evaluate("options => axe.run(document, options)", options)
    for violation in result["violations"]:
        if violation["impact"] in FAILING_IMPACTS:
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:4]]
            problems.append(
                f"{violation['id']} ({violation['impact']}) x{len(violation['nodes'])}: "
                f"{violation['help']} at {targets}"
            )
    return problems


# The elements sticking out furthest past the screen's right edge, to say what to fix.
WIDEST_ELEMENTS = """() => [...document.querySelectorAll("body *")]
  .map(e => [e.getBoundingClientRect().right, e])
  .filter(([right]) => right > window.innerWidth + 1)
  .sort((a, b) => b[0] - a[0]).slice(0, 3)
  .map(([right, e]) => e.tagName.toLowerCase() + (e.className ? "." + String(e.className).split(" ").join(".") : "") + " " + Math.round(right) + "px")"""

# In the dark only colours change: the colour rules are the ones to run again.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]


def settle(page: Page) -> None:
    """Waits for what htmx loads with the page (the editor's preview), so axe sees it."""
    if page.locator("[hx-trigger*=load]").count():
        page.wait_for_load_state("networkidle")


def crawl(
    context: BrowserContext, live_server: LiveServer, starts: list[str], extra: list[str]
) -> Iterator[tuple[Page, str, int, str]]:
    """Each page once per URL name, breadth first from ``starts``, then the ``extra`` ones:
    (the page, its URL, the HTTP status, the page whose link led there)."""
    page = context.new_page()
    queue = [(live_server.url + path, "") for path in [*starts]]
    seen_names: set[str | None] = set()
    visited = 0
    while queue and visited < MOST_PAGES:
        url, came_from = queue.pop(0)
        name = view_name(urlsplit(url).path)
        if name in seen_names and name is not None:
            continue
        seen_names.add(name)
        response = page.goto(url)
        settle(page)
        visited += 1
        yield page, url, response.status if response else 0, came_from
        links = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        for link in links:
            path = urlsplit(urldefrag(link).url).path
            if (
                link.startswith(live_server.url)
                and is_followed(path)
                and view_name(path) not in seen_names
            ):
                queue.append((urldefrag(link).url, url.removeprefix(live_server.url)))
    for path in extra:
        response = page.goto(live_server.url + path)
        settle(page)
        yield page, live_server.url + path, response.status if response else 0, ""
    page.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_is_accessible_and_fits_a_phone(
    role: str, live_server: LiveServer, browser: Browser
) -> None:
    team = busy_team()
    username, starts = ROLES[role]
    axe_script = AXE.read_text()
    # The portal's CSP forbids inline scripts, axe's own among them.
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900}, bypass_csp=True)
    if username:
        context.add_cookies([session_cookie(live_server, username)])  # type: ignore[list-item]
    failures: list[str] = []
    reached: set[str] = set()
    for page, url, status, came_from in crawl(
        context, live_server, starts, extra_pages(role, team)
    ):
        path = url.removeprefix(live_server.url)
        name = view_name(urlsplit(path).path)
        reached.add(name or path)
        expected = 404 if path.startswith("/no-such-page/") else 200
        if status != expected:
            failures.append(f"{role} {path}: HTTP {status}, expected {expected} (from {came_from})")
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                rules = COLOUR_RULES if scheme == "dark" else None
                for problem in check(page, axe_script, rules=rules):
                    failures.append(f"{role} {path} {width}px {scheme}: {problem}")
                if os.environ.get("SCREENSHOTS") and role == "manager" and name in SCREENSHOT_PAGES:
                    SCREENSHOTS.mkdir(exist_ok=True)
                    shot = SCREENSHOTS / f"{SCREENSHOT_PAGES[name]}-{width}-{scheme}.png"
                    page.screenshot(path=shot, full_page=True)
        page.emulate_media(color_scheme="light")
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    context.close()
    if role == "engineer":  # an engineer may open every page but the managers' and the admin's
        missing = page_names() - reached - {"login"} - MANAGERS_ONLY  # the others' crawls
        failures += [f"never visited (add it to extra_pages): {name}" for name in sorted(missing)]
    assert not failures, "\n".join(failures)


def page_names() -> set[str]:
    """The URL name of every page of the portal (the admin's own are reached by its links)."""

    def names(patterns: list[URLPattern | URLResolver], namespace: str = "") -> Iterator[str]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from names(pattern.url_patterns, inner)
            elif pattern.name:
                yield namespace + pattern.name

    return set(names(get_resolver().url_patterns)) - set(NOT_PAGES)

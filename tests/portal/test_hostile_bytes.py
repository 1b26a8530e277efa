"""NUL characters, which PostgreSQL can neither store nor compare, are refused with a 400 that
says so, wherever a request can carry them: the path, the query string, form fields, JSON
bodies, cookies and headers. Never a 500.

The crawl visits every URL pattern (the admin's through its registry) as a superuser, filled
from the demo team's rows, and posts every form it finds with a NUL in its fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from io import StringIO
from urllib.parse import quote

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from feeds.actions import feed_token_of
from feeds.models import FeedFetch
from handoff import days
from incidents import actions as incidents
from incidents.models import ActionItem, CustomerUpdate, Postmortem
from rotation.models import Engineer, OnboardingStep, Rotation, TimeOff, schedule_of
from rotation.roster_file import RosterFileError, load_roster
from runbooks.models import Runbook

pytestmark = pytest.mark.django_db

NUL = "\x00"
REFUSAL = "NUL characters are not allowed"
# Every query parameter a view reads (grep request.GET), and the admin's search and filters.
QUERY_PARAMETERS = ["q", "rotation", "at", "from", "to", "week", "page", "title", "status"]
QUERY_PARAMETERS += ["severity", "service", "since", "until", "next", "o", "p", "e"]


@pytest.fixture
def root(db: None) -> User:
    """A superuser beside the demo team, with an incident that owes a post-mortem with an
    action item, and a customer update drafted."""
    call_command("seed_demo", stdout=StringIO())
    root = User.objects.create_superuser("root", "root@example.com", "a-long-test-password")
    now = timezone.now()
    incident = incidents.open_incident(
        {"title": "Checkout down", "severity": "SEV2", "status": "resolved", "started_at": now},
        by=root,
    )
    postmortem = Postmortem.objects.get(incident=incident)
    incidents.add_action_item(
        postmortem,
        {"title": "Alert on checkout errors", "owner": postmortem.owner, "due_on": now.date()},
        by=root,
    )
    incidents.draft_update(incident, by=root)
    engineer = Engineer.objects.order_by("pk").first()
    assert engineer is not None
    TimeOff.objects.create(engineer=engineer, starts_on=now.date(), ends_on=now.date())
    return root


def sample_kwargs(root: User) -> dict[str, dict[str, object]]:
    """URL name -> the arguments of one real page behind it."""
    # The fixture's own, beside the demo history's.
    update = CustomerUpdate.objects.get(created_by=root)
    item = ActionItem.objects.get(postmortem__incident__opened_by=root)
    runbook = Runbook.objects.order_by("pk").first()
    assert runbook is not None
    pk = update.incident_id
    time_off = TimeOff.objects.order_by("pk").first()
    assert time_off is not None
    platform = Rotation.objects.get(slug="platform")
    step, _ = OnboardingStep.objects.get_or_create(
        rotation=platform,
        engineer=Engineer.objects.order_by("pk").first(),
        step="read_guide",
    )
    plan = schedule_of(platform)
    assert plan is not None
    bounds = days.week_at(plan, timezone.now())
    assert bounds is not None
    handoff_day = bounds[1].astimezone(platform.zone).date().isoformat()
    week = platform.calendar.handoff_day_at_or_before(timezone.now()).isoformat()
    return {
        "feeds:feed": {"token": feed_token_of(root).token, "name": "platform.all"},
        "handoff:list": {"slug": "platform"},
        "handoff:report": {"slug": "platform", "day": handoff_day},
        "rotation:schedule": {"slug": "platform"},
        "pagerduty:escalation": {"slug": "platform"},
        "rotation:cover_new": {"slug": "platform"},
        "rotation:cover_decide": {"pk": 1, "verb": "cancel"},
        "incidents:detail": {"pk": pk},
        "incidents:postmortem": {"pk": pk},
        "incidents:postmortem_markdown": {"pk": pk},
        "incidents:send_update": {"pk": pk, "update_id": update.pk},
        "incidents:action_done": {"pk": pk, "item_id": item.pk},
        "runbooks:page": {"slug": runbook.slug},
        "runbooks:edit": {"slug": runbook.slug},
        "runbooks:history": {"slug": runbook.slug},
        "runbooks:restore": {"slug": runbook.slug, "number": 1},
        "runbooks:reviewed": {"slug": runbook.slug},
        # Any id: these only answer a POST, and a NUL is refused before a view looks it up.
        **{
            name: {"swap_id": 1}
            for name in (
                "rotation:swap_accept",
                "rotation:swap_decline",
                "rotation:swap_cancel",
                "api_swap_accept",
                "api_swap_decline",
                "api_swap_cancel",
            )
        },
        "rotation:time_off_delete": {"pk": time_off.pk},
        "api_time_off_item": {"pk": time_off.pk},
        "rotation:roster": {"slug": "platform"},
        "rotation:onboarding_tick": {"pk": step.pk},
        "api_roster_preview": {"slug": "platform"},
        "summary:latest": {"slug": "platform"},
        "summary:week": {"slug": "platform", "day": week},
        "summary:markdown": {"slug": "platform", "day": week},
        "handoff:release": {"slug": "platform"},
        "handoff:triage": {"slug": "platform"},
        "password_reset_confirm": {"uidb64": "MQ", "token": "set-password"},
    }


def url_names(resolver: URLResolver | None = None, namespace: str = "") -> Iterator[str]:
    """The name of every URL pattern outside the admin, with its namespace."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace != "admin":
                inner = pattern.namespace or ""
                yield from url_names(pattern, f"{namespace}{inner}:" if inner else namespace)
        elif isinstance(pattern, URLPattern):
            assert pattern.name, f"{pattern.pattern} has no name, so the crawl cannot reach it"
            yield namespace + pattern.name


def every_page(root: User) -> list[str]:
    """One address per URL pattern, and the list, add and change pages of every admin model."""
    kwargs = sample_kwargs(root)
    pages = [reverse(name, kwargs=kwargs.get(name)) for name in url_names()]
    for model in admin.site._registry:
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages += [reverse(f"{info}_changelist"), reverse(f"{info}_add")]
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(reverse(f"{info}_change", args=[quote(str(first.pk))]))
    return pages


def needs_arguments(name: str) -> bool:
    try:
        reverse(name)
    except NoReverseMatch:
        return True
    return False


class Forms(HTMLParser):
    """The forms of a page as a browser would submit them untouched: action and fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._select = ""
        self._chosen: set[str] = set()
        self._textarea = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            method = a.get("method", "get").lower()
            self.forms.append((a.get("action", "") if method == "post" else "GET", {}))
            return
        if not self.forms:
            return
        fields = self.forms[-1][1]
        if tag in {"input", "textarea", "select"} and "name" in a:
            unticked = a.get("type") in {"checkbox", "radio"} and "checked" not in a
            if not unticked or a["name"] not in fields:
                fields[a["name"]] = "" if unticked else a.get("value", "")
            self._select = a["name"] if tag == "select" else ""
            self._textarea = a["name"] if tag == "textarea" else ""
        elif (
            tag == "option"
            and self._select
            and (
                "selected" in a or self._select not in self._chosen  # else the first option
            )
        ):
            fields[self._select] = a.get("value", "")
            self._chosen.add(self._select)

    def handle_data(self, data: str) -> None:
        if self._textarea and self.forms:
            # A textarea's first newline is the markup's, not the value's.
            self.forms[-1][1][self._textarea] += data.removeprefix("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = ""


def post_forms(page: str, html: str) -> list[tuple[str, dict[str, str]]]:
    parser = Forms()
    parser.feed(html)
    return [(action or page, fields) for action, fields in parser.forms if action != "GET"]


def test_the_crawl_knows_how_to_fill_every_url_pattern(root: User) -> None:
    assert {name for name in url_names() if needs_arguments(name)} == set(sample_kwargs(root))


def test_nul_in_any_address_or_query_is_refused_with_a_400(client: Client, root: User) -> None:
    client.force_login(root)
    pages = every_page(root)
    for page in pages:
        for response in [
            client.get(page, dict.fromkeys(QUERY_PARAMETERS, f"x{NUL}y")),
            client.get(page + "%00"),
        ]:
            assert response.status_code == 400, page
            assert REFUSAL in response.content.decode()
    assert len(pages) > 60


def test_nul_in_any_form_field_is_refused_with_a_400_naming_it(client: Client, root: User) -> None:
    client.force_login(root)
    posted = 0
    for page in every_page(root):
        for action, fields in post_forms(page, client.get(page).content.decode()):
            for name in fields.keys() - {"csrfmiddlewaretoken"}:
                response = client.post(action, {**fields, name: f"x{NUL}y"})
                assert response.status_code == 400, (action, name)
                assert f"{REFUSAL} (in the form field '{name}')" in response.content.decode()
                posted += 1
    assert posted > 200


def test_searching_for_the_text_percent_00_is_no_nul(client: Client, root: User) -> None:
    client.force_login(root)
    assert client.get("/runbooks/?q=%2500").status_code == 200
    assert client.get("/runbooks/", HTTP_USER_AGENT="curl/8 \\000").status_code == 200


# The ones that were 500s on PostgreSQL -------------------------------------------------------


@pytest.mark.parametrize("api", ["/api/v1/oncall", "/api/v1/schedule"])
def test_the_api_refuses_a_rotation_with_nul_in_json(client: Client, root: User, api: str) -> None:
    client.force_login(root)
    response = client.get(api, {"rotation": f"platform{NUL}"})
    assert response.status_code == 400
    assert response.json() == {"error": f"{REFUSAL} (in the query parameter 'rotation')."}


def test_a_feed_name_with_nul_is_refused(client: Client, root: User) -> None:
    token = feed_token_of(root).token
    response = client.get(f"/calendars/{token}/platform%00.all.ics")
    assert response.status_code == 400
    assert response.content.decode() == f"{REFUSAL} (in the address)."


def test_a_calendar_client_with_nul_in_its_user_agent_is_refused(
    client: Client, root: User
) -> None:
    token = feed_token_of(root).token
    response = client.get(f"/calendars/{token}/platform.all.ics", HTTP_USER_AGENT=f"cal{NUL}")
    assert response.status_code == 400
    assert "the header 'User-Agent'" in response.content.decode()
    assert not FeedFetch.objects.exists()


# Where nothing reads a NUL today, but the next view or backend would ------------------------


@pytest.mark.parametrize("body", ['{"note": "a\\u0000b"}', '{"a\\u0000": 1}', '["\x00"'])
def test_nul_in_a_json_body_is_refused_escaped_raw_or_broken(client: Client, body: str) -> None:
    response = client.post("/api/v1/oncall", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": f"{REFUSAL} (in the JSON body)."}


def test_a_json_body_without_nul_reaches_the_view(client: Client, root: User) -> None:
    client.force_login(root)
    response = client.post(
        "/api/v1/oncall", '{"note": "a\\\\u0000b"}', content_type="application/json"
    )
    assert response.status_code == 405  # the endpoint only reads; the middleware let it through


def test_nul_in_a_cookie_is_refused(client: Client, root: User) -> None:
    client.cookies["sessionid"] = f"abcdefgh{NUL}ijkl"
    response = client.get("/login/")
    assert response.status_code == 400
    assert "the cookie 'sessionid'" in response.content.decode()


def test_a_nul_in_a_field_name_is_shown_escaped(client: Client) -> None:
    response = client.post("/login/", {f"user{NUL}name": "alice"})
    assert response.status_code == 400
    assert "the form field 'user\\x00name'" in response.content.decode()


# NULs that arrive escaped, as JSON's and TOML's "\\u0000" ----------------------------------------

ROTATION_PAGE = "/admin/rotation/rotation/{pk}/change/"


def rotation_form(client: Client, root: User) -> tuple[str, dict[str, str]]:
    client.force_login(root)
    page = ROTATION_PAGE.format(pk=Rotation.objects.get(slug="platform").pk)
    forms = post_forms(page, client.get(page).content.decode())
    [(action, fields)] = [form for form in forms if "pagerduty_feeds" in form[1]]
    return action, fields


def test_the_untouched_admin_rotation_form_saves(client: Client, root: User) -> None:
    action, fields = rotation_form(client, root)
    assert client.post(action, fields).status_code == 302


def test_a_pagerduty_feed_with_an_escaped_nul_is_a_field_error(client: Client, root: User) -> None:
    action, fields = rotation_form(client, root)
    feeds = '{"primary": "https://example.pagerduty.com/\\u0000.ics"}'
    response = client.post(action, {**fields, "pagerduty_feeds": feeds})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"pagerduty_feeds": [f"{REFUSAL}."]}
    assert Rotation.objects.get(slug="platform").pagerduty_feeds == {}


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        ('name = "Zed\\u0000"', "line 3: engineers[0].name: NUL characters are not allowed"),
        ('phone = "\\u0000"', "line 3: engineers[0].phone: NUL characters are not allowed"),
    ],
)
def test_a_roster_file_with_an_escaped_nul_is_refused_at_its_line(
    db: None, toml: str, error: str
) -> None:
    text = f'[[engineers]]\nemail = "zed@example.com"\n{toml}\n'
    if "name" not in toml:
        text += 'name = "Zed"\n'
    with pytest.raises(RosterFileError) as raised:
        load_roster(text, by=None)
    assert raised.value.errors == [error]

"""The fake PagerDuty's own rules (REFERENCE section 10), spoken to with plain httpx.

The cast: alice (PALICE1), bob (PBOB001) and carol (PCAROL1), and the Platform policy (PEPLAT1).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import httpx
import icalendar
import pytest
from django.core.management import call_command

from pagerduty.client import PagerDuty, Params
from pagerduty.fake import FakePagerDuty, FeedShift, render_feed
from pagerduty.management.commands.fake_pagerduty import demo_fake, demo_feed_path
from rotation.models import Engineer, Rotation

TOKEN = "fake-test-token"
AUTH = {
    "Authorization": f"Token token={TOKEN}",
    "Accept": "application/vnd.pagerduty+json;version=2",
}
POLICY = "PEPLAT1"


@pytest.fixture
def fake() -> FakePagerDuty:
    fake = FakePagerDuty(TOKEN)
    fake.add_user("Alice Nguyen", "alice@example.com", "PALICE1")
    fake.add_user("Bob Okafor", "bob@example.com", "PBOB001")
    fake.add_user("Carol Díaz", "carol@corp.example.org", "PCAROL1")
    fake.add_escalation_policy(
        POLICY, "Platform On-Call", [["PALICE1"], ["PBOB001"]], services=[], num_loops=1
    )
    return fake


@pytest.fixture
def http(fake: FakePagerDuty) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=fake.transport(), base_url="https://api.pagerduty.com", headers=AUTH
    ) as http:
        yield http


def error_of(response: httpx.Response) -> tuple[int, int | None, list[str]]:
    error = response.json()["error"]
    return response.status_code, error.get("code"), error.get("errors", [])


def put(http: httpx.Client, policy: dict[str, Any]) -> httpx.Response:
    return http.put(f"/escalation_policies/{POLICY}", json={"escalation_policy": policy})


def to(*user_ids: str, kind: str = "user_reference") -> dict[str, Any]:
    targets = [{"id": user_id, "type": kind} for user_id in user_ids]
    return {"escalation_delay_in_minutes": 5, "targets": targets}


# -- auth and shapes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Token token=wrong", f"Bearer {TOKEN}", f"Token {TOKEN}"]
)
def test_a_missing_or_malformed_token_is_a_401_with_code_2006(
    fake: FakePagerDuty, authorization: str | None
) -> None:
    headers = {"Accept": AUTH["Accept"]}
    if authorization:
        headers["Authorization"] = authorization
    with httpx.Client(transport=fake.transport()) as bare:
        response = bare.get("https://api.pagerduty.com/users", headers=headers)
    assert error_of(response)[:2] == (401, 2006)


def test_a_request_without_the_version_header_is_refused(fake: FakePagerDuty) -> None:
    with httpx.Client(transport=fake.transport()) as bare:
        response = bare.get(
            "https://api.pagerduty.com/users", headers={"Authorization": AUTH["Authorization"]}
        )
    assert response.status_code == 406


def test_entities_are_wrapped_and_carry_self_and_html_url(http: httpx.Client) -> None:
    user = http.get("/users/PBOB001").json()["user"]
    assert user["self"] == "https://api.pagerduty.com/users/PBOB001"
    assert user["html_url"] == "https://demo.pagerduty.com/users/PBOB001"
    policy = http.get(f"/escalation_policies/{POLICY}").json()["escalation_policy"]
    assert (policy["type"], policy["summary"]) == ("escalation_policy", "Platform On-Call")
    target = policy["escalation_rules"][0]["targets"][0]
    assert target == {
        "type": "user_reference",
        "id": "PALICE1",
        "summary": "Alice Nguyen",
        "self": "https://api.pagerduty.com/users/PALICE1",
        "html_url": "https://demo.pagerduty.com/users/PALICE1",
    }


def test_an_unknown_id_or_path_is_a_404_with_code_2100(http: httpx.Client) -> None:
    assert error_of(http.get("/users/PNOSUCH"))[:2] == (404, 2100)
    assert error_of(http.get("/services"))[:2] == (404, 2100)


# -- lists -------------------------------------------------------------------------------------


@pytest.fixture
def crowd(fake: FakePagerDuty) -> FakePagerDuty:
    for n in range(127):
        fake.add_user(f"Engineer {n:03d}", f"eng{n:03d}@example.com")
    return fake  # 130 users in all


def test_a_list_gives_25_by_default_and_echoes_limit_and_offset(
    http: httpx.Client, crowd: FakePagerDuty
) -> None:
    page = http.get("/users").json()
    assert (len(page["users"]), page["limit"], page["offset"], page["more"]) == (25, 25, 0, True)
    assert page["total"] is None


def test_limit_is_clamped_to_100_and_the_clamped_limit_echoed(
    http: httpx.Client, crowd: FakePagerDuty
) -> None:
    page = http.get("/users", params={"limit": 500}).json()
    assert (len(page["users"]), page["limit"], page["more"]) == (100, 100, True)


def test_more_turns_false_on_the_last_page(http: httpx.Client, crowd: FakePagerDuty) -> None:
    page = http.get("/users", params={"limit": 100, "offset": 100}).json()
    assert (len(page["users"]), page["offset"], page["more"]) == (30, 100, False)


def test_total_is_given_only_when_asked(http: httpx.Client, crowd: FakePagerDuty) -> None:
    assert http.get("/users", params={"total": "true"}).json()["total"] == 130
    assert http.get("/users", params={"total": "false"}).json()["total"] is None


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"offset": 9900, "limit": 100}, 200),
        ({"offset": 9901, "limit": 100}, 400),
        ({"offset": 9990}, 400),  # the default limit 25 counts too
        ({"limit": 0}, 400),
        ({"offset": -1}, 400),
        ({"limit": "ten"}, 400),
    ],
)
def test_offset_plus_limit_may_not_pass_10000(
    http: httpx.Client, params: dict[str, Any], status: int
) -> None:
    assert http.get("/users", params=params).status_code == status


def test_user_query_is_a_case_insensitive_substring_of_name_or_email(http: httpx.Client) -> None:
    def ids(query: str) -> list[str]:
        return [user["id"] for user in http.get("/users", params={"query": query}).json()["users"]]

    assert ids("OKAFOR") == ["PBOB001"]
    assert ids("corp.example") == ["PCAROL1"]
    assert ids("@example.com") == ["PALICE1", "PBOB001"]


def test_repeated_array_params_are_read_and_unknown_includes_refused(
    http: httpx.Client, fake: FakePagerDuty
) -> None:
    fake.users["PBOB001"]["teams"] = [{"id": "PTEAM01", "type": "team_reference"}]
    fake.users["PCAROL1"]["teams"] = [{"id": "PTEAM02", "type": "team_reference"}]
    params = httpx.QueryParams(
        [("team_ids[]", "PTEAM01"), ("team_ids[]", "PTEAM02"), ("include[]", "teams")]
    )
    users = http.get("/users", params=params).json()["users"]
    assert [user["id"] for user in users] == ["PBOB001", "PCAROL1"]
    assert http.get("/users", params=[("include[]", "secrets")]).status_code == 400


# -- PUT /escalation_policies/{id} -------------------------------------------------------------


def test_put_replaces_the_rules_with_fresh_ids(http: httpx.Client, fake: FakePagerDuty) -> None:
    before = fake.escalation_policies[POLICY]
    old_ids = {rule["id"] for rule in before["escalation_rules"]}
    response = put(http, {"escalation_rules": [to("PBOB001"), to("PCAROL1")]})
    saved = response.json()["escalation_policy"]
    assert response.status_code == 200
    assert [[t["id"] for t in rule["targets"]] for rule in saved["escalation_rules"]] == [
        ["PBOB001"],
        ["PCAROL1"],
    ]
    assert not old_ids & {rule["id"] for rule in saved["escalation_rules"]}
    assert fake.escalation_policies[POLICY] == saved


def test_put_keeps_fields_not_sent_and_ignores_read_only_ones(
    http: httpx.Client, fake: FakePagerDuty
) -> None:
    sent = {
        "id": "PHACKED",
        "self": "https://evil.example.com/",
        "services": [{"id": "PSVC001", "type": "service_reference"}],
        "escalation_rules": [{**to("PBOB001"), "id": "PMYRULE"}],
        "name": "Platform Primary",
    }
    saved = put(http, sent).json()["escalation_policy"]
    assert (saved["id"], saved["self"], saved["services"]) == (
        POLICY,
        f"https://api.pagerduty.com/escalation_policies/{POLICY}",
        [],
    )
    assert saved["escalation_rules"][0]["id"] != "PMYRULE"
    assert (saved["name"], saved["summary"], saved["num_loops"]) == (
        "Platform Primary",
        "Platform Primary",
        1,
    )


def test_put_accepts_user_targets_and_answers_user_references_in_its_own_order(
    http: httpx.Client,
) -> None:
    rule = {
        "escalation_delay_in_minutes": 5,
        "targets": [{"id": "PCAROL1", "type": "user"}, {"id": "PBOB001", "type": "user_reference"}],
    }
    saved = put(http, {"escalation_rules": [rule]}).json()["escalation_policy"]
    targets = saved["escalation_rules"][0]["targets"]
    assert [(t["type"], t["id"]) for t in targets] == [
        ("user_reference", "PBOB001"),
        ("user_reference", "PCAROL1"),
    ]


@pytest.mark.parametrize(
    ("policy", "problem"),
    [
        ({"escalation_rules": []}, "Escalation policy must have at least one escalation rule"),
        ({"escalation_rules": [to()]}, "Escalation rule 1 must have between 1 and 10 targets"),
        (
            {"escalation_rules": [to("PALICE1"), to(*["PBOB001"] * 11)]},
            "Escalation rule 2 must have between 1 and 10 targets",
        ),
        (
            {"escalation_rules": [{**to("PBOB001"), "escalation_delay_in_minutes": "5"}]},
            "Escalation rule 1: escalation_delay_in_minutes must be an integer",
        ),
        (
            {"escalation_rules": [{**to("PBOB001"), "escalation_delay_in_minutes": 5.5}]},
            "Escalation rule 1: escalation_delay_in_minutes must be an integer",
        ),
        (
            {"escalation_rules": [to("PBOB001", kind="team_reference")]},
            "Escalation rule 1: invalid target {'id': 'PBOB001', 'type': 'team_reference'}",
        ),
        ({"escalation_rules": [to("PNOSUCH")]}, "Escalation rule 1: user PNOSUCH not found"),
        (
            {"teams": [{"id": "PT1", "type": "team_reference"}, {"id": "PT2"}]},
            "Only one team may be associated with an escalation policy",
        ),
        ({"num_loops": -1}, "num_loops must be an integer of at least 0"),
        ({"name": " "}, "Name can't be blank"),
    ],
)
def test_put_refuses_invalid_policies_with_a_400(
    http: httpx.Client, fake: FakePagerDuty, policy: dict[str, Any], problem: str
) -> None:
    before = fake.escalation_policies[POLICY]
    assert error_of(put(http, policy)) == (400, 2001, [problem])
    assert fake.escalation_policies[POLICY] is before


def test_put_needs_the_wrapper_and_a_known_policy(http: httpx.Client) -> None:
    unwrapped = http.put(f"/escalation_policies/{POLICY}", json={"escalation_rules": []})
    assert error_of(unwrapped) == (400, 2001, ["escalation_policy is required"])
    missing = http.put("/escalation_policies/PNOSUCH", json={"escalation_policy": {}})
    assert error_of(missing)[:2] == (404, 2100)


def test_an_assignment_strategy_is_a_403_unless_the_account_has_it(
    http: httpx.Client, fake: FakePagerDuty
) -> None:
    rule = {**to("PBOB001"), "escalation_rule_assignment_strategy": {"type": "round_robin"}}
    assert error_of(put(http, {"escalation_rules": [rule]}))[:2] == (403, 2010)
    fake.allow_assignment_strategy = True
    saved = put(http, {"escalation_rules": [rule]}).json()["escalation_policy"]
    assert saved["escalation_rules"][0]["escalation_rule_assignment_strategy"] == {
        "type": "round_robin"
    }


def test_an_empty_assignment_strategy_is_no_strategy(http: httpx.Client) -> None:
    rule = {**to("PBOB001"), "escalation_rule_assignment_strategy": None}
    assert put(http, {"escalation_rules": [rule]}).status_code == 200


# -- faults ------------------------------------------------------------------------------------


def test_a_429_carries_rate_limit_headers_and_code_2020(
    http: httpx.Client, fake: FakePagerDuty
) -> None:
    fake.fail_next(429)
    response = http.get("/users")
    assert error_of(response)[:2] == (429, 2020)
    assert [response.headers[f"ratelimit-{name}"] for name in ("limit", "remaining", "reset")] == [
        "960",
        "0",
        "20",
    ]


def test_a_bare_429_has_no_headers_and_no_body(http: httpx.Client, fake: FakePagerDuty) -> None:
    fake.fail_next(429, headers={})
    response = http.get("/users")
    assert (response.status_code, response.content) == (429, b"")
    assert not [name for name in response.headers if name.startswith("ratelimit-")]


def test_faults_answer_the_next_requests_in_turn_then_stop(
    http: httpx.Client, fake: FakePagerDuty
) -> None:
    fake.fail_next(500, times=2)
    fake.fail_next(408)
    fake.fail_next(400, errors_as_object=True)
    statuses = [http.get("/users/PALICE1").status_code for _ in range(5)]
    assert statuses == [500, 500, 408, 400, 200]
    assert len(fake.requests) == 5


def test_errors_as_object_look_like_the_3001_seen_in_the_wild(
    http: httpx.Client, fake: FakePagerDuty
) -> None:
    fake.fail_next(400, errors_as_object=True)
    assert http.get("/users").json() == {
        "error": {
            "message": "Invalid Schedule",
            "code": 3001,
            "errors": {"rotation_layers.weekly_restrictions.duration_seconds": ["is invalid"]},
        }
    }


def test_every_answer_has_its_own_request_id(http: httpx.Client, fake: FakePagerDuty) -> None:
    fake.fail_next(500)
    ids = [http.get("/users").headers["x-request-id"] for _ in range(3)]
    assert ids == ["fake-req-000001", "fake-req-000002", "fake-req-000003"]


def test_a_slow_answer_past_the_read_timeout_is_a_timeout(
    fake: FakePagerDuty, http: httpx.Client
) -> None:
    fake.slow_next(30)
    with pytest.raises(httpx.ReadTimeout):
        http.get("/users", timeout=10)
    fake.slow_next(3)
    assert http.get("/users", timeout=10).status_code == 200
    assert len(fake.requests) == 2


# -- feeds -------------------------------------------------------------------------------------

SHIFTS = [
    FeedShift(
        "alice@example.com",
        "Alice Nguyen",
        datetime(2026, 11, 23, 8, tzinfo=UTC),
        datetime(2026, 11, 30, 8, tzinfo=UTC),
    ),
    FeedShift(
        "bob@example.com",
        "Bob Okafor",
        datetime(2026, 11, 30, 8, tzinfo=UTC),
        datetime(2026, 12, 7, 8, tzinfo=UTC),
    ),
]


def test_a_feed_is_served_as_text_calendar_without_a_token(fake: FakePagerDuty) -> None:
    path = fake.add_schedule_feed("k" * 64, "PSCHED1", render_feed("PSCHED1", "Platform", SHIFTS))
    with httpx.Client(transport=fake.transport()) as anonymous:
        response = anonymous.get(f"https://acme.pagerduty.com{path}")
        unknown = anonymous.get("https://acme.pagerduty.com/private/nope/feed/PSCHED1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.text.startswith("BEGIN:VCALENDAR\r\nPRODID;X-RICAL-TZSOURCE=TZINFO:")
    assert unknown.status_code == 404


def test_a_rendered_feed_has_pagerdutys_shape() -> None:
    text = render_feed("PSCHED1", "Platform Primary", SHIFTS)
    event = text.split("BEGIN:VEVENT\r\n")[1].split("END:VEVENT")[0].splitlines()
    assert [line.split(":")[0].split(";")[0] for line in event] == [
        "DTEND", "DTSTART", "ATTENDEE", "UID", "URL", "SUMMARY",
    ]  # fmt: skip
    assert event[1] == "DTSTART;VALUE=DATE-TIME:20261123T080000Z"
    assert event[2] == "ATTENDEE:alice@example.com"
    assert event[3].startswith("UID:Q") and len(event[3]) == len("UID:") + 14
    assert event[4] == "URL:https://demo.pagerduty.com/schedules#PSCHED1"
    assert event[5] == "SUMMARY:On Call - Alice Nguyen - Platform Primary"
    assert "DTSTAMP" not in text and "VTIMEZONE" not in text


def test_feed_variants_fold_use_lf_mailto_and_two_part_summaries() -> None:
    long_name = "Platform Primary With A Rather Long Name For Folding Purposes"
    text = render_feed("PSCHED1", long_name, SHIFTS, newline="\n", mailto=True)
    assert "\r" not in text
    assert all(len(line.encode()) <= 75 for line in text.split("\n"))
    unfolded = text.replace("\n ", "")
    assert f"SUMMARY:On Call - Alice Nguyen - {long_name}\n" in unfolded
    assert "ATTENDEE:mailto:bob@example.com" in text
    short = render_feed("PSCHED1", "Platform", SHIFTS, two_part_summary=True)
    assert "SUMMARY:On Call - Bob Okafor\r\n" in short
    calendar = icalendar.Calendar.from_ical(text)
    assert [str(event["SUMMARY"]) for event in calendar.walk("VEVENT")] == [
        f"On Call - Alice Nguyen - {long_name}",
        f"On Call - Bob Okafor - {long_name}",
    ]


# -- over WSGI (the local server) --------------------------------------------------------------


def test_the_wsgi_app_answers_like_the_handler(fake: FakePagerDuty) -> None:
    path = fake.add_schedule_feed("wsgikey", "PSCHED1", render_feed("PSCHED1", "Platform", SHIFTS))
    transport = httpx.WSGITransport(app=fake.wsgi_app)
    with PagerDuty(
        TOKEN,
        "http://127.0.0.1:8025",
        transport=transport,
        feed_trusted_origins=["http://127.0.0.1:8025"],
    ) as client:
        assert [user["id"] for user in client.find_users("example.com")] == ["PALICE1", "PBOB001"]
        saved = client.put_escalation_policy(POLICY, {"escalation_rules": [to("PCAROL1")]})
        assert saved["escalation_rules"][0]["targets"][0]["id"] == "PCAROL1"
        assert client.get_feed(f"http://127.0.0.1:8025{path}").count("BEGIN:VEVENT") == 2
    assert [r.url.params.get("query") for r in fake.requests[:1]] == ["example.com"]


def test_a_slow_answer_over_wsgi_really_waits(fake: FakePagerDuty) -> None:
    fake.slow_next(0.05)
    started = time.monotonic()
    with httpx.Client(transport=httpx.WSGITransport(app=fake.wsgi_app), headers=AUTH) as http:
        assert http.get("http://127.0.0.1:8025/users").status_code == 200
    assert time.monotonic() - started >= 0.05


def test_a_write_over_wsgi_waits_the_write_delay_before_it_is_applied(
    fake: FakePagerDuty, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fake_pagerduty --delay``: the CI kills a worker while its PUT waits."""
    waited: list[tuple[float, list[str]]] = []

    def sleep(seconds: float) -> None:
        rules = fake.escalation_policies[POLICY]["escalation_rules"]
        waited.append((seconds, [target["id"] for rule in rules for target in rule["targets"]]))

    monkeypatch.setattr("pagerduty.fake.time.sleep", sleep)
    fake.write_delay = 7.5
    before = [
        t["id"] for r in fake.escalation_policies[POLICY]["escalation_rules"] for t in r["targets"]
    ]
    transport = httpx.WSGITransport(app=fake.wsgi_app)
    with PagerDuty(TOKEN, "http://127.0.0.1:8025", transport=transport) as client:
        client.get_escalation_policy(POLICY)
        assert waited == []  # reads are not slowed
        client.put_escalation_policy(POLICY, {"escalation_rules": [to("PCAROL1")]})
    assert waited == [(7.5, before)]  # waited with the policy as it was


def test_the_fake_pagerduty_command_takes_a_write_delay(
    platform: Rotation, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[FakePagerDuty] = []

    class Server:
        def __init__(self, app: Any) -> None:
            served.append(app.__self__)

        def __enter__(self) -> Server:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def serve_forever(self) -> None:
            raise KeyboardInterrupt

    monkeypatch.setattr(
        "pagerduty.management.commands.fake_pagerduty.make_server",
        lambda host, port, app, server_class: Server(app),
    )
    out = StringIO()
    call_command("fake_pagerduty", "--port", "8139", "--delay", "2.5", stdout=out)
    assert served[0].write_delay == 2.5
    assert "Each write waits 2.5 s before it is applied" in out.getvalue()


# -- the demo seed -----------------------------------------------------------------------------


def test_the_demo_seed_mirrors_the_team_with_a_policy_to_fix(
    platform: Rotation, cast: dict[str, Engineer], settings: Any
) -> None:
    settings.PAGERDUTY_API_TOKEN = ""
    Engineer.objects.filter(pk=cast["bob"].pk).update(pagerduty_user_id="PBOB001")
    platform.pagerduty_escalation_policy_id = "PEPDEMO"
    platform.pagerduty_feeds = {"primary": "http://127.0.0.1:8025/private/abc/feed/PPRIME1"}
    platform.save()
    fake = demo_fake()
    assert fake.token == "fake-token"
    by_email = {user["email"]: user_id for user_id, user in fake.users.items()}
    assert by_email == {
        "alice@example.com": "PUSER01",
        "bob@example.com": "PBOB001",
        "carol@example.com": "PUSER03",
        "dave@example.com": "PUSER04",
        "erin@example.com": "PUSER05",
    }
    policy = fake.escalation_policies["PEPDEMO"]
    assert [[t["id"] for t in rule["targets"]] for rule in policy["escalation_rules"]] == [
        ["PUSER05"]
    ]
    assert len(policy["teams"]) == 1
    assert len(fake.schedule_feeds) == 3
    assert "/private/abc/feed/PPRIME1" in fake.schedule_feeds


def test_the_demo_feeds_hold_the_stored_shifts_but_one(
    platform: Rotation, frozen_now: datetime
) -> None:
    fake = demo_fake()
    text = fake.schedule_feeds[demo_feed_path("platform", "primary")]
    calendar = icalendar.Calendar.from_ical(text)
    served = [(e.decoded("DTSTART"), str(e["ATTENDEE"])) for e in calendar.walk("VEVENT")]
    stored = list(
        platform.shifts.filter(
            role="primary",
            ends_at__gt=frozen_now - timedelta(days=7),
            starts_at__lt=frozen_now + timedelta(days=90),
        ).values_list("starts_at", "engineer__email")
    )
    assert [start for start, _ in served] == [start for start, _ in stored]
    differing = [i for i, (a, b) in enumerate(zip(served, stored, strict=True)) if a != b]
    assert len(differing) == 1 and served[differing[0]][0] > frozen_now


START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def with_incidents(fake: FakePagerDuty) -> None:
    fake.add_incident("PINC001", "Checkout down", "PSVC001", START, priority="P1")
    fake.add_incident(
        "PINC002", "Slow search", "PSVC002", START + timedelta(hours=1), urgency="low",
        acknowledged_at=START + timedelta(hours=2), resolved_at=START + timedelta(hours=3),
    )  # fmt: skip
    fake.add_incident("PINC003", "Queue backlog", "PSVC001", START + timedelta(days=2))


def incident_ids(
    http: httpx.Client, params: list[tuple[str, str | int | float | bool | None]]
) -> list[str]:
    answer = http.get("/incidents", params=params)
    assert answer.status_code == 200, answer.text
    return [incident["id"] for incident in answer.json()["incidents"]]


def test_incidents_are_filtered_by_service_creation_window_status_and_urgency(
    fake: FakePagerDuty, http: httpx.Client
) -> None:
    with_incidents(fake)
    window: Params = [("since", "2026-12-01T09:00:00Z"), ("until", "2026-12-02T09:00:00Z")]
    assert incident_ids(http, window) == ["PINC001", "PINC002"]
    assert incident_ids(http, [("service_ids[]", "PSVC001")]) == ["PINC001", "PINC003"]
    assert incident_ids(http, [("statuses[]", "resolved")]) == ["PINC002"]
    assert incident_ids(http, [("urgencies[]", "high"), ("statuses[]", "triggered")]) == [
        "PINC001",
        "PINC003",
    ]
    assert incident_ids(http, [*window, ("date_range", "all")]) == ["PINC001", "PINC002", "PINC003"]


def test_an_incident_has_the_real_shape_and_its_priority(
    fake: FakePagerDuty, http: httpx.Client
) -> None:
    with_incidents(fake)
    first = http.get("/incidents", params={"limit": 1, "total": "true"}).json()
    assert (first["limit"], first["more"], first["total"]) == (1, True, 3)
    incident = first["incidents"][0]
    assert incident["html_url"] == "https://demo.pagerduty.com/incidents/PINC001"
    assert incident["service"]["type"] == "service_reference"
    assert incident["priority"]["summary"] == "P1"
    assert (incident["status"], incident["urgency"], incident["resolved_at"]) == (
        "triggered",
        "high",
        None,
    )


def test_a_bad_window_or_status_is_a_400(fake: FakePagerDuty, http: httpx.Client) -> None:
    assert http.get("/incidents", params={"since": "yesterday"}).status_code == 400
    assert http.get("/incidents", params={"statuses[]": "open"}).status_code == 400
    assert http.get("/incidents", params={"include[]": "everything"}).status_code == 400


def test_log_entries_newest_first_and_the_overview_only_on_asking(
    fake: FakePagerDuty, http: httpx.Client
) -> None:
    with_incidents(fake)
    fake.log_entries["PINC002"].insert(
        0, {**fake.log_entries["PINC002"][0], "id": "QNOTIFY", "type": "notify_log_entry"}
    )
    every = http.get("/incidents/PINC002/log_entries").json()["log_entries"]
    assert [e["type"] for e in every] == [
        "notify_log_entry",
        "resolve_log_entry",
        "acknowledge_log_entry",
        "escalate_log_entry",
        "trigger_log_entry",
    ]
    overview = http.get("/incidents/PINC002/log_entries", params={"is_overview": "true"})
    assert [e["created_at"] for e in overview.json()["log_entries"]] == [
        "2026-12-01T12:00:00Z",
        "2026-12-01T11:00:00Z",
        "2026-12-01T10:05:00Z",
        "2026-12-01T10:00:00Z",
    ]
    assert http.get("/incidents/PNOSUCH/log_entries").status_code == 404


def test_a_fault_can_be_set_for_the_nth_request_from_now(
    fake: FakePagerDuty, http: httpx.Client
) -> None:
    fake.fail_at(2)
    answers = [http.get("/incidents") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 429, 200]
    assert answers[1].headers["ratelimit-reset"] == "20"
    assert answers[1].json()["error"]["code"] == 2020

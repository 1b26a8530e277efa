"""The PagerDuty client's rules, against the fake through httpx.MockTransport (no network).

The cast: alice (PALICE1) and bob (PBOB001) in PagerDuty, and the Platform policy (PEPLAT1).
Waits go to an injected sleep that only records them, so no test waits for real.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pagerduty.client import PagerDuty, PagerDutyError, client_from_settings
from pagerduty.fake import PUBLIC_ADDRESS, FakePagerDuty

TOKEN = "u+s3cret-TOKEN-value"
POLICY = "PEPLAT1"
FEED = "/private/0123456789abcdef/feed/PSCHED1"
ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


@pytest.fixture
def fake() -> FakePagerDuty:
    fake = FakePagerDuty(TOKEN)
    fake.add_user("Alice Nguyen", "alice@example.com", "PALICE1")
    fake.add_user("Bob Okafor", "bob@example.com", "PBOB001")
    fake.add_escalation_policy(POLICY, "Platform On-Call", [["PALICE1"], ["PBOB001"]])
    fake.add_schedule_feed("0123456789abcdef", "PSCHED1", ICS)
    return fake


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def connect(fake: FakePagerDuty, waits: list[float]) -> Iterator[Callable[..., PagerDuty]]:
    """Makes clients bound to the fake; every wait they ask for lands in ``waits``."""
    made: list[PagerDuty] = []

    def make(**options: Any) -> PagerDuty:
        options.setdefault("transport", fake.transport())
        options.setdefault("resolve", fake.resolve)
        made.append(PagerDuty(options.pop("token", TOKEN), sleep=waits.append, **options))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(connect: Callable[..., PagerDuty]) -> PagerDuty:
    return connect()


def rules(policy: dict[str, Any]) -> list[list[str]]:
    return [[target["id"] for target in rule["targets"]] for rule in policy["escalation_rules"]]


def answering(*responses: httpx.Response) -> httpx.MockTransport:
    """A transport answering the given responses in turn (for shapes the fake never sends)."""
    queue = list(responses)
    return httpx.MockTransport(lambda request: queue.pop(0))


# -- requests and answers ----------------------------------------------------------------------


def test_requests_carry_the_token_the_version_and_json_headers(
    client: PagerDuty, fake: FakePagerDuty
) -> None:
    client.get_escalation_policy(POLICY)
    headers = fake.requests[0].headers
    assert headers["authorization"] == f"Token token={TOKEN}"
    assert headers["accept"] == "application/vnd.pagerduty+json;version=2"
    assert headers["content-type"] == "application/json"
    assert "from" not in headers


def test_entities_come_back_unwrapped(client: PagerDuty) -> None:
    policy = client.get_escalation_policy(POLICY)
    assert (policy["id"], policy["name"], rules(policy)) == (
        POLICY,
        "Platform On-Call",
        [["PALICE1"], ["PBOB001"]],
    )
    assert client.get_user("PBOB001")["email"] == "bob@example.com"


def test_a_put_sends_the_wrapped_policy_and_names_the_from_address(
    connect: Callable[..., PagerDuty], fake: FakePagerDuty
) -> None:
    client = connect(from_email="portal-bot@example.com")
    policy = client.get_escalation_policy(POLICY)
    policy["escalation_rules"] = [
        {"escalation_delay_in_minutes": 5, "targets": [{"id": "PBOB001", "type": "user_reference"}]}
    ]
    saved = client.put_escalation_policy(POLICY, policy)
    put = fake.requests[-1]
    assert (put.method, put.url.path) == ("PUT", f"/escalation_policies/{POLICY}")
    assert put.headers["from"] == "portal-bot@example.com"
    assert httpx.Response(200, content=put.content).json()["escalation_policy"] == policy
    assert rules(saved) == [["PBOB001"]]


def test_find_users_reads_every_page(client: PagerDuty, fake: FakePagerDuty) -> None:
    for n in range(230):
        fake.add_user(f"Engineer {n:03d}", f"engineer{n:03d}@example.com")
    users = client.find_users("ENGINEER")
    assert len({user["id"] for user in users}) == 230
    pages = [(r.url.params["offset"], r.url.params["limit"]) for r in fake.requests]
    assert pages == [("0", "100"), ("100", "100"), ("200", "100")]
    assert {r.url.params["query"] for r in fake.requests} == {"ENGINEER"}


def test_the_offset_advances_by_the_items_received_not_the_echoed_limit() -> None:
    people = [{"id": f"P{n}", "email": f"p{n}@example.com"} for n in range(8)]
    asked: list[int] = []

    def short_pages(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        asked.append(offset)
        page = people[offset : offset + 3]  # fewer than asked, while echoing limit 100
        more = offset + 3 < len(people)
        body = {"users": page, "limit": 100, "offset": offset, "more": more, "total": None}
        return httpx.Response(200, json=body)

    with PagerDuty(TOKEN, transport=httpx.MockTransport(short_pages)) as client:
        assert client.find_users("p") == people
    assert asked == [0, 3, 6]


def test_a_list_past_the_offset_cap_raises_instead_of_returning_part(
    client: PagerDuty, fake: FakePagerDuty
) -> None:
    for n in range(10_001):
        fake.users[f"PU{n}"] = {"id": f"PU{n}", "name": "Sam", "email": "s@example.com"}
    with pytest.raises(PagerDutyError, match="more than 10000 results"):
        client.find_users("sam")
    assert client.calls == 100


def test_ids_stay_inside_their_path_segment(client: PagerDuty, fake: FakePagerDuty) -> None:
    with pytest.raises(PagerDutyError) as raised:
        client.get_escalation_policy("../users")
    assert raised.value.status == 404
    assert fake.requests[0].url.raw_path == b"/escalation_policies/..%2Fusers"


# -- errors ------------------------------------------------------------------------------------


def test_errors_as_a_list_are_read(client: PagerDuty, fake: FakePagerDuty) -> None:
    with pytest.raises(PagerDutyError) as raised:
        client.put_escalation_policy(POLICY, {"escalation_rules": []})
    error = raised.value
    assert (error.status, error.code, error.retryable) == (400, 2001, False)
    assert error.message == (
        "PagerDuty PUT api.pagerduty.com/escalation_policies/PEPLAT1 answered 400: "
        "Invalid Input Provided (code 2001): Escalation policy must have at least one "
        "escalation rule"
    )
    assert error.request_id == client.request_ids[-1] == "fake-req-000001"


def test_errors_as_an_object_are_read(client: PagerDuty, fake: FakePagerDuty) -> None:
    fake.fail_next(400, errors_as_object=True)
    with pytest.raises(PagerDutyError) as raised:
        client.get_escalation_policy(POLICY)
    assert (raised.value.status, raised.value.code) == (400, 3001)
    assert raised.value.message.endswith(
        "answered 400: Invalid Schedule (code 3001): "
        "rotation_layers.weekly_restrictions.duration_seconds: is invalid"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"message": "Invalid Schedule", "code": 3001, "errors": ["a", "b"]}, (3001, ": a; b")),
        ({"error": "Something broke"}, (None, "Something broke")),
        (
            {"error": {"message": "Nope", "code": "x"}, "errors": {"f": "bad"}},
            (None, "Nope: f: bad"),
        ),
        ("<html>Bad Gateway\n</html>", (None, "answered 400: Bad Request")),
    ],
)
def test_other_error_shapes_are_read_too(body: Any, expected: tuple[int | None, str]) -> None:
    answer = (
        httpx.Response(400, text=body) if isinstance(body, str) else httpx.Response(400, json=body)
    )
    with (
        PagerDuty(TOKEN, transport=answering(answer)) as client,
        pytest.raises(PagerDutyError) as raised,
    ):
        client.get_user("PALICE1")
    assert raised.value.code == expected[0]
    assert raised.value.message.endswith(expected[1])
    assert "\n" not in raised.value.message


def test_a_redirect_is_an_error_not_followed() -> None:
    moved = httpx.Response(301, headers={"location": "https://elsewhere.example.com/"})
    with PagerDuty(TOKEN, transport=answering(moved)) as client, pytest.raises(PagerDutyError):
        client.get_user("PALICE1")
    assert client.calls == 1


# -- retries -----------------------------------------------------------------------------------


def test_a_429_waits_ratelimit_reset_then_retries(
    client: PagerDuty, fake: FakePagerDuty, waits: list[float]
) -> None:
    fake.fail_next(429)  # ratelimit-reset: 20, code 2020
    assert client.get_escalation_policy(POLICY)["id"] == POLICY
    assert len(waits) == 1 and 20.5 <= waits[0] <= 21.0
    assert client.calls == 2 and len(client.request_ids) == 2


def test_a_429_without_headers_backs_off_exponentially_with_bounded_jitter(
    connect: Callable[..., PagerDuty], fake: FakePagerDuty, waits: list[float]
) -> None:
    client = connect(max_attempts=5, max_wait=60)
    fake.fail_next(429, headers={}, times=4)
    client.put_escalation_policy(POLICY, {"name": "Platform"})
    assert len(waits) == 4
    assert all(base <= w <= base * 1.3 for w, base in zip(waits, [1, 2, 4, 8], strict=True))


def test_retries_stop_at_max_attempts(
    connect: Callable[..., PagerDuty], fake: FakePagerDuty, waits: list[float]
) -> None:
    client = connect(max_attempts=3)
    fake.fail_next(500, times=10)
    with pytest.raises(PagerDutyError) as raised:
        client.get_escalation_policy(POLICY)
    assert (raised.value.status, raised.value.retryable) == (500, True)
    assert raised.value.message.endswith("gave up after 3 attempt(s)")
    assert (client.calls, len(waits)) == (3, 2)


def test_retries_stop_before_a_wait_would_pass_max_wait(
    connect: Callable[..., PagerDuty], fake: FakePagerDuty, waits: list[float]
) -> None:
    client = connect(max_attempts=10, max_wait=30)
    fake.fail_next(429, headers={"ratelimit-reset": "10"}, times=10)
    with pytest.raises(PagerDutyError, match="gave up after 3 attempt"):
        client.get_escalation_policy(POLICY)
    assert len(waits) == 2 and sum(waits) <= 30


def test_a_reset_longer_than_max_wait_raises_at_once(
    connect: Callable[..., PagerDuty], fake: FakePagerDuty, waits: list[float]
) -> None:
    client = connect(max_wait=30)
    fake.fail_next(429, headers={"ratelimit-reset": "60"})
    with pytest.raises(PagerDutyError) as raised:
        client.find_users("alice")
    assert (raised.value.status, raised.value.code, client.calls, waits) == (429, 2020, 1, [])


@pytest.mark.parametrize("status", [500, 502, 503, 408])
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_408_and_5xx_are_retried_on_get_and_put(
    client: PagerDuty, fake: FakePagerDuty, waits: list[float], status: int, method: str
) -> None:
    fake.fail_next(status, times=2)
    if method == "GET":
        client.get_escalation_policy(POLICY)
    else:
        client.put_escalation_policy(POLICY, {"name": "Platform"})
    assert [r.method for r in fake.requests] == [method] * 3
    assert len(waits) == 2 and 1 <= waits[0] <= 1.3 and 2 <= waits[1] <= 2.6


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_never_retried(
    client: PagerDuty, fake: FakePagerDuty, waits: list[float], status: int
) -> None:
    fake.fail_next(status, times=5)
    with pytest.raises(PagerDutyError) as raised:
        client.get_escalation_policy(POLICY)
    assert (raised.value.status, raised.value.retryable, client.calls, waits) == (
        status,
        False,
        1,
        [],
    )


def test_a_wrong_token_raises_at_once_with_code_2006(
    connect: Callable[..., PagerDuty], waits: list[float]
) -> None:
    client = connect(token="not-the-token")
    with pytest.raises(PagerDutyError) as raised:
        client.find_users("alice")
    assert (raised.value.status, raised.value.code, client.calls, waits) == (401, 2006, 1, [])


def test_other_4xx_are_not_retried(client: PagerDuty, waits: list[float]) -> None:
    with pytest.raises(PagerDutyError) as raised:
        client.get_escalation_policy("PNOSUCH")
    assert (raised.value.status, raised.value.code, client.calls, waits) == (404, 2100, 1, [])


class Unreachable(httpx.BaseTransport):
    """Refuses the first ``failures`` connections, then hands requests to the fake."""

    def __init__(self, fake: FakePagerDuty, failures: int) -> None:
        self.fake, self.failures = fake, failures

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.failures:
            self.failures -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return self.fake.handler(request)


def test_a_network_error_is_retried_on_get(
    connect: Callable[..., PagerDuty], fake: FakePagerDuty, waits: list[float]
) -> None:
    client = connect(transport=Unreachable(fake, failures=2))
    assert client.get_user("PALICE1")["id"] == "PALICE1"
    assert (client.calls, len(waits), len(fake.requests)) == (3, 2, 1)


def test_a_network_error_that_lasts_raises_without_a_status(
    connect: Callable[..., PagerDuty], fake: FakePagerDuty
) -> None:
    client = connect(transport=Unreachable(fake, failures=99), max_attempts=4)
    with pytest.raises(PagerDutyError) as raised:
        client.get_escalation_policy(POLICY)
    error = raised.value
    assert (error.status, error.code, error.request_id, error.retryable) == (None, None, None, True)
    assert "ConnectError" in error.message and client.calls == 4


def test_a_timeout_is_retried(
    connect: Callable[..., PagerDuty], fake: FakePagerDuty, waits: list[float]
) -> None:
    client = connect(timeout=5.0)
    fake.slow_next(6.0)  # the fake raises ReadTimeout: 6 s is past the client's 5 s
    fake.slow_next(1.0)  # within the timeout: answered
    assert client.get_escalation_policy(POLICY)["id"] == POLICY
    assert (client.calls, len(waits)) == (2, 1)


# -- logs --------------------------------------------------------------------------------------


def test_request_ids_are_logged_and_the_token_and_feed_key_never(
    client: PagerDuty, fake: FakePagerDuty, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx's and httpcore's records too
    fake.fail_next(429)
    client.get_escalation_policy(POLICY)
    client.get_feed(f"webcal://acme.pagerduty.com{FEED}")
    fake.fail_next(401)
    with pytest.raises(PagerDutyError) as raised:
        client.put_escalation_policy(POLICY, {"name": "Platform"})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert client.request_ids == [f"fake-req-{n:06d}" for n in range(1, 5)]
    assert all(f"x-request-id {rid}" in logged for rid in client.request_ids)
    assert "retrying in" in logged
    for secret in (TOKEN, "0123456789abcdef"):
        assert secret not in logged
        assert secret not in raised.value.message
        assert all(secret not in repr(record.args) for record in caplog.records)
    assert "acme.pagerduty.com/private/***/feed/PSCHED1" in logged  # ours
    assert f"https://{PUBLIC_ADDRESS}/private/***/feed/PSCHED1" in logged  # httpx's


# -- feeds -------------------------------------------------------------------------------------


def test_a_webcal_feed_is_fetched_over_https_without_credentials(
    client: PagerDuty, fake: FakePagerDuty
) -> None:
    assert client.get_feed(f"webcal://acme.pagerduty.com{FEED}") == ICS
    request = fake.requests[0]
    # Sent to the address that was checked, with the name for Host and the TLS certificate.
    assert str(request.url) == f"https://{PUBLIC_ADDRESS}{FEED}"
    assert request.headers["host"] == "acme.pagerduty.com"
    assert request.extensions["sni_hostname"] == "acme.pagerduty.com"
    assert "authorization" not in request.headers


def test_an_http_feed_of_a_trusted_origin_stays_http_for_the_local_fake(
    connect: Callable[..., PagerDuty], fake: FakePagerDuty
) -> None:
    client = connect(feed_trusted_origins=["http://127.0.0.1:8025"])
    assert client.get_feed(f"http://127.0.0.1:8025{FEED}") == ICS
    assert str(fake.requests[0].url) == f"http://127.0.0.1:8025{FEED}"
    # The origin, not the host: another port of the same machine is not trusted.
    with pytest.raises(PagerDutyError, match="must start with webcal://"):
        client.get_feed("http://127.0.0.1:6379/")
    assert len(fake.requests) == 1


def test_an_unknown_feed_key_is_a_404_not_retried(client: PagerDuty) -> None:
    with pytest.raises(PagerDutyError) as raised:
        client.get_feed("https://acme.pagerduty.com/private/wrongkey/feed/PSCHED1")
    assert (raised.value.status, client.calls) == (404, 1)
    assert "wrongkey" not in raised.value.message


def test_a_feed_fetch_is_retried_like_any_get(
    client: PagerDuty, fake: FakePagerDuty, waits: list[float]
) -> None:
    fake.fail_next(503)
    assert client.get_feed(f"https://acme.pagerduty.com{FEED}") == ICS
    assert (client.calls, len(waits)) == (2, 1)


@pytest.mark.parametrize("url", ["ftp://acme.pagerduty.com/feed", "acme.pagerduty.com/feed"])
def test_a_feed_url_of_another_scheme_is_refused(client: PagerDuty, url: str) -> None:
    with pytest.raises(PagerDutyError, match="must start with webcal://"):
        client.get_feed(url)
    assert client.calls == 0


@pytest.mark.parametrize(
    ("url", "dns", "reason"),
    [
        (f"http://127.0.0.1:8025{FEED}", {}, "must start with webcal:// or https://"),
        ("http://169.254.169.254/latest/meta-data/", {}, "must start with webcal://"),
        ("https://169.254.169.254/latest/meta-data/", {}, "169.254.169.254 is not an allowed"),
        (f"https://10.0.0.1{FEED}", {}, "10.0.0.1 is not an allowed host"),
        (f"https://example.com{FEED}", {}, "example.com is not an allowed host"),
        (f"https://acme.pagerduty.com:8443{FEED}", {}, "port 443, not 8443"),
        (f"https://me:pw@acme.pagerduty.com{FEED}", {}, "user name or password"),
        (f"https://x.pagerduty.com{FEED}", {"x.pagerduty.com": ["127.0.0.1"]}, "loopback"),
        (f"https://x.pagerduty.com{FEED}", {"x.pagerduty.com": ["::1"]}, "loopback"),
        (f"https://x.pagerduty.com{FEED}", {"x.pagerduty.com": ["::ffff:7f00:1"]}, "loopback"),
        (f"https://x.pagerduty.com{FEED}", {"x.pagerduty.com": ["169.254.169.254"]}, "link-local"),
        (f"https://x.pagerduty.com{FEED}", {"x.pagerduty.com": ["224.0.0.1"]}, "multicast"),
        (f"https://x.pagerduty.com{FEED}", {"x.pagerduty.com": ["100.64.0.1"]}, "non-public"),
        # Every address counts, not only the first: a client may pick any of them.
        (
            f"https://x.pagerduty.com{FEED}",
            {"x.pagerduty.com": [PUBLIC_ADDRESS, "10.1.2.3"]},
            "x.pagerduty.com resolves to 10.1.2.3, which is a private address",
        ),
        (f"https://x.pagerduty.com{FEED}", {"x.pagerduty.com": []}, "cannot be resolved"),
        ("https://nowhere.example/feed", {}, "nowhere.example is not an allowed host"),
        ("https://evilpagerduty.com/feed", {}, "evilpagerduty.com is not an allowed host"),
        ("https://pagerduty.com.evil.example/feed", {}, "is not an allowed host"),
    ],
)
def test_a_feed_url_that_is_not_a_public_pagerduty_host_is_never_fetched(
    client: PagerDuty, fake: FakePagerDuty, url: str, dns: dict[str, list[str]], reason: str
) -> None:
    fake.dns.update(dns)
    with pytest.raises(PagerDutyError) as raised:
        client.get_feed(url)
    assert raised.value.message.startswith("Not fetched: ")
    assert reason in raised.value.message
    assert (client.calls, fake.requests) == (0, [])


def test_an_allowed_host_at_a_private_address_is_still_refused(
    connect: Callable[..., PagerDuty], fake: FakePagerDuty
) -> None:
    client = connect(feed_hosts=["10.0.0.1", "*.pagerduty.com"])
    with pytest.raises(PagerDutyError, match=r"10\.0\.0\.1 is a private address"):
        client.get_feed(f"https://10.0.0.1{FEED}")
    assert fake.requests == []


def test_a_feed_is_fetched_from_the_address_checked_so_dns_cannot_swap_it(
    connect: Callable[..., PagerDuty], fake: FakePagerDuty
) -> None:
    # DNS rebinding: the name answers a public address when checked, loopback afterwards.
    answers = iter([[PUBLIC_ADDRESS], ["127.0.0.1"]])
    lookups: list[str] = []

    def rebinding(host: str) -> list[str]:
        lookups.append(host)
        return next(answers)

    client = connect(resolve=rebinding)
    assert client.get_feed(f"webcal://acme.pagerduty.com{FEED}") == ICS
    assert lookups == ["acme.pagerduty.com"]
    assert fake.requests[0].url.host == PUBLIC_ADDRESS


def test_a_feed_redirect_is_not_followed(connect: Callable[..., PagerDuty]) -> None:
    client = connect(
        transport=answering(httpx.Response(302, headers={"location": "http://127.0.0.1:6379/"}))
    )
    with pytest.raises(PagerDutyError, match=r"answered 302 Found$"):
        client.get_feed(f"https://acme.pagerduty.com{FEED}")
    assert client.calls == 1


def test_a_feed_error_names_the_status_never_the_body(connect: Callable[..., PagerDuty]) -> None:
    body = {"error": {"message": "root:x:0:0:root", "errors": ["db password hunter2"]}}
    client = connect(transport=answering(httpx.Response(403, json=body)))
    with pytest.raises(PagerDutyError) as raised:
        client.get_feed(f"https://acme.pagerduty.com{FEED}")
    assert raised.value.message == (
        "PagerDuty GET acme.pagerduty.com/private/***/feed/PSCHED1 answered 403 Forbidden"
    )


def test_a_feed_larger_than_the_limit_is_not_read(connect: Callable[..., PagerDuty]) -> None:
    big = ICS + "X" * 2_000
    client = connect(feed_max_bytes=1_000, transport=answering(httpx.Response(200, text=big)))
    with pytest.raises(PagerDutyError, match="larger than"):
        client.get_feed(f"https://acme.pagerduty.com{FEED}")
    streamed = httpx.Response(200, content=iter([ICS.encode()] * 100))  # no Content-Length
    client = connect(feed_max_bytes=1_000, transport=answering(streamed))
    with pytest.raises(PagerDutyError, match="larger than"):
        client.get_feed(f"https://acme.pagerduty.com{FEED}")


def test_a_feed_slower_than_the_deadline_is_not_read(connect: Callable[..., PagerDuty]) -> None:
    client = connect(feed_deadline=-1.0, transport=answering(httpx.Response(200, text=ICS)))
    with pytest.raises(PagerDutyError, match="took more than"):
        client.get_feed(f"https://acme.pagerduty.com{FEED}")


# -- settings ----------------------------------------------------------------------------------


def test_the_client_from_settings_uses_the_token_url_and_from_address(
    settings: Any, fake: FakePagerDuty
) -> None:
    settings.PAGERDUTY_API_TOKEN = TOKEN
    settings.PAGERDUTY_API_URL = "https://api.eu.pagerduty.com/"
    settings.PAGERDUTY_FROM_EMAIL = "bot@example.com"
    with client_from_settings(transport=fake.transport()) as client:
        client.put_escalation_policy(POLICY, {"name": "Platform"})
    request = fake.requests[0]
    assert str(request.url) == f"https://api.eu.pagerduty.com/escalation_policies/{POLICY}"
    assert request.headers["from"] == "bot@example.com"
    assert request.headers["authorization"] == f"Token token={TOKEN}"

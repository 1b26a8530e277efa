"""Slack: what the webhook stand-in accepts and refuses, and the posts the portal writes, each
sent once through the real client over HTTP to the stand-in.

The platform rotation hands off Tuesdays 10:00 Los Angeles (18:00 UTC); week 2 (8 Dec) is
Erin primary, Bob secondary.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from incidents.heads_up import post_heads_up
from incidents.jobs import post_overdue_updates
from incidents.models import Incident
from portal.models import Notice
from rotation.models import Engineer, Rotation
from slack_app import messages
from slack_app.client import SlackError, post_webhook
from slack_app.fake import FakeSlack
from slack_app.jobs import post_handoffs, send_posts
from tests.rotation.test_swaps_race import at_once

HANDOFF = datetime(2026, 12, 8, 18, 0, tzinfo=UTC)


@pytest.fixture
def fake_slack() -> Iterator[tuple[FakeSlack, str]]:
    fake = FakeSlack()
    with fake.serve() as url:
        yield fake, url


@pytest.fixture
def webhook(fake_slack: tuple[FakeSlack, str], settings: Any) -> FakeSlack:
    fake, url = fake_slack
    settings.SLACK_WEBHOOK_URL = url
    return fake


def slack_rows() -> list[Notice]:
    return list(Notice.objects.filter(channel=Notice.Channel.SLACK))


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({}, "no_text"),
        ({"text": ""}, "no_text"),
        ({"text": "hi", "blocks": [{"type": "banner"}]}, "invalid_blocks"),
        (
            {"blocks": [{"type": "section", "text": {"type": "html", "text": "hi"}}]},
            "invalid_blocks",
        ),
        (
            {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]},
            "invalid_blocks",
        ),
        ({"text": "hi", "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
    ],
)
def test_the_stand_in_refuses_what_slack_refuses(
    fake_slack: tuple[FakeSlack, str], payload: dict[str, Any], error: str
) -> None:
    fake, url = fake_slack
    with pytest.raises(SlackError, match=f"400: {error}"):
        post_webhook(payload, url=url)
    assert fake.refused == [error] and fake.received == []


def test_the_stand_in_wants_a_json_post(fake_slack: tuple[FakeSlack, str]) -> None:
    fake, url = fake_slack
    assert httpx.post(url, content=b'{"text": "hi"}').text == "invalid_payload"
    assert httpx.post(url, content=b"{", headers={"Content-Type": "application/json"}).text == (
        "invalid_payload"
    )
    assert httpx.get(url).status_code == 405
    assert fake.received == []


@pytest.mark.parametrize(
    "payload",
    [
        messages.handoff("Platform", "Erin <e>", "Bob & co", "Tue 8 Dec 10:00"),
        messages.heads_up("Postgres 17 upgrade", "Change", "Tue 10:00", "Tue 11:00", "Alice"),
        messages.update_overdue("#4 Queue stalled", "SEV1", "Tue 8 Dec 10:30 UTC"),
        messages.heads_up("x" * 5000, "Test", "now", "later", "Alice"),
    ],
)
def test_every_payload_the_portal_builds_is_accepted(
    fake_slack: tuple[FakeSlack, str], payload: dict[str, Any]
) -> None:
    fake, url = fake_slack
    post_webhook(payload, url=url)
    assert fake.received == [payload]


def test_mrkdwn_escapes_what_slack_would_read_as_links() -> None:
    payload = messages.handoff("Platform", "Erin <e>", "Bob & co", "Tue")
    assert "Erin &lt;e&gt;" in payload["blocks"][0]["text"]["text"]
    assert "Bob &amp; co" in payload["blocks"][0]["text"]["text"]


@pytest.mark.django_db
def test_each_handoff_is_posted_once_with_the_new_primary_and_secondary(
    platform: Rotation, webhook: FakeSlack
) -> None:
    post_handoffs(HANDOFF - timedelta(minutes=5))
    assert slack_rows() == []
    for minutes in (0, 5, 70):  # a worker down an hour still finds it, once
        post_handoffs(HANDOFF + timedelta(minutes=minutes))
    assert send_posts() == "slack: 1 sent, 0 failed"
    [payload] = webhook.received
    assert payload["text"] == "Platform handoff: Erin is primary, Bob is secondary"
    assert "New primary: *Erin*\nNew secondary: *Bob*" in payload["blocks"][0]["text"]["text"]
    assert "Tue 8 Dec 10:00 America/Los_Angeles" in payload["blocks"][0]["text"]["text"]
    assert send_posts() == "slack: 0 sent, 0 failed"


@pytest.mark.django_db
def test_nothing_is_written_for_slack_without_a_webhook(
    platform: Rotation, cast: dict[str, Engineer], settings: Any
) -> None:
    settings.SLACK_WEBHOOK_URL = ""
    post_handoffs(HANDOFF + timedelta(minutes=1))
    overdue_incident(HANDOFF)
    post_overdue_updates(HANDOFF + timedelta(minutes=1))
    post_heads_up(heads_up_fields(), by=cast["alice"].user)  # type: ignore[arg-type]
    assert slack_rows() == []


def heads_up_fields() -> dict[str, Any]:
    starts = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
    return {
        "title": "Postgres 17 upgrade",
        "kind": "change",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=1),
        "rollback": "Fail back to the replica",
    }


@pytest.mark.django_db
def test_a_heads_up_is_posted_when_it_is_posted(
    cast: dict[str, Engineer], webhook: FakeSlack
) -> None:
    post_heads_up(heads_up_fields(), by=cast["alice"].user)  # type: ignore[arg-type]
    send_posts()
    [payload] = webhook.received
    assert payload["text"] == (
        "Heads-up (Disruptive change): Postgres 17 upgrade, Thu 3 Dec 17:00 UTC to Thu 3 Dec 18:00 UTC"
    )


def overdue_incident(due: datetime) -> Incident:
    return Incident.objects.create(
        title="Queue stalled", severity="SEV1", started_at=due - timedelta(hours=1),
        next_update_due=due,
    )  # fmt: skip


@pytest.mark.django_db
def test_an_overdue_customer_update_is_posted_once_per_due_time(
    cast: dict[str, Engineer], webhook: FakeSlack
) -> None:
    incident = overdue_incident(HANDOFF)
    post_overdue_updates(HANDOFF - timedelta(minutes=1))
    assert slack_rows() == []
    post_overdue_updates(HANDOFF + timedelta(minutes=1))
    post_overdue_updates(HANDOFF + timedelta(minutes=6))
    assert len(slack_rows()) == 1
    # An update sent moves the due time on; missing that one is posted again.
    Incident.objects.filter(pk=incident.pk).update(next_update_due=HANDOFF + timedelta(hours=1))
    post_overdue_updates(HANDOFF + timedelta(hours=2))
    send_posts()
    assert [p["text"] for p in webhook.received] == [
        f"Customer update overdue: {incident} (SEV1), due Tue 8 Dec 18:00 UTC",
        f"Customer update overdue: {incident} (SEV1), due Tue 8 Dec 19:00 UTC",
    ]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_webhook_url_never_reaches_a_log_line(
    fake_slack: tuple[FakeSlack, str], caplog: pytest.LogCaptureFixture
) -> None:
    _, url = fake_slack
    caplog.set_level(logging.DEBUG)  # httpx's records too
    post_webhook({"text": "hi"}, url=url)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/services/***" in logged
    assert "T0/B0/fake" not in logged


@pytest.mark.django_db
def test_a_failed_post_keeps_its_error_and_is_sent_by_the_next_run(
    platform: Rotation, webhook: FakeSlack, settings: Any
) -> None:
    url = settings.SLACK_WEBHOOK_URL
    post_handoffs(HANDOFF + timedelta(minutes=1))
    settings.SLACK_WEBHOOK_URL = f"http://127.0.0.1:{closed_port()}/services/T0/B0/secret"
    assert send_posts() == "slack: 0 sent, 1 failed"
    [row] = slack_rows()
    assert row.sent_at is None and row.claimed_at is None
    assert row.error == "Slack webhook unreachable: ConnectError"
    assert "secret" not in row.error
    settings.SLACK_WEBHOOK_URL = url
    assert send_posts() == "slack: 1 sent, 0 failed"
    assert len(webhook.received) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_posting_at_once_post_each_handoff_once(
    platform: Rotation, webhook: FakeSlack
) -> None:
    now = HANDOFF + timedelta(minutes=1)
    failures = at_once([lambda: post_handoffs(now), lambda: send_posts(now=now)] * 2)
    failures += at_once([lambda: send_posts(now=now)] * 2)
    assert failures == []
    assert [json.loads(r.body)["text"] for r in slack_rows()] == [
        "Platform handoff: Erin is primary, Bob is secondary"
    ]
    assert len(webhook.received) == 1

"""The Slack app: ``/oncall``, the Accept/Decline buttons and the ``@<rotation>-oncall`` user
groups, each talking over HTTP to the local Slack Web API stand-in (slack_app/fake_api.py), which
refuses what Slack refuses, so a passing test means the app sent what Slack takes.

Now is Wednesday 2 Dec 17:00 UTC: the platform rotation's week 1 (from Tuesday 18:00 UTC) has
Alice primary, Erin secondary and Bob shadowing; next week Erin is primary, Bob secondary.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from portal.models import AuditEntry, Notice
from rotation.actions import create_override
from rotation.covers import ask_for_cover
from rotation.models import Engineer, Rotation, Swap, SwapStatus
from slack_app import api
from slack_app.client import SlackError
from slack_app.fake_api import FakeSlackApi, click_body, command_body, signed
from slack_app.groups import sync_group
from slack_app.jobs import post_handoffs, post_requests, send_posts, sync_user_groups
from slack_app.models import UNMATCHED, SlackUser, SlackUserGroup
from tests.conftest import NOW, login
from tests.rotation.test_swaps import propose
from tests.rotation.test_swaps_race import at_once

SECRET = "fake-signing-secret"
TOKEN = "xoxb-fake"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def slack(settings: Any) -> Iterator[FakeSlackApi]:
    fake = FakeSlackApi(token=TOKEN)
    with fake.serve() as url:
        settings.SLACK_API_URL = url
        settings.SLACK_BOT_TOKEN = TOKEN
        settings.SLACK_SIGNING_SECRET = SECRET
        settings.SLACK_CHANNEL = "C0ONCALL"
        settings.SLACK_WEBHOOK_URL = ""
        yield fake


@pytest.fixture
def in_slack(slack: FakeSlackApi, cast: dict[str, Engineer]) -> dict[str, str]:
    """Everyone of the cast has a Slack user with their email, except Bob."""
    return {
        name: slack.add_user(name, engineer.email)
        for name, engineer in cast.items()
        if name != "bob"
    }


def command(client: Client, text: str = "", *, headers: dict[str, str] | None = None) -> Any:
    body = command_body("U0ASKER", text)
    return client.post(
        "/slack/commands", body, content_type=FORM, headers=headers or signed(SECRET, body)
    )


def click(client: Client, slack: FakeSlackApi, user: str, action: str, value: str) -> Any:
    body = click_body(user, action, value, response_url=slack.response_url())
    return client.post("/slack/interactions", body, content_type=FORM, headers=signed(SECRET, body))


# Signatures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/slack/commands", "/slack/interactions"])
def test_a_request_without_slacks_headers_gets_401_and_nothing_is_done(
    client: Client, slack: FakeSlackApi, platform: Rotation, path: str
) -> None:
    answer = client.post(path, command_body("U0ASKER"), content_type=FORM)
    assert answer.status_code == 401
    assert b"Missing Slack signature" in answer.content
    assert slack.calls == []


def test_a_request_signed_with_another_secret_gets_401(
    client: Client, slack: FakeSlackApi, platform: Rotation
) -> None:
    body = command_body("U0ASKER")
    answer = client.post(
        "/slack/commands", body, content_type=FORM, headers=signed("not-the-secret", body)
    )
    assert answer.status_code == 401
    assert b"Bad or expired" in answer.content


def test_a_body_changed_after_signing_gets_401(
    client: Client, slack: FakeSlackApi, platform: Rotation
) -> None:
    headers = signed(SECRET, command_body("U0ASKER", "platform"))
    answer = client.post(
        "/slack/commands", command_body("U0ASKER", "other"), content_type=FORM, headers=headers
    )
    assert answer.status_code == 401


def test_a_signature_older_than_five_minutes_gets_401_even_if_right(
    client: Client, slack: FakeSlackApi, platform: Rotation
) -> None:
    body = command_body("U0ASKER")
    old = signed(SECRET, body, at=NOW.timestamp() - 301)
    assert client.post("/slack/commands", body, content_type=FORM, headers=old).status_code == 401
    fresh = signed(SECRET, body, at=NOW.timestamp() - 250)
    assert client.post("/slack/commands", body, content_type=FORM, headers=fresh).status_code == 200


def test_a_button_with_a_bad_signature_runs_no_action(
    client: Client, slack: FakeSlackApi, in_slack: dict[str, str], platform: Rotation,
    cast: dict[str, Engineer],
) -> None:  # fmt: skip
    swap = propose(platform, cast)
    body = click_body(in_slack["erin"], "swap_accept", str(swap.pk))
    headers = signed("wrong", body)
    answer = client.post("/slack/interactions", body, content_type=FORM, headers=headers)
    assert answer.status_code == 401
    assert Swap.objects.get(pk=swap.pk).status == SwapStatus.PROPOSED


def test_a_get_is_not_allowed(client: Client, slack: FakeSlackApi) -> None:
    assert client.get("/slack/commands").status_code == 405


# /oncall ------------------------------------------------------------------------------------


def _text(answer: Any) -> str:
    payload = answer.json()
    assert payload["response_type"] == "ephemeral"
    return "\n".join(block["text"]["text"] for block in payload.get("blocks", []))


def test_oncall_names_the_same_people_as_the_oncall_command(
    client: Client, slack: FakeSlackApi, platform: Rotation
) -> None:
    out = io.StringIO()
    call_command("oncall", "--json", stdout=out)
    [expected] = json.loads(out.getvalue())
    text = _text(command(client))
    assert text.startswith("*Platform*")
    assert f"Primary: {expected['primary']['name']} until" in text
    assert f"Secondary: {expected['secondary']['name']} until" in text
    assert [f"Shadow: {s['name']} until" in text for s in expected["shadow"]] == [True]
    nxt = expected["next"]
    assert f"_Next:_ primary {nxt['primary']['name']}, secondary {nxt['secondary']['name']}" in text
    # Until the handoff, in each reader's own zone (Slack's date token), with a UTC fallback.
    assert f"<!date^{int(datetime.fromisoformat(expected['shift_end']).timestamp())}^" in text


def test_oncall_mentions_matched_people_and_names_the_unmatched(
    client: Client, slack: FakeSlackApi, in_slack: dict[str, str], platform: Rotation
) -> None:
    sync_user_groups(NOW)  # stores the matches: Bob has none
    text = _text(command(client, "platform"))
    assert f"Primary: <@{in_slack['alice']}>" in text
    assert f"Secondary: <@{in_slack['erin']}>" in text
    assert "Shadow: Bob until" in text  # unmatched: his name, never a guess


def test_oncall_with_an_unknown_rotation_lists_the_known_ones(
    client: Client, slack: FakeSlackApi, platform: Rotation
) -> None:
    answer = command(client, "nope")
    assert answer.status_code == 200
    assert answer.json() == {
        "response_type": "ephemeral",
        "text": "Sorry: unknown rotation 'nope' (known: platform).",
    }


def test_oncall_answer_is_valid_block_kit(
    client: Client, slack: FakeSlackApi, platform: Rotation
) -> None:
    # The stand-in checks blocks as Slack does: the answer posted to a response URL passes.
    payload = command(client).json()
    assert slack.respond(json.dumps(payload).encode()) == (200, "ok")


# User groups --------------------------------------------------------------------------------


def test_the_group_is_created_with_the_primary_and_secondary_now(
    slack: FakeSlackApi, in_slack: dict[str, str], platform: Rotation
) -> None:
    assert "platform-oncall set to 2" in sync_user_groups(NOW)
    group = slack.group("platform-oncall")
    assert group is not None and group.name == "Platform on call"
    assert sorted(group.users) == sorted([in_slack["alice"], in_slack["erin"]])
    row = SlackUserGroup.objects.get(rotation=platform)
    assert row.group_id == group.id and row.pushed_at == NOW and row.last_error == ""


def test_an_existing_group_with_the_handle_is_reused_not_created_again(
    slack: FakeSlackApi, in_slack: dict[str, str], platform: Rotation
) -> None:
    existing = api.create_group("Platform folks", "platform-oncall", "made by hand")
    sync_user_groups(NOW)
    assert len(slack.groups) == 1
    assert SlackUserGroup.objects.get(rotation=platform).group_id == existing


def test_a_cover_starting_changes_the_group_in_one_run_and_nothing_is_written_between(
    slack: FakeSlackApi, in_slack: dict[str, str], platform: Rotation,
    cast: dict[str, Engineer],
) -> None:  # fmt: skip
    sync_user_groups(NOW)
    create_override(
        platform,
        role="primary",
        engineer=cast["dave"],
        starts_at=NOW + timedelta(minutes=30),
        ends_at=NOW + timedelta(hours=3),
        by=None,
    )
    assert "unchanged" in sync_user_groups(NOW + timedelta(minutes=29))
    assert len(slack.writes("usergroups.users.update")) == 1  # no change: no call
    sync_user_groups(NOW + timedelta(minutes=30))
    group = slack.group("platform-oncall")
    assert group is not None
    assert sorted(group.users) == sorted([in_slack["dave"], in_slack["erin"]])
    assert len(slack.writes("usergroups.users.update")) == 2
    assert AuditEntry.objects.filter(action="slack_app.group_set").count() == 2


def test_an_unmatched_engineer_is_stored_as_such_and_left_out_of_the_group(
    slack: FakeSlackApi, in_slack: dict[str, str], platform: Rotation,
    cast: dict[str, Engineer],
) -> None:  # fmt: skip
    # Bob (no Slack user) is secondary next week.
    sync_user_groups(NOW + timedelta(days=6, hours=2))
    group = slack.group("platform-oncall")
    assert group is not None and group.users == [in_slack["erin"]]
    assert SlackUser.objects.get(engineer=cast["bob"]).slack_user_id == UNMATCHED
    assert ("users.lookupByEmail", "users_not_found") in slack.refused


def test_the_unmatched_are_listed_on_the_sync_page(
    client: Client, slack: FakeSlackApi, in_slack: dict[str, str], platform: Rotation
) -> None:
    sync_user_groups(NOW)
    page = login(client, "alice").get("/sync/").content.decode()
    assert "No Slack user has the email of" in page
    assert "bob@example.com" in page


def test_an_unmatched_person_is_looked_up_again_after_an_hour_not_every_run(
    slack: FakeSlackApi, in_slack: dict[str, str], platform: Rotation
) -> None:
    sync_user_groups(NOW)
    lookups = len([m for m, _ in slack.refused if m == "users.lookupByEmail"])
    sync_user_groups(NOW + timedelta(minutes=5))
    assert len([m for m, _ in slack.refused if m == "users.lookupByEmail"]) == lookups
    slack.add_user("bob", "bob@example.com")
    sync_user_groups(NOW + timedelta(hours=1, minutes=1))
    assert SlackUser.objects.get(engineer__email="bob@example.com").matched


def test_nobody_matched_keeps_the_group_and_says_why(
    slack: FakeSlackApi, platform: Rotation
) -> None:
    assert "nobody on call now has a Slack match" in sync_user_groups(NOW)
    assert slack.writes("usergroups.users.update") == []
    row = SlackUserGroup.objects.get(rotation=platform)
    assert row.last_error == "nobody on call now has a Slack match"


def test_a_wrong_token_is_kept_as_the_error_and_never_shown(
    settings: Any, slack: FakeSlackApi, in_slack: dict[str, str], platform: Rotation
) -> None:
    settings.SLACK_BOT_TOKEN = "xoxb-wrong"
    said = sync_user_groups(NOW)
    assert "invalid_auth" in said and "xoxb-wrong" not in said
    assert ("users.lookupByEmail", "invalid_auth") in slack.refused


@pytest.mark.django_db(transaction=True)
def test_two_workers_syncing_one_group_at_once_push_it_once(
    slack: FakeSlackApi, in_slack: dict[str, str], platform: Rotation
) -> None:
    sync_user_groups(NOW)  # the matches and the group exist; the race is over the push
    create_override(
        platform, role="primary", engineer=Engineer.objects.get(name="Dave"),
        starts_at=NOW, ends_at=NOW + timedelta(hours=3), by=None,
    )  # fmt: skip
    said: list[str] = []
    failures = at_once([lambda: said.append(sync_group(platform, NOW))] * 6)
    assert failures == []
    assert sorted(said) == ["set to 2"] + ["unchanged"] * 5
    assert len(slack.writes("usergroups.users.update")) == 2


# Buttons ------------------------------------------------------------------------------------


@pytest.fixture
def asked(slack: FakeSlackApi, platform: Rotation, cast: dict[str, Engineer]) -> tuple[str, Swap]:
    """Bob, in Slack, is asked by Alice to swap: his Slack id and the swap."""
    return slack.add_user("bob", "bob@example.com"), propose(platform, cast)


def test_a_swap_request_is_posted_once_with_buttons_through_the_outbox(
    slack: FakeSlackApi, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    swap = propose(platform, cast)
    assert post_requests(NOW) == "slack requests: 1 written"
    assert post_requests(NOW) == "slack requests: 0 written"
    assert send_posts(now=NOW) == "slack: 1 sent, 0 failed"
    [message] = slack.messages
    assert message["channel"] == "C0ONCALL"
    assert message["text"] == "Alice asks Bob to swap in Platform"
    buttons = message["blocks"][-1]["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("swap_accept", str(swap.pk)),
        ("swap_decline", str(swap.pk)),
    ]
    assert Notice.objects.get(key=f"slack-swap:{swap.pk}").sent_at is not None


def test_accept_clicked_by_the_partner_accepts_the_swap_and_updates_the_message(
    client: Client, slack: FakeSlackApi, asked: tuple[str, Swap], cast: dict[str, Engineer]
) -> None:
    bob, swap = asked
    assert click(client, slack, bob, "swap_accept", str(swap.pk)).status_code == 200
    swap.refresh_from_db()
    assert swap.status == SwapStatus.ACCEPTED and swap.decided_by == cast["bob"].user
    assert AuditEntry.objects.filter(action="swap.accepted", actor=cast["bob"].user).exists()
    [response] = slack.responses
    assert response["replace_original"] is True
    assert response["text"] == "Bob accepted this swap in Platform."
    # Matched by the email on his Slack profile, and remembered.
    assert SlackUser.objects.get(engineer=cast["bob"]).slack_user_id == bob


def test_decline_clicked_by_the_partner_declines_it(
    client: Client, slack: FakeSlackApi, asked: tuple[str, Swap], cast: dict[str, Engineer]
) -> None:
    bob, swap = asked
    click(client, slack, bob, "swap_decline", str(swap.pk))
    assert Swap.objects.get(pk=swap.pk).status == SwapStatus.DECLINED
    assert slack.responses[0]["text"] == "Bob declined this swap in Platform."


def test_someone_else_clicking_accept_is_refused_with_the_rule(
    client: Client, slack: FakeSlackApi, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    erin = slack.add_user("erin", "erin@example.com")
    swap = propose(platform, cast)
    click(client, slack, erin, "swap_accept", str(swap.pk))
    assert Swap.objects.get(pk=swap.pk).status == SwapStatus.PROPOSED
    [response] = slack.responses
    assert response["response_type"] == "ephemeral" and response["replace_original"] is False
    assert response["text"] == (
        "Sorry, not done: only the person asked (or a manager) can accept this swap."
    )


def test_a_slack_user_unknown_to_the_portal_is_refused(
    client: Client, slack: FakeSlackApi, platform: Rotation, cast: dict[str, Engineer]
) -> None:
    stranger = slack.add_user("stranger", "stranger@elsewhere.example")
    swap = propose(platform, cast)
    click(client, slack, stranger, "swap_accept", str(swap.pk))
    click(client, slack, "U0NOBODY", "swap_accept", str(swap.pk))  # not even in Slack
    assert Swap.objects.get(pk=swap.pk).status == SwapStatus.PROPOSED
    assert [r["text"] for r in slack.responses] == [
        "Sorry: your Slack account matches no engineer in the portal (by email), "
        "so the portal cannot act for you.",
        "Sorry: Slack could not tell who you are; try again.",
    ]
    assert not SlackUser.objects.filter(slack_user_id=stranger).exists()


def test_a_second_accept_finds_the_swap_decided(
    client: Client, slack: FakeSlackApi, asked: tuple[str, Swap], cast: dict[str, Engineer]
) -> None:
    bob, swap = asked
    click(client, slack, bob, "swap_accept", str(swap.pk))
    click(client, slack, bob, "swap_accept", str(swap.pk))
    assert slack.responses[1]["text"] == "Sorry, not done: this swap is already accepted."


def test_a_response_url_not_slacks_is_never_called(
    client: Client, slack: FakeSlackApi, asked: tuple[str, Swap], cast: dict[str, Engineer]
) -> None:
    bob, swap = asked
    body = click_body(bob, "swap_accept", str(swap.pk), response_url="http://10.0.0.1/steal")
    client.post("/slack/interactions", body, content_type=FORM, headers=signed(SECRET, body))
    assert Swap.objects.get(pk=swap.pk).status == SwapStatus.ACCEPTED
    assert slack.responses == []


# The stand-in -------------------------------------------------------------------------------


# slack-sdk warns of a post without text before sending it; the stand-in then refuses it.
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"channel": "C0NOWHERE", "text": "hi"}, "channel_not_found"),
        ({"channel": "C0ONCALL"}, "no_text"),
        ({"channel": "C0ONCALL", "text": "x", "blocks": [{"type": "nope"}]}, "invalid_blocks"),
        (
            {"channel": "C0ONCALL", "text": "x",
             "blocks": [{"type": "actions", "elements": [{"type": "button"}]}]},
            "invalid_blocks",
        ),
    ],
)  # fmt: skip
def test_the_stand_in_refuses_a_malformed_post_as_slack_does(
    slack: FakeSlackApi, arguments: dict[str, Any], error: str
) -> None:
    with pytest.raises(SlackError, match=error):
        api.post_message(arguments.pop("channel"), arguments)
    assert slack.messages == []


def test_the_stand_in_refuses_a_group_update_naming_no_such_group_or_user(
    slack: FakeSlackApi, in_slack: dict[str, str]
) -> None:
    with pytest.raises(SlackError, match="no_such_subteam"):
        api.set_group_users("S0NONE", [in_slack["alice"]])
    group = api.create_group("G", "g", "")
    with pytest.raises(SlackError, match="invalid_users"):
        api.set_group_users(group, ["U0NOBODY"])


def test_the_stand_in_refuses_a_wrong_token(settings: Any, slack: FakeSlackApi) -> None:
    settings.SLACK_BOT_TOKEN = "xoxb-other"
    with pytest.raises(SlackError, match="invalid_auth"):
        api.user_id_by_email("alice@example.com")


@pytest.mark.django_db(transaction=True)
def test_fake_slack_sends_a_running_portal_a_signed_oncall(
    live_server: Any, settings: Any, platform: Rotation
) -> None:
    settings.SLACK_SIGNING_SECRET = SECRET
    out = io.StringIO()
    call_command("fake_slack", "--command", "platform", "--portal", live_server.url, stdout=out)
    assert out.getvalue().startswith("200 ")
    assert "*Platform*" in out.getvalue()


def test_posts_go_to_the_webhook_without_a_bot_channel(
    settings: Any, slack: FakeSlackApi, platform: Rotation
) -> None:
    settings.SLACK_CHANNEL = ""
    settings.SLACK_WEBHOOK_URL = f"{slack.base}/services/T0/B0/fake"
    post_handoffs(NOW + timedelta(days=6, hours=1, minutes=1))
    assert send_posts(now=NOW) == "slack: 1 sent, 0 failed"
    assert slack.messages == [] and len(slack.webhook.received) == 1
    assert post_requests(NOW) == "slack requests: no bot channel"


def test_with_a_bot_channel_the_handoff_goes_by_chat_post_message(
    slack: FakeSlackApi, platform: Rotation
) -> None:
    post_handoffs(NOW + timedelta(days=6, hours=1, minutes=1))
    assert send_posts(now=NOW) == "slack: 1 sent, 0 failed"
    [message] = slack.messages
    assert message["text"] == "Platform handoff: Erin is primary, Bob is secondary"


def test_a_cover_accepted_by_button_puts_the_taker_in_the_group_in_one_run(
    client: Client, slack: FakeSlackApi, in_slack: dict[str, str], platform: Rotation,
    cast: dict[str, Engineer],
) -> None:  # fmt: skip
    sync_user_groups(NOW)
    ask = ask_for_cover(
        platform, covered=cast["alice"], role="primary", taker=cast["dave"],
        starts_at=NOW + timedelta(hours=1), ends_at=NOW + timedelta(hours=3),
        by=cast["alice"].user,
    )  # fmt: skip
    click(client, slack, in_slack["dave"], "cover_accept", str(ask.pk))
    assert slack.responses[-1]["text"] == "Dave accepted this cover in Platform."
    sync_user_groups(NOW + timedelta(hours=1))
    group = slack.group("platform-oncall")
    assert group is not None
    assert sorted(group.users) == sorted([in_slack["dave"], in_slack["erin"]])

"""Slack's Web API through slack-sdk's WebClient: the few methods the Slack app calls.

Reference: https://api.slack.com/methods (users.lookupByEmail, users.info, usergroups.list,
usergroups.create, usergroups.users.update, chat.postMessage). Every call answers JSON with
``ok``; a refusal names its error (``users_not_found``, ``invalid_auth``...), raised here as
SlackError with that name and never the token. ``SLACK_API_URL`` points the client at a local
stand-in (slack_app/fake_api.py) in tests and the demo.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from slack_app.client import SlackError

TIMEOUT = 10  # seconds per call; a job run is short and the next run tries again


def configured() -> bool:
    """Whether the app may call Slack: a bot token is set."""
    return bool(settings.SLACK_BOT_TOKEN)


def client() -> WebClient:
    base = settings.SLACK_API_URL
    return WebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=base if base.endswith("/") else base + "/",
        timeout=TIMEOUT,
    )


def _call(method: str, **arguments: Any) -> dict[str, Any]:
    call = getattr(client(), method)
    try:
        return dict(call(**arguments).data)
    except SlackApiError as error:
        raise SlackError(f"Slack refused {method}: {error.response.get('error')}") from None
    except (SlackClientError, OSError) as error:
        raise SlackError(f"Slack unreachable ({method}): {type(error).__name__}") from None


def user_id_by_email(email: str) -> str | None:
    """The id of the Slack user with this email; None when Slack has none."""
    try:
        answer = _call("users_lookupByEmail", email=email)
    except SlackError as error:
        if str(error).endswith("users_not_found"):
            return None
        raise
    return str(answer["user"]["id"])


def email_of(user_id: str) -> str | None:
    """The email on a Slack user's profile (needs users:read.email); None when hidden."""
    email = _call("users_info", user=user_id)["user"].get("profile", {}).get("email")
    return str(email).strip().lower() if email else None


def find_group(handle: str) -> str | None:
    """The id of the user group with ``handle`` (disabled ones included), or None."""
    for group in _call("usergroups_list", include_disabled=True)["usergroups"]:
        if group.get("handle") == handle:
            return str(group["id"])
    return None


def create_group(name: str, handle: str, description: str) -> str:
    return str(
        _call("usergroups_create", name=name, handle=handle, description=description)["usergroup"][
            "id"
        ]
    )


def set_group_users(group_id: str, user_ids: list[str]) -> None:
    _call("usergroups_users_update", usergroup=group_id, users=user_ids)


def post_message(channel: str, payload: dict[str, Any]) -> None:
    _call("chat_postMessage", channel=channel, **payload)

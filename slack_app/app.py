"""What the Slack app answers: ``/oncall`` and the Accept/Decline buttons of swap and cover
requests. Views (slack_app/views.py) verify Slack's signature and hand over plain values; the
buttons run the same actions as the portal's pages, as the clicker's own user, so every rule
(who may accept, the schedule's rules) holds here as there."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied

from rotation.actions import RosterError
from rotation.covers import accept_cover, decline_cover
from rotation.models import CoverRequest, Engineer, Swap
from rotation.oncall import OnCall, OnCallQueryError, on_call, rotations_named
from rotation.swaps import accept_swap, decline_swap
from slack_app import messages
from slack_app.client import SlackError
from slack_app.people import engineer_of_slack_user, mentions


def _when(at: datetime | None) -> str:
    if at is None:
        return "further notice"
    return messages.date_token(int(at.timestamp()), f"{at:%a %d %b %H:%M} UTC")


def _lines(answer: OnCall, ids: dict[int, str]) -> tuple[list[str], list[str]]:
    def who(person: Engineer | None) -> str:
        return messages.mention(ids.get(person.pk), person.name) if person else "nobody"

    until = f" until {_when(answer.shift_end)}"
    now = [f"{role}: {who(person)}{until}" for role, person, _ in answer.people]
    after = [
        f"{role} {who(person)}"
        for role, person in (("primary", answer.next_primary), ("secondary", answer.next_secondary))
        if person is not None
    ]
    return now, after


def _everyone(answer: OnCall) -> list[Engineer]:
    now = [person for _, person, _ in answer.people]
    return [p for p in (*now, answer.next_primary, answer.next_secondary) if p is not None]


def oncall_answer(text: str, now: datetime) -> dict[str, Any]:
    """The answer to ``/oncall [rotation]``: who holds each role now, until when, and next;
    an unknown rotation gets the list of known ones."""
    try:
        answers = on_call(rotations_named(text.strip() or None), now)
    except OnCallQueryError as error:
        return {"response_type": "ephemeral", "text": f"Sorry: {error}."}
    ids = mentions(p for answer in answers for p in _everyone(answer))
    return messages.oncall_answer([(a.rotation.name, *_lines(a, ids)) for a in answers])


def _run(action_id: str, ident: int, by: Any, now: datetime) -> str | None:
    """Run the button's action; the rotation's name, or None when the request is gone."""
    if action_id.startswith("swap_"):
        swap = Swap.objects.select_related("rotation").filter(pk=ident).first()
        if swap is None:
            return None
        (accept_swap if action_id == "swap_accept" else decline_swap)(swap, by=by, now=now)
        return swap.rotation.name
    cover = CoverRequest.objects.select_related("rotation").filter(pk=ident).first()
    if cover is None:
        return None
    (accept_cover if action_id == "cover_accept" else decline_cover)(cover, by=by, now=now)
    return cover.rotation.name


BUTTONS = {"swap_accept", "swap_decline", "cover_accept", "cover_decline"}


def decide(slack_user: str, action_id: str, value: str, now: datetime) -> dict[str, Any]:
    """Run the button's action as the clicker's engineer; the message for the response_url:
    the request's outcome in place of the buttons, or a refusal only the clicker sees."""
    if action_id not in BUTTONS or not value.isdigit():
        return messages.refusal("Sorry: this button is not one the portal knows.")
    try:
        engineer = engineer_of_slack_user(slack_user, now)
    except SlackError:
        return messages.refusal("Sorry: Slack could not tell who you are; try again.")
    if engineer is None or engineer.user is None:
        return messages.refusal(
            "Sorry: your Slack account matches no engineer in the portal (by email), "
            "so the portal cannot act for you."
        )
    try:
        rotation = _run(action_id, int(value), engineer.user, now)
    except (PermissionDenied, RosterError) as error:
        return messages.refusal(f"Sorry, not done: {error}.")
    if rotation is None:
        return messages.refusal("Sorry: this request no longer exists.")
    noun, verb = action_id.split("_")
    done = "accepted" if verb == "accept" else "declined"
    return messages.decided(f"{engineer.name} {done} this {noun} in {rotation}.")

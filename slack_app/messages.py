"""Slack payloads, built from plain values (no Django, no I/O): a ``text`` fallback for
notifications and one or two section blocks in mrkdwn.

Reference: https://api.slack.com/reference/surfaces/formatting#escaping (``&``, ``<`` and
``>`` are escaped in mrkdwn text, or Slack reads them as links and mentions).
"""

from __future__ import annotations

from typing import Any

SECTION_LIMIT = 3000  # characters of a section's text object


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _payload(text: str, *sections: str) -> dict[str, Any]:
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": section[:SECTION_LIMIT]}}
            for section in sections
        ],
    }


def handoff(rotation: str, primary: str, secondary: str, when: str) -> dict[str, Any]:
    """The handoff of ``rotation`` at ``when`` (told in the rotation's zone): who is on call."""
    return _payload(
        f"{rotation} handoff: {primary} is primary, {secondary} is secondary",
        f"*{escape(rotation)} handoff* ({escape(when)})\n"
        f"New primary: *{escape(primary)}*\nNew secondary: *{escape(secondary)}*",
    )


def heads_up(title: str, kind: str, starts: str, ends: str, owner: str) -> dict[str, Any]:
    """A heads-up just posted: what, when, whose."""
    return _payload(
        f"Heads-up ({kind}): {title}, {starts} to {ends}",
        f"*Heads-up ({escape(kind)})*: {escape(title)}\n"
        f"{escape(starts)} to {escape(ends)}, owner {escape(owner)}",
    )


def update_overdue(incident: str, severity: str, due: str) -> dict[str, Any]:
    """A customer update of an open incident fell due at ``due`` and was not sent."""
    return _payload(
        f"Customer update overdue: {incident} ({severity}), due {due}",
        f":warning: *Customer update overdue* for {escape(incident)} ({escape(severity)})\n"
        f"It was due {escape(due)}.",
    )


def mention(slack_user_id: str | None, name: str) -> str:
    """A Slack mention when the person is matched, else their name (escaped), never a guess."""
    return f"<@{slack_user_id}>" if slack_user_id else escape(name)


def date_token(unix: int, fallback: str) -> str:
    """A time each reader's Slack shows in their own zone (formatting#date_formatting)."""
    return f"<!date^{unix}^{{date_short_pretty}} {{time}}|{escape(fallback)}>"


def oncall_answer(rotations: list[tuple[str, list[str], list[str]]]) -> dict[str, Any]:
    """The ``/oncall`` answer, only for the asker: per rotation (name, the lines for now, the
    lines for next), one section each."""
    if not rotations:
        return {"response_type": "ephemeral", "text": "No rotations yet."}
    sections = [
        f"*{escape(name)}*\n" + "\n".join(now or ["Nobody on call now."])
        + ("\n_Next:_ " + ", ".join(after) if after else "")
        for name, now, after in rotations
    ]  # fmt: skip
    return {
        "response_type": "ephemeral",
        **_payload("Who is on call: " + ", ".join(name for name, _, _ in rotations), *sections),
    }


def refusal(text: str) -> dict[str, Any]:
    """An answer only the clicker sees, leaving the message as it was."""
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def _buttons(kind: str, ident: int) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": f"{kind}-{ident}",
        "elements": [
            {"type": "button", "action_id": f"{kind}_accept", "value": str(ident),
             "style": "primary", "text": {"type": "plain_text", "text": "Accept"}},
            {"type": "button", "action_id": f"{kind}_decline", "value": str(ident),
             "text": {"type": "plain_text", "text": "Decline"}},
        ],
    }  # fmt: skip


def request(kind: str, ident: int, text: str, detail: str) -> dict[str, Any]:
    """A swap or cover request (``kind`` "swap" or "cover") with Accept and Decline buttons."""
    payload = _payload(text, detail)
    payload["blocks"].append(_buttons(kind, ident))
    return payload


def decided(text: str) -> dict[str, Any]:
    """A request's message once decided: the outcome in place of the buttons."""
    return {"replace_original": True, **_payload(text, escape(text))}

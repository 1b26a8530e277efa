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

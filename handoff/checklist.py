"""A release checklist's steps, read from a Markdown runbook's task items. Pure Python.

A rotation writes its release process as a runbook page; each task item (``- [ ] step``,
``* [x] step`` or ``1. [ ] step``) becomes a step of each week's checklist. Whether the item is
ticked in the page does not matter: the page is the template, the week's release the record.
"""

from __future__ import annotations

import re

# A step is stored in ReleaseStep.text (300 characters); a page of more than 50 task items is
# not a checklist anyone ticks through in a week.
STEP_LENGTH = 300
MOST_STEPS = 50

# From the on-call guide: "Shepherd releases from master to staging and staging to production".
DEFAULT_STEPS = (
    "Cut the release from a green master",
    "Deploy to staging",
    "Check staging",
    "Promote staging to production",
    "Check production and announce",
)

TASK_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d{1,9}[.)])\s+\[[ xX]\]\s+(?P<text>\S.*)$")
FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
# Inline markup kept as its words: [text](url), [[Page]], `code`, **bold**, *em*, _em_, ~~del~~.
LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
WIKI_LINK = re.compile(r"\[\[([^\]|]+)(?:\|([^\]]+))?\]\]")
EMPHASIS = re.compile(r"(\*\*|__|~~|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
HTML_TAG = re.compile(r"<[^>]+>")


def task_items(markdown: str) -> list[str]:
    """The task items' texts, in order, plain: at most ``MOST_STEPS``, each at most
    ``STEP_LENGTH`` characters; items inside fenced code are examples, not steps."""
    items: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines():
        opening = FENCE.match(line)
        if opening:
            marker = opening.group(1)
            if fence is None:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = None
            continue
        if fence is not None:
            continue
        found = TASK_ITEM.match(line)
        if found is None:
            continue
        text = plain(found.group("text"))
        if text:
            items.append(text)
        if len(items) == MOST_STEPS:
            break
    return items


def plain(text: str) -> str:
    """Inline Markdown as the words a reader sees, one line, cut to ``STEP_LENGTH``."""
    text = WIKI_LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = LINK.sub(r"\1", text)
    for _ in range(3):  # nested emphasis, e.g. **_word_**
        text = EMPHASIS.sub(r"\2", text)
    text = HTML_TAG.sub("", text)
    text = " ".join(text.split())
    if len(text) > STEP_LENGTH:
        text = text[: STEP_LENGTH - 1].rstrip() + "…"
    return text


def steps_from(runbook_body: str | None) -> list[str]:
    """A week's steps: the runbook's task items, else (no runbook, or one without task items)
    the guide's master to staging to production."""
    items = task_items(runbook_body) if runbook_body else []
    return items or list(DEFAULT_STEPS)

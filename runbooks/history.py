"""A readable line diff between two revisions of a page. Pure Python."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

CONTEXT = 3


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "added", "removed", "same" or "gap" (unchanged lines left out)
    text: str


def diff_lines(old: str, new: str) -> list[DiffLine]:
    """Lines removed and added, with three lines of context around each change."""
    before, after = old.splitlines(), new.splitlines()
    lines: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for group in matcher.get_grouped_opcodes(CONTEXT):
        if lines:
            lines.append(DiffLine("gap", "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [DiffLine("same", text) for text in before[i1:i2]]
                continue
            lines += [DiffLine("removed", text) for text in before[i1:i2]]
            lines += [DiffLine("added", text) for text in after[j1:j2]]
    return lines

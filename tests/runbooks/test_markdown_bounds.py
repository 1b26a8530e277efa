"""No Markdown that a field accepts takes a second to render: the worst texts known for a
CommonMark parser (and for Python-Markdown, which took 17 s on `'[' * 10000`), each at the
longest length its field holds, runbook pages and post-mortem sections alike.

The bound is one second of the process's CPU time, what a worker spends on the text: generous
at these lengths, since the work is linear in the text and the worst of these take a fifth of
it. CPU time, not wall time: on a loaded machine (the suite beside other work) wall time
stretched a 0.2 s render past the second, while the CPU spent stays put. A text gets three
tries and its fastest counts, for the cache misses a busy machine still adds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from incidents.models import SECTION_MAX_LENGTH
from runbooks.markdown import render, render_page
from runbooks.models import BODY_MAX_LENGTH

SECOND = 1.0
TRIES = 3


def repeat(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


def nest(opening: str, closing: str, length: int) -> str:
    half = opening * (length // (len(opening) + len(closing)))
    text = half + closing * (len(half) // len(opening))
    return text + "x" * (length - len(text))


def lines(line: Callable[[int], str], length: int) -> str:
    text = ""
    number = 0
    while len(text) + len(line(number)) <= length:
        text += line(number)
        number += 1
    return text + "x" * (length - len(text))


def table(columns: int, row: str, length: int) -> str:
    head = "|" + "h|" * columns + "\n|" + "-|" * columns + "\n"
    return head + repeat(row, length - len(head))


# Name -> the text of that kind at a given length.
WORST: dict[str, Callable[[int], str]] = {
    "open brackets": lambda n: repeat("[", n),
    "nested brackets": lambda n: nest("[", "]", n),
    "nested links": lambda n: nest("[a](", ")", n),
    "brackets and parentheses": lambda n: repeat("[](", n),
    "images": lambda n: repeat("![", n),
    "nested images": lambda n: nest("![", "]", n),
    "a run of stars in a word": lambda n: "a" + repeat("*", n - 2) + "a",
    "a run of underscores in a word": lambda n: "a" + repeat("_", n - 2) + "a",
    "starred words": lambda n: repeat("*a", n),
    "underscored words": lambda n: repeat("_a", n),
    "strong words": lambda n: repeat("**a", n),
    "emphasis inside words": lambda n: repeat("a_b*", n),
    "emphasis and brackets": lambda n: repeat("*[", n),
    "brackets and emphasis": lambda n: repeat("[*", n),
    "strikethrough runs": lambda n: repeat("~~a", n),
    "a deep list": lambda n: lines(lambda i: "  " * i + "- x\n", n),
    "list markers": lambda n: repeat("- ", n - 1) + "x",
    "ordered list markers": lambda n: repeat("1. ", n - 1) + "x",
    "block quote markers": lambda n: repeat(">", n - 1) + "x",
    "quoted lists": lambda n: repeat("> - ", n - 1) + "x",
    "deep quotes": lambda n: lines(lambda i: ">" * (i % 200) + " x\n", n),
    "task items": lambda n: repeat("- [ ] x\n", n),
    "a long table": lambda n: table(2, "|x|y|\n", n),
    "a wide table": lambda n: table(n // 8, "|" * (n // 8) + "\n", n),
    "a table of empty rows": lambda n: table(64, "|\n", n),
    "backticks": lambda n: repeat("`", n),
    "backticked words": lambda n: repeat("`a", n),
    "backtick runs of every length": lambda n: lines(lambda i: "`" * (i % 50 + 1) + "a", n),
    "angle brackets": lambda n: repeat("<", n),
    "open tags": lambda n: repeat("<a ", n),
    "comments": lambda n: repeat("<!--", n),
    "autolinks": lambda n: repeat("<http://", n),
    "HTML blocks": lambda n: repeat("<div>\n", n),
    "nested HTML": lambda n: repeat("<ul>", n),
    "ampersands": lambda n: repeat("&", n),
    "numeric entities": lambda n: repeat("&#1", n),
    "named entities": lambda n: repeat("&amp;", n),
    "wiki-link brackets": lambda n: repeat("[[", n),
    "wiki-link bars": lambda n: repeat("[[a|", n),
    "wiki-link code": lambda n: repeat("[[`", n),
    "wiki links": lambda n: repeat("[[Failover]] ", n),
    "link reference definitions": lambda n: lines(lambda i: f"[r{i}]: /u{i} 't'\n", n),
    "link references": lambda n: "[a]: /u\n\n" + repeat("[a][a]", n - 9),
    "URLs": lambda n: repeat("http://", n),
    "www. addresses": lambda n: repeat("www.", n),
    "e-mail addresses": lambda n: repeat("a@b.", n),
    "e-mail addresses and emphasis": lambda n: repeat("a@b.co *x* ", n),
    "backslashes": lambda n: repeat("\\", n),
    "escaped brackets": lambda n: repeat("\\[", n),
    "headings": lambda n: repeat("# a\n", n),
    "hashes": lambda n: repeat("#", n),
    "underlined headings": lambda n: repeat("a\n=\n", n),
    "code fences": lambda n: repeat("```\n", n),
    "hard line breaks": lambda n: repeat("a  \n", n),
    "everything at once": lambda n: repeat("*[`<&_![[~>|\\", n),
}

FIELDS: dict[str, tuple[int, Callable[[str], str]]] = {
    "runbook page": (BODY_MAX_LENGTH, lambda text: render_page(text, lambda title: None).html),
    "post-mortem section": (SECTION_MAX_LENGTH, render),
}


@pytest.fixture(scope="module", autouse=True)
def parser_built() -> None:
    """The parser is built once per process, on the first render: not a text's cost."""
    render("warm")


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("kind", WORST)
def test_the_worst_markdown_a_field_holds_renders_within_a_second(kind: str, field: str) -> None:
    longest, render_field = FIELDS[field]
    text = WORST[kind](longest)
    assert len(text) == longest
    times: list[float] = []
    while len(times) < TRIES and min(times, default=SECOND) >= SECOND:
        started = time.process_time()
        render_field(text)
        times.append(time.process_time() - started)
    assert min(times) < SECOND, f"{kind} in a {field}: {', '.join(f'{t:.2f} s' for t in times)}"

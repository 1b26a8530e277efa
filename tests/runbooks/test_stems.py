"""runbooks.stems reads words exactly as SQLite's FTS5 tokenizer of the search table does, so a
snippet marks the words that FTS5 matched and no others. SQLite itself is the reference."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from runbooks import stems

ROOT = Path(__file__).resolve().parents[2]
# Words that take each Porter rule, the rules' exceptions, and words FTS5 leaves unstemmed.
RULES = """
caresses ponies ties caress cats yes feed agreed plastered bled motoring sing conflated troubled
sized hopping tanned falling hissing fizzed failing filing happy sky relational conditional
rational valenci hesitanci digitizer conformabli radicalli differentli vileli analogousli
vietnamization predication operator feudalism decisiveness hopefulness callousness formaliti
sensitiviti sensibiliti triplicate formative formalize electriciti electrical hopeful goodness
revival allowance inference airliner gyroscopic adjustable defensible irritant replacement
adjustment dependent adoption homologou communism activate angulariti homologous effective
bowdlerize probate rate cease controll roll generalization oscillators restarted restarts
deployments payments paying queue queues queueing failover failovers escalated escalation
a ab abc xyz mississippi dying lying eyes toy toys
"""
FOREIGN = "café naïve Ñandú résumés über-cool Łódź smørrebrød straße Æsir İstanbul ǅemal 東京 Δέλτα x_y 123abc 4xx 5xx kube-proxy db-01"
LONG = "pneumonoultramicroscopicsilicovolcanoconiosis" * 2  # over 64 bytes: left as it is


def fts5_terms(text: str) -> list[str]:
    """The terms SQLite's FTS5 indexes for ``text``, in order, with the search table's tokenizer."""
    db = sqlite3.connect(":memory:")
    try:
        db.execute(
            "CREATE VIRTUAL TABLE t USING fts5(body, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
        db.execute("INSERT INTO t (rowid, body) VALUES (1, ?)", [text])
        rows = db.execute("SELECT term, offset FROM v").fetchall()
    finally:
        db.close()
    return [term for term, _ in sorted(rows, key=lambda row: row[1])]


def python_terms(text: str) -> list[str]:
    return [stems.term(word.group()) for word in stems.words(text)]


@pytest.mark.parametrize(
    "text",
    [RULES, FOREIGN, LONG],
    ids=["porter-rules", "foreign-and-punctuated", "long-word"],
)
def test_words_are_split_folded_and_stemmed_as_fts5_does(text: str) -> None:
    assert python_terms(text) == fts5_terms(text)


def test_the_demo_runbooks_and_the_guide_read_the_same_as_in_fts5() -> None:
    text = "\n".join(
        path.read_text(encoding="utf-8")
        for path in [*sorted((ROOT / "runbooks" / "demo").glob("*.md")), ROOT / "README.md"]
    )
    expected = fts5_terms(text)

    assert len(expected) > 1000
    assert python_terms(text) == expected

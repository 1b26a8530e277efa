"""Words as SQLite's FTS5 index holds them: ``porter unicode61 remove_diacritics 2``, in Python.

FTS5's own ``snippet()`` and ``highlight()`` take time quadratic in the matches on a page (the
first scores every window against every match; the second copies its output once per match), so
runbooks.search marks the matches of a page itself, in one pass over its text. To mark the words
FTS5 matched, and no others, it splits and folds text as the unicode61 tokenizer does and stems
each word with the Porter (1980) algorithm exactly as FTS5's porter tokenizer implements it:
byte by byte over the folded UTF-8, any byte that is not an ASCII vowel counting as a consonant,
words under 3 or over 64 bytes left as they are. tests/runbooks/test_stems.py checks the result
against SQLite's own tokenizer. Pure: no Django, no database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from functools import lru_cache

# unicode61's token characters: letters, numbers, private-use characters, and the diacritics
# that remove_diacritics folds away; everything else separates words.
WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f\ue000-\uf8ff])+")
_MAX_STEMMED_BYTES = 64
_Condition = Callable[[bytes], bool]


def words(text: str) -> Iterator[re.Match[str]]:
    """The words of ``text`` as FTS5 splits it, with their places."""
    return WORD.finditer(text)


def fold(word: str) -> str:
    """Lower case, Latin letters without their diacritics, as unicode61 with remove_diacritics 2
    folds a word (Greek and other scripts keep their accents)."""
    return "".join(_fold_letter(letter) for letter in word).lower()


@lru_cache(maxsize=4096)
def _fold_letter(letter: str) -> str:
    if "\u0300" <= letter <= "\u036f":
        return ""  # a diacritic on its own
    if letter < "\u0250" or "\u1e00" <= letter <= "\u1eff":  # Latin
        return unicodedata.normalize("NFD", letter)[0]
    return letter


@lru_cache(maxsize=65536)
def term(word: str) -> str:
    """The index term of one word: folded, then stemmed."""
    folded = fold(word)
    raw = folded.encode()
    if not 3 <= len(raw) <= _MAX_STEMMED_BYTES:
        return folded
    # The stemmer only removes or writes ASCII letters, so the bytes stay valid UTF-8.
    return _stem(raw).decode()


def _is_vowel(byte: int, y_is_vowel: bool) -> bool:
    return byte in b"aeiou" or (y_is_vowel and byte == ord("y"))


def _gobble_vc(stem: bytes, consonant: bool) -> int:
    """The length of ``stem``'s first vowels-then-consonant run, 0 if it has none."""
    i = 0
    while i < len(stem):
        consonant = not _is_vowel(stem[i], consonant)
        if not consonant:
            break
        i += 1
    i += 1
    while i < len(stem):
        consonant = not _is_vowel(stem[i], consonant)
        if consonant:
            return i + 1
        i += 1
    return 0


def _m_gt0(stem: bytes) -> bool:
    return _gobble_vc(stem, False) > 0


def _m_gt1(stem: bytes) -> bool:
    n = _gobble_vc(stem, False)
    return bool(n) and _gobble_vc(stem[n:], True) > 0


def _m_eq1(stem: bytes) -> bool:
    n = _gobble_vc(stem, False)
    return bool(n) and _gobble_vc(stem[n:], True) == 0


def _ends_cvc(stem: bytes) -> bool:
    """Porter's *o: consonant, vowel, consonant, the last not w, x or y."""
    if stem[-1:] in (b"w", b"x", b"y"):
        return False
    mask, consonant = 0, False
    for byte in stem:
        consonant = not _is_vowel(byte, consonant)
        mask = (mask << 1) | consonant
    return mask & 0b111 == 0b101


def _has_vowel(stem: bytes) -> bool:
    return any(_is_vowel(byte, i > 0) for i, byte in enumerate(stem))


def _m_gt1_s_or_t(stem: bytes) -> bool:
    return stem[-1:] in (b"s", b"t") and _m_gt1(stem)


# Each step's rules in FTS5's order: the first suffix that ends the word decides, and its
# condition on the rest of the word (the stem) says whether the replacement happens.
_STEP_2: list[tuple[bytes, _Condition, bytes]] = [
    (b"ational", _m_gt0, b"ate"),
    (b"tional", _m_gt0, b"tion"),
    (b"enci", _m_gt0, b"ence"),
    (b"anci", _m_gt0, b"ance"),
    (b"izer", _m_gt0, b"ize"),
    (b"logi", _m_gt0, b"log"),
    (b"bli", _m_gt0, b"ble"),
    (b"alli", _m_gt0, b"al"),
    (b"entli", _m_gt0, b"ent"),
    (b"eli", _m_gt0, b"e"),
    (b"ousli", _m_gt0, b"ous"),
    (b"ization", _m_gt0, b"ize"),
    (b"ation", _m_gt0, b"ate"),
    (b"ator", _m_gt0, b"ate"),
    (b"alism", _m_gt0, b"al"),
    (b"iveness", _m_gt0, b"ive"),
    (b"fulness", _m_gt0, b"ful"),
    (b"ousness", _m_gt0, b"ous"),
    (b"aliti", _m_gt0, b"al"),
    (b"iviti", _m_gt0, b"ive"),
    (b"biliti", _m_gt0, b"ble"),
]
_STEP_3: list[tuple[bytes, _Condition, bytes]] = [
    (b"ical", _m_gt0, b"ic"),
    (b"ness", _m_gt0, b""),
    (b"icate", _m_gt0, b"ic"),
    (b"iciti", _m_gt0, b"ic"),
    (b"ful", _m_gt0, b""),
    (b"ative", _m_gt0, b""),
    (b"alize", _m_gt0, b"al"),
]
_STEP_4: list[tuple[bytes, _Condition, bytes]] = [
    (b"al", _m_gt1, b""),
    (b"ance", _m_gt1, b""),
    (b"ence", _m_gt1, b""),
    (b"er", _m_gt1, b""),
    (b"ic", _m_gt1, b""),
    (b"able", _m_gt1, b""),
    (b"ible", _m_gt1, b""),
    (b"ant", _m_gt1, b""),
    (b"ement", _m_gt1, b""),
    (b"ment", _m_gt1, b""),
    (b"ent", _m_gt1, b""),
    (b"ion", _m_gt1_s_or_t, b""),
    (b"ou", _m_gt1, b""),
    (b"ism", _m_gt1, b""),
    (b"ate", _m_gt1, b""),
    (b"iti", _m_gt1, b""),
    (b"ous", _m_gt1, b""),
    (b"ive", _m_gt1, b""),
    (b"ize", _m_gt1, b""),
]


def _apply(word: bytes, rules: list[tuple[bytes, _Condition, bytes]]) -> bytes:
    for suffix, condition, replacement in rules:
        # FTS5 switches on the word's second-to-last byte, then tries that case's suffixes in
        # order; two suffixes that can end the same word are in the same case, so the first
        # match in this list is the one FTS5 takes.
        if len(word) > len(suffix) and word.endswith(suffix):
            stem = word[: -len(suffix)]
            return stem + replacement if condition(stem) else word
    return word


def _stem(word: bytes) -> bytes:
    # Step 1a: plurals.
    if word.endswith(b"s"):
        if word.endswith(b"es"):
            sses = len(word) > 4 and word[-4:-2] == b"ss"
            ies = len(word) > 3 and word[-3:-2] == b"i"
            word = word[:-2] if sses or ies else word[:-1]
        elif not word.endswith(b"ss"):
            word = word[:-1]
    # Step 1b: -eed, -ed, -ing, then tidy the stem they leave.
    removed = False
    if len(word) > 3 and word.endswith(b"eed"):
        if _m_gt0(word[:-3]):
            word = word[:-1]
    elif len(word) > 2 and word.endswith(b"ed"):
        if _has_vowel(word[:-2]):
            word, removed = word[:-2], True
    elif len(word) > 3 and word.endswith(b"ing") and _has_vowel(word[:-3]):
        word, removed = word[:-3], True
    if removed:
        if len(word) > 2 and word[-2:] in (b"at", b"bl", b"iz"):
            word += b"e"
        elif (
            len(word) > 1
            and not _is_vowel(word[-1], False)
            and word[-1:] not in (b"l", b"s", b"z")
            and word[-1] == word[-2]
        ):
            word = word[:-1]
        elif _m_eq1(word) and _ends_cvc(word):
            word += b"e"
    # Step 1c: y to i after a vowel.
    if word.endswith(b"y") and _has_vowel(word[:-1]):
        word = word[:-1] + b"i"
    word = _apply(_apply(_apply(word, _STEP_2), _STEP_3), _STEP_4)
    # Step 5: a final e, a double l.
    if word.endswith(b"e"):
        stem = word[:-1]
        if _m_gt1(stem) or (_m_eq1(stem) and not _ends_cvc(stem)):
            word = stem
    if len(word) > 1 and word.endswith(b"ll") and _m_gt1(word[:-1]):
        word = word[:-1]
    return word

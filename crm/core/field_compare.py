"""Comparing one field of two person records: the outcome (``Level``) of names by part,
birthdays, sets of contact points and addresses, for ``core.person_match`` to weigh.

Names are compared on folded Latin keys (``name_key``) with typo tolerance
(Damerau–Levenshtein, and Jaro–Winkler for two typos in a longer word), first names through
the diminutives and equivalents of ``core.name_variants``, surnames with their gendered
forms; addresses by their telling words and numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from enum import Enum
from functools import lru_cache

from crm.core.name_variants import group_forms, name_groups, same_first_name
from crm.core.text import fold, latin_key


class Level(Enum):
    """The outcome of comparing one field of two records."""

    EXACT = "exact"
    VARIANT = "variant"  # another form of one name: Саша / Александр, Katya / Ekaterina
    CLOSE = "close"  # a typo apart, or the birthday with day and month swapped
    NEUTRAL = "neutral"  # compared, proves nothing either way (Иванов / Иванова)
    CONFLICT = "conflict"
    MISSING = "missing"

    # Members are singletons compared by identity: hash them so too, in C, instead of
    # ``Enum.__hash__`` (a Python call hashing the name) on every weight lookup.
    __hash__ = object.__hash__


# Names repeat (Иванов, Иван): the comparisons of two name parts remember their answers.
CACHED_PAIRS = 100_000
_LOOKALIKE_DIGITS = str.maketrans({"0": "o", "1": "i", "3": "z", "4": "ch", "5": "s", "6": "b"})


@lru_cache(maxsize=50_000)
def name_key(text: str) -> str:
    """A name part as the matcher compares it: Latin key, digits typed for letters undone,
    no spaces or hyphens (Анна-Мария / Annamaria)."""
    return latin_key(text.translate(_LOOKALIKE_DIGITS)).replace(" ", "")


def _allowed_edits(first: str, second: str) -> int:
    """How many edits still make a typo: none between words of two letters, or between
    words of three letters each unless two letters swapped places (Jon / Jen is another
    name, Ben / Bne a typo), one up to seven letters, two from eight; a letter missing from
    a short word is a typo (Зо / Зоя)."""
    shorter, longer = sorted((len(first), len(second)))
    if longer < 3 or (longer == shorter == 3 and sorted(first) != sorted(second)):
        return 0
    return 1 if shorter < 8 else 2


def _is_typo(first: str, second: str) -> bool:
    """Within a typo or two (Damerau–Levenshtein: insert, delete, substitute, transpose).

    Two Cyrillic spellings are compared letter by letter as typed (one wrong letter is one
    edit, though «щ» is four Latin letters); anything else on the Latin keys.
    """
    from rapidfuzz.distance import (  # imported by the first comparison
        DamerauLevenshtein,
        JaroWinkler,
    )

    a, b = _typo_form(first), _typo_form(second)
    if _is_cyrillic(a) != _is_cyrillic(b):
        a, b = name_key(first), name_key(second)
    allowed = _allowed_edits(a, b)
    if allowed == 0:
        return False
    distance = DamerauLevenshtein.distance(a, b)
    if distance <= allowed:
        return True
    # Two typos in a word of six letters or more, when the words still start alike
    # (Jaro–Winkler weighs the start): Debrha / Deborah, but not Андреев / Аншерев.
    return distance == 2 and min(len(a), len(b)) >= 6 and JaroWinkler.similarity(a, b) >= 0.9


@lru_cache(maxsize=50_000)
def _typo_form(text: str) -> str:
    folded = fold(text.translate(_LOOKALIKE_DIGITS)).replace(" ", "")
    if _is_cyrillic(folded):  # a Latin look-alike inside a Cyrillic word is its twin
        return folded.translate(_LATIN_TWINS)
    return name_key(text)


_LATIN_TWINS = str.maketrans("aeopcyxkmth", "аеорсухкмтн")


def _is_cyrillic(text: str) -> bool:
    return any("\u0400" <= ch <= "\u04ff" for ch in text)


_SURNAME_ENDINGS = re.compile(r"(skaia|ski|ckaia|cki|aia|oi|ova|eva|ina|ov|ev|in)$")
_STEM_OF_ENDING = {"skaia": "sk", "ski": "sk", "ckaia": "ck", "cki": "ck", "aia": "", "oi": ""}


def _surname_stem(key: str) -> str:
    """The surname without its gendered ending: ivanov/ivanova → ivanov, tolstoi/tolstaia →
    tolst."""
    found = _SURNAME_ENDINGS.search(key)
    if found is None:
        return key
    ending = found.group(1)
    if ending in _STEM_OF_ENDING:
        return key[: found.start()] + _STEM_OF_ENDING[ending]
    return key[:-1] if ending in {"ova", "eva", "ina"} else key


@lru_cache(maxsize=CACHED_PAIRS)
def surname_level(first: str, second: str) -> Level:
    a, b = name_key(first), name_key(second)
    if not a or not b:
        return Level.MISSING
    if a == b:
        return Level.EXACT
    if _surname_stem(a) == _surname_stem(b):
        return Level.NEUTRAL
    if _is_typo(first, second):
        return Level.CLOSE
    # The same first name in the surname field on both sides (Fedya / Фёдор, swapped)
    return Level.VARIANT if same_first_name(a, b) else Level.CONFLICT


@lru_cache(maxsize=CACHED_PAIRS)
def first_name_level(first: str, second: str) -> Level:
    a, b = name_key(first), name_key(second)
    if not a or not b:
        return Level.MISSING
    if a == b:
        return Level.EXACT
    if same_first_name(a, b):
        return Level.VARIANT
    if _gender_pair(a, b):  # Александр / Александра, Evgeni / Evgenia: two people
        return Level.CONFLICT
    if _is_typo(first, second) or _is_variant_typo(a, b) or _is_variant_typo(b, a):
        return Level.CLOSE
    return Level.CONFLICT


def _is_variant_typo(word: str, listed: str) -> bool:
    """Whether ``word`` is a typo of another form of the name ``listed`` (Пашэ / Павел)."""
    return any(_is_typo(word, form) for form in group_forms(listed))


def _gender_pair(first: str, second: str) -> bool:
    """Whether two first names are the male and the female form of one name."""
    shorter, longer = sorted((first, second), key=len)
    if len(longer) == len(shorter) + 1:
        return longer == shorter + "a"
    return (
        len(first) == len(second) and first[:-1] == second[:-1] and "a" in {first[-1], second[-1]}
    )


@lru_cache(maxsize=CACHED_PAIRS)
def patronymic_level(first: str, second: str) -> Level:
    a, b = name_key(first), name_key(second)
    if not a or not b:
        return Level.MISSING
    if a == b:
        return Level.EXACT
    return Level.CLOSE if _is_typo(first, second) else Level.CONFLICT


def birthday_level(first: dt.date | None, second: dt.date | None) -> Level:
    if first is None or second is None:
        return Level.MISSING
    if first == second:
        return Level.EXACT
    if (first.year, first.day, first.month) == (second.year, second.month, second.day):
        return Level.CLOSE
    return Level.CONFLICT


def points_level(
    first: frozenset[str] | frozenset[int], second: frozenset[str] | frozenset[int]
) -> Level:
    """Two sets of phones, e-mails, handles or employers: one shared, none, or one side
    empty."""
    if not first or not second:
        return Level.MISSING
    return Level.EXACT if first & second else Level.CONFLICT


_ADDRESS_WORDS = {
    # Words every address has: they say nothing about which address it is.
    "ul",
    "ulica",
    "d",
    "dom",
    "kv",
    "kvartira",
    "g",
    "gorod",
    "pr",
    "prospekt",
    "per",
    "pereulok",
    "korp",
    "k",
    "str",
    "stroenie",
    "obl",
    "oblast",
    "st",
    "street",
    "rd",
    "road",
    "ave",
    "avenue",
    "ln",
    "lane",
    "flat",
    "apt",
    "apartment",
    "the",
}


@lru_cache(maxsize=20_000)
def address_tokens(text: str) -> frozenset[str]:
    """The words of an address that tell it from another: folded, in Latin letters, without
    «ул.», «д.», street, road … (``ул. Ленина, д. 5, кв. 12`` → {lenina, 5, 12})."""
    words = _ADDRESS_PARTS.findall(latin_key(fold(text)))
    return frozenset(word for word in words if word not in _ADDRESS_WORDS)


_ADDRESS_PARTS = re.compile(r"\d+|[^\W\d]+")  # «д117» is «д» and «117»


def address_level(first: Iterable[str], second: Iterable[str]) -> Level:
    """Compare the addresses of two records by their best-matching pair.

    Exact when the numbers of one address (house, flat) are all in the other and at least
    60% of the smaller one's telling words are shared; conflict when the numbers disagree
    (neither set within the other) or at most 20% of the words are shared; else neutral.
    """
    first_sets = [tokens for text in first if (tokens := address_tokens(text))]
    second_sets = [tokens for text in second if (tokens := address_tokens(text))]
    if not first_sets or not second_sets:
        return Level.MISSING
    levels = {_one_address_level(a, b) for a in first_sets for b in second_sets}
    for level in (Level.EXACT, Level.NEUTRAL):
        if level in levels:
            return level
    return Level.CONFLICT


def _one_address_level(first: frozenset[str], second: frozenset[str]) -> Level:
    numbers_a = {token for token in first if token.isdigit()}
    numbers_b = {token for token in second if token.isdigit()}
    if not (numbers_a <= numbers_b or numbers_b <= numbers_a):
        return Level.CONFLICT
    shared = len(first & second) / min(len(first), len(second))
    if shared >= 0.6:
        return Level.EXACT
    return Level.CONFLICT if shared <= 0.2 else Level.NEUTRAL


def first_name_forms(word: str) -> frozenset[str]:
    """The keys a first-name word is blocked under: the full names it may stand for."""
    return name_groups(name_key(word))

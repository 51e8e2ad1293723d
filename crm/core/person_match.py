"""Whether two person records are one person: field-by-field evidence in bits, with reasons.

In the spirit of Fellegi–Sunter record linkage: each field compared gives an outcome
(exact, close, conflict …); an outcome seen with probability ``m`` among records of one
person and ``u`` among records of different people adds ``log2(m / u)`` bits, so agreement
raises the total and conflict lowers it. A field missing on either side adds nothing. The
``m``/``u`` pairs are set by hand in ``WEIGHTS`` (rounded shares as seen in typed customer
data; see docs/architecture.md) and were checked, not fitted, on the labelled sets of
``bench/dedupe_sets.py`` with several seeds.

Two departures from plain Fellegi–Sunter, both because fields are not independent:

- a shared phone, e-mail or messenger handle and a shared address are household evidence
  (a family shares all of them), so together they count at most ``HOUSEHOLD_CAP`` bits;
- ``PersonMatch.names_conflict`` says that the first names or the surnames are different
  names: such a pair is never in the "likely" tier whatever else agrees (two relatives).

The total maps to a 0-100 score, ``50 + 4 × bits`` clipped, so the thresholds of the tiers
(settings ``DUPLICATES_LIKELY_SCORE``, ``DUPLICATES_POSSIBLE_SCORE``) read as scores.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache

from django.conf import settings
from django.utils.functional import Promise as StrPromise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from crm.core.name_variants import group_forms, name_groups, same_first_name
from crm.core.normalize import format_phone
from crm.core.text import fold, latin_key


class Level(Enum):
    """The outcome of comparing one field of two records."""

    EXACT = "exact"
    VARIANT = "variant"  # another form of one name: Саша / Александр, Katya / Ekaterina
    CLOSE = "close"  # a typo apart, or the birthday with day and month swapped
    NEUTRAL = "neutral"  # compared, proves nothing either way (Иванов / Иванова)
    CONFLICT = "conflict"
    MISSING = "missing"


@dataclass(frozen=True)
class Weight:
    """How often an outcome is seen among pairs of one person (``m``) and of two (``u``)."""

    m: float
    u: float

    @property
    def bits(self) -> float:
        return math.log2(self.m / self.u)


WEIGHTS: dict[str, dict[Level, Weight]] = {
    # A surname differs by a typo in about one record in eight; different people share one
    # in a hundred (a common surname) and its gendered form says nothing (husband and wife).
    "surname": {
        Level.EXACT: Weight(0.85, 0.01),
        Level.CLOSE: Weight(0.12, 0.008),
        Level.VARIANT: Weight(0.12, 0.01),
        Level.CONFLICT: Weight(0.03, 0.98),
    },
    "first_name": {
        Level.EXACT: Weight(0.80, 0.03),
        Level.VARIANT: Weight(0.12, 0.006),
        Level.CLOSE: Weight(0.08, 0.006),
        Level.CONFLICT: Weight(0.005, 0.95),
    },
    # Low weight: brothers share the patronymic, and it is often left out.
    "patronymic": {
        Level.EXACT: Weight(0.90, 0.15),
        Level.CLOSE: Weight(0.05, 0.02),
        Level.CONFLICT: Weight(0.05, 0.83),
    },
    "birthday": {
        Level.EXACT: Weight(0.93, 0.0005),
        Level.CLOSE: Weight(0.03, 0.0005),
        Level.CONFLICT: Weight(0.04, 0.999),
    },
    # Both records have phones (e-mails, handles) and share one, or share none.
    "phone": {Level.EXACT: Weight(0.75, 0.002), Level.CONFLICT: Weight(0.25, 0.998)},
    "email": {Level.EXACT: Weight(0.80, 0.002), Level.CONFLICT: Weight(0.20, 0.998)},
    "messenger": {Level.EXACT: Weight(0.70, 0.001), Level.CONFLICT: Weight(0.30, 0.999)},
    "address": {Level.EXACT: Weight(0.85, 0.03), Level.CONFLICT: Weight(0.08, 0.90)},
    "company": {Level.EXACT: Weight(0.85, 0.05), Level.CONFLICT: Weight(0.15, 0.95)},
}
HOUSEHOLD_CAP = 9.0
"""Shared contact points and a shared address together count at most this many bits."""
HOUSEHOLD_FIELDS = ("phone", "email", "messenger", "address")


def score_of(bits: float) -> int:
    """The 0-100 score of a total in bits: ``50 + 4 × bits``, clipped."""
    return max(0, min(100, round(50 + 4 * bits)))


@dataclass(frozen=True)
class PersonFacts:
    """What a contact record says about its person, as the matcher compares it.

    Phones, e-mails and handles are normalised values (``ContactPoint.value``); companies
    are ids of employers.
    """

    last_name: str = ""
    first_name: str = ""
    middle_name: str = ""
    birthday: dt.date | None = None
    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    handles: frozenset[str] = frozenset()
    addresses: tuple[str, ...] = ()
    companies: frozenset[int] = frozenset()

    @property
    def names(self) -> tuple[str, str, str]:
        return (self.last_name, self.first_name, self.middle_name)


@dataclass
class PersonMatch:
    """The evidence for two records being one person."""

    bits: float = 0.0
    levels: dict[str, Level] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    swapped: bool = False

    @property
    def score(self) -> int:
        return score_of(self.bits)

    @property
    def names_conflict(self) -> bool:
        """The first names or the surnames are different names (not a typo or a variant)."""
        return Level.CONFLICT in (self.levels.get("surname"), self.levels.get("first_name"))

    @property
    def names_agree(self) -> bool:
        """No name part conflicts and the surname or the first name agrees."""
        agreeing = {Level.EXACT, Level.VARIANT, Level.CLOSE}
        return not self.names_conflict and (
            self.levels.get("surname") in agreeing or self.levels.get("first_name") in agreeing
        )

    @property
    def shares_point(self) -> bool:
        return any(self.levels.get(name) == Level.EXACT for name in ("phone", "email", "messenger"))

    def add(self, name: str, level: Level, reason: str = "") -> None:
        self.levels[name] = level
        weight = WEIGHTS[name].get(level)
        if weight is not None:
            self.bits += weight.bits
        if reason:
            self.reasons.append(reason)


# --- names -----------------------------------------------------------------------------------

# Names repeat (Иванов, Иван): the comparisons of two name parts remember their answers.
_CACHED_PAIRS = 100_000
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


@lru_cache(maxsize=_CACHED_PAIRS)
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


@lru_cache(maxsize=_CACHED_PAIRS)
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


@lru_cache(maxsize=_CACHED_PAIRS)
def patronymic_level(first: str, second: str) -> Level:
    a, b = name_key(first), name_key(second)
    if not a or not b:
        return Level.MISSING
    if a == b:
        return Level.EXACT
    return Level.CLOSE if _is_typo(first, second) else Level.CONFLICT


_NAME_FIELDS = ("surname", "first_name", "patronymic")
_LEVEL_OF = {
    "surname": surname_level,
    "first_name": first_name_level,
    "patronymic": patronymic_level,
}


def _name_levels(new: tuple[str, str, str], old: tuple[str, str, str]) -> dict[str, Level]:
    return {name: _LEVEL_OF[name](a, b) for name, a, b in zip(_NAME_FIELDS, new, old, strict=True)}


def _name_bits(levels: dict[str, Level]) -> float:
    return sum(
        weight.bits
        for name, level in levels.items()
        if (weight := WEIGHTS[name].get(level)) is not None
    )


def _aligned(
    new: tuple[str, str, str], old: tuple[str, str, str]
) -> tuple[dict[str, Level], bool, tuple[str, str, str]]:
    """The name levels of the likelier reading: as typed, or with the surname and the first
    name swapped on one side (and, when the first names differ, the middle name taken for
    the first name). Returns the levels, whether parts were swapped and ``old`` as read."""
    readings = [(old, False), ((old[1], old[0], old[2]), True)]
    middle_as_first = {Level.EXACT, Level.VARIANT}
    if (
        first_name_level(new[1], old[2]) in middle_as_first
        or first_name_level(new[2], old[1]) in middle_as_first
    ):
        readings.append(((old[0], old[2], old[1]), True))
    best: tuple[dict[str, Level], bool, tuple[str, str, str]] | None = None
    best_bits = -math.inf
    for reading, swapped in readings:
        levels = _name_levels(new, reading)
        bits = _name_bits(levels) - (0.5 if swapped else 0.0)
        if bits > best_bits:
            best, best_bits = (levels, swapped, reading), bits
    assert best is not None
    return best


_REASONS: dict[tuple[str, Level], StrPromise] = {
    ("surname", Level.EXACT): gettext_lazy("same surname"),
    ("surname", Level.CLOSE): gettext_lazy("surname %(new)s ≈ %(old)s"),
    ("surname", Level.VARIANT): gettext_lazy("surname %(new)s ≈ %(old)s"),
    ("surname", Level.NEUTRAL): gettext_lazy("surname %(new)s / %(old)s (another gender form)"),
    ("surname", Level.CONFLICT): gettext_lazy("different surnames"),
    ("first_name", Level.EXACT): gettext_lazy("same first name"),
    ("first_name", Level.VARIANT): gettext_lazy("first name %(new)s ≈ %(old)s"),
    ("first_name", Level.CLOSE): gettext_lazy("first name %(new)s ≈ %(old)s"),
    ("first_name", Level.CONFLICT): gettext_lazy("different first names"),
    ("patronymic", Level.EXACT): gettext_lazy("same patronymic"),
    ("patronymic", Level.CLOSE): gettext_lazy("patronymic %(new)s ≈ %(old)s"),
    ("patronymic", Level.CONFLICT): gettext_lazy("different patronymics"),
    ("birthday", Level.EXACT): gettext_lazy("same birthday"),
    ("birthday", Level.CLOSE): gettext_lazy("birthday with day and month swapped"),
    ("birthday", Level.CONFLICT): gettext_lazy("different birthdays"),
    ("phone", Level.CONFLICT): gettext_lazy("different phones"),
    ("email", Level.CONFLICT): gettext_lazy("different e-mails"),
    ("messenger", Level.CONFLICT): gettext_lazy("different messenger handles"),
    ("address", Level.EXACT): gettext_lazy("same address"),
    ("address", Level.CONFLICT): gettext_lazy("different addresses"),
    ("company", Level.EXACT): gettext_lazy("same company"),
    ("company", Level.CONFLICT): gettext_lazy("different companies"),
}
"""The reason in words for each outcome worth telling, in the active language when read."""


def _reason(name: str, level: Level, new: str = "", old: str = "") -> str:
    if (name, level) not in _REASONS:
        return ""
    return _reason_in(get_language() or "", name, level, new, old)


@lru_cache(maxsize=_CACHED_PAIRS)
def _reason_in(language: str, name: str, level: Level, new: str, old: str) -> str:
    return str(_REASONS[(name, level)]) % {"new": new, "old": old}


def _compare_names(match: PersonMatch, new: PersonFacts, old: PersonFacts) -> None:
    levels, swapped, reading = _aligned(new.names, old.names)
    match.swapped = swapped
    for name, new_part, old_part in zip(_NAME_FIELDS, new.names, reading, strict=True):
        level = levels[name]
        match.add(name, level, _reason(name, level, new_part, old_part))
    if swapped:
        match.reasons.append(_("name parts in another order"))


# --- the other fields ------------------------------------------------------------------------


def birthday_level(first: dt.date | None, second: dt.date | None) -> Level:
    if first is None or second is None:
        return Level.MISSING
    if first == second:
        return Level.EXACT
    if (first.year, first.day, first.month) == (second.year, second.month, second.day):
        return Level.CLOSE
    return Level.CONFLICT


def _set_level(
    first: frozenset[str] | frozenset[int], second: frozenset[str] | frozenset[int]
) -> Level:
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


def _cap_household(match: PersonMatch) -> None:
    household = [
        weight.bits
        for name in HOUSEHOLD_FIELDS
        if (weight := WEIGHTS[name].get(match.levels.get(name, Level.MISSING))) is not None
        and weight.bits > 0
    ]
    excess = sum(household) - HOUSEHOLD_CAP
    if excess > 0:
        match.bits -= excess


def score_person_facts(new: PersonFacts, old: PersonFacts) -> PersonMatch:
    """Compare two person records field by field; see the module docstring for the model.

    The reasons come in the order of the fields, agreement and conflict alike, in the
    active language.
    """
    match = PersonMatch()
    _compare_names(match, new, old)
    details = {
        "birthday": birthday_level(new.birthday, old.birthday),
        "phone": _set_level(new.phones, old.phones),
        "email": _set_level(new.emails, old.emails),
        "messenger": _set_level(new.handles, old.handles),
        "address": address_level(new.addresses, old.addresses),
        "company": _set_level(new.companies, old.companies),
    }
    shared = {
        "phone": new.phones & old.phones,
        "email": new.emails & old.emails,
        "messenger": new.handles & old.handles,
    }
    for name, level in details.items():
        reason = _shared_reason(name, min(shared[name])) if shared.get(name) else ""
        match.add(name, level, reason or _reason(name, level))
    _cap_household(match)
    return match


def _shared_reason(name: str, value: str) -> str:
    if name == "phone":
        return _("same phone %(value)s") % {"value": format_phone(value)}
    if name == "email":
        return _("same e-mail %(value)s") % {"value": value}
    return _("same messenger handle %(value)s") % {"value": value.split(":", 1)[-1]}


LIKELY = "likely"
POSSIBLE = "possible"


def is_exact(match: PersonMatch) -> bool:
    """Whether a pair is an exact duplicate that blocks a save: a shared phone, e-mail or
    handle *and* names that agree and birthdays that do not differ. A shared family mailbox
    with other first names is strong evidence, not proof."""
    return (
        match.shares_point and match.names_agree and match.levels.get("birthday") != Level.CONFLICT
    )


def tier_of(match: PersonMatch) -> str:
    """ "likely", "possible" or "" (not a duplicate) by the score and the settings'
    thresholds. An exact duplicate is likely; a pair whose first names or surnames are
    different names is not, unless the birthdays agree too (then the name is a typo beyond
    what the comparison forgives: twins sharing a phone are rarer). Records sharing a
    phone, e-mail or handle are at least possible."""
    if is_exact(match):
        return LIKELY
    score = match.score
    vetoed = match.names_conflict and match.levels.get("birthday") != Level.EXACT
    if score >= settings.CRM_DUPLICATES_LIKELY_SCORE and not vetoed:
        return LIKELY
    if match.shares_point:  # a family mailbox: worth a look whatever the names say
        return POSSIBLE
    return POSSIBLE if score >= settings.CRM_DUPLICATES_POSSIBLE_SCORE else ""


def first_name_forms(word: str) -> frozenset[str]:
    """The keys a first-name word is blocked under: the full names it may stand for."""
    return name_groups(name_key(word))

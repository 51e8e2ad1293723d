"""Whether two person records are one person: field-by-field evidence in bits, with reasons.

In the spirit of Fellegi–Sunter record linkage: each field compared gives an outcome
(``core.field_compare``: exact, close, conflict …); an outcome seen with probability ``m`` among records of one
person and ``u`` among records of different people adds ``log2(m / u)`` bits, so agreement
raises the total and conflict lowers it. A field missing on either side adds nothing. The
``m``/``u`` pairs are set by hand in ``WEIGHTS`` (rounded shares as seen in typed customer
data; see docs/architecture.md) and were checked, not fitted, on the labelled sets of
``bench/dedupe_sets.py`` with several seeds.

Two departures from plain Fellegi–Sunter, both because fields are not independent:

- a shared phone, e-mail or messenger handle and a shared address are household evidence
  (a family shares all of them), so together they count at most ``HOUSEHOLD_CAP`` bits;
- ``PersonMatch.names_conflict`` says that the first names or the surnames are different
  names: such a pair is not in the "likely" tier whatever else agrees (two relatives),
  unless the birthdays agree too.

The total maps to a 0-100 score, ``50 + 4 × bits`` clipped, so the thresholds of the tiers
(settings ``CRM_DUPLICATES_LIKELY_SCORE``, ``CRM_DUPLICATES_POSSIBLE_SCORE``) read as
scores.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils.translation import get_language, gettext, gettext_noop

from crm.core.field_compare import (
    CACHED_PAIRS,
    Level,
    address_level,
    birthday_level,
    first_name_level,
    patronymic_level,
    points_level,
    surname_level,
)
from crm.core.normalize import format_phone


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
_BITS = {name: {level: weight.bits for level, weight in outcomes.items()} for name, outcomes in WEIGHTS.items()}  # fmt: skip
"""``WEIGHTS`` in bits, worked out once: the scan adds millions of them."""
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
    reason_keys: list[Reason] = field(default_factory=list)
    """The reasons as message ids with their values, in the order of the fields."""
    swapped: bool = False

    @property
    def reasons(self) -> list[str]:
        """The reasons in words, in the active language."""
        return reason_texts(self.reason_keys)

    @property
    def stored_reasons(self) -> list[list[Any]]:
        """The reasons as stored on a ``DuplicatePair`` (JSON): ``[message id, values]``
        each, translated when shown (``reason_texts``), so every reader gets its language."""
        return [[message, dict(values)] for message, values in self.reason_keys]

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

    def add(self, name: str, level: Level, reason: Reason | None = None) -> None:
        self.levels[name] = level
        self.bits += _BITS[name].get(level, 0.0)
        if reason is not None:
            self.reason_keys.append(reason)


Reason = tuple[str, tuple[tuple[str, str], ...]]
"""A reason: its message id and the (name, value) pairs to put in it."""


def reason_texts(reasons: Iterable[Any]) -> list[str]:
    """Reasons in words in the active language: each a ``Reason``, a stored ``[message id,
    values]`` pair, or already a text (reasons stored before, company reasons)."""
    language = get_language() or ""
    texts = []
    for reason in reasons:
        if isinstance(reason, str):
            texts.append(reason)
        else:
            message, values = reason
            texts.append(_reason_in(language, message, tuple(dict(values).items())))
    return texts


@lru_cache(maxsize=CACHED_PAIRS)
def _reason_in(language: str, message: str, values: tuple[tuple[str, str], ...]) -> str:
    return gettext(message) % dict(values) if values else gettext(message)


# --- names -----------------------------------------------------------------------------------

_NAME_FIELDS = ("surname", "first_name", "patronymic")
_LEVEL_OF = {
    "surname": surname_level,
    "first_name": first_name_level,
    "patronymic": patronymic_level,
}


def _name_levels(new: tuple[str, str, str], old: tuple[str, str, str]) -> dict[str, Level]:
    return {name: _LEVEL_OF[name](a, b) for name, a, b in zip(_NAME_FIELDS, new, old, strict=True)}


def _name_bits(levels: dict[str, Level]) -> float:
    return sum(_BITS[name].get(level, 0.0) for name, level in levels.items())


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


_REASONS: dict[tuple[str, Level], str] = {
    ("surname", Level.EXACT): gettext_noop("same surname"),
    ("surname", Level.CLOSE): gettext_noop("surname %(new)s ≈ %(old)s"),
    ("surname", Level.VARIANT): gettext_noop("surname %(new)s ≈ %(old)s"),
    ("surname", Level.NEUTRAL): gettext_noop("surname %(new)s / %(old)s (another gender form)"),
    ("surname", Level.CONFLICT): gettext_noop("different surnames"),
    ("first_name", Level.EXACT): gettext_noop("same first name"),
    ("first_name", Level.VARIANT): gettext_noop("first name %(new)s ≈ %(old)s"),
    ("first_name", Level.CLOSE): gettext_noop("first name %(new)s ≈ %(old)s"),
    ("first_name", Level.CONFLICT): gettext_noop("different first names"),
    ("patronymic", Level.EXACT): gettext_noop("same patronymic"),
    ("patronymic", Level.CLOSE): gettext_noop("patronymic %(new)s ≈ %(old)s"),
    ("patronymic", Level.CONFLICT): gettext_noop("different patronymics"),
    ("birthday", Level.EXACT): gettext_noop("same birthday"),
    ("birthday", Level.CLOSE): gettext_noop("birthday with day and month swapped"),
    ("birthday", Level.CONFLICT): gettext_noop("different birthdays"),
    ("phone", Level.CONFLICT): gettext_noop("different phones"),
    ("email", Level.CONFLICT): gettext_noop("different e-mails"),
    ("messenger", Level.CONFLICT): gettext_noop("different messenger handles"),
    ("address", Level.EXACT): gettext_noop("same address"),
    ("address", Level.CONFLICT): gettext_noop("different addresses"),
    ("company", Level.EXACT): gettext_noop("same company"),
    ("company", Level.CONFLICT): gettext_noop("different companies"),
}
"""The message id of the reason for each outcome worth telling."""


def _reason(name: str, level: Level, new: str = "", old: str = "") -> Reason | None:
    message = _REASONS.get((name, level))
    if message is None:
        return None
    return (message, (("new", new), ("old", old)) if "%(" in message else ())


NameOutcome = tuple[tuple[tuple[str, Level, Reason | None], ...], bool]


@lru_cache(maxsize=CACHED_PAIRS)
def _name_outcome(new: tuple[str, str, str], old: tuple[str, str, str]) -> NameOutcome:
    """Each name part's level and reason, and whether parts were swapped: the same for every
    pair of these names, so remembered (names repeat: a scan compares the same pairs of
    names thousands of times)."""
    levels, swapped, reading = _aligned(new, old)
    parts = tuple(
        (name, levels[name], _reason(name, levels[name], new_part, old_part))
        for name, new_part, old_part in zip(_NAME_FIELDS, new, reading, strict=True)
    )
    return parts, swapped


def _compare_names(match: PersonMatch, new: PersonFacts, old: PersonFacts) -> None:
    parts, swapped = _name_outcome(new.names, old.names)
    match.swapped = swapped
    for name, level, reason in parts:
        match.add(name, level, reason)
    if swapped:
        match.reason_keys.append((gettext_noop("name parts in another order"), ()))


# --- the other fields ------------------------------------------------------------------------


def _cap_household(match: PersonMatch) -> None:
    household = [
        bits
        for name in HOUSEHOLD_FIELDS
        if (bits := _BITS[name].get(match.levels.get(name, Level.MISSING), 0.0)) > 0
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
        "phone": points_level(new.phones, old.phones),
        "email": points_level(new.emails, old.emails),
        "messenger": points_level(new.handles, old.handles),
        "address": address_level(new.addresses, old.addresses),
        "company": points_level(new.companies, old.companies),
    }
    shared = {
        "phone": new.phones & old.phones,
        "email": new.emails & old.emails,
        "messenger": new.handles & old.handles,
    }
    for name, level in details.items():
        reason = _shared_reason(name, min(shared[name])) if shared.get(name) else None
        match.add(name, level, reason or _reason(name, level))
    _cap_household(match)
    return match


def _shared_reason(name: str, value: str) -> Reason:
    if name == "phone":
        return (gettext_noop("same phone %(value)s"), (("value", format_phone(value)),))
    if name == "email":
        return (gettext_noop("same e-mail %(value)s"), (("value", value),))
    handle = value.split(":", 1)[-1]
    return (gettext_noop("same messenger handle %(value)s"), (("value", handle),))


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

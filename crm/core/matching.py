"""Fuzzy comparison of people and companies for the duplicate check.

Two pieces: ``*_block_keys`` give the short keys under which candidates are looked up in the
database (so a check reads a few rows, not the whole base), and ``score_*`` compare a
candidate with the new record and say why they look alike. Scores are 0-100. People are
scored on every field by ``core.person_match``; ``score_person`` is its names-only form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import permutations

from django.utils.translation import gettext_lazy as _

from crm.core.field_compare import first_name_forms, name_key
from crm.core.names import first_name_heads
from crm.core.person_match import PersonFacts, score_person_facts
from crm.core.text import fold, latin_key, strip_legal_form

NEAR_MATCH_THRESHOLD = 75
# ``MatchKey.key`` is a varchar(64); keys are built to fit it.
MAX_KEY_LENGTH = 64
_PREFIX = 3
_MIN_WORD = 2


@dataclass
class MatchScore:
    """How alike two records are, with the human-readable reasons behind the number."""

    score: int
    reasons: list[str] = field(default_factory=list)


def _tokens(text: str) -> list[str]:
    return [token for token in latin_key(text).split() if token]


def person_block_keys(
    last_name: str, first_name: str, middle_name: str = "", birthday: dt.date | None = None
) -> set[str]:
    """The blocking keys of a person: what two records of one person share despite typos,
    missing parts, another alphabet, diminutives and swapped parts.

    Words are Latin keys (``person_match.name_key``). The surname and first name (*main*
    words; the patronymic is apart) decide the keys. A main word that is a known first name
    (``crm.core.names.FIRST_NAMES``), or one typo away from one, stands for the full names it
    may be (``first_name_heads``: Саша → aleksandr, aleksandra; Alxeandr → aleksandr), so a
    first name's typo or diminutive changes nothing; the other main words are surnames.

    With a first name:

    - ``s:{s minus one letter}|{head}``: each surname, whole and with each letter deleted,
      with each full name of the first name: a typo anywhere in the surname, even at its
      start (Deinsov / Денисов), plus a typo or a diminutive in the first name. A group holds
      namesakes only, so it stays small in a large base;
    - ``d:{s minus one letter}|{head[0]}``: the same with the first name's initial, for a
      first name too mangled to be recognised on the other record;
    - ``p:{head}|{s[:3]}``: two typos in the surname after its third letter.

    Without one (a foreign name, or both words mangled): ``p:{a}|{b[:3]}`` and
    ``d:{a minus one letter}|{b[0]}`` for each ordered pair of main words, as above but with
    no side known to be the first name.

    Always:

    - ``p:{a}|{b[:3]}`` for the pairs with a patronymic word, so «Иванов Петрович» meets
      «Иванов Иван Петрович»;
    - ``w:{word}`` for every word, and ``o:{word}`` for a name of one word: a one-word name
      looks up the ``w:`` key of its word, a longer name the ``o:`` keys of its words, so
      «Иванов» meets «Иванов Иван»;
    - ``b:{birthday}|{initial}`` with the initial of a main word or of a full name (and the
      day and month swapped when both are ≤ 12): a birthday survives typos in both words.

    At 1M contacts the ``d:``, ``p:`` and ``w:`` keys of a common name hold thousands of
    people, the ``s:``, ``b:`` and ``o:`` keys rarely more than a few hundred: the check
    reads a bounded number of the first kinds (``BOUNDED_KEY_KINDS``) and all of the
    second, and the scan skips a key held by more than ``MAX_GROUP_MEMBERS`` records.
    """
    words = _name_words(last_name, first_name, middle_name)
    if not words:
        return set()
    keys = {f"w:{word}"[:MAX_KEY_LENGTH] for word in words if len(word) >= _MIN_WHOLE}
    if len(words) == 1:
        keys.add(f"o:{words[0]}"[:MAX_KEY_LENGTH])
    main = _name_words(last_name, first_name) or words
    heads = {word: first_name_heads(word) for word in main}
    given = [word for word in main if heads[word]]
    if given and len(main) > 1:
        # «Scott Jacqueline»: when every main word may be a first name, each is a surname too.
        for surname in [word for word in main if not heads[word]] or main:
            full = {head for word in given if word != surname for head in heads[word]}
            variants = _deletions(surname, shortest=_MIN_WHOLE)
            keys.update(
                f"s:{variant[:_KEY_WORD]}|{head[:_KEY_WORD]}"
                for variant in variants
                for head in full
            )
            keys.update(_initial_keys(_deletions(surname), full))
            keys.update(_pair_key(head, surname) for head in full)
    else:
        forms = {word: _forms(word) for word in main}
        for whole, other in permutations(main, 2):
            keys.update(_pair_key(a, b) for a in forms[whole] for b in forms[other])
            keys.update(_initial_keys(_deletions(whole) | forms[whole], forms[other]))
    if len(words) > len(main):
        forms = {word: heads.get(word) or _forms(word) for word in words}
        for whole, other in permutations(words, 2):
            if whole not in heads or other not in heads:  # a pair with the patronymic
                keys.update(_pair_key(a, b) for a in forms[whole] for b in forms[other])
    if birthday is not None:
        initials = {word[0] for word in main} | {head[0] for word in main for head in heads[word]}
        keys.update(
            f"b:{day}|{initial}" for day in _birthday_forms(birthday) for initial in initials
        )
    return keys


BOUNDED_KEY_KINDS = ("d:", "p:", "w:")
"""Person keys the check on create reads a bounded number of holders of (the newest): at 1M
contacts one may hold thousands, and a duplicate that matters shares a key of another kind
too (``s:``, ``b:``, ``o:``) or a contact point."""


def person_lookup_keys(
    last_name: str, first_name: str, middle_name: str = "", birthday: dt.date | None = None
) -> set[str]:
    """The keys the duplicate check on create looks up: those of ``person_block_keys``
    without the ``w:`` keys (a word alone holds thousands at 1M) unless the name has one
    word, and with the ``o:`` keys of every word (few: only one-word names hold them)."""
    keys = person_block_keys(last_name, first_name, middle_name, birthday)
    words = _name_words(last_name, first_name, middle_name)
    if len(words) == 1:
        return keys
    return {key for key in keys if not key.startswith("w:")} | {
        f"o:{word}"[:MAX_KEY_LENGTH] for word in words
    }


_MIN_WHOLE = 3
_MIN_DELETION = 5
_KEY_WORD = (MAX_KEY_LENGTH - 3) // 2  # each word of an ``s:`` key


def _name_words(*parts: str) -> list[str]:
    words = " ".join(name_key(word) for part in parts for word in fold(part).split()).split()
    return sorted({word for word in words if len(word) >= _MIN_WORD})


def _forms(word: str) -> frozenset[str]:
    return first_name_forms(word) | {word}


def _deletions(word: str, shortest: int = _MIN_DELETION) -> set[str]:
    """The word and, when it has ``shortest`` letters or more, the word with each letter
    deleted."""
    if len(word) < shortest:
        return {word}
    return {word, *(word[:index] + word[index + 1 :] for index in range(len(word)))}


def _initial_keys(variants: set[str], others: Iterable[str]) -> set[str]:
    """``d:{variant}|{initial}``: each variant of a word with the initial of each of
    ``others`` (the forms of the other word)."""
    initials = {other[0] for other in others}
    return {
        f"d:{variant[: MAX_KEY_LENGTH - 4]}|{initial}"
        for variant in variants
        for initial in initials
    }


def _birthday_forms(birthday: dt.date) -> set[str]:
    forms = {birthday.isoformat()}
    if birthday.day <= 12 and birthday.day != birthday.month:
        forms.add(f"{birthday.year:04d}-{birthday.day:02d}-{birthday.month:02d}")
    return forms


def _pair_key(whole: str, other: str) -> str:
    return f"p:{whole[: MAX_KEY_LENGTH - 6]}|{other[:_PREFIX]}"


def company_name_key(name: str) -> str:
    """A company name without its legal form, quotes, case or alphabet: ``romashka``."""
    return " ".join(_tokens(strip_legal_form(name)))


def company_block_keys(*names: str) -> set[str]:
    """Keys for a company, built from each of its names.

    - ``c:{name}``: the whole name without legal form, quotes, case or alphabet (ООО «Ромашка»
      / Romashka LLC);
    - ``c#{skeleton}``: its consonants, which survive a wrong vowel (Ромашка / Ромошка);
    - ``c~{head}|``: the first word alone, so «Ромашка» meets «Ромашка Плюс»;
    - ``c~{a}|{b[:3]}`` both ways for the first two words, which survive word order and a
      typo in one of them.

    Single words or 4-letter word prefixes are not keys: at 200k companies ``c~mosk`` held
    16,000 of them.
    """
    keys: set[str] = set()
    for name in names:
        key = company_name_key(name)
        if not key:
            continue
        keys.add(f"c:{key}"[:MAX_KEY_LENGTH])
        skeleton = "".join(ch for ch in key if ch not in "aeiou ")
        if len(skeleton) >= 3:
            keys.add(f"c#{skeleton[:40]}")
        words = [word for word in key.split() if len(word) >= _MIN_WORD]
        if words:
            keys.add(f"c~{words[0]}|"[:MAX_KEY_LENGTH])
        if len(words) >= 2:
            first, second = words[0], words[1]
            keys.add(f"c~{first[: MAX_KEY_LENGTH - 6]}|{second[:_PREFIX]}")
            keys.add(f"c~{second[: MAX_KEY_LENGTH - 6]}|{first[:_PREFIX]}")
    return keys


def score_person(new: tuple[str, str, str], existing: tuple[str, str, str]) -> MatchScore:
    """Compare the (last, first, middle) names of two people alone: the score and reasons of
    ``person_match.score_person_facts`` with no other field known."""
    match = score_person_facts(PersonFacts(*new), PersonFacts(*existing))
    return MatchScore(match.score, match.reasons)


def score_company(new_name: str, existing_name: str) -> MatchScore:
    """Compare two company names after dropping legal forms, quotes, case and alphabet."""
    new_key, old_key = company_name_key(new_name), company_name_key(existing_name)
    if not new_key or not old_key:
        return MatchScore(0)
    reasons: list[str] = []
    if fold(new_name) == fold(existing_name):
        return MatchScore(100, [str(_("Same name"))])
    if new_key == old_key:
        reasons.append(str(_("Same name apart from the legal form, quotes or alphabet")))
        return MatchScore(95, reasons)
    from rapidfuzz import fuzz

    score = fuzz.token_sort_ratio(new_key, old_key)
    if score >= 80:
        reasons.append(str(_("Names differ by a few letters (a typo?)")))
    partial = fuzz.token_set_ratio(new_key, old_key)
    if partial == 100 and score < 100:
        reasons.append(str(_("One name contains the other")))
        score = max(score, 80)
    return MatchScore(round(score), reasons)

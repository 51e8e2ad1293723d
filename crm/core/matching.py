"""Fuzzy comparison of people and companies for the duplicate check.

Two pieces: ``*_block_keys`` give the short keys under which candidates are looked up in the
database (so a check reads a few rows, not the whole base), and ``score_*`` compare a
candidate with the new record and say why they look alike. Scores are 0-100. People are
scored on every field by ``core.person_match``; ``score_person`` is its names-only form.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import permutations

from django.utils.translation import gettext_lazy as _

from crm.core.field_compare import first_name_forms, name_key
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

    Words are Latin keys (``person_match.name_key``); a first name stands for every full
    name it may be (Саша → aleksandr, aleksandra), so the keys of Саша meet Александр's.

    - ``p:{a}|{b[:3]}``: each name word in full with the first three letters of another
      (word order and a missing patronymic do not matter, nor one typo in the other word
      after its third letter);
    - ``d:{a minus one letter}|{b[0]}``: for the surname and the first name, each with one
      letter deleted (and whole, in each of its forms) and the other's initial (of each of
      its forms): one typo anywhere in a word of
      five letters or more, even at its start (Deinsov / Денисов), even with a typo in the
      other word after its initial;
    - ``w:{word}`` for every word, and ``o:{word}`` for a name of one word: a one-word name
      looks up the ``w:`` key of its word, a longer name the ``o:`` keys of its words, so
      «Иванов» meets «Иванов Иван»;
    - ``b:{birthday}|{initial}`` with the initial of the surname or the first name (and the
      day and month swapped when both are ≤ 12): a birthday survives typos in both words.

    At 1M contacts the ``d:`` and ``w:`` keys of a common name hold thousands of people: the
    check ranks candidates by keys shared (a duplicate shares many), and the scan skips a
    key held by more than ``MAX_GROUP_MEMBERS`` records, so every source stays bounded.
    """
    words = _name_words(last_name, first_name, middle_name)
    if not words:
        return set()
    forms = {word: _forms(word) for word in words}
    keys = {f"w:{word}"[:MAX_KEY_LENGTH] for word in words if len(word) >= _MIN_WHOLE}
    if len(words) == 1:
        keys.add(f"o:{words[0]}"[:MAX_KEY_LENGTH])
    for whole, other in permutations(words, 2):
        keys.update(_pair_key(a, b) for a in forms[whole] for b in forms[other])
    main = _name_words(last_name, first_name) or words
    for whole, other in permutations(main, 2):
        initials = {form[0] for form in forms[other]}
        keys.update(
            f"d:{variant[: MAX_KEY_LENGTH - 4]}|{initial}"
            for variant in _deletions(whole) | forms[whole]
            for initial in initials
        )
    if birthday is not None:
        initials = {form[0] for word in main for form in forms[word]}
        keys.update(
            f"b:{day}|{initial}" for day in _birthday_forms(birthday) for initial in initials
        )
    return keys


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


def _name_words(*parts: str) -> list[str]:
    words = " ".join(name_key(word) for part in parts for word in fold(part).split()).split()
    return sorted({word for word in words if len(word) >= _MIN_WORD})


def _forms(word: str) -> frozenset[str]:
    return first_name_forms(word) | {word}


def _deletions(word: str) -> set[str]:
    """The word and, when it has five letters or more, the word with each letter deleted."""
    if len(word) < _MIN_DELETION:
        return {word}
    return {word, *(word[:index] + word[index + 1 :] for index in range(len(word)))}


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

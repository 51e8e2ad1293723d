"""Fuzzy comparison of people and companies for the duplicate check.

Two pieces: ``*_block_keys`` give the short keys under which candidates are looked up in the
database (so a check reads a few rows, not the whole base), and ``score_*`` compare a
candidate with the new record and say why they look alike. Scores are 0-100.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations

from django.utils.translation import gettext_lazy as _

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


def person_block_keys(last_name: str, first_name: str, middle_name: str = "") -> set[str]:
    """Keys for a person: each name word in full with the 3-letter prefix of another word.

    For every ordered pair of distinct words (a, b) the key is ``p:{a}|{b[:3]}``
    (``p:petrov|ale``, ``p:alexandr|pet``). The set survives another alphabet, ё/е, word
    order and a missing patronymic (the surname/first-name pair is still there), and one typo
    in one word after its third letter (the key of the other word in full still matches); with
    three words a typo anywhere in one of them leaves the pair of the other two. At 1M
    contacts a key holds from one person to about 9,000 (a first name with a patronymic
    prefix, ``p:alena|ale``); a duplicate shares more keys than a namesake, so the check ranks
    candidates by shared keys. A one-word name gets one key of the whole word.
    """
    words = _name_words(last_name, first_name, middle_name)
    if len(words) == 1:
        return {f"p:{words[0]}|"[:MAX_KEY_LENGTH]}
    return {_pair_key(whole, other) for whole, other in permutations(words, 2)}


def person_lookup_keys(last_name: str, first_name: str, middle_name: str = "") -> set[str]:
    """The keys the duplicate check looks up: those of ``person_block_keys`` that hold a word
    of the surname field (all of them when that field is empty or holds every word).

    The pairs of a first name and a patronymic (``p:alexei|ale``) hold up to 9,000 people
    each at 1M contacts and would double the rows the check counts. They only help when the
    surname has a typo in its first three letters, and then rank the person among everyone
    with the same first name and patronymic; the background scan still uses them.
    """
    words = _name_words(last_name, first_name, middle_name)
    surname = set(_name_words(last_name))
    if len(words) < 3 or not surname or surname.issuperset(words):
        return person_block_keys(last_name, first_name, middle_name)
    return {
        _pair_key(whole, other)
        for whole, other in permutations(words, 2)
        if whole in surname or other in surname
    }


def _name_words(*parts: str) -> list[str]:
    words = latin_key(" ".join(parts)).split()
    return sorted({word for word in words if len(word) >= _MIN_WORD})


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
    """Compare (last, first, middle) names of two people."""
    new_text = " ".join(part for part in new if part)
    old_text = " ".join(part for part in existing if part)
    if not new_text or not old_text:
        return MatchScore(0)
    reasons: list[str] = []
    new_key, old_key = latin_key(new_text), latin_key(old_text)
    same_alphabet = _is_cyrillic(new_text) == _is_cyrillic(old_text)
    if new_text == old_text:
        return MatchScore(100, [str(_("Same name"))])
    if fold(new_text) == fold(old_text):
        return MatchScore(98, [str(_("Same name apart from case, ё/е or punctuation"))])
    if new_key == old_key:
        reasons.append(
            str(_("Same name in another alphabet or with ё/е"))
            if not same_alphabet
            else str(_("Same name with ё/е or another spelling"))
        )
        return MatchScore(97, reasons)
    from rapidfuzz import fuzz  # imported by the first duplicate check, not at start-up

    new_list, old_list = new_key.split(), old_key.split()
    new_tokens, old_tokens = set(new_list), set(old_list)
    score = fuzz.token_set_ratio(new_key, old_key)
    if sorted(new_list) == sorted(old_list):
        reasons.append(str(_("Same words in another order")))
        score = 95
    elif new_tokens < old_tokens or old_tokens < new_tokens:
        reasons.append(str(_("One name lacks a part (e.g. the patronymic)")))
        score = min(score, 90)
    else:
        sorted_ratio = fuzz.token_sort_ratio(new_key, old_key)
        if sorted_ratio >= 80:
            reasons.append(str(_("Names differ by a few letters (a typo?)")))
        score = min(score, sorted_ratio + 5)
    if not same_alphabet:
        reasons.append(str(_("Written in another alphabet")))
    return MatchScore(round(score), reasons)


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


def _is_cyrillic(text: str) -> bool:
    return any("\u0400" <= ch <= "\u04ff" for ch in text)

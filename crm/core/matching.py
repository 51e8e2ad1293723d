"""Fuzzy comparison of people and companies for the duplicate check.

Two pieces: ``*_block_keys`` give the short keys under which candidates are looked up in the
database (so a check reads a few rows, not the whole base), and ``score_*`` compare a
candidate with the new record and say why they look alike. Scores are 0-100.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

from django.utils.translation import gettext_lazy as _
from rapidfuzz import fuzz

from crm.core.text import fold, latin_key, strip_legal_form

NEAR_MATCH_THRESHOLD = 75
_PREFIX = 3


@dataclass
class MatchScore:
    """How alike two records are, with the human-readable reasons behind the number."""

    score: int
    reasons: list[str] = field(default_factory=list)


def _tokens(text: str) -> list[str]:
    return [token for token in latin_key(text).split() if token]


def person_block_keys(last_name: str, first_name: str, middle_name: str = "") -> set[str]:
    """Keys for a person: pairs of 3-letter token prefixes, in any order.

    A pair survives word order, a missing patronymic, the alphabet and a typo after the
    third letter, and is rare enough that a key holds a handful of people, not thousands.
    """
    tokens = [
        token for token in _tokens(f"{last_name} {first_name} {middle_name}") if len(token) >= 2
    ]
    if len(tokens) == 1:
        return {f"p:{tokens[0][:_PREFIX]}|"}
    prefixes = sorted(token[:_PREFIX] for token in tokens)
    return {f"p:{a}|{b}" for a, b in combinations(prefixes, 2)}


def company_name_key(name: str) -> str:
    """A company name without its legal form, quotes, case or alphabet: ``romashka``."""
    return " ".join(_tokens(strip_legal_form(name)))


def company_block_keys(*names: str) -> set[str]:
    """Keys for a company: its whole name key, the prefix of each distinctive word and the
    consonant skeleton of the name (which survives a wrong vowel: Ромашка / Ромошка)."""
    keys: set[str] = set()
    for name in names:
        key = company_name_key(name)
        if not key:
            continue
        keys.add(f"c:{key}")
        keys.update(f"c~{token[:4]}" for token in key.split() if len(token) >= 4)
        skeleton = "".join(ch for ch in key if ch not in "aeiou ")
        if len(skeleton) >= 3:
            keys.add(f"c#{skeleton[:40]}")
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

"""Which field each column of a file fills, guessed from its header.

``guess_mapping(kind, columns, fields)`` answers, for each column, the key of the field it
fills, or ``""`` for a column left out. ``fields`` are the kind's import fields (keys and
labels, the custom fields among them as ``custom.<key>``); only their keys are answered.

A header is compared normalised (``normalise``: case folded, ё as е, everything but
letters and digits dropped, so "E-mail", "email" and "Эл. почта" compare as written
without punctuation or spaces). It matches, in this order:

1. a field's key or label (a custom field by its label or key);
2. a name people or another CRM's export use for the field (``headers_data``: Russian and
   English names and the exports of amoCRM, Bitrix24, HubSpot and Salesforce);
3. the same without a trailing number ("Телефон 2", "Phone #3");
4. the same without a qualifier in parentheses or before a colon: "Phone (Work)" is a
   phone; amoCRM's "Рабочий телефон (контакт)" is a phone when contacts (or leads, which
   hold their person's details) are imported and nothing when deals are (it is the
   contact's phone, not the deal's), likewise Salesforce's "Account: Phone".

A field that is not ``multiple`` goes to the first column that matches it only.
``guess_source(columns)`` names the CRM whose export the header looks like, if any.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Protocol

from .headers_data import ALIASES, COMMON, FORMAT_HINTS


class FieldLike(Protocol):
    key: str
    label: object
    multiple: bool


_NOT_ALNUM = re.compile(r"[\W_]+")
_TRAILING_NUMBER = re.compile(r"\s*(?:[#№]|\bno\.?)?\s*\d{1,3}$", re.IGNORECASE)
_QUALIFIER = re.compile(r"^(?P<base>.*?)\s*[(\[](?P<qualifier>[^)\]]*)[)\]]\s*$")
_PREFIX = re.compile(r"^(?P<qualifier>[^:]{1,40}):\s*(?P<base>.+)$")
# Qualifier words naming a record kind ("(контакт)", "(company)", "Account: ...").
_KIND_WORDS = {
    "contact": ("контакт", "контакта", "contact", "person", "персона"),
    "company": ("компания", "компании", "company", "account", "организация", "организации"),
    "deal": ("сделка", "сделки", "deal", "opportunity"),
    "lead": ("лид", "лида", "lead"),
    "task": ("задача", "задачи", "task", "activity"),
}
# A lead holds its person's and company's details: "Рабочий телефон (контакт)" is its phone.
_HELD_BY = {"lead": ("contact", "company")}
_KIND_OF_WORD = {
    normal: kind for kind, words in _KIND_WORDS.items() for normal in map(str.casefold, words)
}


def normalise(text: str) -> str:
    """A header as compared: case folded, ё as е, only letters and digits kept."""
    return _NOT_ALNUM.sub("", str(text).casefold().replace("ё", "е"))


@cache
def _aliases(kind: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for key, aliases in ALIASES.get(kind, {}).items():
        for alias in aliases:
            names.setdefault(normalise(alias), key)
    for key, aliases in COMMON.items():
        for alias in aliases:
            names.setdefault(normalise(alias), key)
    return names


def _candidates(kind: str, header: str) -> list[str]:
    """The normalised forms of ``header`` to look up, the most literal first; none when a
    qualifier says the column belongs to another kind of record."""
    text = " ".join(str(header).split())
    forms = [text]
    without_number = _TRAILING_NUMBER.sub("", text)
    if without_number and without_number != text:
        forms.append(without_number)
    for form in list(forms):
        found = _QUALIFIER.match(form) or _PREFIX.match(form)
        if not found or not found.group("base"):
            continue
        other_kind = _KIND_OF_WORD.get(found.group("qualifier").strip().casefold())
        if (
            other_kind is not None
            and other_kind != kind
            and other_kind not in _HELD_BY.get(kind, ())
        ):
            break  # "Телефон (компания)" in a contacts import: not the contact's phone
        base = found.group("base")
        forms.append(base)
        base_without_number = _TRAILING_NUMBER.sub("", base)
        if base_without_number and base_without_number != base:
            forms.append(base_without_number)
    return [normalise(form) for form in forms if normalise(form)]


def guess_mapping(kind: str, columns: Sequence[str], fields: Sequence[FieldLike]) -> list[str]:
    """For each of ``columns``, the key of the field of ``kind`` it fills, or ``""``. A field
    that is not ``multiple`` is given to one column at most (the first)."""
    own: dict[str, str] = {}
    for item in fields:
        own.setdefault(normalise(item.key), item.key)
        if item.key.startswith("custom."):
            own.setdefault(normalise(item.key.removeprefix("custom.")), item.key)
    for item in fields:
        own.setdefault(normalise(str(item.label)), item.key)
    keys = {item.key for item in fields}
    multiple = {item.key for item in fields if item.multiple}
    aliases = _aliases(kind)
    taken: set[str] = set()
    mapping = []
    for column in columns:
        key = ""
        candidates = _candidates(kind, column)
        for candidate in candidates:
            found = own.get(candidate) or aliases.get(candidate, "")
            if found in keys and (found in multiple or found not in taken):
                key = found
                break
        taken.add(key)
        mapping.append(key)
    return mapping


def guess_source(columns: Sequence[str]) -> str:
    """The CRM whose export ``columns`` look like ("amoCRM", "Bitrix24", "HubSpot",
    "Salesforce"), or ``""``: the one with the most of its own headers, at least two."""
    present = {normalise(column) for column in columns}
    best, best_count = "", 1
    for source, headers in FORMAT_HINTS.items():
        count = sum(normalise(header) in present for header in headers)
        if count > best_count:
            best, best_count = source, count
    return best

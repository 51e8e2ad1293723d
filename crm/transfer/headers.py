"""Which field each column of a file fills, guessed from its header.

``guess_mapping(kind, columns, fields)`` answers, for each column, the key of the field it
fills, or ``""`` for a column left out. ``fields`` are the kind's import fields (their keys
and labels); a header matches a field by its key or label. This first version compares
headers exactly (ignoring case and surrounding spaces); the names that Russian and English
spreadsheets and the exports of amoCRM, Bitrix24, HubSpot and Salesforce use are added here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class FieldLike(Protocol):
    key: str
    label: object
    multiple: bool


def _norm(text: str) -> str:
    return " ".join(str(text).casefold().split())


def guess_mapping(kind: str, columns: Sequence[str], fields: Sequence[FieldLike]) -> list[str]:
    """For each of ``columns``, the key of the field of ``kind`` it fills, or ``""``. A field
    that is not ``multiple`` is given to one column at most (the first)."""
    by_name: dict[str, str] = {}
    for item in fields:
        by_name.setdefault(_norm(item.key), item.key)
        by_name.setdefault(_norm(str(item.label)), item.key)
    taken: set[str] = set()
    multiple = {item.key for item in fields if item.multiple}
    mapping = []
    for column in columns:
        key = by_name.get(_norm(column), "")
        if key and key in taken and key not in multiple:
            key = ""
        taken.add(key)
        mapping.append(key)
    return mapping

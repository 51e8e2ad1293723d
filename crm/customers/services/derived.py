"""Writing again the columns and rows derived from what a contact or company keeps: the
search text, the name words, the name blocking keys and the reversed digits of phones.

A restore of the full export (``crm.transfer.restore``) leaves these out of the file and
calls these functions (the ``rebuild`` of the customer tables) inside its transaction.
"""

from __future__ import annotations

from typing import Any

from crm.core.normalize import phone_digits_reversed
from crm.core.sql import rows_update
from crm.customers import kinds as customer_kinds
from crm.customers.choices import ContactPointKind
from crm.customers.models import ContactPoint
from crm.customers.services.records import _name_words, _search_text, match_keys_rebuild

BATCH = 2000


def customers_derived_rebuild() -> list[str]:
    """Write the search text and the name words of every contact and company (live or
    merged) from their names and e-mails, then their name blocking keys
    (``match_keys_rebuild``: live records only, as after a merge). In batches by id;
    answers no notes."""
    for kind in customer_kinds.KINDS.values():
        _rebuild_texts(kind)
    match_keys_rebuild(batch_size=BATCH)
    return []


def _rebuild_texts(kind: Any) -> None:
    owner = f"{kind.entity}_id"
    fields = sorted({*kind.search_fields, *kind.name_fields, "legal_form"} & _columns(kind))
    last = 0
    while True:
        records = list(
            kind.model._base_manager.filter(pk__gt=last).order_by("pk").only("pk", *fields)[:BATCH]
        )
        if not records:
            return
        emails: dict[int, list[str]] = {}
        for record_id, value in (
            ContactPoint.objects.filter(
                **{f"{owner}__in": [record.pk for record in records]},
                kind=ContactPointKind.EMAIL,
            )
            .order_by("position", "id")
            .values_list(owner, "value")
        ):
            emails.setdefault(record_id, []).append(value)
        rows_update(
            kind.model,
            ("search_text", "name_words"),
            [
                (_search_text(record, emails.get(record.pk, [])), _name_words(record), record.pk)
                for record in records
            ],
        )
        last = records[-1].pk


def _columns(kind: Any) -> set[str]:
    return {field.name for field in kind.model._meta.concrete_fields}


def contact_points_derived_rebuild() -> list[str]:
    """Write the reversed digits of every phone (the "ends with" search). In batches by id;
    answers no notes."""
    last = 0
    while True:
        points = list(
            ContactPoint.objects.filter(pk__gt=last, kind=ContactPointKind.PHONE)
            .order_by("pk")
            .only("pk", "value")[:BATCH]
        )
        if not points:
            return []
        rows_update(
            ContactPoint,
            ("digits_reversed",),
            [(phone_digits_reversed(point.value), point.pk) for point in points],
        )
        last = points[-1].pk

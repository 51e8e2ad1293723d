"""Deals follow their client when two contacts or companies are merged."""

from __future__ import annotations

from typing import Any

from crm.customers.models import Company, Contact
from crm.customers.services.merge import MERGE_MOVERS, MergeMover
from crm.sales.models import Deal


def _field(model: type[Any]) -> str:
    return "contact_id" if model is Contact else "company_id"


def _move(model: type[Contact] | type[Company], from_id: int, to_id: int) -> list[int]:
    field = _field(model)
    ids = list(Deal.objects.filter(**{field: from_id}).values_list("id", flat=True))
    Deal.objects.filter(id__in=ids).update(**{field: to_id})
    return ids


def _move_back(model: type[Contact] | type[Company], ids: list[int], to_id: int) -> None:
    Deal.objects.filter(id__in=ids).update(**{_field(model): to_id})


def register() -> None:
    if not any(mover.name == "deals" for mover in MERGE_MOVERS):
        MERGE_MOVERS.append(MergeMover("deals", _move, _move_back))

"""Factories for sales tests. Deals are created directly (with the default pipelines of
migration 0002) so tests of lines and payments do not depend on the deal services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from crm.accounts.models import User
from crm.sales.models import Deal, Pipeline, Product


def make_deal(owner: User, *, pipeline: str = "Розница", **fields: Any) -> Deal:
    """An open deal of ``owner`` in the first stage of ``pipeline`` (amount, currency,
    ``amount_from_lines`` etc. through ``fields``)."""
    chosen = Pipeline.objects.get(name=pipeline)
    now = timezone.now()
    fields.setdefault("title", "Кухня на заказ")
    fields.setdefault("stage", chosen.stages.order_by("position").first())
    fields.setdefault("stage_entered_at", now)
    fields.setdefault("last_activity_at", now)
    return Deal.objects.create(pipeline=chosen, owner=owner, **fields)


def make_product(**fields: Any) -> Product:
    """A live product priced in roubles (``Стол``, 1000.00, 22% VAT unless given)."""
    fields.setdefault("name", "Стол")
    fields.setdefault("price", Decimal("1000.00"))
    return Product.objects.create(**fields)

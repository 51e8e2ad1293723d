"""How the deal list is exported (the registry's ``Exporter``, declared in ``records.py``):
its columns, custom fields included, and its rows read in chunks as dictionaries with the
pipeline, stage, client and loss reason joined and the tags read once per chunk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from operator import itemgetter
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from crm.accounts.selectors import user_names
from crm.accounts.zones import user_zone
from crm.core.permissions import ScopedUser
from crm.core.records import ExportColumn, Exporter, keyset_chunks
from crm.customers.choices import FieldEntity
from crm.customers.exports import CLIENT_FIELDS, client_names_fill
from crm.customers.selectors import custom_field_columns
from crm.sales.choices import DealStatus
from crm.sales.models import Deal
from crm.sales.selectors import DealFilters, deal_queryset

FIELDS = (
    "title",
    "pipeline__name",
    "stage__name",
    "status",
    "amount",
    "currency",
    "expected_close",
    *CLIENT_FIELDS,
    "owner_id",
    "source",
    "invoice_number",
    "contract_number",
    "lost_reason__name",
    "lost_comment",
    "closed_at",
    "custom",
    "created_at",
)


def _deals(user: ScopedUser, params: Mapping[str, str]) -> QuerySet[Deal]:
    """The deal list's rows: its scope and its own filters (``DealFilters``)."""
    filters = DealFilters.from_params(dict(params.items()), zone=lambda: user_zone(user))
    return deal_queryset(user=user, filters=filters)


def _chunks(rows: QuerySet[Any], size: int) -> Iterator[list[dict[str, Any]]]:
    names = user_names()
    statuses = {value: str(label) for value, label in DealStatus.choices}
    for chunk in keyset_chunks(rows, FIELDS, size):
        tags: dict[int, list[str]] = defaultdict(list)
        for deal_id, name in Deal.tags.through.objects.filter(
            deal_id__in=[row["id"] for row in chunk]
        ).values_list("deal_id", "tag__name"):
            tags[deal_id].append(name)
        for row in chunk:
            row["tags"] = ", ".join(sorted(tags.get(row["id"], ())))
            row["owner"] = names.get(row["owner_id"], "")
            row["status_label"] = statuses.get(row["status"], row["status"])
            client_names_fill(row)
        yield chunk


def _columns() -> list[ExportColumn]:
    return [
        ExportColumn(_("ID"), itemgetter("id")),
        ExportColumn(_("Title"), itemgetter("title")),
        ExportColumn(_("Pipeline"), itemgetter("pipeline__name")),
        ExportColumn(_("Stage"), itemgetter("stage__name")),
        ExportColumn(_("Status"), itemgetter("status_label")),
        ExportColumn(_("Amount"), itemgetter("amount")),
        ExportColumn(_("Currency"), itemgetter("currency")),
        ExportColumn(_("Expected close date"), itemgetter("expected_close")),
        ExportColumn(_("Contact"), itemgetter("contact")),
        ExportColumn(_("Company"), itemgetter("company")),
        ExportColumn(_("Responsible"), itemgetter("owner")),
        ExportColumn(_("Source"), itemgetter("source")),
        ExportColumn(_("Invoice number"), itemgetter("invoice_number")),
        ExportColumn(_("Contract number"), itemgetter("contract_number")),
        ExportColumn(_("Tags"), itemgetter("tags")),
        ExportColumn(_("Reason for loss"), itemgetter("lost_reason__name")),
        ExportColumn(_("Comment on the loss"), itemgetter("lost_comment")),
        ExportColumn(_("Closed"), itemgetter("closed_at")),
        ExportColumn(_("Created"), itemgetter("created_at")),
        *custom_field_columns(FieldEntity.DEAL),
    ]


DEAL_EXPORT = Exporter(kind="deal", name="deals", select=_deals, columns=_columns, chunks=_chunks)

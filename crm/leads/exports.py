"""How the lead list is exported (the registry's ``Exporter``, declared in ``records.py``):
its columns and its rows read in chunks as dictionaries, the client, pipeline and
responsible joined in the chunk's one query."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from operator import itemgetter
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from crm.accounts.selectors import user_names
from crm.accounts.zones import user_zone
from crm.core.permissions import ScopedUser
from crm.core.records import ExportColumn, Exporter, keyset_chunks
from crm.customers.exports import CLIENT_FIELDS, client_names_fill
from crm.leads.choices import Channel, LeadKind, LeadStatus
from crm.leads.models import Lead
from crm.leads.selectors import LeadFilters, lead_queryset

FIELDS = (
    "title",
    "status",
    "kind",
    "channel",
    "name",
    "phone",
    "email",
    "company_name",
    "inn",
    "message",
    *CLIENT_FIELDS,
    "pipeline__name",
    "owner_id",
    "respond_by",
    "responded_at",
    "lost_reason",
    "created_at",
)


def _leads(user: ScopedUser, params: Mapping[str, str]) -> QuerySet[Lead]:
    """The lead list's rows: its scope and its own filters (``LeadFilters``)."""
    filters = LeadFilters.from_params(params, zone=lambda: user_zone(user))
    return lead_queryset(user=user, filters=filters)


def _chunks(rows: QuerySet[Any], size: int) -> Iterator[list[dict[str, Any]]]:
    names = user_names()
    labels = {
        field: {value: str(label) for value, label in choices}
        for field, choices in (
            ("status", LeadStatus.choices),
            ("kind", LeadKind.choices),
            ("channel", Channel.choices),
        )
    }
    for chunk in keyset_chunks(rows, FIELDS, size):
        for row in chunk:
            for field, known in labels.items():
                row[f"{field}_label"] = known.get(row[field], row[field])
            row["owner"] = names.get(row["owner_id"], "")
            client_names_fill(row)
        yield chunk


def _columns() -> list[ExportColumn]:
    return [
        ExportColumn(_("ID"), itemgetter("id")),
        ExportColumn(_("Title"), itemgetter("title")),
        ExportColumn(_("Status"), itemgetter("status_label")),
        ExportColumn(_("Classification"), itemgetter("kind_label")),
        ExportColumn(_("Channel"), itemgetter("channel_label")),
        ExportColumn(_("Name"), itemgetter("name")),
        ExportColumn(_("Phone"), itemgetter("phone")),
        ExportColumn(_("E-mail"), itemgetter("email")),
        ExportColumn(_("Company name"), itemgetter("company_name")),
        ExportColumn(_("ИНН"), itemgetter("inn")),
        ExportColumn(_("Message"), itemgetter("message")),
        ExportColumn(_("Contact"), itemgetter("contact")),
        ExportColumn(_("Company"), itemgetter("company")),
        ExportColumn(_("Pipeline"), itemgetter("pipeline__name")),
        ExportColumn(_("Responsible"), itemgetter("owner")),
        ExportColumn(_("Respond by"), itemgetter("respond_by")),
        ExportColumn(_("First response"), itemgetter("responded_at")),
        ExportColumn(_("Reason for loss"), itemgetter("lost_reason")),
        ExportColumn(_("Created"), itemgetter("created_at")),
    ]


LEAD_EXPORT = Exporter(kind="lead", name="leads", select=_leads, columns=_columns, chunks=_chunks)

"""The values an e-mail template may print, read from a record, as plain text.

``placeholder_values`` answers ``{"client": {...}, "deal": {...}, "lead": {...},
"manager": {...}, "company": {...}}`` of strings for one record (a contact, a company, a
lead or a deal) and the user writing: the groups a record does not have (``deal`` of a
contact) are absent, so a template that uses them lists them as unknown. ``company`` is the
seller (the requisites invoices print), ``client`` the contact (else the company) the record
is about. ``PLACEHOLDERS`` documents every name for the templates page.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import formats
from django.utils.translation import gettext_lazy as _

from crm.customers.choices import ContactPointKind
from crm.customers.models import Company, Contact
from crm.leads.models import Lead
from crm.sales.models import Deal
from crm.sales.services.seller import seller_details_get

PLACEHOLDERS: list[tuple[str, Any]] = [
    ("client.name", _("The client: a person's full name or a company's name")),
    ("client.first_name", _("The person's first name")),
    ("client.middle_name", _("The person's patronymic")),
    ("client.last_name", _("The person's last name")),
    ("client.company", _("The person's company, or the company's name")),
    ("client.email", _("The client's main e-mail")),
    ("client.phone", _("The client's main phone")),
    ("deal.title", _("The deal's title (on a deal)")),
    ("deal.amount", _("The deal's amount, e.g. 150 000,00")),
    ("deal.currency", _("The deal's currency")),
    ("deal.stage", _("The deal's stage")),
    ("deal.invoice_number", _("The deal's invoice number")),
    ("deal.contract_number", _("The deal's contract number")),
    ("deal.expected_close", _("The deal's expected close date")),
    ("lead.title", _("The lead's title (on a lead)")),
    ("lead.name", _("The name the lead came with")),
    ("lead.company_name", _("The company the lead named")),
    ("manager.full_name", _("You: your full name")),
    ("manager.first_name", _("Your first name")),
    ("manager.last_name", _("Your last name")),
    ("manager.position", _("Your position")),
    ("manager.email", _("Your e-mail")),
    ("manager.phone", _("Your phone")),
    ("company.name", _("Our company's name (the seller's requisites)")),
    ("company.phone", _("Our company's phone")),
    ("company.email", _("Our company's e-mail")),
    ("company.address", _("Our company's address")),
    ("company.inn", _("Our company's INN")),
    ("company.director", _("Our company's director")),
]


def _points(record: Contact | Company | None) -> dict[str, str]:
    """The primary e-mail and phone of a client (its prefetched ``points``)."""
    found: dict[str, str] = {}
    if record is None:
        return found
    for point in record.points.all():
        if point.kind in (ContactPointKind.EMAIL, ContactPointKind.PHONE):
            found.setdefault(point.kind, point.value)
    return found


def client_of(record: Any) -> Contact | Company | None:
    """The client a record is about: itself (a contact or company), else the contact (then
    the company) of a deal or lead."""
    if isinstance(record, Contact | Company):
        return record
    return getattr(record, "contact", None) or getattr(record, "company", None)


def client_values(record: Any) -> dict[str, str]:
    """The ``client`` group for ``record`` (its client's points and places of work
    prefetched)."""
    client = client_of(record)
    points = _points(client)
    if isinstance(client, Contact):
        employment = next(iter(client.employments.all()), None)
        return {
            "name": client.full_name,
            "first_name": client.first_name,
            "middle_name": client.middle_name,
            "last_name": client.last_name,
            "company": employment.company.display_name if employment else "",
            "email": points.get(ContactPointKind.EMAIL, ""),
            "phone": points.get(ContactPointKind.PHONE, ""),
        }
    if isinstance(client, Company):
        return {
            "name": client.display_name,
            "first_name": "",
            "middle_name": "",
            "last_name": "",
            "company": client.display_name,
            "email": points.get(ContactPointKind.EMAIL, ""),
            "phone": points.get(ContactPointKind.PHONE, ""),
        }
    lead = record if isinstance(record, Lead) else None
    return {
        "name": lead.name if lead else "",
        "first_name": "",
        "middle_name": "",
        "last_name": "",
        "company": lead.company_name if lead else "",
        "email": lead.email if lead else "",
        "phone": lead.phone if lead else "",
    }


def _money(amount: Decimal | None) -> str:
    if amount is None:
        return ""
    return formats.number_format(amount, 2, use_l10n=True, force_grouping=True)


def _deal(deal: Deal) -> dict[str, str]:
    return {
        "title": deal.title,
        "amount": _money(deal.amount),
        "currency": deal.currency,
        "stage": deal.stage.name,
        "invoice_number": deal.invoice_number,
        "contract_number": deal.contract_number,
        "expected_close": formats.date_format(deal.expected_close) if deal.expected_close else "",
    }


def manager_values(user: Any) -> dict[str, str]:
    """The ``manager`` group: the user writing."""
    return {
        "full_name": user.get_full_name(),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "position": user.position,
        "email": user.email,
        "phone": user.phone,
    }


def seller_values() -> dict[str, str]:
    """The ``company`` group: the seller's requisites (one query; a mailing reads it once
    per batch)."""
    seller = seller_details_get()
    return {
        "name": seller.name,
        "phone": seller.phone,
        "email": seller.email,
        "address": seller.address,
        "inn": seller.inn,
        "director": seller.director,
    }


def placeholder_values(*, record: Any, manager: Any) -> dict[str, dict[str, str]]:
    """The values of every placeholder for ``record`` written by ``manager`` (see the module
    docstring). Precondition: the record was read by ``selectors.record_for_mail`` (its
    client's points and places of work prefetched). Dates and amounts are formatted in the
    active language: render inside the template's language."""
    values = {
        "client": client_values(record),
        "manager": manager_values(manager),
        "company": seller_values(),
    }
    if isinstance(record, Deal):
        values["deal"] = _deal(record)
    if isinstance(record, Lead):
        values["lead"] = {
            "title": record.title,
            "name": record.name,
            "company_name": record.company_name,
        }
    return values

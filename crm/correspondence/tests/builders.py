"""Builders of the correspondence tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet

from crm.activities.models import TimelineEntry
from crm.correspondence.models import EmailTemplate
from crm.customers.tests.factories import make_company, make_contact
from crm.sales.models import DealLine, SellerDetails
from crm.sales.tests.factories import make_deal


def deal_with_client(
    owner: Any, *, email: str = "anna@client.ru", pipeline: str = "Опт", phone: str = ""
) -> Any:
    company = make_company(owner, legal_name="Ромашка", legal_form="ООО")
    contact = make_contact(
        owner,
        first_name="Анна",
        last_name="Смирнова",
        emails=[{"value": email}],
        phones=[{"value": phone}] if phone else [],
        employments=[{"company_id": company.pk, "position": "Закупщик"}],
    )
    deal = make_deal(
        owner,
        pipeline=pipeline,
        title="Вентиляция склада",
        contact=contact,
        company=company,
        amount=Decimal("150000.00"),
    )
    DealLine.objects.create(
        deal=deal,
        name="Монтаж вентиляции",
        quantity=Decimal(1),
        unit="service",
        price=Decimal("150000.00"),
        vat_rate="22",
        total=Decimal("150000.00"),
        vat_amount=Decimal("27049.18"),
        position=0,
    )
    SellerDetails.objects.update_or_create(
        pk=1, defaults={"name": "ООО «Вентпром»", "inn": "7701234567", "phone": "+74950000000"}
    )
    return deal


def template(**fields: Any) -> EmailTemplate:
    fields.setdefault("name", "Счёт")
    fields.setdefault("language", "ru")
    fields.setdefault("subject", "Счёт по сделке «{{ deal.title }}»")
    fields.setdefault(
        "body",
        "Здравствуйте, {{ client.first_name }}!\n\nСумма: {{ deal.amount }} {{ deal.currency }}."
        "\n\n{{ manager.full_name }}, {{ company.name }}",
    )
    return EmailTemplate.objects.create(**fields)


def entries_of(record: Any) -> QuerySet[TimelineEntry]:
    """The timeline entries of ``record``."""
    return TimelineEntry.objects.filter(
        subject_type=ContentType.objects.get_for_model(type(record)), subject_id=record.pk
    )

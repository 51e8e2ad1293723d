"""Importing deals: pipeline and stage by name, the client by name, phone, e-mail or ИНН,
amounts and dates as spreadsheets write them, closed deals, duplicates and undo."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import translation

from crm.customers.models import Company
from crm.customers.services import contact_create
from crm.sales.choices import DealStatus
from crm.sales.models import Deal, LostReason
from crm.sales.tests.pipeline_fixtures import make_pipeline
from crm.transfer.importing import import_execute, import_start, import_undo
from crm.transfer.models import ImportJob

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _run(actor: Any, lines: list[str], mapping: list[str], **options: Any) -> ImportJob:
    job = import_start(
        actor=actor,
        file=ContentFile("\n".join(lines).encode(), name="deals.csv"),
        filename="deals.csv",
        kind="deal",
        mapping=mapping,
        **options,
    )
    import_execute(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_deals_with_pipeline_stage_clients_and_closed_ones(org):
    make_pipeline("Проекты")
    LostReason.objects.create(name="Дорого")
    petr = contact_create(
        actor=org.admin,
        data={
            "last_name": "Иванов",
            "first_name": "Пётр",
            "phones": ["+79161234567"],
            "emails": ["petr@example.ru"],
        },
    )
    company = Company.objects.create(
        legal_name="Ромашка", inn="7707083893", owner=org.admin, created_by=org.admin
    )
    job = _run(
        org.admin,
        [
            "Название,Сумма,Валюта,Воронка,Этап,Контакт,Компания,Закрытие,Причина",
            'Поставка,"1 234 567,50 ₽",руб,Проекты,Переговоры,Иванов Пётр,7707083893,31.12.2026,',
            "Монтаж,$1200,USD,Проекты,Успех,8 916 123-45-67,,,",
            "Сервис,500,,Проекты,Отказ,petr@example.ru,Ромашка,,Дорого",
            "Лишняя,100,,Нет такой,Новая,,,,",
            "Чужая,100,,Проекты,Новая,Сидоров Иван,,,",
            "Кривая,сто,,Проекты,Новая,,,,",
        ],
        [
            "title",
            "amount",
            "currency",
            "pipeline",
            "stage",
            "contact",
            "company",
            "expected_close",
            "lost_reason",
        ],
    )
    assert (job.created, job.failed) == (3, 3)
    supply = Deal.objects.get(title="Поставка")
    assert supply.amount == Decimal("1234567.50") and supply.currency == "RUB"
    assert (supply.contact, supply.company, supply.stage.name) == (petr, company, "Переговоры")
    assert supply.expected_close.isoformat() == "2026-12-31"
    assert Deal.objects.get(title="Монтаж").status == DealStatus.WON
    lost = Deal.objects.get(title="Сервис")
    assert (lost.status, lost.lost_reason.name) == (DealStatus.LOST, "Дорого")
    reasons = dict(job.entries.filter(action="failed").values_list("row", "reason"))
    assert "Нет такой" in reasons[5] and "Сидоров Иван" in reasons[6] and "сто" in reasons[7]


def test_same_title_and_client_is_a_duplicate_and_undo(org):
    make_pipeline("Проекты")
    lines = ["Название,Сумма,Этап", "Поставка,100,Новая", "Поставка,200,Новая"]
    job = _run(org.admin, lines, ["title", "amount", "stage"], policy="overwrite")
    assert (job.created, job.updated) == (1, 1)
    assert Deal.objects.get().amount == Decimal("200")
    second = _run(org.admin, lines[:2], ["title", "amount", "stage"], policy="overwrite")
    assert second.updated == 1
    assert Deal.objects.get().amount == Decimal("100")
    import_undo(actor=org.admin, job=second)
    assert Deal.objects.get().amount == Decimal("200")
    # the second import (and its undo) changed the deal after the first: the first's undo
    # leaves it and says so
    undone = import_undo(actor=org.admin, job=job)
    deal = Deal.objects.get()
    assert undone.undo_result["left"] == [
        {"kind": "deal", "id": deal.pk, "reason": "Changed after the import."}
    ]


def test_undo_removes_created_deals(org):
    make_pipeline("Проекты")
    job = _run(org.admin, ["Название,Этап", "Поставка,Новая", "Монтаж,Новая"], ["title", "stage"])
    assert job.created == 2
    undone = import_undo(actor=org.admin, job=job)
    assert undone.undo_result == {"undone": 2, "left": []}
    assert not Deal.objects.exists()

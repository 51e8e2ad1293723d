"""Importing leads, tasks and timeline notes."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import translation

from crm.activities.choices import EntryKind
from crm.activities.models import TimelineEntry
from crm.customers.services import company_create, contact_create
from crm.leads.models import Lead
from crm.planner.choices import Priority, TaskStatus
from crm.planner.models import Task
from crm.sales.tests.pipeline_fixtures import make_deal, make_pipeline, stage
from crm.transfer.importing import import_execute, import_start, import_undo
from crm.transfer.models import ImportJob

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _run(actor: Any, kind: str, lines: list[str], mapping: list[str], **options: Any) -> ImportJob:
    job = import_start(
        actor=actor,
        file=ContentFile("\n".join(lines).encode(), name=f"{kind}.csv"),
        filename=f"{kind}.csv",
        kind=kind,
        mapping=mapping,
        **options,
    )
    import_execute(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_leads_go_through_the_intake_and_take_the_rows_responsible(org):
    job = _run(
        org.admin,
        "lead",
        [
            "Имя,Телефон,E-mail,Сообщение,Ответственный",
            "Пётр,+7 916 123-45-67,,Нужна поставка,manager",
            "Анна,,anna@example.ru,,manager",
            "Олег,,,,manager",
            "Пётр снова,89161234567,,,manager",
        ],
        ["full_name", "phone", "email", "description", "owner"],
        owner_rule="column",
    )
    assert (job.created, job.failed, job.skipped) == (2, 1, 1)
    lead = Lead.objects.get(phone="+79161234567")
    assert (lead.name, lead.message, lead.owner) == ("Пётр", "Нужна поставка", org.manager)
    import_undo(actor=org.admin, job=job)
    assert not Lead.objects.exists()


def test_tasks_with_subjects_due_done_and_priority(org):
    contact = contact_create(actor=org.admin, data={"last_name": "Иванов", "first_name": "Пётр"})
    pipeline = make_pipeline("Проекты")
    deal = make_deal(stage(pipeline, "Новая"), org.admin, title="Поставка")
    job = _run(
        org.admin,
        "task",
        [
            "Задача,Срок,Выполнена,Приоритет,Контакт,Сделка",
            "Позвонить,31.12.2030 15:30,нет,высокий,Иванов Пётр,",
            "Отправить КП,2030-12-30,да,,,Поставка",
            "Без срока,,,,,",
            "Чужая,,,,Сидоров Иван,",
            "Плохой срок,32.12.2030,,,,",
        ],
        ["title", "due", "done", "priority", "contact", "deal"],
    )
    assert (job.created, job.failed) == (3, 2)
    call = Task.objects.get(title="Позвонить")
    assert (call.subject_id, call.priority, call.status) == (
        contact.pk,
        Priority.HIGH,
        TaskStatus.OPEN,
    )
    assert call.due_at is not None and not call.all_day
    offer = Task.objects.get(title="Отправить КП")
    assert (offer.subject_id, offer.status, offer.all_day) == (deal.pk, TaskStatus.DONE, True)
    import_undo(actor=org.admin, job=job)
    assert not Task.objects.exists()


def test_notes_are_written_at_their_moment_on_their_subject(org):
    company = company_create(actor=org.admin, data={"legal_name": "Ромашка", "inn": "7707083893"})
    job = _run(
        org.admin,
        "note",
        [
            "Текст,Дата,Тип,Компания",
            "Обсудили договор,15.03.2024 10:00,Звонок,7707083893",
            "Встретились,16 марта 2024,встреча,Ромашка",
            "Ни о ком,16.03.2024,,",
            "Странный тип,16.03.2024,телеграмма,Ромашка",
        ],
        ["text", "date", "kind", "company"],
    )
    assert (job.created, job.failed) == (2, 2)
    notes = TimelineEntry.objects.filter(
        subject_id=company.pk, body__in=["Обсудили договор", "Встретились"]
    )
    assert {(n.kind, n.occurred_at.date().isoformat()) for n in notes} == {
        (EntryKind.CALL, "2024-03-15"),
        (EntryKind.MEETING, "2024-03-16"),
    }
    assert all(note.author_id == org.admin.pk for note in notes)
    import_undo(actor=org.admin, job=job)
    assert not TimelineEntry.objects.filter(body="Обсудили договор").exists()

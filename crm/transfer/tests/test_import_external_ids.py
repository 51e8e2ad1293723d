"""External ids: a file's "ID" column stored for the records an import creates, so the
same file imported again updates them instead of creating them twice (contacts,
companies, deals); an undone import's ids are taken by the next one."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils import translation

from crm.customers.models import Company, Contact
from crm.sales.models import Deal, Stage
from crm.transfer.importing import import_execute, import_fields, import_start, import_undo
from crm.transfer.models import ExternalId, ImportJob

pytestmark = pytest.mark.django_db

FILES = Path(__file__).parent / "files"
CONTACTS = "ID,ФИО,Телефон\n17,Иванов Пётр,89161234567\n18,Петрова Анна,\n"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _import(actor, data: bytes, kind: str, name: str = "file.csv", **fields) -> ImportJob:
    job = import_start(
        actor=actor, file=ContentFile(data, name=name), filename=name, kind=kind, **fields
    )
    import_execute(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_the_field_is_offered_to_contacts_companies_and_deals_only():
    for kind in ("contact", "company", "deal"):
        assert "external_id" in {field.key for field in import_fields(kind)}
    assert "external_id" not in {field.key for field in import_fields("task")}


def test_a_second_import_of_the_same_ids_updates_instead_of_duplicating(org):
    first = _import(org.admin, CONTACTS.encode(), "contact")
    assert first.mapping[0] == "external_id" and first.created == 2
    assert set(ExternalId.objects.values_list("kind", "value")) == {
        ("contact", "17"),
        ("contact", "18"),
    }
    # the same people, renamed in the other system and without anything to match them by
    changed = "ID,ФИО,Телефон\n17,Иванов Павел,\n18,Петрова-Сидорова Анна,\n"
    second = _import(org.admin, changed.encode(), "contact", policy="overwrite")
    assert (second.created, second.updated) == (0, 2)
    assert Contact.objects.count() == 2
    assert set(Contact.objects.values_list("first_name", flat=True)) == {"Павел", "Анна"}
    skipped = _import(org.admin, changed.encode(), "contact")
    assert skipped.skipped == 2 and Contact.objects.count() == 2


def test_deals_and_companies_of_another_crm_are_not_created_twice(org):
    data = (FILES / "bitrix24_deals.csv").read_bytes()
    stages = dict(Stage.objects.filter(pipeline__name="Розница").values_list("name", "pk"))
    options = {
        "create_clients": True,
        "stage_mapping": [
            {"pipeline": "Общее", "stage": stage, "to": str(stages[ours])}
            for stage, ours in [
                ("Подготовка документов", "Новая"),
                ("Сделка успешна", "Отгружено"),
                ("Сделка провалена", "Отказ"),
            ]
        ],
    }
    job = _import(org.admin, data, "deal", options=options)
    assert job.mapping[0] == "external_id"
    created = Deal.objects.count()
    assert created == job.created > 0
    again = _import(org.admin, data, "deal", options=options)
    assert again.created == 0 and Deal.objects.count() == created
    companies = "ID;Название компании\n7;Север\n"
    _import(org.admin, companies.encode(), "company")
    _import(org.admin, "ID;Название компании\n7;Север-2\n".encode(), "company", policy="overwrite")
    assert Company.objects.filter(legal_name="Север-2").count() == 1
    assert not Company.objects.filter(legal_name="Север").exists()


def test_an_undone_imports_ids_are_taken_by_the_next_one(org):
    first = _import(org.admin, CONTACTS.encode(), "contact")
    import_undo(actor=org.admin, job=first)
    assert not Contact.objects.exists()
    second = _import(org.admin, CONTACTS.encode(), "contact")
    assert second.created == 2
    assert set(ExternalId.objects.values_list("record_id", flat=True)) == set(
        Contact.objects.values_list("pk", flat=True)
    )

"""Deals of another CRM: the file's pipelines and stages mapped to this base's (guessed by
name and by the words for a won or lost deal, stored with the job, taken by the API), and
the clients the base lacks created like a contacts import would, removed by the undo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from conftest import client_for
from crm.customers.models import Company, Contact
from crm.sales.models import Deal, Stage
from crm.sales.services.imports_stages import closed_kind, stage_guess
from crm.transfer.importing import import_execute, import_start, import_undo, import_upload
from crm.transfer.importing_options import value_map_steps
from crm.transfer.models import ImportJob

pytestmark = pytest.mark.django_db

FILES = Path(__file__).parent / "files"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _stage(pipeline: str, name: str) -> Stage:
    return Stage.objects.get(pipeline__name=pipeline, name=name)


def _guessed(actor, name: str) -> list[dict[str, str]]:
    """The stage map the wizard offers for a fixture: each distinct value, guessed."""
    data = (FILES / name).read_bytes()
    draft = import_upload(
        actor=actor, file=ContentFile(data, name=name), filename=name, kind="deal"
    )
    (step,) = value_map_steps(draft, draft.mapping)
    draft.delete()
    return [{"pipeline": pipeline, "stage": stage, "to": to} for (pipeline, stage), to in step.rows]


def _import(actor, name: str, **options) -> ImportJob:
    data = (FILES / name).read_bytes()
    job = import_start(
        actor=actor,
        file=ContentFile(data, name=name),
        filename=name,
        kind="deal",
        options=options,
    )
    import_execute(job_id=job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Успешно реализовано", "won"),
        ("Закрыто и не реализовано", "lost"),
        ("Сделка успешна", "won"),
        ("Сделка провалена", "lost"),
        ("Closed Won", "won"),
        ("Closed Lost", "lost"),
        ("closedlost", ""),
        ("Переговоры", ""),
        ("Contract Sent", ""),
    ],
)
def test_the_words_of_a_closed_deal_are_recognised(name, kind):
    assert closed_kind(name) == kind


def test_a_stage_is_guessed_by_name_then_by_the_words_of_a_closed_deal(db):
    # by name, in the pipeline of the same name
    assert stage_guess(("Опт", "новая")) == str(_stage("Опт", "Новая").pk)
    assert stage_guess(("", "Смета")) == str(_stage("Опт", "Смета").pk)
    # won and lost: the pipeline's closing stages, the first pipeline's when it is not here
    assert stage_guess(("Опт", "Успешно реализовано")) == str(_stage("Опт", "Закрыта").pk)
    assert stage_guess(("Продажи", "Closed Won")) == str(_stage("Розница", "Отгружено").pk)
    assert stage_guess(("Продажи", "Закрыто и не реализовано")) == str(
        _stage("Розница", "Отказ").pk
    )
    # a close spelling; nothing like it
    assert stage_guess(("Опт", "Выявление потребности")) == str(
        _stage("Опт", "Выявление потребностей").pk
    )
    assert stage_guess(("Продажи", "Переговоры")) == ""


def test_amocrm_deals_load_with_the_stage_map_and_the_missing_clients_then_undo(org):
    mapping = _guessed(org.admin, "amocrm_leads.csv")
    values = {(item["pipeline"], item["stage"]): item["to"] for item in mapping}
    assert values[("Продажи", "Успешно реализовано")] == str(_stage("Розница", "Отгружено").pk)
    assert values[("Продажи", "Переговоры")] == ""  # not guessed: the user chooses
    talks = _stage("Опт", "КП отправлено")
    for item in mapping:
        if item["stage"] == "Переговоры":
            item["to"] = str(talks.pk)

    job = _import(org.admin, "amocrm_leads.csv", stage_mapping=mapping, create_clients=True)

    failed = dict(job.entries.filter(action="failed").values_list("row", "reason"))
    assert job.status == "done" and not failed, failed
    assert job.options["create_clients"] is True
    paper = Deal.objects.get(title="Поставка бумаги")
    assert paper.stage == talks and "Ромашка" in paper.company.display_name
    assert paper.contact.last_name == "Ёлкина"
    assert list(paper.contact.companies.all()) == [paper.company]
    won = Deal.objects.get(title="Картриджи")
    assert won.stage.kind == "won" and won.contact.first_name == "Иван"
    clients = job.entries.filter(action="created", kind__in=["company", "contact"])
    assert clients.count() == Company.objects.count() + Contact.objects.count()

    import_undo(actor=org.admin, job=job)
    assert not Deal.objects.exists()
    assert not Company.objects.exists() and not Contact.objects.exists()


def test_bitrix24_deals_load_with_the_guessed_stages(org):
    mapping = _guessed(org.admin, "bitrix24_deals.csv")
    assert {item["stage"]: bool(item["to"]) for item in mapping} == {
        "Подготовка документов": False,
        "Сделка успешна": True,
        "Сделка провалена": True,
    }
    mapping[0]["to"] = str(_stage("Опт", "Договор").pk)
    job = _import(org.admin, "bitrix24_deals.csv", stage_mapping=mapping, create_clients=True)
    failed = dict(job.entries.filter(action="failed").values_list("row", "reason"))
    assert job.created == 3 and not failed, failed
    kinds = dict(Deal.objects.values_list("title", "stage__kind"))
    assert kinds == {"Поставка оборудования": "open", "Монтаж": "won", "Сервис": "lost"}
    assert Company.objects.filter(legal_name__contains="Север").exists()


@pytest.mark.parametrize("name", ["hubspot_deals.csv", "salesforce_opportunities.csv"])
def test_hubspot_and_salesforce_deals_load_once_their_stages_are_chosen(org, name):
    mapping = _guessed(org.admin, name)
    first_open = _stage("Розница", "Новая")
    for item in mapping:
        item["to"] = item["to"] or str(first_open.pk)
    job = _import(org.admin, name, stage_mapping=mapping, create_clients=True)
    failed = dict(job.entries.filter(action="failed").values_list("row", "reason"))
    assert job.created == 2 and not failed, failed
    assert Company.objects.count() == 2


def test_without_the_options_such_rows_still_fail_with_the_reason(org):
    job = _import(org.admin, "bitrix24_deals.csv")
    assert job.created == 0 and job.failed == 3
    assert not Company.objects.exists()


# --- the API --------------------------------------------------------------------------------


def _upload(client, **fields):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    data = (FILES / "bitrix24_deals.csv").read_bytes()
    file = SimpleUploadedFile("deals.csv", data)
    return client.post("/api/v1/imports", {"file": file, "kind": "deal", **fields})


def test_the_api_takes_the_stage_map_and_the_option(org, django_capture_on_commit_callbacks):
    won = _stage("Опт", "Закрыта")
    mapping = [{"pipeline": "Общее", "stage": "Сделка успешна", "to": won.pk}]
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(
            client_for(org.admin), stage_mapping=json.dumps(mapping), create_clients="true"
        )
    assert response.status_code == 202, response.content
    options = response.json()["options"]
    assert options["create_clients"] is True
    assert options["stage_mapping"] == [
        {"pipeline": "Общее", "stage": "Сделка успешна", "to": str(won.pk)}
    ]
    assert Deal.objects.get(title="Монтаж").stage == won


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "Not valid JSON"),
        (json.dumps({"stage": "x"}), "JSON list of objects"),
        (json.dumps([{"stage": "x", "colour": "red"}]), "JSON list of objects"),
        (json.dumps([{"pipeline": "Общее", "stage": "Сделка успешна", "to": 999999}]), "Сделка"),
        (json.dumps([{"stage": ["x"], "to": ""}]), "JSON list of objects"),
    ],
)
def test_a_bad_stage_map_answers_422_naming_it_and_stores_nothing(org, text, words):
    response = _upload(client_for(org.admin), stage_mapping=text)
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert words in " ".join(errors["stage_mapping"])
    assert not ImportJob.objects.exists()


# --- the wizard -----------------------------------------------------------------------------


def _wizard(client) -> tuple[ImportJob, str]:
    data = (FILES / "bitrix24_deals.csv").read_bytes()
    response = client.post(
        "/imports/new/", {"kind": "deal", "file": SimpleUploadedFile("deals.csv", data)}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ImportJob.objects.get()
    return job, client.get(response["Location"]).content.decode()


def _setup_data(job: ImportJob, **changes) -> dict[str, str]:
    data = {f"column_{i}": key for i, key in enumerate(job.mapping)}
    data.update(policy="skip", owner_rule="importer", **changes)
    return data


def test_the_wizard_shows_the_files_stages_guessed_and_starts_with_the_choices(
    org, django_capture_on_commit_callbacks
):
    client = client_for(org.head)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    job, page = _wizard(client)
    won, lost, contract = (
        _stage("Опт", "Закрыта"),
        _stage("Розница", "Отказ"),
        _stage("Опт", "Договор"),
    )
    # a select per value of the file, the guessed stage chosen; the option to create clients
    assert "Общее / Подготовка документов" in page and "Общее / Сделка успешна" in page
    assert f'<option value="{_stage("Розница", "Отгружено").pk}" selected' in page
    assert 'name="create_clients"' in page
    choices = _setup_data(
        job,
        stage_mapping_0=str(contract.pk),
        stage_mapping_1=str(won.pk),
        stage_mapping_2=str(lost.pk),
        create_clients="on",
    )
    # the preview follows the choices, and writes nothing
    without = client.post(f"/imports/{job.pk}/preview/", {**choices, "create_clients": ""})
    assert "No company" in without.content.decode()
    preview = client.post(f"/imports/{job.pk}/preview/", choices)
    assert preview.status_code == 200
    assert 'data-action="failed"' not in preview.content.decode()
    assert not Deal.objects.exists() and not Company.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(f"/imports/{job.pk}/setup/", choices)
    assert started.status_code == 302, started.content.decode()[:3000]
    job.refresh_from_db()
    assert job.options["create_clients"] is True
    assert [item["to"] for item in job.options["stage_mapping"]] == [
        str(contract.pk),
        str(won.pk),
        str(lost.pk),
    ]
    assert dict(Deal.objects.values_list("title", "stage")) == {
        "Поставка оборудования": contract.pk,
        "Монтаж": won.pk,
        "Сервис": lost.pk,
    }


def test_the_wizard_refuses_a_stage_that_is_not_here(org):
    client = client_for(org.head)
    job, _page = _wizard(client)
    refused = client.post(f"/imports/{job.pk}/setup/", _setup_data(job, stage_mapping_0="999999"))
    assert refused.status_code == 422
    job.refresh_from_db()
    assert job.status == "draft" and not Deal.objects.exists()

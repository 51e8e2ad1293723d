"""The import's API: upload, poll, report, failed rows, cancel, undo; errors by field."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from conftest import client_for
from crm.customers.models import Contact
from crm.transfer.models import ImportJob

pytestmark = pytest.mark.django_db

CSV = "ФИО,Телефон,E-mail\nИванов Пётр,89161234567,petr@example.ru\nПетров Олег,12,\n"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _upload(client, content: str = CSV, **fields):
    data = {"file": SimpleUploadedFile("clients.csv", content.encode()), **fields}
    return client.post("/api/v1/imports", data)


def test_upload_runs_the_import_and_reports(org, django_capture_on_commit_callbacks):
    client = client_for(org.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(
            client, kind="contact", mapping=json.dumps(["full_name", "phone", "email"])
        )
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    status = client.get(f"/api/v1/imports/{job_id}").json()
    assert (status["status"], status["created"], status["failed"]) == ("done", 1, 1)
    assert status["percent"] == 100
    report = client.get(f"/api/v1/imports/{job_id}/report").json()
    assert report["failed_rows_url"] == f"/api/v1/imports/{job_id}/failed-rows"
    failed = client.get(report["failed_rows_url"])
    assert failed.status_code == 200
    text = b"".join(failed.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[1].startswith("Петров Олег,12,,")
    undone = client.post(f"/api/v1/imports/{job_id}/undo")
    assert undone.status_code == 200
    assert undone.json()["job"]["status"] == "undone"
    assert not Contact.objects.exists()


def test_mapping_is_guessed_when_absent(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client_for(org.admin), "full_name,phone\nИванов Пётр,89161234567\n")
    assert response.status_code == 202
    assert response.json()["mapping"] == ["full_name", "phone"]
    assert Contact.objects.get().last_name == "Иванов"


@pytest.mark.parametrize(
    ("fields", "content", "field"),
    [
        ({"kind": "planet"}, CSV, "kind"),
        ({"mapping": "not json"}, CSV, "mapping"),
        ({"mapping": json.dumps(["full_name"])}, CSV, "mapping"),
        ({"mapping": json.dumps(["full_name", "nothing", ""])}, CSV, "mapping[1]"),
        ({"policy": "merge"}, CSV, "policy"),
        ({"owner_rule": "chosen"}, CSV, "owner"),
        ({}, "", "file"),
    ],
)
def test_bad_input_is_named_by_field(org, fields, content, field):
    response = _upload(client_for(org.admin), content, **fields)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert not ImportJob.objects.exists()


def test_missing_file(org):
    response = client_for(org.admin).post("/api/v1/imports", {"kind": "contact"})
    assert response.status_code == 422
    assert "file" in response.json()["errors"]


def test_over_size_upload_is_refused_while_streaming(org, settings):
    settings.CRM_IMPORT_MAX_BYTES = 1000
    big = "ФИО\n" + "Иванов Пётр\n" * 400
    response = _upload(client_for(org.admin), big)
    assert response.status_code == 413
    assert "file" in response.json()["errors"]
    assert not ImportJob.objects.exists()


def test_a_manager_may_not_import_and_others_imports_are_hidden(
    org, django_capture_on_commit_callbacks
):
    assert _upload(client_for(org.manager)).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        job_id = _upload(client_for(org.admin)).json()["id"]
    assert client_for(org.head).get(f"/api/v1/imports/{job_id}").status_code == 404
    assert client_for(org.head).post(f"/api/v1/imports/{job_id}/undo").status_code == 404


def test_fields_of_a_kind(org):
    response = client_for(org.admin).get("/api/v1/imports/fields?kind=company")
    assert response.status_code == 200
    keys = [field["key"] for field in response.json()]
    assert keys[:3] == ["name", "short_name", "inn"]
    assert client_for(org.admin).get("/api/v1/imports/fields?kind=x").status_code == 422


def test_list_and_cancel(org):
    client = client_for(org.admin)
    job_id = _upload(client).json()["id"]  # queued: the job is not run (no commit here)
    assert [item["id"] for item in client.get("/api/v1/imports").json()] == [job_id]
    cancelled = client.post(f"/api/v1/imports/{job_id}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/imports/{job_id}/cancel")
    assert again.status_code == 422 and "status" in again.json()["errors"]

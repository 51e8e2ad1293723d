"""The import wizard's pages: upload, setup with preview, progress, report, failed rows,
cancel, undo; who may use them."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from conftest import client_for as signed_in
from crm.customers.models import Contact
from crm.customers.services import contact_create
from crm.transfer.models import ImportJob

pytestmark = pytest.mark.django_db

CSV = "ФИО,Телефон,Ответственный\nИванов Пётр,89161234567,manager\nПетров Олег,12,manager\n"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def client_for(user):
    client = signed_in(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _upload(client, content: str = CSV):
    return client.post(
        "/imports/new/",
        {"kind": "contact", "file": SimpleUploadedFile("clients.csv", content.encode())},
    )


def test_the_wizard_end_to_end(org, django_capture_on_commit_callbacks):
    client = client_for(org.head)
    assert "/imports/" in client.get("/").content.decode()
    response = _upload(client)
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ImportJob.objects.get()
    assert response["Location"] == f"/imports/{job.pk}/setup/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Иванов Пётр" in html and "89161234567" in html
    assert html.count("<select") >= 3
    preview = client.post(
        f"/imports/{job.pk}/preview/",
        {
            "column_0": "full_name",
            "column_1": "phone",
            "column_2": "",
            "policy": "skip",
            "owner_rule": "importer",
        },
    )
    assert preview.status_code == 200
    assert 'data-action="failed"' in preview.content.decode()
    assert 'data-action="created"' in preview.content.decode()
    assert not Contact.objects.exists()  # the preview writes nothing
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            f"/imports/{job.pk}/setup/",
            {
                "column_0": "full_name",
                "column_1": "phone",
                "column_2": "owner",
                "policy": "skip",
                "owner_rule": "column",
            },
        )
    assert started.status_code == 302
    report = client.get(f"/imports/{job.pk}/").content.decode()
    assert "Download the failed row" in report
    assert Contact.objects.get().owner == org.manager
    failed = client.get(f"/imports/{job.pk}/failed-rows/")
    text = b"".join(failed.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0] == "ФИО,Телефон,Ответственный,Reason"
    assert client.post(f"/imports/{job.pk}/undo/").status_code == 302
    assert not Contact.objects.exists()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UNDONE


def test_progress_fragment_polls_while_running(org):
    client = client_for(org.admin)
    _upload(client)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status="running", rows_total=10, rows_done=4)
    fragment = client.get(f"/imports/{job.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in fragment and "40%" in fragment
    assert "Cancel the import" in fragment
    assert client.post(f"/imports/{job.pk}/cancel/").status_code == 302
    job.refresh_from_db()
    assert job.cancel_requested


def test_bad_files_are_named_on_the_file_field(org):
    client = client_for(org.admin)
    for content in ("", "ФИО,Телефон\n"):
        response = _upload(client, content)
        assert response.status_code == 422
        assert "is-invalid" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_over_size_upload(org, settings):
    settings.CRM_IMPORT_MAX_BYTES = 100
    response = _upload(client_for(org.admin), CSV * 10)
    assert response.status_code == 413
    assert "too large" in response.content.decode()


def test_mapping_errors_show_on_the_column(org):
    client = client_for(org.admin)
    _upload(client)
    job = ImportJob.objects.get()
    response = client.post(
        f"/imports/{job.pk}/setup/",
        {
            "column_0": "phone",
            "column_1": "phone",
            "column_2": "",
            "policy": "skip",
            "owner_rule": "column",
        },
    )
    assert response.status_code == 422
    assert "No column is mapped" in response.content.decode()


def test_managers_may_not_and_others_imports_are_hidden(org):
    manager = client_for(org.manager)
    assert manager.get("/imports/").status_code == 403
    assert manager.get("/imports/new/").status_code == 403
    assert "/imports/" not in manager.get("/").content.decode()
    _upload(client_for(org.admin))
    job = ImportJob.objects.get()
    assert client_for(org.head).get(f"/imports/{job.pk}/setup/").status_code == 404


def test_the_preview_follows_the_chosen_policy(org):
    contact_create(
        actor=org.admin,
        data={"last_name": "Иванов", "first_name": "Пётр", "phones": ["+79161234567"]},
    )
    client = client_for(org.admin)
    _upload(client)
    job = ImportJob.objects.get()
    base = {"column_0": "full_name", "column_1": "phone", "column_2": "", "owner_rule": "importer"}
    skip = client.post(f"/imports/{job.pk}/preview/", {**base, "policy": "skip"}).content.decode()
    assert skip.count('data-action="skipped"') == 1
    create = client.post(f"/imports/{job.pk}/preview/", {**base, "policy": "create"})
    assert create.content.decode().count('data-action="created"') == 1
    assert Contact.objects.count() == 1

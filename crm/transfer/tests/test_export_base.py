"""The full export of the base: a ZIP with one CSV per table, the relations described in
``export.json``, a manifest with counts and checksums, and the attached files."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conftest import client_for
from crm.accounts.models import SecurityEvent
from crm.activities.models import TimelineEntry
from crm.activities.services import attachment_store
from crm.customers.models import Contact, CustomField
from crm.customers.tests.factories import make_company, make_contact
from crm.leads.models import Lead
from crm.planner.tests.factories import make_task
from crm.sales.models import DealLine
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db

PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
    b"trailer <</Root 1 0 R>>\n%%EOF\n"
)
ENTITIES = {
    "users",
    "teams",
    "tags",
    "custom_fields",
    "companies",
    "contacts",
    "contact_points",
    "addresses",
    "employments",
    "pipelines",
    "stages",
    "deals",
    "deal_lines",
    "leads",
    "tasks",
    "attachments",
    "timeline_entries",
}


def _table(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read(f"{name}.csv").decode("utf-8"))))


@pytest.fixture
def base(org):
    company = make_company(org.manager, legal_name="Ромашка", inn="7707083893")
    contact = make_contact(
        org.manager,
        last_name="Иванов",
        phones=["+7 912 345-67-89"],
        tags=["опт"],
        employments=[{"company_id": company.pk, "position": "Директор"}],
    )
    CustomField.objects.create(entity="contact", key="budget", label="Бюджет", field_type="text")
    deal = make_deal(org.manager, title="Кухня", contact=contact, company=company)
    DealLine.objects.create(
        deal=deal, name="Фасад", price="1000.00", total="1000.00", vat_amount="0.00"
    )
    Lead.objects.create(title="Заявка", channel="api", owner=org.manager, contact=contact)
    make_task(org.manager, title="Позвонить", subject=contact)
    upload = SimpleUploadedFile("Договор.pdf", PDF, content_type="application/pdf")
    attachment = attachment_store(upload=upload, author=org.manager)
    TimelineEntry.objects.create(
        subject_type=ContentType.objects.get_for_model(Contact),
        subject_id=contact.pk,
        kind="file",
        attachment=attachment,
        author=org.manager,
    )
    return {"contact": contact, "company": company, "deal": deal, "attachment": attachment}


def _export(client, django_capture_on_commit_callbacks) -> zipfile.ZipFile:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("transfer:export_base"))
    assert response.status_code == 302
    job_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert "export-download" in client.get(response["Location"]).content.decode()
    download = client.get(reverse("transfer:export_job_file", args=[job_id]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))


def test_the_full_export_writes_every_table_with_its_relations(
    org, base, django_capture_on_commit_callbacks
):
    archive = _export(client_for(org.admin), django_capture_on_commit_callbacks)
    names = set(archive.namelist())
    # every entity has its file, the many-to-many fields theirs
    assert {f"{name}.csv" for name in ENTITIES} <= names
    assert {"contacts__tags.csv", "deals__tags.csv", "export.json", "manifest.json"} <= names
    # the rows keep their ids and foreign keys
    contacts = _table(archive, "contacts")
    assert [row["id"] for row in contacts] == [str(base["contact"].pk)]
    assert contacts[0]["owner_id"] == str(org.manager.pk)
    employment = _table(archive, "employments")[0]
    assert (employment["contact_id"], employment["company_id"]) == (
        str(base["contact"].pk),
        str(base["company"].pk),
    )
    deal = _table(archive, "deals")[0]
    assert (deal["contact_id"], deal["company_id"]) == (
        str(base["contact"].pk),
        str(base["company"].pk),
    )
    assert _table(archive, "deal_lines")[0]["deal_id"] == str(base["deal"].pk)
    assert _table(archive, "contacts__tags")[0]["contact_id"] == str(base["contact"].pk)
    # a record of any kind is named by its content type's label, not its installation's id
    entry = _table(archive, "timeline_entries")
    assert {row["subject_type"] for row in entry} >= {"customers.contact"}
    task = _table(archive, "tasks")[0]
    assert (task["subject_type"], task["subject_id"]) == (
        "customers.contact",
        str(base["contact"].pk),
    )
    # no password hash leaves
    users = _table(archive, "users")
    assert "password" not in users[0]
    assert {row["username"] for row in users} >= {"admin", "manager"}


def test_export_json_describes_the_tables_and_their_relations(
    org, base, django_capture_on_commit_callbacks
):
    archive = _export(client_for(org.admin), django_capture_on_commit_callbacks)
    schema = json.loads(archive.read("export.json"))
    assert (schema["format"], schema["version"]) == ("crm-export", 1)
    tables = {table["name"]: table for table in schema["tables"]}
    order = [table["name"] for table in schema["tables"]]
    assert order.index("users") < order.index("contacts") < order.index("deals")
    columns = {column["name"]: column for column in tables["deals"]["columns"]}
    assert columns["contact_id"]["references"] == {
        "table": "contacts",
        "model": "customers.contact",
        "column": "id",
    }
    assert columns["amount"]["type"] == "DecimalField"
    assert tables["timeline_entries"]["generic_relations"] == [
        {"type_column": "subject_type", "id_column": "subject_id"}
    ]
    assert tables["attachments"]["file_columns"] == ["file"]
    assert tables["contacts__tags"]["many_to_many"] == {"table": "contacts", "field": "tags"}
    assert schema["record_tables"]["customers.contact"] == "contacts"


def test_the_manifest_counts_and_checks_every_file_and_the_attachments_are_there(
    org, base, django_capture_on_commit_callbacks
):
    archive = _export(client_for(org.admin), django_capture_on_commit_callbacks)
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["counts"]["contacts"] == 1
    assert manifest["counts"]["deal_lines"] == 1
    for name, check in manifest["checksums"].items():
        data = archive.read(name)
        assert hashlib.sha256(data).hexdigest() == check["sha256"]
        assert len(data) == check["bytes"]
    stored = "files/" + base["attachment"].file.name
    assert archive.read(stored) == PDF
    assert manifest["files"] == 1 and manifest["missing_files"] == []
    attachment = _table(archive, "attachments")[0]
    assert "files/" + attachment["file"] == stored


def test_only_an_administrator_exports_the_base_and_it_is_logged(
    org, django_capture_on_commit_callbacks
):
    for user in (org.head, org.manager, org.viewer):
        client = client_for(user)
        assert client.get(reverse("transfer:export_base")).status_code == 403
        assert client.post(reverse("transfer:export_base")).status_code == 403
    assert not SecurityEvent.objects.filter(kind="export").exists()
    client = client_for(org.admin)
    assert client.get(reverse("transfer:export_base")).status_code == 200
    _export(client, django_capture_on_commit_callbacks)
    event = SecurityEvent.objects.get(kind="export")
    assert event.actor == org.admin and event.data["what"] == "base"


def test_every_list_and_table_is_declared_in_the_registry():
    from crm.core.records import registry

    assert {exporter.kind for exporter in registry.exporters()} == {
        "contact",
        "company",
        "deal",
        "lead",
        "task",
    }
    assert registry.exporter("contact").card is not None
    names = [table.name for table in registry.base_tables()]
    assert set(names) >= ENTITIES
    # a table comes after those it points to
    assert names.index("users") < names.index("companies") < names.index("contacts")
    assert names.index("contacts") < names.index("deals") < names.index("deal_lines")
    assert names.index("deals") < names.index("leads") < names.index("timeline_entries")
    with pytest.raises(LookupError):
        registry.exporter("nothing")

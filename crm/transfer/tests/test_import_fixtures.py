"""The readers' real-world-shaped files imported end to end: each export of another CRM, the
spreadsheets and the address books load through the guessed mapping with nothing failing."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils import translation

from crm.customers.models import Company, Contact
from crm.leads.models import Lead
from crm.sales.models import Deal
from crm.transfer.importing import import_execute, import_start
from crm.transfer.models import ImportJob

pytestmark = pytest.mark.django_db

FILES = Path(__file__).parent / "files"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _import(actor, name: str, kind: str) -> ImportJob:
    data = (FILES / name).read_bytes()
    job = import_start(actor=actor, file=ContentFile(data, name=name), filename=name, kind=kind)
    import_execute(job_id=job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.parametrize(
    ("name", "kind", "model", "refused"),
    [
        ("amocrm_contacts.csv", "contact", Contact, {}),
        ("bitrix24_contacts.csv", "contact", Contact, {}),
        ("hubspot_contacts.csv", "contact", Contact, {}),
        ("salesforce_contacts.csv", "contact", Contact, {}),
        ("excel_cp1251.csv", "contact", Contact, {}),
        ("excel_unicode.txt", "contact", Contact, {}),
        ("outlook.vcf", "contact", Contact, {}),
        ("gmail.vcf", "contact", Contact, {}),
        ("iphone.vcf", "contact", Contact, {}),
        # the phone book's second card has a number and no name: a contact needs a name
        ("android.vcf", "contact", Contact, {2: "Enter a last name or a first name"}),
        # the fixture's first ИНН is made up: the checksum says so
        ("bitrix24_companies.csv", "company", Company, {2: "The INN checksum is wrong"}),
        ("amocrm_leads.csv", "lead", Lead, {}),
    ],
)
def test_each_real_world_file_loads(org, settings, name, kind, model, refused):
    if name.startswith("salesforce"):
        settings.PHONE_DEFAULT_REGION = "US"  # "(512) 757-6000": an American installation
    job = _import(org.admin, name, kind)
    failed = dict(job.entries.filter(action="failed").values_list("row", "reason"))
    assert job.status == "done", job.error
    assert failed.keys() == refused.keys(), failed
    assert all(refused[row] in reason for row, reason in failed.items()), failed
    assert job.created > 0 and model.objects.count() >= job.created


def test_a_source_or_client_type_of_another_crm_is_read_or_left_empty_with_a_remark(org):
    job = _import(org.admin, "bitrix24_contacts.csv", "contact")
    remarks = dict(
        job.entries.filter(action="created", kind="contact").values_list("row", "reason")
    )
    # "Звонок" and "Веб-сайт" are ours; "Клиенты" (Bitrix24's kind of relationship) is not
    assert set(Contact.objects.values_list("source", flat=True)) == {"phone", "website"}
    assert "“Клиенты” is not one of ours, left empty" in remarks[2]


@pytest.mark.parametrize("name", ["hubspot_deals.csv", "salesforce_opportunities.csv"])
def test_deals_naming_clients_not_in_the_base_fail_with_the_reason(org, name):
    # another CRM's deals name their companies, pipelines and stages; none is here yet
    job = _import(org.admin, name, "deal")
    reasons = list(job.entries.filter(action="failed").values_list("reason", flat=True))
    assert job.status == "done" and job.created == 0 and len(reasons) == 2
    assert all(reason.startswith(("No company", "No pipeline", "No stage")) for reason in reasons)
    assert not Deal.objects.exists()

"""List exports: each kind's columns and filters, scope, custom fields, formula
neutralisation, vCard, the permission, the audit log, the job path and query counts."""

from __future__ import annotations

import csv
import io
import time

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from openpyxl import load_workbook

from conftest import client_for
from crm.accounts.models import SecurityEvent
from crm.customers.models import CustomField, Tag
from crm.customers.tests.factories import make_company, make_contact
from crm.leads.models import Lead
from crm.planner.tests.factories import make_task
from crm.sales.models import Deal
from crm.sales.tests.factories import make_deal
from crm.transfer.exports import ExportJob, export_files_sweep
from crm.transfer.exports_formats import vcard_fold

pytestmark = pytest.mark.django_db


def _url(kind: str, fmt: str = "csv") -> str:
    return reverse("transfer:export_list", args=[kind, fmt])


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.content[:500]
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())  # Excel reads UTF-8 only with the mark
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _xlsx(response) -> list[list[object]]:
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return [list(row) for row in book.active.iter_rows(values_only=True)]


def _column(table: list[list[str]], heading: str) -> list[str]:
    index = table[0].index(heading)
    return [row[index] for row in table[1:]]


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"  # the column headings as written in the code


@pytest.fixture
def managers_export(settings):
    settings.CRM_EXPORT_ROLES = ["admin", "head", "manager"]


# --- each kind's columns, filters and scope ----------------------------------------------------


def test_contacts_csv_has_the_columns_and_only_the_rows_the_manager_may_see(org, managers_export):
    # given a contact of the manager's with phones, e-mail, a company and a tag, and a
    # colleague's contact the manager may not see
    company = make_company(org.manager, legal_name="Ромашка", legal_form="ООО")
    mine = make_contact(
        org.manager,
        last_name="Петров",
        first_name="Пётр",
        phones=["+7 912 345-67-89"],
        emails=["petrov@example.com"],
        tags=["опт"],
        employments=[{"company_id": company.pk, "position": "Директор"}],
    )
    make_contact(org.colleague, last_name="Чужой")
    # when the manager exports the contact list
    table = _csv(client_for(org.manager).get(_url("contact")))
    # then only the own contact, with its related rows
    assert table[0][:4] == ["ID", "Last name", "First name", "Patronymic"]
    assert len(table) == 2
    row = dict(zip(table[0], table[1], strict=True))
    assert row["ID"] == str(mine.pk)
    assert row["Last name"] == "Петров"
    assert row["Phones"] == "+79123456789"
    assert row["E-mails"] == "petrov@example.com"
    assert row["Companies"] == "ООО «Ромашка»"
    assert row["Position"] == "Директор"
    assert row["Tags"] == "опт"
    assert row["Responsible"] == str(org.manager)


def test_contacts_export_applies_the_lists_filters(org):
    make_contact(org.manager, last_name="Оптовик", tags=["опт"])
    make_contact(org.manager, last_name="Розничный")
    table = _csv(client_for(org.head).get(_url("contact"), {"tag": "опт"}))
    assert _column(table, "Last name") == ["Оптовик"]
    table = _csv(client_for(org.head).get(_url("contact"), {"q": "Розн"}))
    assert _column(table, "Last name") == ["Розничный"]


def test_companies_export_columns_and_filters(org):
    make_company(org.manager, legal_name="Ромашка", inn="7707083893", tags=["опт"])
    make_company(org.outsider, legal_name="Лютик")  # another team: the head does not see it
    make_company(org.colleague, legal_name="Василёк")
    table = _csv(client_for(org.head).get(_url("company"), {"tag": "опт"}))
    assert _column(table, "Legal name") == ["Ромашка"]
    assert _column(table, "INN (tax ID)") == ["7707083893"]
    table = _csv(client_for(org.head).get(_url("company")))
    assert sorted(_column(table, "Legal name")) == ["Василёк", "Ромашка"]


def test_deals_export_columns_filters_and_scope(org, managers_export):
    client = make_contact(org.manager, last_name="Клиентов", first_name="Иван")
    make_deal(org.manager, title="Кухня", contact=client, amount="150000.00")
    make_deal(org.manager, title="Шкаф", status="won")
    make_deal(org.colleague, title="Чужая")
    table = _csv(client_for(org.manager).get(_url("deal"), {"status": "open"}))
    assert _column(table, "Title") == ["Кухня"]
    assert _column(table, "Amount") == ["150000.00"]
    assert _column(table, "Contact") == ["Клиентов Иван"]
    assert _column(table, "Pipeline") == ["Розница"]
    table = _csv(client_for(org.manager).get(_url("deal")))
    assert sorted(_column(table, "Title")) == ["Кухня", "Шкаф"]


def test_leads_export_columns_filters_and_scope(org, managers_export):
    Lead.objects.create(title="Заявка с сайта", channel="api", owner=org.manager, phone="+7912")
    Lead.objects.create(title="Потерянная", channel="api", owner=org.manager, status="lost")
    Lead.objects.create(title="Чужая", channel="api", owner=org.colleague)
    table = _csv(client_for(org.manager).get(_url("lead"), {"status": "open"}))
    assert _column(table, "Title") == ["Заявка с сайта"]
    assert _column(table, "Status") == ["New"]
    table = _csv(client_for(org.manager).get(_url("lead")))
    assert sorted(_column(table, "Title")) == ["Заявка с сайта", "Потерянная"]


def test_tasks_export_columns_filters_and_scope(org, managers_export):
    contact = make_contact(org.manager, last_name="Задачкин")
    make_task(org.manager, title="Позвонить", subject=contact)
    make_task(org.colleague, title="Чужая")
    table = _csv(client_for(org.manager).get(_url("task"), {"scope": "mine"}))
    assert _column(table, "Title") == ["Позвонить"]
    assert "Задачкин" in _column(table, "Record")[0]
    assert _column(table, "Responsible") == [str(org.manager)]
    # the head sees the team's tasks
    table = _csv(client_for(org.head).get(_url("task"), {"scope": "team"}))
    assert sorted(_column(table, "Title")) == ["Позвонить", "Чужая"]


def test_a_filter_the_list_refuses_answers_400_naming_it(org):
    response = client_for(org.head).get(_url("task"), {"subject": "nonsense"})
    assert response.status_code == 400
    assert "subject" in response.content.decode()
    assert not SecurityEvent.objects.filter(kind="export").exists()


def test_an_unknown_list_or_format_answers_404(org):
    assert client_for(org.head).get(_url("nothing")).status_code == 404
    assert client_for(org.head).get(_url("contact", "pdf")).status_code == 404
    assert client_for(org.head).get(_url("deal", "vcard")).status_code == 404


# --- custom fields ---------------------------------------------------------------------------


def test_custom_fields_are_columns_read_at_export_time(org):
    CustomField.objects.create(entity="contact", key="budget", label="Бюджет", field_type="text")
    CustomField.objects.create(
        entity="contact",
        key="colors",
        label="Цвета",
        field_type="multi_choice",
        choices=["Синий", "Красный"],
    )
    CustomField.objects.create(
        entity="contact", key="old", label="Старое", field_type="text", is_active=False
    )
    CustomField.objects.create(entity="deal", key="floor", label="Этаж", field_type="number")
    make_contact(org.manager, custom={"budget": "100", "colors": ["Синий", "Красный"]})
    make_deal(org.manager, custom={"floor": 5})
    contacts = _csv(client_for(org.head).get(_url("contact")))
    assert _column(contacts, "Бюджет") == ["100"]
    assert _column(contacts, "Цвета") == ["Синий, Красный"]
    assert "Старое" not in contacts[0]
    deals = _csv(client_for(org.head).get(_url("deal")))
    assert _column(deals, "Этаж") == ["5"]


# --- formulas --------------------------------------------------------------------------------


FORMULAS = ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


@pytest.mark.parametrize("text", FORMULAS)
def test_formulas_are_neutralised_in_csv(org, text):
    make_contact(org.manager, last_name="Обычный", notes="", first_name="x")
    Tag.objects.create(name=text)
    contact = make_contact(org.manager, last_name="Формулов")
    contact.tags.add(Tag.objects.get(name=text))
    table = _csv(client_for(org.head).get(_url("contact"), {"q": "Формулов"}))
    assert _column(table, "Tags") == ["'" + text]


def test_formulas_are_string_cells_in_xlsx_and_numbers_stay_numbers(org):
    contact = make_contact(org.manager, last_name='=HYPERLINK("http://x")', first_name="@A1")
    deal = make_deal(org.manager, title="-1+1", amount="99.50")
    contacts = _xlsx(client_for(org.head).get(_url("contact", "xlsx")))
    heading = contacts[0]
    row = contacts[1]
    assert row[heading.index("Last name")] == '=HYPERLINK("http://x")'
    assert row[heading.index("First name")] == "@A1"
    assert row[heading.index("ID")] == contact.pk
    # read back raw: the cells are strings (inline), never formulas
    response = client_for(org.head).get(_url("contact", "xlsx"))
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cells = {cell.value: cell.data_type for cell in next(book.active.iter_rows(min_row=2))}
    assert cells['=HYPERLINK("http://x")'] == "s"
    deals = _xlsx(client_for(org.head).get(_url("deal", "xlsx")))
    assert deals[1][deals[0].index("Title")] == "-1+1"
    assert float(deals[1][deals[0].index("Amount")]) == 99.5
    assert deals[1][deals[0].index("ID")] == deal.pk


# --- vCard -----------------------------------------------------------------------------------


def _unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_contacts_export_to_vcard(org):
    company = make_company(org.manager, legal_name="Ромашка", legal_form="ООО")
    make_contact(
        org.manager,
        last_name="Иванов",
        first_name="Иван",
        middle_name="Иванович",
        phones=["+7 912 345-67-89"],
        emails=["ivanov@example.com"],
        birthday="1980-05-17",
        notes="Любит звонки; утром, до 10\nи по делу",
        employments=[{"company_id": company.pk, "position": "Закупщик"}],
    )
    response = client_for(org.head).get(_url("contact", "vcard"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/vcard")
    text = b"".join(response.streaming_content).decode("utf-8")
    for line in text.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    lines = _unfold(text)
    assert lines[:2] == ["BEGIN:VCARD", "VERSION:3.0"]
    assert "N:Иванов;Иван;Иванович;;" in lines
    assert "FN:Иванов Иван Иванович" in lines
    assert "ORG:ООО «Ромашка»" in lines
    assert "TITLE:Закупщик" in lines
    assert any(
        line.startswith("TEL;TYPE=VOICE") and line.endswith(":+79123456789") for line in lines
    )
    assert any(line.startswith("EMAIL;TYPE=INTERNET") for line in lines)
    assert "BDAY:1980-05-17" in lines
    assert "NOTE:Любит звонки\\; утром\\, до 10\\nи по делу" in lines
    assert lines[-2:] == ["END:VCARD", ""]


def test_vcard_lines_fold_at_75_octets_without_splitting_a_letter():
    line = "NOTE:" + "Ж" * 100
    folded = vcard_fold(line)
    parts = folded.removesuffix("\r\n").split("\r\n")
    assert all(len(part.encode("utf-8")) <= 75 for part in parts)
    assert all(part.startswith(" ") for part in parts[1:])
    assert "".join(part.removeprefix(" ") if i else part for i, part in enumerate(parts)) == line


# --- permission, button and audit ------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("admin", True), ("head", True), ("manager", False), ("viewer", False)],
)
def test_export_is_a_permission_of_the_role(org, role, allowed):
    user = getattr(org, role)
    client = client_for(user)
    response = client.get(_url("contact"))
    assert response.status_code == (200 if allowed else 403)
    page = client.get(reverse("customers:contact_list")).content.decode()
    assert ('data-export-menu="contact"' in page) is allowed
    assert SecurityEvent.objects.filter(kind="export").count() == (1 if allowed else 0)


def test_anonymous_is_sent_to_sign_in(org):
    response = client_for(None).get(_url("contact"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_roles_are_a_setting(org, settings):
    settings.CRM_EXPORT_ROLES = ["manager"]
    assert client_for(org.manager).get(_url("contact")).status_code == 200
    assert client_for(org.head).get(_url("contact")).status_code == 403


def test_every_export_is_written_to_the_audit_log(org):
    make_contact(org.manager, last_name="Первый", tags=["опт"])
    make_contact(org.manager, last_name="Второй")
    response = client_for(org.head).get(_url("contact", "xlsx"), {"tag": "опт", "cursor": ""})
    assert response.status_code == 200
    event = SecurityEvent.objects.get(kind="export")
    assert (event.actor, event.ip_address) == (org.head, "127.0.0.1")
    assert event.data == {
        "what": "contacts",
        "format": "xlsx",
        "rows": 1,
        "filters": {"tag": "опт"},
    }


def test_the_old_contact_export_address_still_works(org):
    make_contact(org.manager, last_name="Старый", tags=["опт"])
    response = client_for(org.head).get(reverse("customers:contact_export"), {"tag": "опт"})
    assert response.status_code == 302
    assert response["Location"] == _url("contact") + "?tag=%D0%BE%D0%BF%D1%82"
    table = _csv(client_for(org.head).get(response["Location"]))
    assert _column(table, "Last name") == ["Старый"]


# --- the job path ----------------------------------------------------------------------------


def test_a_large_export_runs_as_a_job_only_its_owner_downloads(
    org, settings, django_capture_on_commit_callbacks
):
    # given a threshold lower than the list
    settings.CRM_EXPORT_JOB_ROWS = 2
    for index in range(3):
        make_contact(org.manager, last_name=f"Контакт{index}")
    client = client_for(org.head)
    # when the head exports the list
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(_url("contact"))
    # then a job page, written to the audit log with the count
    assert response.status_code == 302
    job_url = response["Location"]
    job_id = job_url.rstrip("/").rsplit("/", 1)[-1]
    event = SecurityEvent.objects.get(kind="export")
    assert event.data["rows"] == 3 and event.data["job"] == job_id
    # the job ran (the test backend runs jobs at once): the page offers the file
    page = client.get(job_url)
    assert page.status_code == 200
    assert "export-download" in page.content.decode()
    assert "Contacts · CSV" in page.content.decode()
    fragment = client.get(job_url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="export-progress"' in fragment and "hx-get" not in fragment
    download = client.get(reverse("transfer:export_job_file", args=[job_id]))
    assert download.status_code == 200
    table = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert sorted(_column(table, "Last name")) == ["Контакт0", "Контакт1", "Контакт2"]
    # another user (an administrator too) sees neither the page nor the file
    other = client_for(org.admin)
    assert other.get(job_url).status_code == 404
    assert other.get(reverse("transfer:export_job_file", args=[job_id])).status_code == 404


def test_a_job_shows_its_progress_and_time_left(org):
    job = ExportJob(id="a" * 32, user_id=org.head.pk, kind="contact", format="csv")
    job.status, job.total, job.done, job.started_at = "running", 1000, 250, time.time() - 10
    job.save()
    page = client_for(org.head).get(reverse("transfer:export_job", args=[job.id]))
    text = page.content.decode()
    assert "250" in text and "1000" in text
    assert 'aria-valuenow="25"' in text
    assert 25 <= job.seconds_left <= 35
    assert 'hx-trigger="every 2s"' in text


def test_a_forged_or_unknown_job_answers_404(org):
    client = client_for(org.head)
    assert client.get(reverse("transfer:export_job", args=["nope"])).status_code == 404
    assert client.get(reverse("transfer:export_job", args=["b" * 32])).status_code == 404


def test_the_sweep_removes_files_older_than_a_day(org, settings):
    settings.CRM_EXPORT_KEEP_SECONDS = 3600
    path = default_storage.save("exports/" + "c" * 32 + "/contacts.csv", ContentFile(b"x"))
    assert export_files_sweep(now=time.time()) is None
    assert default_storage.exists(path)
    assert export_files_sweep(now=time.time() + 7200) == {"removed": 1}
    assert not default_storage.exists(path)
    assert default_storage.listdir("exports") == ([], [])


# --- query counts ----------------------------------------------------------------------------


def _queries(django_assert_max_num_queries, client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        b"".join(response.streaming_content)
    return len(captured)


@pytest.mark.parametrize("kind", ["contact", "company", "deal", "lead", "task"])
def test_query_count_is_the_same_for_one_row_and_many(org, kind, django_assert_max_num_queries):
    def add(index: int) -> None:
        owner = (org.manager, org.colleague, org.head)[index % 3]
        if kind == "contact":
            company = make_company(owner, legal_name=f"Фирма {index}")
            make_contact(
                owner,
                last_name=f"Контакт{index}",
                phones=[f"+7912000{index:04d}"],
                emails=[f"c{index}@example.com"],
                tags=[f"t{index}"],
                employments=[{"company_id": company.pk}],
            )
        elif kind == "company":
            make_company(owner, legal_name=f"Фирма {index}", tags=[f"t{index}"])
        elif kind == "deal":
            make_deal(owner, title=f"Сделка {index}", contact=make_contact(owner))
        elif kind == "lead":
            Lead.objects.create(title=f"Заявка {index}", channel="api", owner=owner)
        else:
            make_task(owner, title=f"Задача {index}", subject=make_contact(owner))

    client, url = client_for(org.admin), _url(kind)
    add(0)
    one = _queries(django_assert_max_num_queries, client, url)
    for index in range(1, 12):
        add(index)
    many = _queries(django_assert_max_num_queries, client, url)
    assert one == many


def test_contenttypes_are_named_not_numbered_in_the_task_record_column(org):
    # the "Record" column names the record, whatever its content type's id
    deal = make_deal(org.manager, title="Кухня")
    make_task(org.manager, title="По сделке", subject=deal)
    table = _csv(client_for(org.head).get(_url("task"), {"scope": "team"}))
    assert "Кухня" in _column(table, "Record")[0]
    assert ContentType.objects.get_for_model(Deal)

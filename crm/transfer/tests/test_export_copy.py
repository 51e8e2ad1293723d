"""The CSV export written by PostgreSQL (``COPY … TO STDOUT`` of an ``Exporter``'s
``copy_sql``) is the very file the Python writer makes: the same bytes for records with
every awkward value, under the list's filters and in a manager's scope.

On PostgreSQL each test compares both writers; elsewhere (SQLite has no COPY, and the
export falls back to the Python writer there) it checks the Python writer's file against
the expected cells, so the expectations hold on both databases.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.http import QueryDict
from django.utils import timezone

from crm.customers.models import Company, Contact, CustomField
from crm.customers.tests.factories import make_company, make_contact
from crm.transfer import exports
from crm.transfer import exports_formats as formats

pytestmark = pytest.mark.django_db

ON_POSTGRES = connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def _both(user, kind: str, query: str = "") -> bytes:
    """The Python writer's file; on PostgreSQL also the COPY writer's, which must be the
    same bytes (and is what the export answers there)."""
    from crm.core.records import registry

    exporter = registry.exporter(kind)
    rows = exporter.select(user, QueryDict(query))
    python = b"".join(formats.csv_chunks(exporter.columns(), exporter.chunks(rows, 2)))
    written = b"".join(exports._write(exporter, user, "csv", query, None))
    if ON_POSTGRES:
        assert exporter.copy_sql is not None
        sql, params = exporter.copy_sql(rows)
        copied = b"".join(
            formats.csv_copied_chunks(
                exporter.columns(), exports._copied(rows.db, sql, params), size=64
            )
        )
        assert copied.split(b"\r\n") == python.split(b"\r\n")  # a readable difference
        assert copied == python
    assert written == python
    return python


def _table(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def _column(table: list[list[str]], heading: str) -> list[str]:
    index = table[0].index(heading)
    return [row[index] for row in table[1:]]


@pytest.fixture
def custom_fields():
    for position, (key, kind) in enumerate(
        [
            ("text", "text"),
            ("number", "number"),
            ("date", "date"),
            ("choice", "choice"),
            ("many", "multi_choice"),
            ("flag", "boolean"),
            ("link", "url"),
        ]
    ):
        CustomField.objects.create(
            entity="contact", key=key, label=f"Поле {key}", field_type=kind, position=position
        )
    CustomField.objects.create(entity="contact", key="gone", label="Старое", is_active=False)
    CustomField.objects.create(entity="company", key="text", label="Заметка", position=0)
    CustomField.objects.create(
        entity="company", key="flag", label="Флаг", field_type="boolean", position=1
    )


def _awkward_contacts(org) -> list[Contact]:
    plain = make_company(org.manager, legal_name="Ромашка", legal_form="ООО")
    other = make_company(org.manager, legal_name="Лютик", short_name="=Лютик", legal_form="other")
    state = make_company(org.manager, legal_name="Управа", legal_form="ОГВ")
    formula = make_contact(
        org.manager,
        last_name="Формулов",
        first_name="Пётр",
        phones=["+7 912 345-67-89", "+7 913 000-00-01"],
        emails=["b@example.com", "a@example.com"],
        tags=["=SUM(A1)", "опт"],
        employments=[
            {"company_id": plain.pk, "position": 'Директор, "главный"'},
            {"company_id": other.pk, "position": ""},
            {"company_id": state.pk, "position": "@советник"},
        ],
        birthday="1980-02-29",
        source="website",
        client_type="business",
    )
    lonely = make_contact(org.manager, last_name="Одинокий", phones=["+79123456789"])
    quoted = make_contact(org.manager, last_name="Кавычкин", first_name="x", tags=["б", "а"])
    none = make_contact(org.colleague, last_name="Чужой", first_name="Иван")
    Contact.objects.filter(pk=formula.pk).update(
        middle_name="-2+3",
        custom={
            "text": '=HYPERLINK("http://x")',
            "number": -5,
            "date": "2026-01-31",
            "choice": "+да",
            "many": ["Синий", "Красный, светлый"],
            "flag": True,
            "link": "https://example.com/?a=1,b=2",
            "gone": "не видно",
        },
    )
    # consent given on a web form (a moment past midnight Moscow time: the local date shows)
    Contact.objects.filter(pk=formula.pk).update(
        consent_at=dt.datetime(2026, 3, 1, 21, 30, tzinfo=dt.UTC), consent_source="form"
    )
    formula.points.filter(value="b@example.com").update(unsubscribed_at=timezone.now())
    Contact.objects.filter(pk=lonely.pk).update(
        first_name="\tТаб",
        custom={"number": 12.5, "flag": False, "many": [], "text": "+7 (912) 345-67-89"},
    )
    Contact.objects.filter(pk=quoted.pk).update(
        middle_name='Он сказал: "да", потом\nушёл\r\nи вернулся',
        custom={"text": "\rCR", "choice": None, "number": 1.5e-05},
    )
    return [formula, lonely, quoted, none]


def test_copy_writes_the_same_contacts_file_as_python(org, custom_fields):
    formula, lonely, quoted, _none = _awkward_contacts(org)
    table = _table(_both(org.admin, "contact"))
    assert _column(table, "ID") == [str(formula.pk), str(lonely.pk), str(quoted.pk), str(_none.pk)]
    first = dict(zip(table[0], table[1], strict=True))
    assert first["Patronymic"] == "'-2+3"
    assert first["Phones"] == "'+79123456789, +79130000001"  # not one plain number
    assert first["E-mails"] == "b@example.com, a@example.com"
    assert first["Companies"] == "ООО «Ромашка»; =Лютик; Управа"
    assert first["Position"] == 'Директор, "главный"; @советник'
    assert first["Tags"] == "'=SUM(A1), опт"
    assert first["Birthday"] == "1980-02-29"
    assert first["Consent to mailings"] == "2026-03-02 00:30"
    assert (first["Consent source"], first["Unsubscribed e-mails"]) == ("Web form", "b@example.com")
    assert first["Поле text"] == '\'=HYPERLINK("http://x")'
    assert first["Поле number"] == "-5"
    assert first["Поле date"] == "2026-01-31"
    assert first["Поле choice"] == "'+да"
    assert first["Поле many"] == "Синий, Красный, светлый"
    assert first["Поле flag"] == "Yes"
    assert first["Поле link"] == "https://example.com/?a=1,b=2"
    assert "Старое" not in table[0]
    second = dict(zip(table[0], table[2], strict=True))
    assert second["Phones"] == "+79123456789"  # a plain number is left as it is
    assert second["First name"] == "'\tТаб"
    assert (second["Поле number"], second["Поле flag"], second["Поле many"]) == ("12.5", "No", "")
    assert second["Поле text"] == "+7 (912) 345-67-89"
    assert second["Companies"] == second["Tags"] == second["Birthday"] == ""
    assert second["Consent to mailings"] == second["Consent source"] == ""
    third = dict(zip(table[0], table[3], strict=True))
    assert third["Patronymic"] == 'Он сказал: "да", потом\nушёл\r\nи вернулся'
    assert third["Поле text"] == "'\rCR"
    assert third["Tags"] == "а, б"  # by name, whatever order they were added in
    assert third["Поле choice"] == ""
    assert third["Поле number"] == "1.5e-05"  # Python's form of a small float


def test_copy_writes_the_same_file_under_filters_and_in_a_managers_scope(
    org, custom_fields, settings
):
    settings.CRM_EXPORT_ROLES = ["admin", "head", "manager"]
    formula, lonely, quoted, _none = _awkward_contacts(org)
    mine = _table(_both(org.manager, "contact"))
    assert _column(mine, "ID") == [str(formula.pk), str(lonely.pk), str(quoted.pk)]
    tagged = _table(_both(org.manager, "contact", "tag=опт"))
    assert _column(tagged, "ID") == [str(formula.pk)]
    searched = _table(_both(org.head, "contact", "q=Кавычкин"))
    assert _column(searched, "ID") == [str(quoted.pk)]
    assert _table(_both(org.manager, "contact", "q=нет-такого")) == [mine[0]]


def test_copy_writes_the_same_companies_file_as_python(org, custom_fields):
    first = make_company(
        org.manager,
        legal_name='ООО "Рога, копыта"',
        short_name="-Рога",
        legal_form="ООО",
        inn="7707083893",
        phones=["+7 495 000-00-01"],
        emails=["info@example.com"],
        tags=["опт", "+vip"],
        addresses=[{"text": "Москва, ул. Ленина, 1", "kind": "legal"}, "=склад\nворота 2"],
        website="https://example.com",
        kind="government",
    )
    second = make_company(org.colleague, legal_name="Лютик", legal_form="")
    Company.objects.filter(pk=first.pk).update(custom={"text": "@note", "flag": True})
    table = _table(_both(org.admin, "company"))
    assert _column(table, "ID") == [str(first.pk), str(second.pk)]
    row = dict(zip(table[0], table[1], strict=True))
    assert row["Short name"] == "'-Рога"
    assert row["Addresses"] == "Москва, ул. Ленина, 1; =складворота 2"  # the form strips breaks
    assert row["Tags"] == "'+vip, опт"  # by name; a cell starting with + is neutralised
    assert row["Заметка"] == "'@note" and row["Флаг"] == "Yes"
    assert _column(table, "Legal form") == ["ООО", ""]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1 << 18])
def test_row_ends_become_crlf_outside_quoted_cells_however_the_blocks_fall(size):
    # given PostgreSQL's CSV rows (\n ends), a quoted cell with line breaks and quotes
    rows = b'1,"a\nb ""q""\r\nc",x\n2,,"y\n"\n3,plain,z\n'
    blocks = [rows[start : start + size] for start in range(0, len(rows), size)]
    done: list[int] = []
    # when they are written in blocks of any size
    body = b"".join(formats.csv_copied_chunks([], blocks, done.append, size=4))
    # then only the rows' ends become \r\n, and the rows are counted
    assert body == "\ufeff\r\n".encode() + b'1,"a\nb ""q""\r\nc",x\r\n2,,"y\n"\r\n3,plain,z\r\n'
    assert done[-1] == 3

"""Guessing which field each column fills, for the files people make and other CRMs export."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from crm.transfer.headers import guess_mapping, guess_source, normalise
from crm.transfer.readers import read_table

FILES = Path(__file__).parent / "files"

MULTIPLE = {"phone", "email", "messenger", "address"}
KEYS = {
    "company": "external_id name short_name inn kpp ogrn phone email website address industry "
    "tags source notes owner created_at",
    "contact": "external_id full_name last_name first_name middle_name phone email messenger "
    "birthday address company company_inn position client_type tags source notes owner "
    "created_at",
    "lead": "external_id title full_name phone email company source description owner status "
    "created_at",
    "deal": "external_id title amount currency pipeline stage contact company owner "
    "expected_close source notes created_at closed_at lost_reason tags",
    "task": "external_id title description due owner done contact company deal priority created_at",
    "note": "text date author contact company deal kind",
}


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    multiple: bool = False


def fields(kind: str, *custom: tuple[str, str]) -> list[Field]:
    own = [
        Field(key, key.replace("_", " ").capitalize(), kind != "lead" and key in MULTIPLE)
        for key in KEYS[kind].split()
    ]
    return own + [Field(f"custom.{key}", label) for key, label in custom]


def fixture_mapping(kind: str, name: str) -> dict[str, str]:
    with (FILES / name).open("rb") as file:
        columns = read_table(file, name).columns
    return dict(zip(columns, guess_mapping(kind, columns, fields(kind)), strict=True))


def test_normalise_ignores_case_yo_punctuation_and_spaces() -> None:
    assert normalise("  Эл. Почта ") == normalise("эл почта") == "элпочта"
    assert normalise("Ёлка") == "елка"
    assert normalise("E-mail") == normalise("EMAIL") == "email"
    assert normalise("First_Name") == normalise("FirstName")


def test_amocrm_contacts() -> None:
    assert fixture_mapping("contact", "amocrm_contacts.csv") == {
        "ID": "external_id",
        "Полное имя контакта": "full_name",
        "Имя": "first_name",
        "Фамилия": "last_name",
        "Компания": "company",
        "Ответственный": "owner",
        "Дата создания": "created_at",
        "Кем создан": "",
        "Теги": "tags",
        "Рабочий телефон": "phone",
        "Мобильный телефон": "phone",
        "Рабочий email": "email",
        "Должность": "position",
        "Примечание 1": "notes",
    }


def test_amocrm_leads_as_deals_leave_the_contacts_phone_out() -> None:
    assert fixture_mapping("deal", "amocrm_leads.csv") == {
        "ID": "external_id",
        "Название сделки": "title",
        "Бюджет": "amount",
        "Ответственный": "owner",
        "Дата создания": "created_at",
        "Кем создана": "",
        "Теги": "tags",
        "Примечание 1": "notes",
        "Этап сделки": "stage",
        "Воронка": "pipeline",
        "Полное имя контакта": "contact",
        "Компания контакта": "",
        "Рабочий телефон (контакт)": "",
        "Рабочий email (контакт)": "",
        "Компания": "company",
        "Дата закрытия": "closed_at",
    }


def test_bitrix24_contacts_and_companies() -> None:
    contacts = fixture_mapping("contact", "bitrix24_contacts.csv")
    assert contacts == {
        "ID": "external_id",
        "Обращение": "",
        "Имя": "first_name",
        "Отчество": "middle_name",
        "Фамилия": "last_name",
        "Дата рождения": "birthday",
        "Должность": "position",
        "Тип контакта": "client_type",
        "Источник": "source",
        "Дополнительно об источнике": "",
        "Ответственный": "owner",
        "Комментарий": "notes",
        "Рабочий телефон": "phone",
        "Мобильный телефон": "phone",
        "Рабочий e-mail": "email",
        "Частный e-mail": "email",
        "Контакт Telegram": "messenger",
        "Адрес": "address",
        "Компания": "company",
        "Дата создания": "created_at",
    }
    companies = fixture_mapping("company", "bitrix24_companies.csv")
    assert companies == {
        "ID": "external_id",
        "Название компании": "name",
        "Тип компании": "",
        "Сфера деятельности": "industry",
        "Ответственный": "owner",
        "Комментарий": "notes",
        "Рабочий телефон": "phone",
        "Рабочий e-mail": "email",
        "Корпоративный сайт": "website",
        "Адрес": "address",
        "Реквизиты: ИНН": "inn",
        "Реквизиты: КПП": "kpp",
        "Дата создания": "created_at",
    }


def test_hubspot_contacts_and_deals() -> None:
    assert fixture_mapping("contact", "hubspot_contacts.csv") == {
        "Record ID": "external_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Phone Number": "phone",
        "Mobile Phone Number": "phone",
        "Company Name": "company",
        "Job Title": "position",
        "Contact owner": "owner",
        "Lifecycle Stage": "",
        "Lead Status": "",
        "Create Date": "created_at",
    }
    assert fixture_mapping("deal", "hubspot_deals.csv") == {
        "Record ID": "external_id",
        "Deal Name": "title",
        "Deal Stage": "stage",
        "Pipeline": "pipeline",
        "Amount": "amount",
        "Close Date": "expected_close",
        "Deal owner": "owner",
        "Associated Company": "company",
        "Create Date": "created_at",
    }


def test_salesforce_contacts_and_opportunities() -> None:
    assert fixture_mapping("contact", "salesforce_contacts.csv") == {
        "Contact ID": "external_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Title": "position",
        "Account Name": "company",
        "Mailing Street": "address",
        "Mailing City": "",
        "Email": "email",
        "Phone": "phone",
        "Mobile": "phone",
        "Birthdate": "birthday",
        "Contact Owner": "owner",
        "Lead Source": "source",
    }
    assert fixture_mapping("deal", "salesforce_opportunities.csv") == {
        "Opportunity ID": "external_id",
        "Opportunity Name": "title",
        "Account Name": "company",
        "Stage": "stage",
        "Amount": "amount",
        "Close Date": "expected_close",
        "Opportunity Owner": "owner",
        "Lead Source": "source",
        "Probability (%)": "",
    }


def test_an_excel_file_with_natural_russian_names() -> None:
    assert fixture_mapping("contact", "excel_cp1251.csv") == {
        "Фамилия": "last_name",
        "Имя": "first_name",
        "Отчество": "middle_name",
        "Телефон": "phone",
        "E-mail": "email",
        "Компания": "company",
        "ИНН": "company_inn",
        "Дата рождения": "birthday",
        "Комментарий": "notes",
    }


def test_vcard_columns_are_the_keys_themselves() -> None:
    with (FILES / "iphone.vcf").open("rb") as file:
        columns = read_table(file, "iphone.vcf").columns
    assert guess_mapping("contact", columns, fields("contact")) == columns


@pytest.mark.parametrize(
    ("kind", "header", "key"),
    [
        ("contact", "ФИО", "full_name"),
        ("contact", "Ф.И.О.", "full_name"),
        ("contact", "Телефон 2", "phone"),
        ("contact", "Phone #3", "phone"),
        ("contact", "Phone (Work)", "phone"),
        ("contact", "Мобильный телефон (личный)", "phone"),
        ("contact", "Рабочий телефон (контакт)", "phone"),
        ("contact", "Рабочий телефон (компания)", ""),
        ("contact", "Эл. почта", "email"),
        ("contact", "EMAIL", "email"),
        ("contact", "Организация", "company"),
        ("company", "Организация", "name"),
        ("company", "ИНН", "inn"),
        ("company", "Web (компания)", "website"),
        ("company", "Account: Phone", "phone"),
        ("contact", "Account: Phone", ""),
        ("lead", "Имя", "full_name"),
        ("lead", "Статус", "status"),
        ("lead", "Комментарий", "description"),
        ("deal", "Сумма", "amount"),
        ("deal", "Бюджет", "amount"),
        ("deal", "Воронка", "pipeline"),
        ("deal", "Этап", "stage"),
        ("deal", "Причина отказа", "lost_reason"),
        ("task", "Срок", "due"),
        ("task", "Исполнитель", "owner"),
        ("task", "Выполнена", "done"),
        ("note", "Текст", "text"),
        ("note", "Тип", "kind"),
        ("note", "Автор", "author"),
        ("contact", "Что-то своё", ""),
        ("contact", "", ""),
    ],
)
def test_single_headers(kind: str, header: str, key: str) -> None:
    assert guess_mapping(kind, [header], fields(kind)) == [key]


def test_a_field_that_is_not_multiple_goes_to_its_first_column_only() -> None:
    columns = ["Комментарий", "Примечание", "Телефон", "Мобильный", "Телефон 3"]
    assert guess_mapping("contact", columns, fields("contact")) == [
        "notes", "", "phone", "phone", "phone",
    ]  # fmt: skip
    # a lead has one phone
    assert guess_mapping("lead", ["Телефон", "Мобильный"], fields("lead")) == ["phone", ""]


def test_custom_fields_match_by_label_or_key() -> None:
    kind_fields = fields("contact", ("vip", "VIP-статус"), ("shoe_size", "Размер обуви"))
    columns = ["VIP статус", "shoe size", "Размер  обуви", "Фамилия"]
    assert guess_mapping("contact", columns, kind_fields) == [
        "custom.vip", "custom.shoe_size", "", "last_name",
    ]  # fmt: skip


def test_a_key_not_among_the_fields_is_never_answered() -> None:
    without_birthday = [item for item in fields("contact") if item.key != "birthday"]
    assert guess_mapping("contact", ["Дата рождения"], without_birthday) == [""]


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("amocrm_contacts.csv", "amoCRM"),
        ("amocrm_leads.csv", "amoCRM"),
        ("bitrix24_contacts.csv", "Bitrix24"),
        ("bitrix24_companies.csv", "Bitrix24"),
        ("hubspot_contacts.csv", "HubSpot"),
        ("hubspot_deals.csv", "HubSpot"),
        ("salesforce_contacts.csv", "Salesforce"),
        ("salesforce_opportunities.csv", "Salesforce"),
        ("excel_cp1251.csv", ""),
    ],
)
def test_the_source_crm_is_recognised(name: str, source: str) -> None:
    with (FILES / name).open("rb") as file:
        assert guess_source(read_table(file, name).columns) == source


@pytest.mark.parametrize(
    ("kind", "header"),
    [
        (
            "company",
            {
                "Record ID": "external_id",
                "Company name": "name",
                "Company owner": "owner",
                "Create Date": "created_at",
                "Phone Number": "phone",
                "Last Activity Date": "",
                "City": "",
                "Industry": "industry",
                "Company Domain Name": "website",
            },
        ),
        (
            "company",
            {
                "Account ID": "external_id",
                "Account Name": "name",
                "Account Owner": "owner",
                "Type": "",
                "Industry": "industry",
                "Phone": "phone",
                "Website": "website",
                "Billing Street": "address",
                "Billing City": "",
                "Description": "notes",
            },
        ),
        (
            "company",
            {
                "ID": "external_id",
                "Название компании": "name",
                "Ответственный": "owner",
                "Дата создания": "created_at",
                "Теги": "tags",
                "Рабочий телефон": "phone",
                "Рабочий email": "email",
                "Web": "website",
                "Адрес": "address",
                "Примечание": "notes",
            },
        ),
        (
            "lead",
            {
                "ID": "external_id",
                "Название лида": "title",
                "Имя": "full_name",
                "Фамилия": "",
                "Стадия": "status",
                "Источник": "source",
                "Ответственный": "owner",
                "Рабочий телефон": "phone",
                "Мобильный телефон": "",
                "Рабочий e-mail": "email",
                "Название компании": "company",
                "Комментарий": "description",
                "Дата создания": "created_at",
            },
        ),
    ],
    ids=["hubspot-companies", "salesforce-accounts", "amocrm-companies", "bitrix24-leads"],
)
def test_company_and_lead_exports(kind: str, header: dict[str, str]) -> None:
    columns = list(header)
    assert dict(zip(columns, guess_mapping(kind, columns, fields(kind)), strict=True)) == header

"""Creating and changing contacts and companies through the services, and every refusal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from crm.activities.models import TimelineEntry
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.customers.models import Company, Contact, ContactPoint, CustomField
from crm.customers.services import (
    DuplicateFound,
    company_create,
    company_update,
    contact_create,
    contact_update,
)
from crm.customers.tests.factories import make_company, make_contact

SBER_INN, SBER_KPP, SBER_OGRN = "7707083893", "773601001", "1027700132195"


def _state() -> dict[str, int]:
    """Row counts that a refused call must leave as they were."""
    return {
        "contacts": Contact.objects.count(),
        "companies": Company.objects.count(),
        "points": ContactPoint.objects.count(),
        "entries": TimelineEntry.objects.count(),
    }


def _entries(record, kind: str) -> list[TimelineEntry]:
    return list(
        TimelineEntry.objects.filter(
            subject_type__model=record._meta.model_name, subject_id=record.pk, kind=kind
        ).order_by("id")
    )


def _phones(record) -> list[str]:
    return list(record.points.filter(kind="phone").values_list("value", flat=True))


# --- contact_create ---------------------------------------------------------------------------


def test_contact_create_stores_clean_values_and_records_creation(org):
    # when a manager creates a contact with messy input
    contact = contact_create(
        actor=org.manager,
        data={
            "last_name": "  Иванов ",
            "first_name": "Иван",
            "phones": ["8 (912) 345-67-89"],
            "emails": ["Ivan@Example.COM"],
            "tags": ["VIP", "vip", "опт"],
        },
    )
    # then values are normalised, the manager owns it and the timeline says it was created
    contact.refresh_from_db()
    assert (contact.last_name, contact.first_name) == ("Иванов", "Иван")
    assert contact.owner_id == org.manager.pk and contact.created_by_id == org.manager.pk
    assert _phones(contact) == ["+79123456789"]
    assert list(contact.points.filter(kind="email").values_list("value", flat=True)) == [
        "ivan@example.com"
    ]
    assert sorted(tag.name for tag in contact.tags.all()) == ["VIP", "опт"]
    assert "иванов" in contact.search_text
    created = _entries(contact, "created")
    assert len(created) == 1 and created[0].author == org.manager


def test_contact_create_is_refused_for_a_read_only_user(org):
    before = _state()
    with pytest.raises(PermissionDenied):
        contact_create(actor=org.viewer, data={"first_name": "Иван"})
    assert _state() == before


def test_contact_create_names_every_bad_field_and_writes_nothing(org):
    before = _state()
    with pytest.raises(ValidationFailed) as refused:
        contact_create(
            actor=org.manager,
            data={
                "first_name": "",
                "emails": ["not-an-email"],
                "phones": ["12"],
                "birthday": "31.12.1990",
                "client_type": "alien",
            },
        )
    assert {"first_name", "emails[0]", "phones[0]", "birthday", "client_type"} <= set(
        refused.value.field_errors
    )
    assert _state() == before


def test_contact_create_refuses_a_birthday_in_the_future(org):
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    with pytest.raises(ValidationFailed) as refused:
        contact_create(actor=org.manager, data={"first_name": "Иван", "birthday": tomorrow})
    assert "birthday" in refused.value.field_errors


def test_contact_create_refuses_an_owner_outside_the_actors_scope(org):
    before = _state()
    with pytest.raises(ValidationFailed) as refused:
        contact_create(actor=org.manager, data={"first_name": "Иван", "owner_id": org.outsider.pk})
    assert "owner_id" in refused.value.field_errors
    assert _state() == before


def test_contact_create_refuses_an_exact_duplicate(org):
    # given a contact with a phone
    make_contact(org.manager, phones=["+79120000001"])
    before = _state()
    # when another contact with the same phone (written differently) is created
    with pytest.raises(DuplicateFound) as refused:
        contact_create(
            actor=org.manager, data={"first_name": "Ваня", "phones": ["8 912 000 00 01"]}
        )
    # then it is refused with the candidate and nothing is written
    assert refused.value.status_code == 409
    assert any(candidate.is_exact for candidate in refused.value.candidates)
    assert _state() == before


def test_contact_create_over_a_duplicate_is_recorded_on_the_timeline(org):
    # given a contact with an e-mail
    first = make_contact(org.manager, emails=["a@example.com"])
    # when another one with the same e-mail is saved anyway
    second = contact_create(
        actor=org.manager,
        data={"first_name": "Иван", "emails": ["A@example.com"]},
        allow_duplicate=True,
    )
    # then a system entry names the existing record
    [entry] = _entries(second, "system")
    assert entry.title
    [duplicate] = entry.data["duplicates"]
    assert (duplicate["entity"], duplicate["id"], duplicate["exact"]) == ("contact", first.pk, True)
    assert entry.author == org.manager


def test_a_duplicate_the_actor_may_not_see_is_reported_without_details(org):
    make_contact(org.outsider, last_name="Секретный", phones=["+79120000077"])
    with pytest.raises(DuplicateFound) as refused:
        contact_create(actor=org.manager, data={"first_name": "Иван", "phones": ["+79120000077"]})
    [candidate] = [c.as_dict() for c in refused.value.candidates if c.is_exact]
    assert candidate["visible"] is False and candidate["name"] == ""


# --- contact_update ---------------------------------------------------------------------------


def test_contact_update_records_each_changed_field_old_and_new(org):
    # given a contact
    contact = make_contact(org.manager, first_name="Пётр", phones=["+79120000001"], notes="a")
    # when the head of the team changes the name and the phone
    updated = contact_update(
        actor=org.head,
        contact=contact,
        data={"first_name": "Павел", "last_name": "Иванов", "phones": ["+79120000002"]},
    )
    # then the record changed and one field-change entry lists exactly those changes
    assert updated.first_name == "Павел" and _phones(updated) == ["+79120000002"]
    [entry] = _entries(contact, "field_change")
    changes = {change["field"]: change for change in entry.data["changes"]}
    assert changes["first_name"]["old"] == "Пётр" and changes["first_name"]["new"] == "Павел"
    assert changes["first_name"]["label"]
    assert changes["phones"]["old"] == "+79120000001"
    assert changes["phones"]["new"] == "+79120000002"
    # a full update without notes clears them, which is a change too
    assert changes["notes"]["old"] == "a" and changes["notes"]["new"] == ""
    assert "last_name" not in changes
    assert entry.author == org.head


def test_contact_update_with_nothing_changed_adds_no_entry(org):
    contact = make_contact(org.manager, first_name="Пётр")
    contact_update(actor=org.manager, contact=contact, data={"first_name": "Пётр"}, partial=True)
    assert _entries(contact, "field_change") == []


def test_a_partial_update_leaves_other_fields_untouched(org):
    # given a contact with several fields
    contact = make_contact(
        org.manager,
        first_name="Пётр",
        middle_name="Ильич",
        phones=["+79120000001"],
        emails=["p@example.com"],
        notes="заметка",
        tags=["VIP"],
    )
    # when only the e-mails are changed
    updated = contact_update(
        actor=org.manager, contact=contact, data={"emails": ["new@example.com"]}, partial=True
    )
    # then everything else is as it was
    assert (updated.first_name, updated.middle_name, updated.notes) == ("Пётр", "Ильич", "заметка")
    assert _phones(updated) == ["+79120000001"]
    assert [tag.name for tag in updated.tags.all()] == ["VIP"]
    assert list(updated.points.filter(kind="email").values_list("value", flat=True)) == [
        "new@example.com"
    ]
    [entry] = _entries(contact, "field_change")
    assert [change["field"] for change in entry.data["changes"]] == ["emails"]


def _assert_contact_unchanged(contact: Contact, before: dict[str, int]) -> None:
    fresh = Contact.objects.get(pk=contact.pk)
    assert (fresh.first_name, fresh.last_name, fresh.notes) == (
        contact.first_name,
        contact.last_name,
        contact.notes,
    )
    assert _phones(fresh) == _phones(contact)
    assert _state() == before


def test_contact_update_is_refused_for_a_read_only_user(org):
    contact = make_contact(org.manager, phones=["+79120000001"])
    before = _state()
    with pytest.raises(PermissionDenied):
        contact_update(
            actor=org.viewer, contact=contact, data={"first_name": "Взлом"}, partial=True
        )
    _assert_contact_unchanged(contact, before)


@pytest.mark.parametrize("intruder", ["outsider", "colleague"])
def test_contact_update_of_an_invisible_record_is_not_found(org, intruder):
    contact = make_contact(org.manager, phones=["+79120000001"])
    before = _state()
    with pytest.raises(NotFound):
        contact_update(
            actor=getattr(org, intruder), contact=contact, data={"first_name": "X"}, partial=True
        )
    _assert_contact_unchanged(contact, before)


def test_contact_update_with_bad_fields_changes_nothing(org):
    contact = make_contact(org.manager, phones=["+79120000001"])
    before = _state()
    with pytest.raises(ValidationFailed) as refused:
        contact_update(
            actor=org.manager,
            contact=contact,
            data={"first_name": "", "last_name": "", "phones": ["+79120000002", "abc"]},
            partial=True,
        )
    assert {"first_name", "last_name", "phones[1]"} <= set(refused.value.field_errors)
    _assert_contact_unchanged(contact, before)


def test_contact_update_to_an_existing_phone_is_a_duplicate(org):
    make_contact(org.manager, last_name="Первый", phones=["+79120000001"])
    second = make_contact(org.manager, last_name="Первый", phones=["+79120000002"])
    before = _state()
    with pytest.raises(DuplicateFound):
        contact_update(
            actor=org.manager, contact=second, data={"phones": ["+79120000001"]}, partial=True
        )
    _assert_contact_unchanged(second, before)


def test_contact_update_over_a_duplicate_records_a_system_entry(org):
    first = make_contact(org.manager, last_name="Первый", phones=["+79120000001"])
    second = make_contact(org.manager, last_name="Первый", phones=["+79120000002"])
    contact_update(
        actor=org.manager,
        contact=second,
        data={"phones": ["+79120000001"]},
        partial=True,
        allow_duplicate=True,
    )
    [entry] = _entries(second, "system")
    assert entry.data["duplicates"][0]["id"] == first.pk


# --- companies --------------------------------------------------------------------------------


def test_company_create_checks_requisites_and_records_creation(org):
    company = company_create(
        actor=org.manager,
        data={
            "legal_name": "Сбербанк",
            "legal_form": "ПАО",
            "inn": SBER_INN,
            "kpp": SBER_KPP,
            "ogrn": SBER_OGRN,
            "website": "sberbank.ru",
        },
    )
    company.refresh_from_db()
    assert (company.inn, company.kpp, company.ogrn) == (SBER_INN, SBER_KPP, SBER_OGRN)
    assert company.website == "https://sberbank.ru"
    assert company.display_name == "ПАО «Сбербанк»"
    assert len(_entries(company, "created")) == 1


def test_company_create_names_bad_requisites_and_writes_nothing(org):
    before = _state()
    with pytest.raises(ValidationFailed) as refused:
        company_create(
            actor=org.manager,
            data={"legal_name": "", "inn": "7707083894", "website": "not a url", "kind": "private"},
        )
    assert {"legal_name", "inn", "website", "kind"} <= set(refused.value.field_errors)
    assert _state() == before


def test_company_create_refuses_a_kpp_for_an_entrepreneur(org):
    with pytest.raises(ValidationFailed) as refused:
        company_create(
            actor=org.manager,
            data={"legal_name": "ИП Петров", "inn": "500100732259", "kpp": SBER_KPP},
        )
    assert "kpp" in refused.value.field_errors or "inn" in refused.value.field_errors


def test_company_create_is_refused_for_a_read_only_user(org):
    before = _state()
    with pytest.raises(PermissionDenied):
        company_create(actor=org.viewer, data={"legal_name": "Ромашка"})
    assert _state() == before


def test_company_create_refuses_the_same_inn(org):
    make_company(org.manager, inn=SBER_INN)
    before = _state()
    with pytest.raises(DuplicateFound) as refused:
        company_create(actor=org.manager, data={"legal_name": "Другое имя", "inn": SBER_INN})
    assert refused.value.field_errors.get("duplicate")
    assert _state() == before


def test_company_create_over_the_same_inn_is_recorded(org):
    first = make_company(org.manager, inn=SBER_INN)
    second = company_create(
        actor=org.manager, data={"legal_name": "Другое", "inn": SBER_INN}, allow_duplicate=True
    )
    [entry] = _entries(second, "system")
    assert entry.data["duplicates"][0]["entity"] == "company"
    assert entry.data["duplicates"][0]["id"] == first.pk


def test_company_update_records_changes(org):
    company = make_company(org.manager, industry="Банки")
    company_update(actor=org.manager, company=company, data={"industry": "Финансы"}, partial=True)
    company.refresh_from_db()
    assert company.industry == "Финансы" and company.legal_name == "Ромашка"
    [entry] = _entries(company, "field_change")
    assert entry.data["changes"] == [
        {
            "field": "industry",
            "label": entry.data["changes"][0]["label"],
            "old": "Банки",
            "new": "Финансы",
        }
    ]


def _assert_company_unchanged(company: Company, before: dict[str, int]) -> None:
    fresh = Company.objects.get(pk=company.pk)
    assert (fresh.legal_name, fresh.inn, fresh.industry) == (
        company.legal_name,
        company.inn,
        company.industry,
    )
    assert _state() == before


def test_company_update_refusals_change_nothing(org):
    company = make_company(org.manager, inn=SBER_INN, industry="Банки")
    other = make_company(org.manager, legal_name="Газпром", inn="7736050003")
    before = _state()
    with pytest.raises(PermissionDenied):
        company_update(actor=org.viewer, company=company, data={"industry": "x"}, partial=True)
    with pytest.raises(NotFound):
        company_update(actor=org.outsider, company=company, data={"industry": "x"}, partial=True)
    with pytest.raises(ValidationFailed) as refused:
        company_update(actor=org.manager, company=company, data={"inn": "123"}, partial=True)
    assert "inn" in refused.value.field_errors
    with pytest.raises(DuplicateFound):
        company_update(actor=org.manager, company=other, data={"inn": SBER_INN}, partial=True)
    _assert_company_unchanged(company, before)
    _assert_company_unchanged(other, before)


def test_a_head_may_not_change_a_record_shared_with_them_from_another_team(org):
    # given the outsider's company shared with the head of team A
    from crm.customers.services import customer_share

    company = make_company(org.outsider, industry="Банки")
    customer_share(actor=org.outsider, record=company, user_ids=[org.head.pk])
    before = _state()
    # then the head sees it but may not change it
    with pytest.raises(PermissionDenied):
        company_update(actor=org.head, company=company, data={"industry": "x"}, partial=True)
    _assert_company_unchanged(company, before)


# --- custom fields ----------------------------------------------------------------------------


def _field(entity: str, key: str, field_type: str, **extra: Any) -> CustomField:
    return CustomField.objects.create(
        entity=entity,
        key=key,
        label=extra.pop("label", key.title()),
        field_type=field_type,
        **extra,
    )


def test_a_required_custom_field_applies_only_to_its_client_types(org):
    # given a field required for business contacts only
    _field("contact", "inn_employer", "text", is_required=True, client_types=["business"])
    # then a private client may go without it
    contact_create(actor=org.manager, data={"first_name": "Частный", "client_type": "private"})
    # and a business contact may not
    before = _state()
    with pytest.raises(ValidationFailed) as refused:
        contact_create(actor=org.manager, data={"first_name": "Деловой", "client_type": "business"})
    assert list(refused.value.field_errors) == ["custom.inn_employer"]
    assert _state() == before
    contact = contact_create(
        actor=org.manager,
        data={
            "first_name": "Деловой",
            "client_type": "business",
            "custom": {"inn_employer": "Ромашка"},
        },
    )
    assert contact.custom == {"inn_employer": "Ромашка"}


def test_a_required_field_kept_from_before_satisfies_a_partial_update(org):
    _field("company", "segment", "text", is_required=True)
    company = make_company(org.manager, custom={"segment": "B2B"})
    company_update(actor=org.manager, company=company, data={"industry": "x"}, partial=True)
    with pytest.raises(ValidationFailed) as refused:
        company_update(
            actor=org.manager, company=company, data={"custom": {"segment": ""}}, partial=True
        )
    assert "custom.segment" in refused.value.field_errors
    company.refresh_from_db()
    assert company.custom == {"segment": "B2B"}


def test_an_unknown_custom_key_is_refused(org):
    before = _state()
    with pytest.raises(ValidationFailed) as refused:
        contact_create(actor=org.manager, data={"first_name": "Иван", "custom": {"nope": 1}})
    assert "custom.nope" in refused.value.field_errors
    assert _state() == before


def test_an_inactive_custom_field_is_unknown(org):
    _field("contact", "old", "text", is_active=False)
    with pytest.raises(ValidationFailed) as refused:
        contact_create(actor=org.manager, data={"first_name": "Иван", "custom": {"old": "x"}})
    assert "custom.old" in refused.value.field_errors


@pytest.mark.parametrize(
    ("field_type", "extra", "raw", "stored"),
    [
        ("number", {}, "1 234,5", 1234.5),
        ("number", {}, "42", 42),
        ("number", {}, 7, 7),
        ("date", {}, "2024-02-29", "2024-02-29"),
        ("choice", {"choices": ["опт", "розница"]}, "опт", "опт"),
        ("multi_choice", {"choices": ["a", "b", "c"]}, ["b", "a", "b"], ["b", "a"]),
        ("multi_choice", {"choices": ["a", "b"]}, "a", ["a"]),
        ("boolean", {}, "да", True),
        ("boolean", {}, "off", False),
        ("boolean", {}, True, True),
        ("url", {}, "https://example.com/a?b=1", "https://example.com/a?b=1"),
        ("text", {}, "  строка\nвторая ", "строка\nвторая"),
    ],
)
def test_custom_values_are_parsed_by_type(org, field_type, extra, raw, stored):
    _field("contact", "value", field_type, **extra)
    contact = contact_create(
        actor=org.manager, data={"first_name": "Иван", "custom": {"value": raw}}
    )
    contact.refresh_from_db()
    assert contact.custom == {"value": stored}


@pytest.mark.parametrize(
    ("field_type", "extra", "raw"),
    [
        ("number", {}, "много"),
        ("number", {}, True),
        ("number", {}, "1e20"),
        ("date", {}, "2023-02-29"),
        ("date", {}, "29.02.2024"),
        ("choice", {"choices": ["опт"]}, "другое"),
        ("multi_choice", {"choices": ["a"]}, ["a", "z"]),
        ("boolean", {}, "может быть"),
        ("url", {}, "javascript:alert(1)"),
        ("url", {}, "ftp://example.com"),
    ],
)
def test_bad_custom_values_are_refused_naming_the_field(org, field_type, extra, raw):
    _field("contact", "value", field_type, **extra)
    before = _state()
    with pytest.raises(ValidationFailed) as refused:
        contact_create(actor=org.manager, data={"first_name": "Иван", "custom": {"value": raw}})
    assert list(refused.value.field_errors) == ["custom.value"]
    assert _state() == before


def test_a_custom_value_change_goes_on_the_timeline(org):
    _field("contact", "budget", "number", label="Бюджет")
    contact = make_contact(org.manager, custom={"budget": 100})
    contact_update(
        actor=org.manager, contact=contact, data={"custom": {"budget": "250"}}, partial=True
    )
    [entry] = _entries(contact, "field_change")
    [change] = entry.data["changes"]
    assert (change["field"], change["old"], change["new"]) == ("custom.budget", "100", "250")

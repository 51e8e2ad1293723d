"""The company pages: list, card with its people, form, duplicates and sharing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import client_for
from crm.activities.choices import EntryKind
from crm.activities.models import TimelineEntry
from crm.customers.models import Company
from crm.customers.tests.factories import make_company, make_contact

pytestmark = pytest.mark.django_db

# Valid checksums: an organisation's ИНН (10 digits) and a person's (12 digits).
INN_ORG = "7707083893"
INN_ORG_2 = "7736207543"


def _form(**overrides):
    data = {
        "legal_form": "ООО",
        "legal_name": "Новая компания",
        "short_name": "",
        "kind": "business",
        "inn": "",
        "kpp": "",
        "ogrn": "",
        "website": "",
        "industry": "",
        "notes": "",
        "source": "",
        "owner_id": "",
        "tags": "",
        "phone_value": [""],
        "phone_label": ["work"],
        "email_value": [""],
        "email_label": ["work"],
        "messenger_messenger": ["telegram"],
        "messenger_value": [""],
        "messenger_label": ["work"],
        "address_kind": ["legal"],
        "address_text": [""],
    }
    data.update(overrides)
    return data


def _detail(company):
    return reverse("customers:company_detail", args=[company.pk])


def test_anonymous_is_sent_to_login(org):
    company = make_company(org.manager)
    for url in (
        reverse("customers:company_list"),
        reverse("customers:company_create"),
        _detail(company),
        reverse("customers:company_edit", args=[company.pk]),
    ):
        response = client_for(None).get(url)
        assert response.status_code == 302
        assert reverse("accounts:login") in response["Location"]


@pytest.mark.parametrize(
    ("username", "owner", "card", "edit"),
    [
        ("manager", "manager", 200, 200),
        ("manager", "colleague", 404, 404),
        ("head", "colleague", 200, 200),
        ("head", "outsider", 404, 404),
        ("viewer", "colleague", 200, 403),
        ("admin", "outsider", 200, 200),
    ],
)
def test_permission_matrix(org, username, owner, card, edit):
    company = make_company(getattr(org, owner))
    client = client_for(getattr(org, username))
    assert client.get(_detail(company)).status_code == card
    assert client.get(reverse("customers:company_edit", args=[company.pk])).status_code == edit


def test_viewer_cannot_create(org):
    assert client_for(org.viewer).get(reverse("customers:company_create")).status_code == 403
    assert (
        client_for(org.viewer).post(reverse("customers:company_create"), _form()).status_code == 403
    )
    assert not Company.objects.exists()


def test_list_query_count_does_not_grow_with_rows(org, django_assert_num_queries):
    def add(index):
        make_company(
            org.manager,
            legal_name=f"Компания {index}",
            phones=[f"+7 495 000-00-{index:02d}"],
            tags=["опт"],
        )

    add(0)
    client = client_for(org.manager)
    url = reverse("customers:company_list")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    for index in range(1, 10):
        add(index)
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count("Компания ") == 10


def test_list_shows_inn_kind_and_filters_by_kind(org):
    make_company(org.manager, legal_name="Бизнес", inn=INN_ORG)
    make_company(org.manager, legal_name="Министерство", legal_form="ОГВ", kind="government")
    client = client_for(org.manager)
    html = client.get(reverse("customers:company_list")).content.decode()
    assert INN_ORG in html and "Министерство" in html
    government = client.get(reverse("customers:company_list"), {"client_type": "government"})
    assert [c.legal_name for c in government.context["page"].items] == ["Министерство"]
    by_inn = client.get(reverse("customers:company_list"), {"q": INN_ORG})
    assert [c.legal_name for c in by_inn.context["page"].items] == ["Бизнес"]


def test_card_shows_requisites_people_and_add_person_button(org):
    # given a company with two people
    company = make_company(org.manager, legal_name="Ромашка", inn=INN_ORG, kpp="773601001")
    make_contact(
        org.manager,
        first_name="Анна",
        last_name="Сотрудникова",
        employments=[{"company_id": company.pk, "position": "Бухгалтер"}],
    )
    make_contact(
        org.manager,
        first_name="Борис",
        last_name="Директоров",
        employments=[{"company_id": company.pk, "position": "Директор"}],
    )
    # when its card is opened
    response = client_for(org.manager).get(_detail(company))
    html = response.content.decode()
    # then it lists the people with their positions and offers "Add person"
    assert response.status_code == 200
    assert "Сотрудникова" in html and "Бухгалтер" in html
    assert "Директоров" in html and "Директор" in html
    assert f"{reverse('customers:contact_create')}?company={company.pk}" in html
    assert INN_ORG in html and "773601001" in html
    assert response.context["entity"] == "company"
    assert response.context["timeline_page"].items


def test_script_in_a_company_name_is_escaped(org):
    company = make_company(org.manager, legal_name="<img src=x onerror=alert(1)>")
    client = client_for(org.manager)
    for url in (reverse("customers:company_list"), _detail(company)):
        html = client.get(url).content.decode()
        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_create_company_and_redirect(org):
    response = client_for(org.manager).post(
        reverse("customers:company_create"),
        _form(
            legal_name="Василёк",
            inn=INN_ORG,
            kpp="773601001",
            website="example.ru",
            phone_value=["+7 495 111-22-33"],
            address_text=["Москва, ул. Ленина, 1"],
        ),
    )
    assert response.status_code == 302
    company = Company.objects.get()
    assert response["Location"] == _detail(company)
    assert company.inn == INN_ORG
    assert company.website == "https://example.ru"
    assert company.addresses.get().kind == "legal"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("inn", "1234567890"),  # wrong checksum
        ("inn", "12345"),
        ("kpp", "12"),
        ("ogrn", "abc"),
        ("website", "javascript:alert(1)"),
        ("legal_name", ""),
        ("legal_name", "Ж" * 301),
    ],
)
def test_bad_requisites_are_shown_next_to_the_field(org, field, value):
    response = client_for(org.manager).post(
        reverse("customers:company_create"), _form(**{field: value})
    )
    assert response.status_code == 422
    assert response.context["form"].errors[field]
    assert not Company.objects.exists()


def test_same_inn_is_an_exact_duplicate_and_save_anyway_is_recorded(org):
    existing = make_company(org.manager, legal_name="Первая", inn=INN_ORG)
    client = client_for(org.manager)
    data = _form(legal_name="Совсем другая", inn=INN_ORG)
    response = client.post(reverse("customers:company_create"), data)
    assert response.status_code == 409
    assert _detail(existing) in response.content.decode()
    assert Company.objects.count() == 1
    response = client.post(reverse("customers:company_create"), {**data, "allow_duplicate": "1"})
    assert response.status_code == 302
    created = Company.objects.exclude(pk=existing.pk).get()
    assert TimelineEntry.objects.filter(subject_id=created.pk, kind=EntryKind.SYSTEM).exists()


def test_live_check_finds_a_similar_name_and_tolerates_a_bad_inn(org):
    existing = make_company(org.manager, legal_name="Ромашка", inn=INN_ORG_2)
    url = reverse("customers:company_duplicate_check")
    client = client_for(org.manager)
    response = client.post(url, _form(legal_name="ООО Ромашка", inn="12"))
    assert response.status_code == 200
    assert _detail(existing) in response.content.decode()
    for payload in ({}, {"inn": "x" * 500, "kpp": "<>"}, {"legal_name": "\x00" * 1000}):
        assert client.post(url, payload).status_code == 200


def test_edit_company(org):
    company = make_company(org.manager, legal_name="Старое имя")
    client = client_for(org.manager)
    url = reverse("customers:company_edit", args=[company.pk])
    assert client.get(url).context["form"]["legal_name"].value() == "Старое имя"
    response = client.post(
        url, _form(record_id=str(company.pk), legal_name="Новое имя", owner_id=str(org.manager.pk))
    )
    assert response.status_code == 302
    company.refresh_from_db()
    assert company.legal_name == "Новое имя"


def test_share_company(org):
    company = make_company(org.manager)
    response = client_for(org.manager).post(
        reverse("customers:company_share", args=[company.pk]), {"user_ids": [str(org.outsider.pk)]}
    )
    assert response.status_code == 302
    assert client_for(org.outsider).get(_detail(company)).status_code == 200


def test_share_with_an_unknown_user_is_refused(org):
    company = make_company(org.manager)
    response = client_for(org.manager).post(
        reverse("customers:company_share", args=[company.pk]), {"user_ids": ["987654"]}
    )
    assert response.status_code == 422
    assert not company.shared_with.exists()

"""Companies through the API: requisites, duplicates by ИНН, people and the timeline."""

from __future__ import annotations

import pytest

from crm.api.tests.conftest import ApiClient, token_for
from crm.customers.models import Company
from crm.customers.tests.factories import make_company, make_contact

pytestmark = pytest.mark.django_db

SBER_INN = "7707083893"
SBER_KPP = "773601001"
SBER_OGRN = "1027700132195"


@pytest.fixture
def manager_api(org):
    return ApiClient(token_for(org.manager))


def test_create_returns_the_company_in_full(manager_api, org):
    response = manager_api.post(
        "/companies",
        {
            "legal_name": "Сбербанк России",
            "short_name": "Сбербанк",
            "legal_form": "ПАО",
            "inn": SBER_INN,
            "kpp": SBER_KPP,
            "ogrn": SBER_OGRN,
            "website": "sberbank.ru",
            "industry": "Банки",
            "phones": [{"value": "8 800 555-55-50"}],
            "addresses": [{"kind": "legal", "text": "Москва, ул. Вавилова, 19"}],
            "tags": ["банк"],
        },
    )

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["name"] == "ПАО «Сбербанк»"
    assert (data["inn"], data["kpp"], data["ogrn"]) == (SBER_INN, SBER_KPP, SBER_OGRN)
    assert data["website"] == "https://sberbank.ru"
    assert data["kind"] == "business"
    assert data["phones"][0]["value"] == "+78005555550"
    assert data["owner"]["id"] == org.manager.pk
    assert data["possible_duplicates"] == []


def test_inn_given_as_a_number_is_accepted(manager_api):
    response = manager_api.post("/companies", {"legal_name": "Сбер", "inn": int(SBER_INN)})

    assert response.status_code == 201
    assert response.json()["inn"] == SBER_INN


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"legal_name": "X", "inn": "1234567890"}, "inn"),
        ({"legal_name": "X", "inn": "12345"}, "inn"),
        ({"legal_name": "X", "inn": ["7707083893"]}, "inn"),
        ({"legal_name": "X", "kpp": "abc"}, "kpp"),
        ({"legal_name": "X", "ogrn": "1"}, "ogrn"),
        ({"legal_name": "X", "website": "javascript:alert(1)"}, "website"),
        ({"legal_name": "X", "legal_form": "Рога"}, "legal_form"),
        ({"legal_name": "X", "kind": "private"}, "kind"),
        ({"legal_name": ""}, "legal_name"),
        ({"legal_name": "Я" * 301}, "legal_name"),
        ({"short_name": "Без полного"}, "legal_name"),
    ],
)
def test_bad_input_is_422_naming_the_field(manager_api, body, field):
    response = manager_api.post("/companies", body)

    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert Company.objects.count() == 0


def test_same_inn_is_409_unless_allowed(manager_api, org):
    existing = make_company(org.colleague, legal_name="Сбербанк", inn=SBER_INN)
    body = {"legal_name": "Совсем другое имя", "inn": SBER_INN}

    refused = manager_api.post("/companies", body)
    allowed = manager_api.post("/companies", {**body, "allow_duplicate": True})

    assert refused.status_code == 409
    assert refused.json()["duplicates"][0]["id"] == existing.pk
    assert refused.json()["duplicates"][0]["visible"] is False
    assert allowed.status_code == 201


def test_same_inn_other_kpp_is_a_branch_not_a_conflict(manager_api, org):
    make_company(org.manager, legal_name="Сбербанк", inn=SBER_INN, kpp=SBER_KPP)

    response = manager_api.post(
        "/companies", {"legal_name": "Сбербанк филиал", "inn": SBER_INN, "kpp": "784201001"}
    )

    assert response.status_code == 201
    assert response.json()["possible_duplicates"][0]["exact"] is False


def test_patch_changes_only_the_fields_sent(manager_api, org):
    company = make_company(org.manager, legal_name="Ромашка", industry="Цветы")

    response = manager_api.patch(f"/companies/{company.pk}", {"short_name": "Ромашка-М"})

    assert response.status_code == 200
    assert response.json()["industry"] == "Цветы"
    assert response.json()["short_name"] == "Ромашка-М"


def test_people_lists_the_visible_contacts_of_the_company(org):
    company = make_company(org.manager, legal_name="Вектор")
    work = [{"company_id": company.pk, "position": "Бухгалтер"}]
    mine = make_contact(org.manager, last_name="Андреева", employments=work)
    make_contact(org.admin, last_name="Чужой", employments=work)
    make_contact(org.manager, last_name="Безработный")

    response = ApiClient(token_for(org.manager)).get(f"/companies/{company.pk}/people")

    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["id"] for item in items] == [mine.pk]
    assert items[0]["companies"][0]["position"] == "Бухгалтер"


def test_company_list_filters_and_pagination(org):
    client = ApiClient(token_for(org.manager))
    ids = {make_company(org.manager, legal_name=f"Компания {i}").pk for i in range(7)}
    make_company(org.manager, legal_name="Госорган", kind="government", legal_form="ОГВ")

    seen, cursor = [], None
    while True:
        page = client.get(
            "/companies", limit=3, order="name", **({"cursor": cursor} if cursor else {})
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    government = client.get("/companies", client_type="government").json()["items"]

    assert len(seen) == len(set(seen)) == 8
    assert ids < set(seen)
    assert [item["legal_name"] for item in government] == ["Госорган"]

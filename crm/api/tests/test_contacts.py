"""Contacts through the API: the same rules, duplicates and history as in the UI."""

from __future__ import annotations

import pytest

from crm.activities.choices import EntryKind
from crm.activities.models import TimelineEntry
from crm.api.tests.conftest import ApiClient, token_for
from crm.customers.choices import CustomFieldType
from crm.customers.models import Contact, CustomField
from crm.customers.tests.factories import make_company, make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_api(org):
    return ApiClient(token_for(org.manager))


def test_create_returns_the_contact_in_full(org, manager_api):
    company = make_company(org.manager, legal_name="Вектор")
    body = {
        "last_name": "Петрова",
        "first_name": "Анна",
        "middle_name": "Сергеевна",
        "client_type": "business",
        "birthday": "1990-05-17",
        "source": "website",
        "tags": ["VIP", "vip", "опт"],
        "phones": [{"value": "8 (916) 123-45-67", "label": "mobile"}],
        "emails": [{"value": "Anna@Example.COM"}],
        "messengers": [{"value": "@anna", "messenger": "telegram"}],
        "addresses": [{"kind": "postal", "text": "Москва, Тверская, 1"}],
        "employments": [{"company_id": company.pk, "position": "Директор"}],
        "notes": "Звонить после обеда",
    }

    response = manager_api.post("/contacts", body)

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["full_name"] == "Петрова Анна Сергеевна"
    assert data["phones"] == [
        {"value": "+79161234567", "display": "+7 916 123-45-67", "label": "mobile"}
    ]
    assert data["emails"] == [
        {"value": "anna@example.com", "label": "work", "unsubscribed_at": None}
    ]
    assert data["messengers"][0]["messenger"] == "telegram"
    assert data["addresses"] == [{"kind": "postal", "text": "Москва, Тверская, 1"}]
    assert sorted(data["tags"]) == ["VIP", "опт"]
    assert data["companies"] == [{"id": company.pk, "name": "ООО «Вектор»", "position": "Директор"}]
    assert data["owner"] == {"id": org.manager.pk, "name": str(org.manager)}
    assert data["birthday"] == "1990-05-17"
    assert data["possible_duplicates"] == []
    assert Contact.objects.filter(pk=data["id"], created_by=org.manager).exists()


def test_get_returns_the_same_shape(manager_api, org):
    contact = make_contact(org.manager, phones=[{"value": "+79161234567"}])

    data = manager_api.get(f"/contacts/{contact.pk}").json()

    assert data["id"] == contact.pk
    assert data["phones"][0]["value"] == "+79161234567"
    for key in ("created_at", "updated_at", "custom", "preferences", "notes", "source"):
        assert key in data


def test_exact_duplicate_is_409_with_the_duplicates(manager_api, org):
    existing = make_contact(org.manager, phones=[{"value": "+79161234567"}])

    response = manager_api.post(
        "/contacts", {"first_name": "Ваня", "phones": [{"value": "8 916 123 45 67"}]}
    )

    assert response.status_code == 409
    body = response.json()
    assert body["duplicates"][0]["id"] == existing.pk
    assert body["duplicates"][0]["exact"] is True
    assert body["duplicates"][0]["tier"] == "likely"
    assert body["errors"]["duplicate"]
    assert Contact.objects.count() == 1


def test_a_relative_sharing_the_phone_is_saved_with_a_possible_duplicate(manager_api, org):
    existing = make_contact(
        org.manager, last_name="Петров", first_name="Иван", phones=[{"value": "+79161234567"}]
    )

    response = manager_api.post(
        "/contacts",
        {"last_name": "Петрова", "first_name": "Анна", "phones": [{"value": "+79161234567"}]},
    )

    assert response.status_code == 201
    [duplicate] = response.json()["possible_duplicates"]
    assert (duplicate["id"], duplicate["exact"], duplicate["tier"]) == (
        existing.pk,
        False,
        "possible",
    )
    assert duplicate["reasons"]


def test_exact_duplicate_of_an_invisible_record_hides_its_name(org, manager_api):
    make_contact(org.outsider, first_name="Секрет", phones=[{"value": "+79161234567"}])

    response = manager_api.post(
        "/contacts", {"first_name": "Sekret", "phones": [{"value": "+79161234567"}]}
    )

    assert response.status_code == 409
    duplicate = response.json()["duplicates"][0]
    assert duplicate["visible"] is False
    assert duplicate["name"] == ""


def test_allow_duplicate_saves_and_records_it_on_the_timeline(manager_api, org):
    existing = make_contact(org.manager, phones=[{"value": "+79161234567"}])

    response = manager_api.post(
        "/contacts",
        {"first_name": "Ваня", "phones": [{"value": "+79161234567"}], "allow_duplicate": True},
    )

    assert response.status_code == 201
    new_id = response.json()["id"]
    assert [d["id"] for d in response.json()["possible_duplicates"]] == [existing.pk]
    system = TimelineEntry.objects.filter(subject_id=new_id, kind=EntryKind.SYSTEM).get()
    assert system.data["duplicates"][0]["id"] == existing.pk


def test_near_duplicate_saves_and_lists_possible_duplicates(manager_api, org):
    existing = make_contact(org.manager, last_name="Семёнов", first_name="Пётр")

    response = manager_api.post("/contacts", {"last_name": "Семенов", "first_name": "Петр"})

    assert response.status_code == 201
    possible = response.json()["possible_duplicates"]
    assert [d["id"] for d in possible] == [existing.pk]
    assert possible[0]["exact"] is False
    assert response.json()["id"] not in [d["id"] for d in possible]


def test_patch_changes_only_the_fields_sent(manager_api, org):
    contact = make_contact(
        org.manager, notes="старое", phones=[{"value": "+79161234567"}], emails=["a@example.com"]
    )

    response = manager_api.patch(f"/contacts/{contact.pk}", {"middle_name": "Ильич"})

    assert response.status_code == 200
    data = response.json()
    assert data["middle_name"] == "Ильич"
    assert data["notes"] == "старое"
    assert data["phones"][0]["value"] == "+79161234567"
    assert data["emails"][0]["value"] == "a@example.com"


def test_patch_of_phones_keeps_emails_and_goes_on_the_timeline(manager_api, org):
    contact = make_contact(org.manager, phones=["+79161234567"], emails=["a@example.com"])

    data = manager_api.patch(f"/contacts/{contact.pk}", {"phones": [{"value": "+79160000000"}]})

    assert [p["value"] for p in data.json()["phones"]] == ["+79160000000"]
    assert [e["value"] for e in data.json()["emails"]] == ["a@example.com"]
    change = TimelineEntry.objects.filter(subject_id=contact.pk, kind=EntryKind.FIELD_CHANGE).get()
    assert change.data["changes"][0]["field"] == "phones"


def test_patch_to_an_exact_duplicate_is_409_unless_allowed(manager_api, org):
    make_contact(org.manager, first_name="Первый", phones=["+79161234567"])
    second = make_contact(org.manager, first_name="Первый", phones=["+79160000000"])
    body = {"phones": [{"value": "+79161234567"}]}

    assert manager_api.patch(f"/contacts/{second.pk}", body).status_code == 409
    body["allow_duplicate"] = True
    assert manager_api.patch(f"/contacts/{second.pk}", body).status_code == 200


def test_share_sets_who_else_sees_the_contact(manager_api, org):
    contact = make_contact(org.manager)

    response = manager_api.post(f"/contacts/{contact.pk}/share", {"user_ids": [org.outsider.pk]})

    assert response.status_code == 200
    assert response.json()["shared_with"] == [{"id": org.outsider.pk, "name": str(org.outsider)}]
    assert ApiClient(token_for(org.outsider)).get(f"/contacts/{contact.pk}").status_code == 200


def test_share_with_an_unknown_user_is_422(manager_api, org):
    contact = make_contact(org.manager)

    response = manager_api.post(f"/contacts/{contact.pk}/share", {"user_ids": [987654]})

    assert response.status_code == 422
    assert "shared_with" in response.json()["errors"]


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_name": "А", "phones": [{"value": "12"}]}, "phones[0]"),
        ({"first_name": "А", "phones": [{"value": "+79161234567"}, {"value": "abc"}]}, "phones[1]"),
        ({"first_name": "А", "emails": [{"value": "not-an-email"}]}, "emails[0]"),
        ({"first_name": "А", "phones": [{"value": 79161234567}]}, "phones[0].value"),
        ({"first_name": "А", "birthday": "17.05.1990"}, "birthday"),
        ({"first_name": "А", "client_type": "alien"}, "client_type"),
        ({"first_name": "А", "source": "tv"}, "source"),
        ({"first_name": "А", "owner_id": 0}, "owner_id"),
        ({"first_name": "А", "owner_id": 987654}, "owner_id"),
        ({"first_name": "А", "custom": {"nope": 1}}, "custom.nope"),
        ({"first_name": "А", "employments": [{"company_id": 987654}]}, "employments"),
        ({"first_name": "А", "employments": [{"company_id": -1}]}, "employments[0].company_id"),
        ({"first_name": "А", "unknown_field": 1}, "unknown_field"),
        ({"first_name": None}, "first_name"),
        ({}, "first_name"),
        ({"first_name": "А" * 151}, "first_name"),
        ({"first_name": "А" * 100_000}, "first_name"),
        ({"first_name": "А", "last_name": ["Иванов"]}, "last_name"),
        ({"first_name": "А", "phones": [{"value": "+7916"}] * 51}, "phones"),
        ({"first_name": "А", "tags": ["x" * 51]}, "tags[0]"),
    ],
)
def test_bad_input_is_422_naming_the_field(manager_api, body, field):
    response = manager_api.post("/contacts", body)

    assert response.status_code == 422, response.content
    assert field in response.json()["errors"], response.json()
    assert Contact.objects.count() == 0


def test_custom_fields_follow_their_definitions(manager_api):
    CustomField.objects.create(
        entity="contact", key="budget", label="Бюджет", field_type=CustomFieldType.NUMBER
    )

    bad = manager_api.post("/contacts", {"first_name": "А", "custom": {"budget": "много"}})
    good = manager_api.post("/contacts", {"first_name": "А", "custom": {"budget": "12 500"}})

    assert bad.status_code == 422
    assert "custom.budget" in bad.json()["errors"]
    assert good.status_code == 201
    assert good.json()["custom"] == {"budget": 12500}


def test_html_in_names_is_returned_verbatim_as_data(manager_api):
    name = '<script>alert("x")</script><b>Жирный</b>'

    response = manager_api.post("/contacts", {"first_name": name})

    assert response.status_code == 201
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["first_name"] == name
    assert manager_api.get(f"/contacts/{response.json()['id']}").json()["first_name"] == name


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("Ёлкин", "Ёлкин"),
        ("Е\u0308лкин", "Ёлкин"),  # decomposed ё is normalised (NFC)
        ("Zoë 👩‍💻", "Zoë 👩‍💻"),
        ("  Анна \t Мария  ", "Анна Мария"),
        ("Ан\x07на\x1b", "Анна"),  # control characters are dropped
        ("عربي", "عربي"),
    ],
)
def test_odd_unicode_is_normalised_like_the_ui(manager_api, sent, stored):
    response = manager_api.post("/contacts", {"first_name": sent})

    assert response.status_code == 201
    assert response.json()["first_name"] == stored


def test_answers_are_utf8_json_not_escaped(manager_api):
    response = manager_api.post("/contacts", {"first_name": "Анна"})

    assert "Анна".encode() in response.content


# --- lists ----------------------------------------------------------------------------------


def test_cursor_pagination_walks_every_row_once(org):
    client = ApiClient(token_for(org.manager))
    expected = {make_contact(org.manager, first_name=f"Имя{i:02}").pk for i in range(23)}
    for order in ("new", "name"):
        seen: list[int] = []
        cursor = None
        pages = 0
        while True:
            params = {"limit": 5, "order": order}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/contacts", **params).json()
            seen += [item["id"] for item in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 23, order
        assert set(seen) == expected
        assert pages == 5


def test_order_by_name(org):
    client = ApiClient(token_for(org.manager))
    for last in ("Яковлев", "Андреев", "Морозов"):
        make_contact(org.manager, last_name=last, first_name="Иван")

    items = client.get("/contacts", order="name").json()["items"]

    assert [item["last_name"] for item in items] == ["Андреев", "Морозов", "Яковлев"]


def test_list_filters(org):
    client = ApiClient(token_for(org.head))
    company = make_company(org.manager, legal_name="Вектор")
    vip = make_contact(
        org.manager,
        last_name="Смирнова",
        tags=["VIP"],
        source="website",
        client_type="business",
        employments=[{"company_id": company.pk, "position": ""}],
        phones=["+79161234567"],
        emails=["smirnova@example.com"],
    )
    other = make_contact(org.colleague, last_name="Кузнецов", source="referral")

    def ids(**params):
        response = client.get("/contacts", **params)
        assert response.status_code == 200, response.content
        return {item["id"] for item in response.json()["items"]}

    assert ids() == {vip.pk, other.pk}
    assert ids(q="Смирн") == {vip.pk}
    assert ids(q="4567") == {vip.pk}
    assert ids(q="smirnova@") == {vip.pk}
    assert ids(owner_id=org.colleague.pk) == {other.pk}
    assert ids(client_type="business") == {vip.pk}
    assert ids(tag="vip") == {vip.pk}
    assert ids(source="referral") == {other.pk}
    assert ids(company_id=company.pk) == {vip.pk}
    assert ids(q="нет-такого") == set()


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"limit": "много"},
        {"cursor": "%%%"},
        {"cursor": "WyJ4IiwxXQ"},  # ["x", 1]: not a date where one belongs
        {"cursor": "W251bGwsbnVsbF0"},  # [null, null]
        {"cursor": "eyJhIjoxfQ"},  # {"a": 1}
        {"order": "random"},
        {"owner_id": -1},
        {"company_id": 10**30},
    ],
)
def test_bad_list_parameters_are_422(org, manager_api, params):
    make_contact(org.manager)

    response = manager_api.get("/contacts", **params)

    assert response.status_code == 422
    assert set(params) & set(response.json()["errors"])

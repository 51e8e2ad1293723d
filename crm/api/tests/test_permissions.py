"""The permission matrix of every customer endpoint: the API sees what the UI sees.

Team A: ``head`` leads ``manager``, ``colleague`` and the read-only ``viewer``; team B has
``outsider``. A record the caller may not see answers 404, a change the caller's role may
not make answers 403.
"""

from __future__ import annotations

import pytest

from crm.api.tests.conftest import ApiClient, token_for
from crm.customers.services import customer_share
from crm.customers.tests.factories import make_company, make_contact

pytestmark = pytest.mark.django_db

OWNERS = ("manager", "colleague", "outsider")

# (actor, owner of the record) → may read?, may write?
VISIBLE = {
    ("admin", "manager"): (True, True),
    ("admin", "colleague"): (True, True),
    ("admin", "outsider"): (True, True),
    ("head", "manager"): (True, True),
    ("head", "colleague"): (True, True),
    ("head", "outsider"): (False, False),
    ("manager", "manager"): (True, True),
    ("manager", "colleague"): (False, False),
    ("manager", "outsider"): (False, False),
    ("viewer", "manager"): (True, False),
    ("viewer", "colleague"): (True, False),
    ("viewer", "outsider"): (False, False),
    ("outsider", "outsider"): (True, True),
    ("outsider", "manager"): (False, False),
}


def _records(org, entity):
    make = make_contact if entity == "contacts" else make_company
    records = {}
    for index, owner in enumerate(OWNERS):
        user = getattr(org, owner)
        if entity == "contacts":
            records[owner] = make(user, first_name=f"Имя{index}", last_name=f"Фамилия{index}")
        else:
            records[owner] = make(user, legal_name=f"Компания {index}")
    return records


def _read_calls(entity, pk):
    calls = [("GET", f"/{entity}/{pk}", None), ("GET", f"/{entity}/{pk}/timeline", None)]
    if entity == "companies":
        calls.append(("GET", f"/{entity}/{pk}/people", None))
    return calls


def _write_calls(entity, pk, org):
    change = {"notes": "изменено"}
    return [
        ("PATCH", f"/{entity}/{pk}", change),
        ("POST", f"/{entity}/{pk}/share", {"user_ids": [org.admin.pk]}),
        ("POST", f"/{entity}/{pk}/timeline", {"kind": "note", "body": "Позвонить"}),
    ]


@pytest.mark.parametrize("entity", ["contacts", "companies"])
@pytest.mark.parametrize(("actor", "owner"), sorted(VISIBLE))
def test_permission_matrix(org, entity, actor, owner):
    record = _records(org, entity)[owner]
    may_read, may_write = VISIBLE[(actor, owner)]
    client = ApiClient(token_for(getattr(org, actor)))

    for method, path, body in _read_calls(entity, record.pk):
        response = client.request(method, path, body)
        assert response.status_code == (200 if may_read else 404), (method, path)

    expected_write = 404 if not may_read else (200 if may_write else 403)
    for method, path, body in _write_calls(entity, record.pk, org):
        response = client.request(method, path, body)
        expected = 201 if expected_write == 200 and path.endswith("/timeline") else expected_write
        assert response.status_code == expected, (method, path, response.content)
        assert set(response.json()) >= ({"detail", "errors"} if expected >= 400 else set())


@pytest.mark.parametrize("entity", ["contacts", "companies"])
def test_lists_hold_only_visible_records(org, entity):
    records = _records(org, entity)
    expected = {
        "admin": set(OWNERS),
        "head": {"manager", "colleague"},
        "manager": {"manager"},
        "viewer": {"manager", "colleague"},
        "outsider": {"outsider"},
    }
    for actor, owners in expected.items():
        response = ApiClient(token_for(getattr(org, actor))).get(f"/{entity}")
        ids = {item["id"] for item in response.json()["items"]}
        assert ids == {records[owner].pk for owner in owners}, actor


@pytest.mark.parametrize(
    ("actor", "status"),
    [("admin", 201), ("head", 201), ("manager", 201), ("outsider", 201), ("viewer", 403)],
)
@pytest.mark.parametrize("entity", ["contacts", "companies"])
def test_create_by_role(org, actor, status, entity):
    body = {"first_name": "Новый"} if entity == "contacts" else {"legal_name": "Новая"}

    response = ApiClient(token_for(getattr(org, actor))).post(f"/{entity}", body)

    assert response.status_code == status


def test_viewer_refused_write_changes_nothing(org):
    contact = make_contact(org.manager, notes="было")

    ApiClient(token_for(org.viewer)).patch(f"/contacts/{contact.pk}", {"notes": "стало"})

    contact.refresh_from_db()
    assert contact.notes == "было"


def test_a_record_shared_with_a_manager_is_visible_and_editable(org):
    contact = make_contact(org.colleague)
    customer_share(actor=org.colleague, record=contact, user_ids=[org.manager.pk])
    client = ApiClient(token_for(org.manager))

    assert client.get(f"/contacts/{contact.pk}").status_code == 200
    assert client.patch(f"/contacts/{contact.pk}", {"notes": "общий"}).status_code == 200


@pytest.mark.parametrize("actor", ["admin", "head", "manager", "viewer", "outsider"])
def test_everyone_signed_in_reads_custom_fields_and_users(org, actor):
    client = ApiClient(token_for(getattr(org, actor)))

    assert client.get("/custom-fields").status_code == 200
    assert client.get("/users").status_code == 200
    assert client.get(f"/users/{org.admin.pk}").status_code == 200
    assert client.get("/users/me").status_code == 200


def test_missing_records_are_404(org):
    client = ApiClient(token_for(org.admin))

    for path in ("/contacts/999999", "/companies/999999", "/users/999999"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["detail"]

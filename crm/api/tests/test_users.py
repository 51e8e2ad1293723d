"""The user directory: read-only, colleagues' basic information."""

from __future__ import annotations

import pytest

from crm.accounts.services import user_deactivate
from crm.api.tests.conftest import ApiClient, token_for

pytestmark = pytest.mark.django_db


def test_list_shows_active_users_with_role_and_teams(org):
    user_deactivate(actor=org.admin, user=org.colleague)

    response = ApiClient(token_for(org.manager)).get("/users", limit=200)

    assert response.status_code == 200
    by_name = {item["username"]: item for item in response.json()["items"]}
    assert "colleague" not in by_name
    assert by_name["head"]["role"] == "head"
    assert by_name["head"]["teams"] == [{"id": org.head.teams.get().pk, "name": "Москва"}]
    assert by_name["head"]["full_name"] == org.head.get_full_name()
    assert set(by_name["head"]) == {
        "id",
        "username",
        "first_name",
        "last_name",
        "full_name",
        "role",
        "position",
        "teams",
        "is_active",
    }


def test_an_administrator_also_sees_deactivated_users(org):
    user_deactivate(actor=org.admin, user=org.colleague)
    client = ApiClient(token_for(org.admin))

    names = {item["username"] for item in client.get("/users", limit=200).json()["items"]}

    assert "colleague" in names
    assert client.get(f"/users/{org.colleague.pk}").json()["is_active"] is False


def test_a_deactivated_user_is_404_for_colleagues(org):
    user_deactivate(actor=org.admin, user=org.colleague)

    response = ApiClient(token_for(org.manager)).get(f"/users/{org.colleague.pk}")

    assert response.status_code == 404


def test_me(org):
    data = ApiClient(token_for(org.viewer)).get("/users/me").json()

    assert (data["id"], data["role"]) == (org.viewer.pk, "readonly")


def test_search_and_pages(org):
    client = ApiClient(token_for(org.manager))

    found = client.get("/users", q="outsid").json()["items"]
    seen, cursor = [], None
    while True:
        page = client.get("/users", limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert [item["username"] for item in found] == ["outsider"]
    assert len(seen) == len(set(seen)) == 6


def test_users_are_read_only(org):
    client = ApiClient(token_for(org.admin))

    assert client.post("/users", {"username": "x"}).status_code == 405
    assert client.patch(f"/users/{org.manager.pk}", {"role": "admin"}).status_code == 405

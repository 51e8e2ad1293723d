"""The REST API of segments and consent: CRUD, counts, recipients, 422 naming the spec's
keys, 404 for what one may not see, and the consent fields on contacts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.api.tests.conftest import ApiClient, token_for
from crm.customers.models import ContactPoint
from crm.mailings.models import Segment
from crm.mailings.services import segment_create
from crm.mailings.tests.conftest import contact_with


def api(user) -> ApiClient:
    return ApiClient(token_for(user) if user is not None else None)


def test_create_read_change_delete(org, people):
    client = api(org.manager)
    created = client.post("/segments", {"name": "С почтой", "spec": {"has_email": True}})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["spec"] == {"has_email": True} and body["is_shared"] is False
    segment_id = body["id"]
    assert client.get(f"/segments/{segment_id}").json()["name"] == "С почтой"
    assert [s["id"] for s in client.get("/segments").json()] == [segment_id]
    assert client.get(f"/segments/{segment_id}/count").json() == {"total": 1, "recipients": 1}
    changed = client.patch(f"/segments/{segment_id}", {"spec": {"has_email": False}})
    assert changed.status_code == 200 and changed.json()["spec"] == {"has_email": False}
    assert client.get(f"/segments/{segment_id}/count").json() == {"total": 0, "recipients": 0}
    assert client.request("DELETE", f"/segments/{segment_id}").status_code == 204
    assert not Segment.objects.exists()


def test_unknown_and_malformed_filters_answer_422_naming_them(org):
    response = api(org.manager).post(
        "/segments", {"name": "x", "spec": {"colour": "red", "no_touch_days": "5", "tags": "VIP"}}
    )
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"spec.colour", "spec.no_touch_days", "spec.tags"}
    assert not Segment.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "spec": "nope"},
        {"name": 5},
        {"name": "x", "extra": 1},
        {"name": "x", "is_shared": "yes"},
        {"name": "", "spec": {}},
        {"name": "x" * 201},
    ],
)
def test_malformed_bodies_are_4xx(org, body):
    response = api(org.manager).post("/segments", body)
    assert 400 <= response.status_code < 500
    assert not Segment.objects.exists()


def test_count_of_an_unsaved_spec(org, people):
    client = api(org.admin)
    assert client.post("/segments/count", {"spec": {}}).json() == {"total": 5, "recipients": 5}
    bad = client.post("/segments/count", {"spec": {"has_email": "yes"}})
    assert bad.status_code == 422 and "spec.has_email" in bad.json()["errors"]


def test_a_shared_segment_counts_each_callers_scope(org, people):
    shared = segment_create(actor=org.admin, name="Все", spec={}, is_shared=True)
    counts = {
        who: api(getattr(org, who)).get(f"/segments/{shared.pk}/count").json()["recipients"]
        for who in ("admin", "head", "manager", "outsider", "viewer")
    }
    assert counts == {"admin": 5, "head": 3, "manager": 1, "outsider": 1, "viewer": 3}


@pytest.mark.parametrize(
    ("who", "read", "change"),
    [
        (None, 401, 401),
        ("viewer", 200, 403),
        ("manager", 200, 403),
        ("outsider", 200, 403),
        ("head", 200, 200),
        ("admin", 200, 200),
    ],
)
def test_permission_matrix_of_a_shared_segment(org, who, read, change):
    shared = segment_create(actor=org.admin, name="Все", spec={}, is_shared=True)
    client = api(getattr(org, who) if who else None)
    assert client.get(f"/segments/{shared.pk}").status_code == read
    assert client.patch(f"/segments/{shared.pk}", {"name": "Новое"}).status_code == change
    shared.refresh_from_db()
    assert shared.name == ("Новое" if change == 200 else "Все")


@pytest.mark.parametrize("who", ["colleague", "head", "admin", "outsider"])
def test_a_personal_segment_is_the_authors_alone(org, who):
    mine = segment_create(actor=org.manager, name="Моё", spec={})
    client = api(getattr(org, who))
    assert client.get(f"/segments/{mine.pk}").status_code == 404
    assert client.get(f"/segments/{mine.pk}/count").status_code == 404
    assert client.patch(f"/segments/{mine.pk}", {"name": "Чужое"}).status_code == 404
    assert client.request("DELETE", f"/segments/{mine.pk}").status_code == 404
    assert Segment.objects.get(pk=mine.pk).name == "Моё"


def test_only_heads_and_admins_share(org):
    assert api(org.manager).post("/segments", {"name": "x", "is_shared": True}).status_code == 422
    assert api(org.head).post("/segments", {"name": "x", "is_shared": True}).status_code == 201
    assert api(org.viewer).post("/segments", {"name": "y"}).status_code == 403


def test_recipients_page_and_its_query_count(org):
    segment = segment_create(actor=org.manager, name="Все", spec={})
    contact_with(org.manager, last_name="Один")
    client = api(org.manager)
    client.get(f"/segments/{segment.pk}/recipients")
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(f"/segments/{segment.pk}/recipients").json()["items"]) == 1
    for index in range(5):
        contact_with(org.manager, last_name=f"Много{index}")
    with CaptureQueriesContext(connection) as many:
        page = client.get(f"/segments/{segment.pk}/recipients", limit=3).json()
    assert len(page["items"]) == 3 and page["next_cursor"]
    assert len(many) == len(one)
    rest = client.get(f"/segments/{segment.pk}/recipients", cursor=page["next_cursor"]).json()
    assert len(rest["items"]) == 3 and rest["next_cursor"] is None
    assert client.get(f"/segments/{segment.pk}/recipients", cursor="bogus").status_code == 422


def test_consent_through_the_api(org):
    contact = contact_with(
        org.manager, "ivan@example.com", emails=["ivan@example.com", "b@example.com"]
    )
    client = api(org.manager)
    response = client.request(
        "PUT",
        f"/contacts/{contact.pk}/consent",
        {
            "consent_at": "2026-03-01T10:00:00+03:00",
            "consent_source": "api",
            "unsubscribed_emails": ["B@example.com"],
        },
    )
    assert response.status_code == 200, response.json()
    assert response.json()["consent_source"] == "api"
    assert response.json()["unsubscribed_emails"] == ["b@example.com"]
    shown = client.get(f"/contacts/{contact.pk}").json()
    assert shown["consent_source"] == "api" and shown["consent_at"].startswith("2026-03-01")
    assert [e["unsubscribed_at"] is not None for e in shown["emails"]] == [False, True]
    assert client.get(f"/contacts/{contact.pk}/consent").json()["consent_source"] == "api"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"consent_at": "2026-03-01T10:00:00Z", "consent_source": "moon"}, "consent_source"),
        ({"consent_at": 1700000000, "consent_source": "api"}, "consent_at"),
        ({"consent_at": None, "unsubscribed_emails": ["someone@else.ru"]}, "unsubscribed_emails"),
        ({"consent_at": None, "unsubscribed_emails": "x"}, "unsubscribed_emails"),
    ],
)
def test_bad_consent_is_422_naming_the_field_and_changes_nothing(org, body, field):
    contact = contact_with(org.manager, "ivan@example.com")
    response = api(org.manager).request("PUT", f"/contacts/{contact.pk}/consent", body)
    assert response.status_code == 422
    assert any(field in key for key in response.json()["errors"])
    contact.refresh_from_db()
    assert contact.consent_at is None
    assert not ContactPoint.objects.filter(unsubscribed_at__isnull=False).exists()


def test_consent_of_an_invisible_contact_is_404(org):
    contact = contact_with(org.manager, "ivan@example.com")
    client = api(org.outsider)
    assert client.get(f"/contacts/{contact.pk}/consent").status_code == 404
    body = {"consent_at": None}
    assert client.request("PUT", f"/contacts/{contact.pk}/consent", body).status_code == 404
    assert (
        api(org.viewer).request("PUT", f"/contacts/{contact.pk}/consent", body).status_code == 403
    )


def test_the_segment_list_costs_the_same_for_one_and_many(org):
    client = api(org.manager)
    segment_create(actor=org.manager, name="Первый", spec={})
    client.get("/segments")
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/segments").json()) == 1
    for index in range(5):
        segment_create(actor=org.head, name=f"Общий {index}", spec={}, is_shared=True)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/segments").json()) == 6
    assert len(many) == len(one)


def test_a_deeply_nested_or_huge_spec_is_refused_without_a_500(org):
    nested: dict = {}
    cursor = nested
    for _ in range(200):
        cursor["custom"] = {}
        cursor = cursor["custom"]
    response = api(org.manager).post("/segments", {"name": "x", "spec": nested})
    assert 400 <= response.status_code < 500
    response = api(org.manager).post("/segments", {"name": "x", "spec": {"q": "я" * 100_000}})
    assert 400 <= response.status_code < 500
    assert not Segment.objects.exists()

"""The leads API: intake with an idempotency key, list, detail, status, assign, convert."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.accounts.models import Team
from crm.api.tests.conftest import ApiClient, token_for
from crm.leads.models import Inbound, Lead, RoutingRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def routed(org):
    RoutingRule.objects.update(
        team=Team.objects.get(name="Москва"), strategy="fixed_user", fixed_user=org.manager
    )


def client(user, key=None):
    api = ApiClient(token_for(user) if user else None)
    if key:
        api.headers["Idempotency-Key"] = key
    return api


def submit(user, body, key=None, capture=None):
    if capture is None:
        return client(user, key).post("/leads", body)
    with capture(execute=True):
        return client(user, key).post("/leads", body)


def test_submit_is_idempotent_with_a_key(org, routed, django_capture_on_commit_callbacks):
    body = {"name": "Анна", "phone": "+79123456789"}
    first = submit(org.admin, body, key="k-1", capture=django_capture_on_commit_callbacks)
    assert first.status_code == 202
    again = submit(org.admin, body, key="k-1", capture=django_capture_on_commit_callbacks)
    assert again.status_code == 202 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    other = submit(
        org.admin,
        {"name": "Другая", "phone": "+79990000000"},
        key="k-1",
        capture=django_capture_on_commit_callbacks,
    )
    assert other.status_code == 409
    # Another user's system retrying with the same key gets the first request's result.
    by_head = submit(org.head, body, key="k-1", capture=django_capture_on_commit_callbacks)
    assert by_head.status_code == 200
    assert by_head.json()["request_id"] == first.json()["request_id"]
    assert Inbound.objects.count() == 1 and Lead.objects.count() == 1
    lead = by_head.json()["lead"]
    assert lead["phone"] == "+79123456789" and lead["owner"]["id"] == org.manager.pk


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "x"}, "phone"),
        ({"phone": "abc"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "+79123456789", "client_type": "alien"}, "client_type"),
        ({"phone": "+79123456789", "unknown": 1}, "unknown"),
        ({"phone": "+79123456789", "name": "x" * 300}, "name"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(org, body, field):
    response = submit(org.admin, body)
    assert response.status_code in (400, 422)
    assert any(field in key for key in response.json()["errors"]), response.json()
    assert not Inbound.objects.exists()


def test_malformed_json_and_auth(org):
    api = client(org.admin)
    response = api.client.post(
        "/api/v1/leads", "{oops", content_type="application/json", headers=api.headers
    )
    assert response.status_code == 400
    assert client(None).post("/leads", {"phone": "+79123456789"}).status_code == 401
    assert client(org.viewer).post("/leads", {"phone": "+79123456789"}).status_code == 403


def test_list_detail_and_scope(org, routed, django_capture_on_commit_callbacks):
    submit(org.admin, {"phone": "+79123456789"}, capture=django_capture_on_commit_callbacks)
    lead_id = Lead.objects.get().pk
    assert [row["id"] for row in client(org.manager).get("/leads").json()["items"]] == [lead_id]
    assert client(org.colleague).get("/leads").json()["items"] == []
    assert client(org.colleague).get(f"/leads/{lead_id}").status_code == 404
    assert client(org.manager).get(f"/leads/{lead_id}").json()["status"] == "new"


def test_list_query_count_is_constant(org, routed, django_capture_on_commit_callbacks):
    submit(org.admin, {"phone": "+79123450000"}, capture=django_capture_on_commit_callbacks)
    api = client(org.manager)
    with CaptureQueriesContext(connection) as one:
        api.get("/leads")
    for index in range(1, 15):
        submit(
            org.admin,
            {"phone": f"+791234500{index:02d}", "company": f"Фирма {index}"},
            capture=django_capture_on_commit_callbacks,
        )
    with CaptureQueriesContext(connection) as many:
        assert len(api.get("/leads").json()["items"]) == 15
    assert len(many) == len(one)


def test_status_assign_convert(org, routed, django_capture_on_commit_callbacks):
    submit(
        org.admin,
        {"name": "Сидоров Иван", "phone": "+79123456789"},
        capture=django_capture_on_commit_callbacks,
    )
    lead_id = Lead.objects.get().pk
    api = client(org.manager)
    bad = api.post(f"/leads/{lead_id}/status", {"status": "lost"})
    assert bad.status_code == 422 and "reason" in bad.json()["errors"]
    assert api.post(f"/leads/{lead_id}/status", {"status": "in_progress"}).json()["responded_at"]
    refused = api.post(f"/leads/{lead_id}/assign", {"owner_id": org.colleague.pk})
    assert refused.status_code == 422 and "owner_id" in refused.json()["errors"]
    assert (
        client(org.head)
        .post(f"/leads/{lead_id}/assign", {"owner_id": org.colleague.pk})
        .status_code
        == 200
    )
    assert (
        client(org.colleague).post(f"/leads/{lead_id}/convert", {}).json()["status"] == "converted"
    )
    lead = Lead.objects.get()
    assert lead.deal.owner == org.colleague and lead.contact.last_name == "Сидоров"
    assert client(org.colleague).get(f"/leads/{lead_id}").json()["deal_id"] == lead.deal_id

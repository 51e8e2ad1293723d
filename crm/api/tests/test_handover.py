"""The handover API: preview, start, poll; bad input names the field."""

from __future__ import annotations

import pytest

from crm.api.tests.conftest import ApiClient, token_for
from crm.customers.models import Contact
from crm.customers.tests.factories import make_contact
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _progress_cache(settings, tmp_path):
    settings.CACHES = {
        **settings.CACHES,
        "progress": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"progress-{tmp_path.name}",
        },
    }


def test_preview_start_and_poll(org, django_capture_on_commit_callbacks):
    contact = make_contact(org.manager)
    make_deal(org.manager, contact=contact)
    client = ApiClient(token_for(org.head))

    preview = client.get("/handovers/preview", from_user=org.manager.pk)
    assert preview.status_code == 200
    assert preview.json()["counts"]["contact"] == 1
    assert preview.json()["counts"]["deal"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            "/handovers", {"from_user": org.manager.pk, "to_user": org.colleague.pk}
        )
    assert started.status_code == 202, started.json()
    assert started.json()["receivers"] == [org.colleague.pk]

    status = client.get(f"/handovers/{started.json()['id']}")
    assert status.status_code == 200
    assert status.json()["status"] == "done"
    assert status.json()["counts"]["contact"] == 1
    assert status.json()["counts"]["deal"] == 1
    assert Contact.objects.get(pk=contact.pk).owner_id == org.colleague.pk


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to_user": "colleague"}, "from_user"),
        ({"from_user": "outsider", "to_user": "colleague"}, "from_user"),
        ({"from_user": "manager", "to_user": "outsider"}, "to_user"),
        ({"from_user": "manager"}, "to_user"),
        ({"from_user": "manager", "team": 999999}, "team"),
        ({"from_user": "manager", "to_user": "colleague", "deactivate": True}, "deactivate"),
        (
            {"from_user": "manager", "to_user": "colleague", "include_closed": "yes"},
            "include_closed",
        ),
    ],
)
def test_bad_input_names_the_field(org, body, field):
    resolved = {
        key: getattr(org, value).pk if key in ("from_user", "to_user") else value
        for key, value in body.items()
    }
    response = ApiClient(token_for(org.head)).post("/handovers", resolved)
    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_a_manager_may_not_hand_over(org):
    client = ApiClient(token_for(org.manager))
    assert client.get("/handovers/preview", from_user=org.colleague.pk).status_code == 403
    response = client.post("/handovers", {"from_user": org.colleague.pk, "to_user": org.head.pk})
    assert response.status_code == 403


def test_another_heads_handover_is_not_found(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        started = ApiClient(token_for(org.admin)).post(
            "/handovers", {"from_user": org.outsider.pk, "to_user": org.admin.pk}
        )
    assert started.status_code == 202, started.json()
    assert (
        ApiClient(token_for(org.head)).get(f"/handovers/{started.json()['id']}").status_code == 404
    )


def test_in_the_schema(org):
    schema = ApiClient(token_for(org.admin)).get("/openapi.json").json()
    assert {
        "/api/v1/handovers",
        "/api/v1/handovers/preview",
        "/api/v1/handovers/{handover_id}",
    } <= set(schema["paths"])

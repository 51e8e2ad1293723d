"""The REST API of mailings: write, start (with the confirmation), pause, resume, cancel,
the report and its lists; 403 for a role without the permission, 404 for what one does not
see, 422 naming the field."""

from __future__ import annotations

import pytest

from crm.api.tests.conftest import ApiClient, token_for
from crm.mailings.models import Mailing, MailingRecipient
from crm.mailings.tests.conftest import contact_with, draft, mail_template, segment_of, send_all

pytestmark = pytest.mark.django_db


def api(user) -> ApiClient:
    return ApiClient(token_for(user) if user is not None else None)


def test_write_start_and_read_the_report(org, smtp_server, settings):
    settings.CRM_MAILING_CONFIRM_OVER = 2
    for n in range(3):
        contact_with(org.head, f"r{n}@example.com")
    segment = segment_of(org.head)
    client = api(org.head)
    created = client.post(
        "/mailings",
        {"name": "Весна", "segment_id": segment.pk, "template_id": mail_template().pk},
    )
    assert created.status_code == 201, created.json()
    mailing_id = created.json()["id"]
    assert created.json()["state"] == "draft"
    assert created.json()["rate_per_minute"] == settings.CRM_MAILING_RATE_PER_MINUTE

    refused = client.post(f"/mailings/{mailing_id}/start", {})
    assert refused.status_code == 422 and "confirm" in refused.json()["errors"]
    assert "3" in refused.json()["errors"]["confirm"][0]
    assert not MailingRecipient.objects.exists()  # nothing half-applied

    started = client.post(f"/mailings/{mailing_id}/start", {"confirm": True})
    assert started.status_code == 200 and started.json()["state"] == "sending"
    assert started.json()["total"] == 3
    send_all(Mailing.objects.get())

    report = client.get(f"/mailings/{mailing_id}/report").json()
    assert report["sent"] == report["delivered"] == 3 and report["queued"] == 0
    page = client.get(f"/mailings/{mailing_id}/recipients?figure=sent&limit=2").json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(
        f"/mailings/{mailing_id}/recipients?figure=sent&limit=2&cursor={page['next_cursor']}"
    ).json()
    addresses = [item["address"] for item in page["items"] + rest["items"]]
    assert sorted(addresses) == ["r0@example.com", "r1@example.com", "r2@example.com"]
    assert client.get(f"/mailings/{mailing_id}/recipients?figure=nope").status_code == 422
    assert [m["id"] for m in client.get("/mailings").json()] == [mailing_id]
    assert client.post(f"/mailings/{mailing_id}/pause").status_code == 409  # done


def test_pause_resume_cancel(org):
    contact_with(org.head, "a@example.com")
    mailing = draft(org.head)
    client = api(org.head)
    assert client.post(f"/mailings/{mailing.pk}/pause").status_code == 409  # a draft
    assert client.post(f"/mailings/{mailing.pk}/start", {}).status_code == 200
    assert client.post(f"/mailings/{mailing.pk}/pause").json()["state"] == "paused"
    assert client.post(f"/mailings/{mailing.pk}/resume").json()["state"] == "sending"
    assert client.post(f"/mailings/{mailing.pk}/cancel").json()["state"] == "cancelled"
    assert MailingRecipient.objects.get().reason == "cancelled"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x", "template_id": 999999}, "template_id"),
        ({"name": "x", "rate_per_minute": 0}, "rate_per_minute"),
        ({"name": "x", "sender": "own"}, "sender"),
        ({"name": "x", "send_at": "2001-01-01T00:00:00+03:00"}, "send_at"),
    ],
)
def test_bad_input_answers_4xx_naming_the_field(org, body, field):
    segment = segment_of(org.head)
    payload = {"segment_id": segment.pk, "template_id": mail_template().pk, **body}
    response = api(org.head).post("/mailings", payload)
    assert 400 <= response.status_code < 500
    assert field in str(response.json())
    assert not Mailing.objects.exists()


def test_a_role_without_the_permission_gets_403_and_others_mailings_are_404(org):
    mailing = draft(org.head)
    manager = api(org.manager)
    assert manager.get("/mailings").status_code == 403
    segment = segment_of(org.manager)
    response = manager.post(
        "/mailings", {"name": "x", "segment_id": segment.pk, "template_id": mail_template().pk}
    )
    assert response.status_code == 403
    assert manager.get(f"/mailings/{mailing.pk}").status_code == 403
    other_admin_sees = api(org.admin).get(f"/mailings/{mailing.pk}")
    assert other_admin_sees.status_code == 200
    assert api(None).get("/mailings").status_code == 401


def test_a_hidden_segment_is_404_and_another_heads_mailing_too(org, settings):
    settings.CRM_MAILING_ROLES = ["admin", "head", "manager"]
    personal = segment_of(org.head)  # personal: the manager does not see it
    response = api(org.manager).post(
        "/mailings", {"name": "x", "segment_id": personal.pk, "template_id": mail_template().pk}
    )
    assert response.status_code == 404
    mailing = draft(org.head, segment=personal)
    assert api(org.manager).get(f"/mailings/{mailing.pk}").status_code == 404
    assert api(org.manager).post(f"/mailings/{mailing.pk}/start", {}).status_code == 404
    assert Mailing.objects.get().state == "draft"

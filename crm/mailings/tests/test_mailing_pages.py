"""The pages of mailings: writing one with the preview, starting it (the confirmation step
for a large segment), its page and report, the lists behind the figures; the permission;
the same number of queries for one row and many."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import client_for
from crm.mailings.models import Mailing, MailingRecipient
from crm.mailings.services import mailing_start
from crm.mailings.tests.conftest import contact_with, draft, mail_template, segment_of, send_all

pytestmark = pytest.mark.django_db


def test_write_a_mailing_preview_it_and_start_it_after_the_confirmation(org, smtp_server, settings):
    settings.CRM_MAILING_CONFIRM_OVER = 1
    contact_with(org.head, "anna@example.com", first_name="Анна")
    contact_with(org.head, "boris@example.com", first_name="Борис")
    segment, template = segment_of(org.head), mail_template()
    client = client_for(org.head)
    assert client.get("/mailings/new/").status_code == 200
    preview = client.get(f"/mailings/preview/?segment_id={segment.pk}&template_id={template.pk}")
    text = preview.content.decode()
    assert preview.status_code == 200 and "Новости для Борис" in text  # the newest first
    response = client.post(
        "/mailings/new/",
        {
            "name": "Весна",
            "segment_id": segment.pk,
            "template_id": template.pk,
            "sender": "company",
            "rate_per_minute": 600,
        },
    )
    mailing = Mailing.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/mailings/{mailing.pk}/"

    step = client.post(f"/mailings/{mailing.pk}/start/")
    assert step.status_code == 200 and "confirm-message" in step.content.decode()
    assert "2" in step.content.decode()
    mailing.refresh_from_db()
    assert mailing.state == "draft" and not MailingRecipient.objects.exists()
    done = client.post(f"/mailings/{mailing.pk}/start/", {"confirm": "1"})
    assert done.status_code == 302
    mailing.refresh_from_db()
    assert mailing.state == "sending"
    page = client.get(f"/mailings/{mailing.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in page  # polls while sending
    send_all(mailing)
    page = client.get(f"/mailings/{mailing.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' not in page
    assert f'href="/mailings/{mailing.pk}/recipients/delivered/"' in page
    listed = client.get(f"/mailings/{mailing.pk}/recipients/delivered/").content.decode()
    assert "anna@example.com" in listed and "boris@example.com" in listed


def test_an_invalid_form_is_422_naming_the_field(org):
    response = client_for(org.head).post(
        "/mailings/new/", {"name": "", "sender": "company", "rate_per_minute": 0}
    )
    assert response.status_code == 422
    assert not Mailing.objects.exists()


def test_a_role_without_the_permission_gets_403_and_a_hidden_mailing_404(org, settings):
    mailing = draft(org.head)
    manager = client_for(org.manager)
    for url in ("/mailings/", "/mailings/new/", f"/mailings/{mailing.pk}/"):
        assert manager.get(url).status_code == 403, url
    assert manager.post(f"/mailings/{mailing.pk}/start/").status_code == 403
    settings.CRM_MAILING_ROLES = ["admin", "head", "manager"]
    assert manager.get(f"/mailings/{mailing.pk}/").status_code == 404
    assert manager.post(f"/mailings/{mailing.pk}/cancel/").status_code == 404
    assert manager.get(f"/mailings/{mailing.pk}/recipients/sent/").status_code == 404
    assert Mailing.objects.get().state == "draft"


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_list_report_and_recipient_pages_query_alike_for_one_row_and_many(
    org, smtp_server, django_capture_on_commit_callbacks
):
    client = client_for(org.head)
    contact_with(org.head, "one@example.com")
    first = draft(org.head)
    with django_capture_on_commit_callbacks(execute=True):
        mailing_start(actor=org.head, mailing=first)
    send_all(first)
    counts_one = [
        _queries(client, url)
        for url in (
            "/mailings/",
            f"/mailings/{first.pk}/",
            f"/mailings/{first.pk}/recipients/sent/",
        )
    ]
    for n in range(6):
        contact_with(org.head, f"many{n}@example.com")
    for _n in range(4):
        draft(org.head)
    many = draft(org.head, name="Много")
    with django_capture_on_commit_callbacks(execute=True):
        mailing_start(actor=org.head, mailing=many)
    send_all(many)
    counts_many = [
        _queries(client, url)
        for url in ("/mailings/", f"/mailings/{many.pk}/", f"/mailings/{many.pk}/recipients/sent/")
    ]
    assert counts_one == counts_many

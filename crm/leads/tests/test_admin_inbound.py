"""The log of incoming requests: what it shows, its pages and filters, its query count, and
processing a failed or waiting request again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import client_for
from crm.core.errors import Conflict, PermissionDenied
from crm.leads.models import Inbound, Lead
from crm.leads.services import rules as services
from crm.leads.services.intake import inbound_process

pytestmark = pytest.mark.django_db


def stored(*, status="pending", minutes_ago=0, **payload) -> Inbound:
    return Inbound.objects.create(
        channel="api",
        payload=payload or {"name": "Анна", "phone": "+79120000001"},
        status=status,
        received_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
    )


def test_the_log_shows_status_error_and_lead(org):
    processed = stored(name="<b>Анна</b>", phone="+79120000001")
    lead = inbound_process(processed.pk)
    failed = stored(status="failed", name="Борис")
    Inbound.objects.filter(pk=failed.pk).update(error="KeyError: 'phone'", attempts=5)
    response = client_for(org.admin).get(reverse("leads:inbound_list"))
    page = response.content.decode()
    assert response.status_code == 200
    assert reverse("leads:lead_detail", args=[lead.pk]) in page
    assert "KeyError: &#x27;phone&#x27;" in page and "<b>Анна</b>" not in page
    assert reverse("leads:inbound_retry", args=[failed.pk]) in page
    assert reverse("leads:inbound_retry", args=[processed.pk]) not in page


def test_filters_and_keyset_pages(org):
    for index in range(55):
        stored(minutes_ago=index, phone=f"+791200000{index:02d}")
    stored(status="failed", minutes_ago=100)
    client = client_for(org.admin)
    first = client.get(reverse("leads:inbound_list"))
    assert len(first.context["page"].items) == 50 and first.context["next_url"]
    second = client.get(reverse("leads:inbound_list") + first.context["next_url"])
    assert len(second.context["page"].items) == 6 and not second.context["next_url"]
    seen = {i.pk for i in first.context["page"].items} | {
        i.pk for i in second.context["page"].items
    }
    assert len(seen) == 56
    failed = client.get(reverse("leads:inbound_list"), {"status": "failed"})
    assert [i.status for i in failed.context["page"].items] == ["failed"]
    assert (
        client.get(reverse("leads:inbound_list"), {"channel": "email"}).context["page"].items == []
    )
    assert client.get(reverse("leads:inbound_list"), {"cursor": "garbage"}).status_code == 400


def test_the_query_count_is_the_same_for_one_row_and_many(org):
    inbound_process(stored().pk)
    client = client_for(org.admin)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("leads:inbound_list"))
    for index in range(2, 15):
        inbound_process(stored(phone=f"+7912000{index:04d}", name=f"Клиент {index}").pk)
        stored(status="failed", phone=f"+7913000{index:04d}")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("leads:inbound_list"))
    assert len(many) == len(one)


def test_process_again_turns_a_failed_request_into_a_lead(org):
    failed = stored(status="failed", name="Вера", phone="+79120000077")
    Inbound.objects.filter(pk=failed.pk).update(error="OperationalError: locked", attempts=5)
    response = client_for(org.admin).post(
        reverse("leads:inbound_retry", args=[failed.pk]), {"next": "/leads/inbound/?status=failed"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/leads/inbound/?status=failed#inbound-{failed.pk}"
    failed.refresh_from_db()
    assert failed.status == "processed" and failed.error == "" and failed.attempts == 0
    assert failed.lead == Lead.objects.get(phone="+79120000077")


def test_a_request_that_fails_again_keeps_the_new_error(org):
    broken = stored(status="failed", name="Без контактов")
    lead = services.inbound_retry(actor=org.admin, inbound=broken)
    broken.refresh_from_db()
    assert lead is None and broken.status == "failed" and "phone" in broken.error
    assert not Lead.objects.exists()


def test_a_waiting_request_can_be_pushed_and_a_processed_one_is_refused(org):
    waiting = stored(phone="+79120000088")
    assert services.inbound_retry(actor=org.admin, inbound=waiting) is not None
    waiting.refresh_from_db()
    assert waiting.status == "processed"
    with pytest.raises(Conflict):
        services.inbound_retry(actor=org.admin, inbound=waiting)
    response = client_for(org.admin).post(
        reverse("leads:inbound_retry", args=[waiting.pk]),
        {"next": "https://evil.example/"},
        follow=True,
    )
    assert response.redirect_chain[0][0] == f"{reverse('leads:inbound_list')}#inbound-{waiting.pk}"
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert Lead.objects.count() == 1


@pytest.mark.parametrize("who", ["head", "manager", "viewer"])
def test_only_the_administrator_processes_again(org, who):
    failed = stored(status="failed")
    user = getattr(org, who)
    assert (
        client_for(user).post(reverse("leads:inbound_retry", args=[failed.pk])).status_code == 403
    )
    with pytest.raises(PermissionDenied):
        services.inbound_retry(actor=user, inbound=failed)
    failed.refresh_from_db()
    assert failed.status == "failed" and not Lead.objects.exists()
    anonymous = client_for(None).post(reverse("leads:inbound_retry", args=[failed.pk]))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]

"""Lead pages: list, board, card actions, manual entry, conversion; scope and roles."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import client_for
from crm.accounts.models import Team
from crm.leads.models import Lead, RoutingRule
from crm.leads.services import intake
from crm.planner.services import task_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def routed(org):
    RoutingRule.objects.update(
        team=Team.objects.get(name="Москва"), strategy="fixed_user", fixed_user=org.manager
    )


def arrive(**payload) -> Lead:
    inbound, _ = intake.inbound_store(channel="api", payload=payload)
    return intake.inbound_process(inbound.pk)


def test_list_board_and_card_follow_the_scope(org, routed):
    lead = arrive(name="<b>Анна</b>", phone="+79123456789", message="Нужна кухня")
    for name in ("leads:lead_list", "leads:lead_board"):
        page = client_for(org.manager).get(reverse(name)).content.decode()
        assert "Анна" in page and "<b>Анна</b>" not in page
        assert "Анна" not in client_for(org.colleague).get(reverse(name)).content.decode()
    url = reverse("leads:lead_detail", args=[lead.pk])
    assert client_for(org.manager).get(url).status_code == 200
    assert client_for(org.head).get(url).status_code == 200
    assert client_for(org.outsider).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 302


def test_the_card_lists_the_leads_open_tasks_with_a_new_task_button(org, routed):
    lead = arrive(name="Анна", phone="+79123456789")
    task_create(
        actor=org.manager, owner=org.manager, subject=lead, title="Перезвонить Анне", due_at=None
    )
    page = client_for(org.manager).get(reverse("leads:lead_detail", args=[lead.pk]))
    html = page.content.decode()
    assert 'id="record-tasks"' in html and "Перезвонить Анне" in html
    assert f"?subject=lead%3A{lead.pk}" in html
    new_task = client_for(org.manager).get(
        reverse("planner:task_create"), {"subject": f"lead:{lead.pk}"}
    )
    assert new_task.status_code == 200 and "Анна" in new_task.content.decode()


def test_list_query_count_is_constant(org, routed):
    arrive(phone="+79120000001")
    client = client_for(org.manager)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("leads:lead_list"))
    for index in range(2, 20):
        arrive(phone=f"+791200000{index:02d}", company=f"Фирма {index}")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("leads:lead_list"))
    assert len(many) == len(one)


def test_filters(org, routed):
    arrive(name="Анна", phone="+79120000001")
    arrive(name="Борис", email="boris@example.com")
    client = client_for(org.manager)
    page = client.get(reverse("leads:lead_list"), {"q": "борис"}).content.decode()
    assert "Борис" in page and "Анна" not in page
    assert (
        client.get(reverse("leads:lead_list"), {"status": "zzz", "age_days": "x"}).status_code
        == 200
    )


def test_card_actions_status_assign_convert(org, routed):
    lead = arrive(name="Петров Пётр", phone="+79120000003", company="ООО Вектор")
    manager = client_for(org.manager)
    response = manager.post(
        reverse("leads:lead_status", args=[lead.pk]), {"status": "lost"}, follow=True
    )
    assert "Say why" in response.content.decode() or "Укажите" in response.content.decode()
    manager.post(reverse("leads:lead_status", args=[lead.pk]), {"status": "in_progress"})
    lead.refresh_from_db()
    assert lead.status == "in_progress" and lead.responded_at is not None
    assert (
        client_for(org.viewer)
        .post(reverse("leads:lead_status", args=[lead.pk]), {"status": "new"})
        .status_code
        == 403
    )
    client_for(org.head).post(
        reverse("leads:lead_assign", args=[lead.pk]), {"owner_id": org.colleague.pk}
    )
    lead.refresh_from_db()
    assert lead.owner == org.colleague
    response = client_for(org.colleague).post(
        reverse("leads:lead_convert", args=[lead.pk]),
        {"deal_title": "Кухня", "create_contact": "on", "create_company": "on"},
    )
    lead.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == reverse(
        "sales:deal_detail", args=[lead.deal_id]
    )
    assert lead.company.legal_name == "Вектор" or "Вектор" in lead.company.legal_name


def test_manual_entry(org, routed):
    client = client_for(org.manager)
    assert client.get(reverse("leads:lead_create")).status_code == 200
    bad = client.post(reverse("leads:lead_create"), {"name": "Гость"})
    assert bad.status_code == 422 and "phone" in bad.context["form"].errors
    good = client.post(reverse("leads:lead_create"), {"name": "Гость", "phone": "8 912 000 00 07"})
    lead = Lead.objects.get()
    assert good.status_code == 302 and lead.channel == "manual"
    assert client_for(org.viewer).get(reverse("leads:lead_create")).status_code == 403


def test_a_call_on_the_lead_timeline_counts_as_the_first_response(org, routed):
    lead = arrive(phone="+79120000008")
    client_for(org.manager).post(
        reverse("activities:timeline_add", args=["lead", lead.pk]),
        {"kind": "call", "direction": "outgoing", "body": "Договорились о замере"},
    )
    lead.refresh_from_db()
    assert lead.responded_at is not None


def test_my_day_lists_the_new_leads_waiting_for_an_answer(org, routed):
    lead = arrive(name="Ждёт ответа", phone="+79120000009")
    page = client_for(org.manager).get(reverse("planner:my_day")).content.decode()
    assert "Ждёт ответа" in page and reverse("leads:lead_detail", args=[lead.pk]) in page
    client_for(org.manager).post(
        reverse("leads:lead_status", args=[lead.pk]), {"status": "in_progress"}
    )
    page = client_for(org.manager).get(reverse("planner:my_day")).content.decode()
    assert "Ждёт ответа" not in page

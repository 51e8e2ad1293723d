"""Exact query-count baselines of the lead pages: the list, the board, the lead card, the
inbound log and the settings lists (web forms, routing rules, partner codes), each the same
pinned number of queries for one row and for fifty (varied owners, companies, channels)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import client_for
from crm.accounts.models import Team
from crm.core.tests.baselines import keyset_list_of_fifty, one_then_fifty
from crm.leads.models import Lead, PartnerCode, RoutingRule, WebForm
from crm.leads.services import intake
from crm.leads.services.timeline import lead_timeline_add
from crm.planner.selectors.tasks import PANEL_LIMIT
from crm.planner.tests.factories import make_task
from crm.sales.models import Pipeline

pytestmark = pytest.mark.django_db

FIELDS = [{"name": "name", "label": "Имя", "type": "text", "required": True}]


@pytest.fixture
def routed(org):
    RoutingRule.objects.update(
        team=Team.objects.get(name="Москва"), strategy="fixed_user", fixed_user=org.manager
    )


def _lead(org, index: int) -> Lead:
    """A lead through the intake, then given to one of the team (every fifth left unassigned)."""
    inbound, _ = intake.inbound_store(
        channel="api",
        payload={
            "name": f"Гость {index}",
            "phone": f"+7912{index:07d}",
            "company": f"Фирма {index}" if index % 2 else "",
            "message": "Нужна кухня",
        },
    )
    lead = intake.inbound_process(inbound.pk)
    owner = (org.manager, org.colleague, org.head, org.manager, None)[index % 5]
    Lead.objects.filter(pk=lead.pk).update(owner=owner)
    return lead


def test_lead_list(org, routed, django_assert_num_queries):
    client, url = client_for(org.head), reverse("leads:lead_list")
    keyset_list_of_fifty(client, url, lambda index: _lead(org, index), 5, django_assert_num_queries)


def test_lead_board(org, routed, django_assert_num_queries):
    client, url = client_for(org.head), reverse("leads:lead_board")
    response = one_then_fifty(
        lambda index: _lead(org, index), 7, lambda: client.get(url), django_assert_num_queries
    )
    assert sum(len(cards) for _value, _label, cards in response.context["columns"]) >= 30


def test_lead_card(org, routed, django_assert_num_queries):
    lead = _lead(org, 0)
    client = client_for(org.manager)
    url = reverse("leads:lead_detail", args=[lead.pk])

    def build(index):
        author = (org.manager, org.head)[index % 2]
        lead_timeline_add(actor=author, record=lead, kind="call", title=f"Звонок {index}")
        make_task(author, subject=lead, title=f"Перезвонить {index}", due_at=None)

    # 9: with the duplicate check of a lead without a contact (the contacts offered first
    # at conversion, ``lead_contact_candidates``), one query.
    response = one_then_fifty(build, 9, lambda: client.get(url), django_assert_num_queries)
    assert len(response.context["tasks"]) == PANEL_LIMIT


def test_inbound_list(org, routed, django_assert_num_queries):
    client, url = client_for(org.admin), reverse("leads:inbound_list")
    one_then_fifty(
        lambda index: _lead(org, index), 3, lambda: client.get(url), django_assert_num_queries
    )


def test_webform_list(org, django_assert_num_queries):
    client, url = client_for(org.admin), reverse("leads:webform_list")
    response = one_then_fifty(
        lambda index: WebForm.objects.create(
            key=f"form-{index}", name=f"Форма {index}", fields=FIELDS, created_by=org.admin
        ),
        3,
        lambda: client.get(url),
        django_assert_num_queries,
    )
    assert response.content.decode().count("Форма ") >= 50


def test_routing_rule_list(org, django_assert_num_queries):
    client, url = client_for(org.admin), reverse("leads:routing_rule_list")
    pipeline, team = Pipeline.objects.get(name="Розница"), Team.objects.get(name="Москва")

    def build(index):
        fixed = index % 2 == 0
        RoutingRule.objects.create(
            name=f"Правило {index}",
            position=index + 1,
            conditions={"channels": ["web_form"]},
            pipeline=pipeline,
            team=team if index % 3 else None,
            strategy="fixed_user" if fixed else "round_robin",
            fixed_user=(org.manager, org.colleague)[index % 4 // 2] if fixed else None,
        )

    response = one_then_fifty(build, 5, lambda: client.get(url), django_assert_num_queries)
    assert response.content.decode().count("Правило ") >= 50


def test_partner_code_list(org, django_assert_num_queries):
    client, url = client_for(org.admin), reverse("leads:partner_code_list")
    response = one_then_fifty(
        lambda index: PartnerCode.objects.create(code=f"partner-{index}", name=f"Партнёр {index}"),
        3,
        lambda: client.get(url),
        django_assert_num_queries,
    )
    assert response.content.decode().count("partner-") >= 50

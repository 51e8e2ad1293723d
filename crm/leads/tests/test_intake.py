"""Intake and processing: matching, classification, routing, assignment, deadlines,
escalation, conversion; nothing accepted is lost and nothing is created twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F
from django.utils import timezone

from crm.accounts.models import Team
from crm.activities.models import TimelineEntry
from crm.core.errors import ValidationFailed
from crm.customers.models import Contact
from crm.customers.selectors import customer_find
from crm.customers.tests.factories import make_company, make_contact
from crm.leads.choices import Channel, InboundStatus
from crm.leads.models import Inbound, Lead, PartnerCode, RoutingRule
from crm.leads.services import intake
from crm.leads.services.leads import (
    lead_convert,
    lead_create_manual,
    lead_response_sweep,
    lead_set_status,
)
from crm.notifications.models import Notification
from crm.sales.models import Deal, Pipeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def routed(org):
    """The default rules, with team «Москва» and round robin on each."""
    team = Team.objects.get(name="Москва")
    RoutingRule.objects.update(team=team, strategy="round_robin")
    return team


def submit(channel=Channel.API, key="", **payload):
    """Store an arrival and run what its job runs once the row is committed."""
    inbound, created = intake.inbound_store(channel=channel, payload=payload, idempotency_key=key)
    if created:
        intake.inbound_process(inbound.pk)
    inbound.refresh_from_db()
    return inbound


def test_a_private_lead_goes_to_retail_a_company_lead_to_wholesale(org, routed):
    private = submit(name="Анна Петрова", phone="8 912 345-67-89", client_type="private").lead
    business = submit(name="Олег", company="ООО Ромашка", email="olga@romashka.ru").lead
    assert private.pipeline.name == "Розница" and private.kind == "new"
    assert business.pipeline.name == "Опт" and business.client_type == "business"
    assert private.phone == "+79123456789"
    assert private.owner is not None and private.respond_by > timezone.now()
    assert Notification.objects.filter(recipient=private.owner, kind="lead").count() == 1


def test_round_robin_takes_turns_and_skips_absent_and_readonly_users(org, routed):
    owners = [submit(phone=f"+7912000000{i}", client_type="private").lead.owner for i in range(6)]
    members = sorted([org.head.pk, org.manager.pk, org.colleague.pk])  # the viewer is read-only
    assert [owner.pk for owner in owners] == members + members
    today = timezone.localdate()
    org.colleague.away_from, org.colleague.away_until = today, today + dt.timedelta(days=3)
    org.colleague.save()
    more = {submit(phone=f"+7912111111{i}", client_type="private").lead.owner_id for i in range(4)}
    assert org.colleague.pk not in more


def test_least_loaded_and_fixed_user_and_client_manager(org, routed):
    RoutingRule.objects.update(strategy="least_loaded")
    first = submit(phone="+79120000001", client_type="private").lead
    second = submit(phone="+79120000002", client_type="private").lead
    assert first.owner_id != second.owner_id
    RoutingRule.objects.update(strategy="fixed_user", fixed_user=org.colleague)
    assert submit(phone="+79120000003", client_type="private").lead.owner == org.colleague
    RoutingRule.objects.update(strategy="client_manager")
    known = make_contact(org.manager, phones=[{"value": "+79125550000"}])
    lead = submit(phone="8 (912) 555-00-00").lead
    assert lead.kind == "repeat" and lead.contact == known and lead.owner == org.manager
    assert TimelineEntry.objects.filter(subject_id=known.pk, title="Incoming request").exists()


def test_partner_and_rule_conditions(org, routed):
    PartnerCode.objects.create(code="partner-42", name="Партнёр")
    assert submit(phone="+79120000009", utm_source="partner-42").lead.kind == "partner"
    opt = Pipeline.objects.get(name="Опт")
    RoutingRule.objects.update(position=F("position") + 10)
    RoutingRule.objects.create(
        name="Яндекс",
        position=0,
        conditions={"utm_source": ["yandex"], "channels": ["api"]},
        pipeline=opt,
        team=routed,
    )
    lead = submit(phone="+79120000010", utm_source="yandex", client_type="private").lead
    assert lead.rule.name == "Яндекс" and lead.pipeline == opt


def test_a_second_request_from_the_same_person_attaches_to_the_open_lead(org, routed):
    first = submit(phone="+79120000011", message="Хочу кухню").lead
    again = submit(email="x@example.com", phone="89120000011", message="Ещё вопрос").lead
    assert again == first and Lead.objects.count() == 1
    assert TimelineEntry.objects.filter(subject_id=first.pk, title="Repeated request").exists()


def test_idempotency_key_never_makes_a_second_lead(org, routed):
    one = submit(key="abc-1", phone="+79120000012")
    two = submit(key="abc-1", phone="+79120000099")
    assert one.pk == two.pk and Lead.objects.count() == 1 and Inbound.objects.count() == 1


def test_processing_twice_is_a_no_op_and_bad_data_is_kept(org, routed):
    inbound = submit(phone="+79120000013")
    assert intake.inbound_process(inbound.pk) == inbound.lead
    assert Lead.objects.count() == 1
    bad = submit(phone="not a phone")
    assert (
        bad.status == InboundStatus.FAILED
        and "phone" in bad.error
        and bad.payload == {"phone": "not a phone"}
    )


def test_a_crash_in_processing_keeps_the_arrival_for_a_retry(org, routed, monkeypatch):
    from crm.leads.services import leads as lead_services

    def boom(*args, **kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(lead_services, "lead_from_input", boom)
    inbound = submit(phone="+79120000014")
    assert inbound.status == InboundStatus.PENDING and inbound.attempts == 1
    monkeypatch.undo()
    lead = intake.inbound_process(inbound.pk)
    assert lead is not None and Inbound.objects.get(pk=inbound.pk).status == InboundStatus.PROCESSED


def test_unanswered_lead_escalates_once_to_the_head_and_a_colleague(org, routed):
    RoutingRule.objects.update(strategy="fixed_user", fixed_user=org.manager)
    lead = submit(phone="+79120000015", client_type="private").lead
    assert lead.owner == org.manager
    RoutingRule.objects.update(strategy="round_robin", reassign_on_escalation=True)
    late = lead.respond_by + dt.timedelta(minutes=1)
    assert lead_response_sweep(now=lead.respond_by - dt.timedelta(minutes=1)) == {"escalated": 0}
    assert lead_response_sweep(now=late) == {"escalated": 1}
    assert lead_response_sweep(now=late + dt.timedelta(hours=5)) == {"escalated": 0}
    lead.refresh_from_db()
    assert lead.escalated_at is not None and lead.owner != org.manager
    assert (
        Notification.objects.filter(
            recipient=org.head, kind="lead", dedupe_key=f"lead:{lead.pk}:escalated"
        ).count()
        == 1
    )
    assert TimelineEntry.objects.filter(
        subject_id=lead.pk, title="Response deadline missed"
    ).exists()


def test_a_reaction_in_time_stops_the_clock(org, routed):
    RoutingRule.objects.update(strategy="fixed_user", fixed_user=org.manager)
    lead = submit(phone="+79120000016", client_type="private").lead
    lead_set_status(actor=org.manager, pk=lead.pk, status="in_progress")
    assert lead_response_sweep(now=lead.respond_by + dt.timedelta(hours=1)) == {"escalated": 0}


def test_convert_creates_client_and_deal_in_the_routed_pipeline(org, routed):
    RoutingRule.objects.update(strategy="fixed_user", fixed_user=org.manager)
    lead = submit(
        name="Иванов Пётр Сергеевич", phone="+79120000017", company="ООО Вектор", inn="7707083893"
    ).lead
    lead_convert(actor=org.manager, pk=lead.pk, create_company=True)
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.deal.pipeline.name == "Опт"
    assert lead.contact.last_name == "Иванов" and lead.company.inn == "7707083893"
    assert lead.deal.contact == lead.contact and lead.deal.company == lead.company
    found = customer_find(model=Contact, user=org.manager, q="Пётр Сергеевич Иванов")
    assert found == [lead.contact]  # the new contact's name words are stored
    with pytest.raises(ValidationFailed):
        lead_convert(actor=org.manager, pk=lead.pk)
    assert Deal.objects.count() == 1


def test_convert_links_an_existing_client_instead_of_duplicating(org, routed):
    RoutingRule.objects.update(strategy="client_manager")
    company = make_company(org.manager, inn="7707083893")
    lead = submit(company="Другое имя", inn="7707083893", email="buh@vector.ru").lead
    assert lead.company == company and lead.kind == "repeat"
    lead_convert(actor=org.manager, pk=lead.pk, create_contact=False)
    lead.refresh_from_db()
    assert lead.deal.company == company


def test_manual_entry_checks_input_and_belongs_to_its_author(org, routed):
    RoutingRule.objects.update(team=None, strategy="round_robin")
    with pytest.raises(ValidationFailed) as error:
        lead_create_manual(actor=org.manager, data={"phone": "12"})
    assert "phone" in error.value.field_errors and not Inbound.objects.exists()
    lead = lead_create_manual(actor=org.manager, data={"name": "Гость", "phone": "+79120000018"})
    assert lead.owner == org.manager and lead.channel == "manual"


def test_visibility_of_leads(org, routed):
    RoutingRule.objects.update(strategy="fixed_user", fixed_user=org.manager)
    lead = submit(phone="+79120000019").lead
    assert list(Lead.objects.visible_to(org.manager)) == [lead]
    assert list(Lead.objects.visible_to(org.head)) == [lead]
    assert not Lead.objects.visible_to(org.colleague).exists()
    assert not Lead.objects.visible_to(org.outsider).exists()


def test_storing_enqueues_processing_on_commit(org, routed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        inbound, created = intake.inbound_store(
            channel=Channel.API, payload={"phone": "+79120000020"}
        )
    inbound.refresh_from_db()
    assert created and inbound.status == InboundStatus.PROCESSED and inbound.lead is not None

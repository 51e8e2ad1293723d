"""Deal services: create, update, move with stage requirements and actions, win, lose,
reopen, visibility; a refused move changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.activities.models import TimelineEntry
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.customers.models import CustomField
from crm.customers.tests.factories import make_company, make_contact
from crm.notifications.models import Notification, WebhookDelivery
from crm.planner.models import Task
from crm.sales.models import Deal, LostReason, Pipeline, Stage, StageAction, StageVisit
from crm.sales.services import deals as services
from crm.sales.services.automation import stale_deals_sweep

pytestmark = pytest.mark.django_db


def retail() -> Pipeline:
    return Pipeline.objects.get(name="Розница")


def wholesale() -> Pipeline:
    return Pipeline.objects.get(name="Опт")


def stage(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name)


def new_deal(actor, **data) -> Deal:
    data.setdefault("title", "Кухня на заказ")
    return services.deal_create(actor=actor, data=data)


def test_a_private_client_deal_goes_to_retail_and_a_company_one_to_wholesale(org):
    contact = make_contact(org.manager)
    company = make_company(org.manager, inn="7707083893")
    private = new_deal(org.manager, contact_id=contact.pk)
    business = new_deal(org.manager, company_id=company.pk)
    assert private.pipeline == retail() and private.stage.name == "Новая"
    assert business.pipeline == wholesale() and business.stage.position == 0
    assert private.owner == org.manager and private.status == "open"
    assert StageVisit.objects.filter(deal=private, left_at__isnull=True).count() == 1
    assert TimelineEntry.objects.filter(subject_id=private.pk, kind="created").exists()


def test_create_names_every_bad_field(org):
    with pytest.raises(ValidationFailed) as error:
        new_deal(org.manager, title="", amount="-5", currency="XXX", expected_close="31.12.2026")
    assert {"title", "amount", "currency", "expected_close"} <= set(error.value.field_errors)
    assert not Deal.objects.exists()


@pytest.mark.parametrize(
    "amount", ["abc", "1e309", "NaN", "Infinity", "1.234", "100000000000000000", True]
)
def test_bad_amounts_are_refused(org, amount):
    with pytest.raises(ValidationFailed) as error:
        new_deal(org.manager, amount=amount)
    assert "amount" in error.value.field_errors


def test_amount_accepts_russian_formatting(org):
    deal = new_deal(org.manager, amount="1 234 567,5")
    assert deal.amount == Decimal("1234567.50")


def test_a_stage_of_another_pipeline_is_refused(org):
    with pytest.raises(ValidationFailed) as error:
        new_deal(org.manager, pipeline_id=retail().pk, stage_id=stage(wholesale(), "Смета").pk)
    assert "stage_id" in error.value.field_errors
    deal = new_deal(org.manager)
    with pytest.raises(ValidationFailed) as error:
        services.deal_move(actor=org.manager, pk=deal.pk, stage_id=stage(wholesale(), "Смета").pk)
    assert "stage_id" in error.value.field_errors


def test_a_client_the_user_cannot_see_is_refused(org):
    other = make_contact(org.outsider, last_name="Чужой")
    with pytest.raises(ValidationFailed) as error:
        new_deal(org.manager, contact_id=other.pk)
    assert "contact_id" in error.value.field_errors


def test_a_refused_move_names_the_missing_fields_and_changes_nothing(org):
    invoice = stage(retail(), "Счёт выставлен")
    invoice.required_fields = ["amount", "invoice_number"]
    invoice.save()
    StageAction.objects.create(
        stage=invoice,
        kind="create_task",
        config={
            "title": "Проверить оплату",
            "type": "call",
            "due_in": 1,
            "due_unit": "days",
            "assignee": "responsible",
        },
    )
    deal = new_deal(org.manager)
    entries = TimelineEntry.objects.count()
    with pytest.raises(ValidationFailed) as error:
        services.deal_move(actor=org.manager, pk=deal.pk, stage_id=invoice.pk)
    assert set(error.value.field_errors) == {"amount", "invoice_number"}
    assert "Счёт выставлен" in error.value.message
    deal.refresh_from_db()
    assert deal.stage.name == "Новая"
    assert StageVisit.objects.filter(deal=deal).count() == 1
    assert TimelineEntry.objects.count() == entries
    assert not Task.objects.exists()


def test_a_move_with_the_missing_fields_filled_in_succeeds_and_runs_the_actions(org):
    invoice = stage(retail(), "Счёт выставлен")
    invoice.required_fields = ["amount", "invoice_number"]
    invoice.save()
    StageAction.objects.create(
        stage=invoice,
        kind="create_task",
        position=0,
        config={
            "title": "Проверить оплату",
            "type": "call",
            "due_in": 4,
            "due_unit": "work_hours",
            "assignee": "responsible",
        },
    )
    StageAction.objects.create(
        stage=invoice,
        kind="notify",
        position=1,
        config={"recipients": ["head"], "message": "Выставлен счёт"},
    )
    StageAction.objects.create(
        stage=invoice,
        kind="webhook",
        position=2,
        config={"url": "http://127.0.0.1:9/hook", "secret": "s3cret"},
    )
    deal = new_deal(org.manager)
    services.deal_move(
        actor=org.manager,
        pk=deal.pk,
        stage_id=invoice.pk,
        updates={"amount": "15000", "invoice_number": "СЧ-17"},
    )
    deal.refresh_from_db()
    assert deal.stage == invoice and deal.amount == Decimal("15000.00")
    visits = list(StageVisit.objects.filter(deal=deal).order_by("entered_at", "id"))
    assert [v.stage.name for v in visits] == ["Новая", "Счёт выставлен"]
    assert visits[0].left_at is not None and visits[1].left_at is None
    task = Task.objects.get()
    assert task.owner == org.manager and task.subject_id == deal.pk and task.type.code == "call"
    assert task.due_at > timezone.now()
    assert Notification.objects.filter(recipient=org.head, kind="stage").count() == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.payload["deal"]["stage"] == "Счёт выставлен" and delivery.secret == "s3cret"
    changes = TimelineEntry.objects.filter(subject_id=deal.pk, kind="field_change")
    assert any(c["field"] == "invoice_number" for e in changes for c in e.data["changes"])


def test_set_owner_action_hands_the_deal_over(org):
    contract = stage(wholesale(), "Договор")
    StageAction.objects.create(
        stage=contract, kind="set_owner", config={"user_id": org.colleague.pk}
    )
    deal = new_deal(org.manager, pipeline_id=wholesale().pk)
    services.deal_move(actor=org.manager, pk=deal.pk, stage_id=contract.pk)
    deal.refresh_from_db()
    assert deal.owner == org.colleague


def test_required_custom_field_is_named(org):
    CustomField.objects.create(
        entity="deal", key="object_address", label="Адрес объекта", field_type="text"
    )
    measure = stage(wholesale(), "Замер на объекте")
    measure.required_fields = ["custom.object_address"]
    measure.save()
    deal = new_deal(org.manager, pipeline_id=wholesale().pk)
    with pytest.raises(ValidationFailed) as error:
        services.deal_move(actor=org.manager, pk=deal.pk, stage_id=measure.pk)
    assert "custom.object_address" in error.value.field_errors
    assert "Адрес объекта" in error.value.message
    services.deal_move(
        actor=org.manager,
        pk=deal.pk,
        stage_id=measure.pk,
        updates={"custom": {"object_address": "Тверская, 1"}},
    )
    assert Deal.objects.get(pk=deal.pk).stage == measure


def test_lose_needs_a_reason_then_reopen_returns_to_the_last_open_stage(org):
    deal = new_deal(org.manager)
    invoice = stage(retail(), "Счёт выставлен")
    services.deal_move(actor=org.manager, pk=deal.pk, stage_id=invoice.pk)
    with pytest.raises(ValidationFailed) as error:
        services.deal_lose(actor=org.manager, pk=deal.pk, lost_reason_id=None)
    assert "lost_reason_id" in error.value.field_errors
    reason = LostReason.objects.get(name="Дорого")
    services.deal_lose(
        actor=org.manager, pk=deal.pk, lost_reason_id=reason.pk, lost_comment="Нашли дешевле"
    )
    deal.refresh_from_db()
    assert deal.status == "lost" and deal.lost_reason == reason and deal.closed_at is not None
    services.deal_reopen(actor=org.manager, pk=deal.pk)
    deal.refresh_from_db()
    assert (
        deal.status == "open"
        and deal.stage == invoice
        and deal.lost_reason is None
        and deal.closed_at is None
    )


def test_win_closes_the_deal(org):
    deal = new_deal(org.manager)
    services.deal_win(actor=org.manager, pk=deal.pk)
    deal.refresh_from_db()
    assert deal.status == "won" and deal.stage.kind == "won"


def test_visibility_and_roles(org):
    deal = new_deal(org.manager, amount="100")
    with pytest.raises(NotFound):
        services.deal_get(actor=org.outsider, pk=deal.pk)
    assert services.deal_get(actor=org.head, pk=deal.pk) == deal
    assert services.deal_get(actor=org.admin, pk=deal.pk) == deal
    with pytest.raises(NotFound):
        services.deal_update(actor=org.colleague, pk=deal.pk, data={"title": "x"})
    with pytest.raises(PermissionDenied):
        services.deal_update(actor=org.viewer, pk=deal.pk, data={"title": "x"})
    with pytest.raises(PermissionDenied):
        new_deal(org.viewer)
    services.deal_share(actor=org.manager, pk=deal.pk, user_ids=[org.colleague.pk])
    assert services.deal_get(actor=org.colleague, pk=deal.pk) == deal
    assert list(Deal.objects.visible_to(org.colleague)) == [deal]


def test_update_records_each_change(org):
    deal = new_deal(org.manager, amount="100")
    services.deal_update(actor=org.manager, pk=deal.pk, data={"amount": "250.5", "title": "Шкаф"})
    entry = TimelineEntry.objects.filter(subject_id=deal.pk, kind="field_change").latest("id")
    changes = {c["field"]: (c["old"], c["new"]) for c in entry.data["changes"]}
    assert changes == {"title": ("Кухня на заказ", "Шкаф"), "amount": ("100.00", "250.50")}


def test_stale_deals_notify_the_manager_then_the_head_once_each(org):
    new = stage(retail(), "Новая")
    new.stale_after_days = 3
    new.save()
    deal = new_deal(org.manager)
    now = timezone.now()
    assert stale_deals_sweep(now=now + dt.timedelta(days=2)) == {"notified": 0, "escalated": 0}
    assert stale_deals_sweep(now=now + dt.timedelta(days=4)) == {"notified": 1, "escalated": 0}
    assert stale_deals_sweep(now=now + dt.timedelta(days=5)) == {"notified": 0, "escalated": 0}
    assert stale_deals_sweep(now=now + dt.timedelta(days=8)) == {"notified": 0, "escalated": 1}
    assert stale_deals_sweep(now=now + dt.timedelta(days=30)) == {"notified": 0, "escalated": 0}
    assert Notification.objects.filter(recipient=org.manager, kind="stale").count() == 1
    assert Notification.objects.filter(recipient=org.head, kind="stale").count() == 1
    # Activity starts a new idle period.
    services.deal_update(actor=org.manager, pk=deal.pk, data={"notes": "Позвонил"})
    deal.refresh_from_db()
    assert deal.stale_notified_at is None and deal.stale_escalated_at is None


def test_merging_contacts_moves_their_deals(org):
    from crm.customers.services.merge import contact_merge

    keep = make_contact(org.manager, last_name="Петров")
    gone = make_contact(org.manager, last_name="Петрoв")
    deal = new_deal(org.manager, contact_id=gone.pk)
    contact_merge(actor=org.manager, survivor=keep, merged=gone, choices={})
    deal.refresh_from_db()
    assert deal.contact == keep


def test_current_stage_requirements_hold_for_updates_through_move(org):
    invoice = stage(retail(), "Счёт выставлен")
    invoice.required_fields = ["amount"]
    invoice.save()
    deal = new_deal(org.manager, amount="10")
    services.deal_move(actor=org.manager, pk=deal.pk, stage_id=invoice.pk)
    with pytest.raises(ValidationFailed) as error:
        services.deal_move(
            actor=org.manager, pk=deal.pk, stage_id=invoice.pk, updates={"amount": None}
        )
    assert "amount" in error.value.field_errors
    assert Deal.objects.get(pk=deal.pk).amount == Decimal("10.00")


def test_switching_amount_from_lines_on_recomputes_the_amount(org):
    from crm.sales.services.lines import deal_line_add

    deal = new_deal(org.manager, amount="5")
    deal_line_add(actor=org.manager, deal=deal, name="Работа", quantity=2, price="50")
    services.deal_update(actor=org.manager, pk=deal.pk, data={"amount_from_lines": True})
    assert Deal.objects.get(pk=deal.pk).amount == Decimal("100.00")


def test_a_stage_of_an_archived_pipeline_is_refused(org):
    pipeline = wholesale()
    pipeline.archived = True
    pipeline.save()
    with pytest.raises(ValidationFailed) as error:
        new_deal(org.manager, stage_id=stage(pipeline, "Смета").pk)
    assert "stage_id" in error.value.field_errors

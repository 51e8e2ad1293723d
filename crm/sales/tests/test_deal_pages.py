"""Deal pages: list (filters, totals, scope, constant queries), card, form, card buttons."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from conftest import client_for
from crm.customers.tests.factories import make_company
from crm.sales.models import Deal, LostReason, Pipeline
from crm.sales.services.deals import deal_create

pytestmark = pytest.mark.django_db


def make(owner, **data) -> Deal:
    data.setdefault("title", "Сделка")
    return deal_create(actor=owner, data=data)


def test_list_shows_only_what_the_user_may_see_with_totals(org):
    make(org.manager, title="Моя", amount="100")
    make(org.colleague, title="Коллеги", amount="50")
    make(org.outsider, title="Чужая", amount="7")
    page = client_for(org.manager).get(reverse("sales:deal_list"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Моя" in text and "Коллеги" not in text and "Чужая" not in text
    head_page = client_for(org.head).get(reverse("sales:deal_list")).content.decode()
    assert "Моя" in head_page and "Коллеги" in head_page and "Чужая" not in head_page
    totals = client_for(org.head).get(reverse("sales:deal_list")).context["totals"]
    assert totals.count == 2 and totals.by_currency == [("RUB", Decimal("150.00"))]


def test_list_filters(org):
    make(org.manager, title="Окна", amount="10")
    make(org.manager, title="Двери", amount="20", pipeline_id=Pipeline.objects.get(name="Опт").pk)
    client = client_for(org.manager)
    text = client.get(reverse("sales:deal_list"), {"q": "окн"}).content.decode()
    assert "Окна" in text and "Двери" not in text
    opt = Pipeline.objects.get(name="Опт").pk
    text = client.get(reverse("sales:deal_list"), {"pipeline": opt}).content.decode()
    assert "Двери" in text and "Окна" not in text
    # Garbage in filters is ignored, not an error.
    assert (
        client.get(reverse("sales:deal_list"), {"pipeline": "x", "created_from": "zzz"}).status_code
        == 200
    )


def test_list_query_count_does_not_grow_with_rows(org, django_assert_max_num_queries):
    make(org.manager, title="Одна", company_id=make_company(org.manager).pk)
    client = client_for(org.manager)
    client.get(reverse("sales:deal_list"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(reverse("sales:deal_list"))
    for index in range(30):
        make(
            org.manager,
            title=f"Сделка {index}",
            company_id=make_company(org.manager, legal_name=f"Фирма {index}", inn="").pk,
        )
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("sales:deal_list"))
    assert len(many) == len(one)


def test_card_and_its_permissions(org):
    deal = make(org.manager, title="<script>alert(1)</script>")
    url = reverse("sales:deal_detail", args=[deal.pk])
    page = client_for(org.manager).get(url)
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.content.decode()
    assert client_for(org.head).get(url).status_code == 200
    assert client_for(org.viewer).get(url).status_code == 200
    assert client_for(org.outsider).get(url).status_code == 404
    assert client_for(org.colleague).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 302


def test_create_form_and_its_errors(org):
    client = client_for(org.manager)
    assert client.get(reverse("sales:deal_create")).status_code == 200
    bad = client.post(reverse("sales:deal_create"), {"title": "", "currency": "RUB"})
    assert bad.status_code == 422 and "title" in bad.context["form"].errors
    bad = client.post(
        reverse("sales:deal_create"), {"title": "Окна", "amount": "-1", "currency": "RUB"}
    )
    assert bad.status_code == 422 and "amount" in bad.context["form"].errors
    assert not Deal.objects.exists()
    good = client.post(
        reverse("sales:deal_create"), {"title": "Окна", "amount": "1 000,50", "currency": "RUB"}
    )
    deal = Deal.objects.get()
    assert good.status_code == 302 and good["Location"] == reverse(
        "sales:deal_detail", args=[deal.pk]
    )
    assert deal.amount == Decimal("1000.50")
    assert client_for(org.viewer).get(reverse("sales:deal_create")).status_code == 403
    assert (
        client_for(org.viewer)
        .post(reverse("sales:deal_create"), {"title": "x", "currency": "RUB"})
        .status_code
        == 403
    )


def test_edit_form(org):
    deal = make(org.manager, title="Окна")
    client = client_for(org.manager)
    url = reverse("sales:deal_edit", args=[deal.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"title": "Окна ПВХ", "currency": "RUB", "amount": "5"})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.title == "Окна ПВХ"
    assert client_for(org.outsider).get(url).status_code == 404
    assert client_for(org.viewer).get(url).status_code == 403


def test_card_buttons_move_win_lose_reopen(org):
    deal = make(org.manager)
    client = client_for(org.manager)
    invoice = deal.pipeline.stages.get(name="Счёт выставлен")
    invoice.required_fields = ["invoice_number"]
    invoice.save()
    refused = client.post(
        reverse("sales:deal_stage", args=[deal.pk]), {"stage_id": invoice.pk}, follow=True
    )
    assert "Invoice number" in refused.content.decode() or "Номер счёта" in refused.content.decode()
    deal.refresh_from_db()
    assert deal.stage.name == "Новая"
    client.post(reverse("sales:deal_win", args=[deal.pk]))
    deal.refresh_from_db()
    assert deal.status == "won"
    client.post(reverse("sales:deal_reopen", args=[deal.pk]))
    reason = LostReason.objects.first()
    client.post(reverse("sales:deal_lose", args=[deal.pk]), {"lost_reason_id": reason.pk})
    deal.refresh_from_db()
    assert deal.status == "lost"
    assert client_for(org.viewer).post(reverse("sales:deal_win", args=[deal.pk])).status_code == 403
    assert (
        client_for(org.outsider).post(reverse("sales:deal_win", args=[deal.pk])).status_code == 404
    )


def test_a_note_on_the_deal_timeline_counts_as_activity(org):
    deal = make(org.manager)
    client = client_for(org.manager)
    url = reverse("activities:timeline_add", args=["deal", deal.pk])
    response = client.post(url, {"kind": "note", "body": "Клиент думает"})
    assert response.status_code == 302
    page = client.get(reverse("sales:deal_detail", args=[deal.pk])).content.decode()
    assert "Клиент думает" in page
    assert client_for(org.outsider).post(url, {"kind": "note", "body": "x"}).status_code == 404
    assert client_for(org.viewer).post(url, {"kind": "note", "body": "x"}).status_code == 403


def test_deal_custom_fields_in_the_form(org):
    from crm.customers.models import CustomField

    CustomField.objects.create(
        entity="deal",
        key="object_address",
        label="Адрес объекта",
        field_type="text",
        is_required=True,
    )
    client = client_for(org.manager)
    page = client.get(reverse("sales:deal_create")).content.decode()
    assert "Адрес объекта" in page
    refused = client.post(reverse("sales:deal_create"), {"title": "Окна", "currency": "RUB"})
    assert refused.status_code == 422 and "custom.object_address" in refused.context["form"].errors
    client.post(
        reverse("sales:deal_create"),
        {"title": "Окна", "currency": "RUB", "custom.object_address": "Тверская, 1"},
    )
    deal = Deal.objects.get()
    assert deal.custom == {"object_address": "Тверская, 1"}
    edit = client.get(reverse("sales:deal_edit", args=[deal.pk])).content.decode()
    assert "Тверская, 1" in edit
    detail = client.get(reverse("sales:deal_detail", args=[deal.pk])).content.decode()
    assert "Адрес объекта" in detail and "Тверская, 1" in detail


def test_client_cards_list_their_deals_with_a_new_deal_button(org):
    from crm.customers.tests.factories import make_contact

    contact = make_contact(org.manager)
    make(org.manager, title="Кухня для Иванова", contact_id=contact.pk)
    page = (
        client_for(org.manager)
        .get(reverse("customers:contact_detail", args=[contact.pk]))
        .content.decode()
    )
    assert "Кухня для Иванова" in page and f"?contact_id={contact.pk}" in page
    company = make_company(org.manager)
    make(org.manager, title="Опт для Ромашки", company_id=company.pk)
    page = (
        client_for(org.head)
        .get(reverse("customers:company_detail", args=[company.pk]))
        .content.decode()
    )
    assert "Опт для Ромашки" in page


def test_list_survives_overflowing_filters(org):
    client = client_for(org.manager)
    for params in (
        {"pipeline": "9" * 30},
        {"created_to": "9999-12-31"},
        {"created_from": "0001-01-01"},
        {"owner": "-5"},
    ):
        assert client.get(reverse("sales:deal_list"), params).status_code == 200

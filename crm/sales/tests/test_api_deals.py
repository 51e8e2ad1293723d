"""Deals through the API: the same rules as the UI (stage requirements, reasons for loss,
money bounds), 422 naming each bad field, and a refused call that changes nothing."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from crm.activities.models import TimelineEntry
from crm.api.tests.conftest import ApiClient, token_for
from crm.customers.tests.factories import make_company, make_contact
from crm.sales.models import Deal, LostReason, Pipeline, Stage, StageVisit
from crm.sales.services.deals import deal_create, deal_share
from crm.sales.services.lines import deal_line_add
from crm.sales.services.payments import payment_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_api(org):
    return ApiClient(token_for(org.manager))


def retail() -> Pipeline:
    return Pipeline.objects.get(name="Розница")


def wholesale() -> Pipeline:
    return Pipeline.objects.get(name="Опт")


def stage(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name)


def new_deal(owner, **data) -> Deal:
    data.setdefault("title", "Кухня на заказ")
    return deal_create(actor=owner, data=data)


def snapshot(deal: Deal) -> tuple:
    """What a refused call must leave as it was."""
    deal.refresh_from_db()
    return (
        deal.stage_id,
        deal.status,
        deal.amount,
        deal.currency,
        deal.title,
        deal.invoice_number,
        deal.lost_reason_id,
        StageVisit.objects.filter(deal=deal).count(),
        TimelineEntry.objects.count(),
    )


def assert_422(response, *fields):
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["detail"]
    for field in fields:
        assert body["errors"].get(field), (field, body)
    return body


# --- create and read --------------------------------------------------------------------------


def test_create_returns_the_deal_with_money_as_strings(org, manager_api):
    contact = make_contact(org.manager)
    company = make_company(org.manager, inn="7707083893")

    response = manager_api.post(
        "/deals",
        {
            "title": "Кухня",
            "amount": "1 234,5",
            "currency": "EUR",
            "contact_id": contact.pk,
            "company_id": company.pk,
            "expected_close": "2030-05-17",
            "tags": ["VIP", "vip", "кухни"],
            "invoice_number": "СЧ-1",
        },
    )

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["amount"] == "1234.50"
    assert data["currency"] == "EUR"
    assert data["pipeline"] == {"id": wholesale().pk, "name": "Опт"}
    assert data["stage"]["name"] == "Новая" and data["stage"]["kind"] == "open"
    assert data["status"] == "open"
    assert data["contact"] == {"id": contact.pk, "name": str(contact)}
    assert data["company"]["id"] == company.pk
    assert data["owner"] == {"id": org.manager.pk, "name": str(org.manager)}
    assert sorted(data["tags"]) == ["VIP", "кухни"]
    assert data["expected_close"] == "2030-05-17"
    assert Deal.objects.get(pk=data["id"]).owner == org.manager
    assert manager_api.get(f"/deals/{data['id']}").json() == data


def test_amount_accepts_a_json_number_and_answers_a_string(manager_api):
    response = manager_api.post("/deals", {"title": "Шкаф", "amount": 1500.5})

    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "1500.50"
    assert '"amount": "1500.50"' in response.content.decode()


@pytest.mark.parametrize(
    "raw_amount",
    ['"-5"', "-5", '"abc"', "1e309", '"1e309"', '"1.234"', "true", '"NaN"', "[1]"],
)
def test_bad_amounts_are_422_naming_the_field_and_create_nothing(manager_api, raw_amount):
    body = '{"title": "Кухня", "amount": ' + raw_amount + "}"

    response = manager_api.post("/deals", body)

    assert_422(response, "amount")
    assert not Deal.objects.exists()


@pytest.mark.parametrize("amount", ["-0.01", "abc", "1e309", "100000000000000000"])
def test_bad_amounts_on_change_leave_the_deal_as_it_was(org, manager_api, amount):
    deal = new_deal(org.manager, amount="100")
    before = snapshot(deal)

    assert_422(
        manager_api.patch(f"/deals/{deal.pk}", {"amount": amount, "title": "Новое"}), "amount"
    )

    assert snapshot(deal) == before


def test_unknown_currency_is_422(org, manager_api):
    assert_422(manager_api.post("/deals", {"title": "Кухня", "currency": "XXX"}), "currency")
    deal = new_deal(org.manager)
    before = snapshot(deal)

    assert_422(manager_api.patch(f"/deals/{deal.pk}", {"currency": "XXX"}), "currency")
    assert snapshot(deal) == before
    assert Deal.objects.count() == 1


def test_every_bad_field_is_named_at_once(manager_api):
    body = assert_422(
        manager_api.post(
            "/deals",
            {"title": "", "amount": "-5", "currency": "XXX", "expected_close": "31.12.2030"},
        )
    )

    assert {"title", "amount", "currency", "expected_close"} <= set(body["errors"])


def test_unknown_fields_are_422_naming_them(org, manager_api):
    assert_422(manager_api.post("/deals", {"title": "Кухня", "colour": "red"}), "colour")
    deal = new_deal(org.manager)
    before = snapshot(deal)

    # The stage changes only through /move, /win, /lose and /reopen.
    assert_422(manager_api.patch(f"/deals/{deal.pk}", {"stage_id": deal.stage_id}), "stage_id")
    assert_422(
        manager_api.post(
            f"/deals/{deal.pk}/move",
            {"stage_id": deal.stage_id, "updates": {"pipeline_id": 1}},
        ),
        "updates.pipeline_id",
    )
    assert snapshot(deal) == before


def test_a_stage_of_another_pipeline_is_refused_on_create(manager_api):
    response = manager_api.post(
        "/deals",
        {"title": "Кухня", "pipeline_id": retail().pk, "stage_id": stage(wholesale(), "Смета").pk},
    )

    assert_422(response, "stage_id")
    assert not Deal.objects.exists()


def test_a_client_the_caller_cannot_see_is_refused(org, manager_api):
    other = make_contact(org.outsider, last_name="Чужой")

    assert_422(manager_api.post("/deals", {"title": "Кухня", "contact_id": other.pk}), "contact_id")


def test_a_huge_id_is_422_not_a_crash(manager_api):
    response = manager_api.post("/deals", {"title": "Кухня", "contact_id": 2**70})

    assert_422(response, "contact_id")
    assert manager_api.get(f"/deals/{2**70}").status_code == 422


# --- moves ------------------------------------------------------------------------------------


def test_a_move_to_a_stage_of_another_pipeline_changes_nothing(org, manager_api):
    deal = new_deal(org.manager)
    before = snapshot(deal)

    response = manager_api.post(
        f"/deals/{deal.pk}/move", {"stage_id": stage(wholesale(), "Смета").pk}
    )

    assert_422(response, "stage_id")
    assert snapshot(deal) == before


def test_a_move_to_no_such_stage_is_422(org, manager_api):
    deal = new_deal(org.manager)

    assert_422(manager_api.post(f"/deals/{deal.pk}/move", {"stage_id": 999999}), "stage_id")


def _require(stage_: Stage, *fields: str) -> Stage:
    stage_.required_fields = list(fields)
    stage_.save()
    return stage_


def test_a_move_refused_by_required_fields_names_each_and_changes_nothing(org, manager_api):
    invoice = _require(stage(retail(), "Счёт выставлен"), "amount", "invoice_number", "lines")
    deal = new_deal(org.manager)
    before = snapshot(deal)

    response = manager_api.post(f"/deals/{deal.pk}/move", {"stage_id": invoice.pk})

    body = assert_422(response, "amount", "invoice_number", "lines")
    assert set(body["errors"]) == {"amount", "invoice_number", "lines"}
    assert "Счёт выставлен" in body["detail"]
    assert snapshot(deal) == before


def test_a_move_with_the_missing_fields_in_updates_succeeds(org, manager_api):
    invoice = _require(stage(retail(), "Счёт выставлен"), "amount", "invoice_number")
    deal = new_deal(org.manager)

    response = manager_api.post(
        f"/deals/{deal.pk}/move",
        {"stage_id": invoice.pk, "updates": {"amount": "15000", "invoice_number": "СЧ-17"}},
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["stage"]["id"] == invoice.pk
    assert data["amount"] == "15000.00" and data["invoice_number"] == "СЧ-17"
    history = manager_api.get(f"/deals/{deal.pk}/history").json()
    assert [visit["stage"]["name"] for visit in history] == ["Новая", "Счёт выставлен"]
    assert history[0]["left_at"] is not None and history[1]["left_at"] is None
    assert history[1]["entered_by"]["id"] == org.manager.pk


def test_a_bad_value_in_updates_is_named_as_sent_and_changes_nothing(org, manager_api):
    invoice = _require(stage(retail(), "Счёт выставлен"), "amount", "invoice_number")
    deal = new_deal(org.manager)
    before = snapshot(deal)

    response = manager_api.post(
        f"/deals/{deal.pk}/move",
        {"stage_id": invoice.pk, "updates": {"amount": "-1", "title": "Новое название"}},
    )

    body = assert_422(response, "updates.amount")
    assert "amount" not in body["errors"]
    assert snapshot(deal) == before


def test_a_requirement_the_updates_do_not_meet_names_the_sent_field(org, manager_api):
    invoice = _require(stage(retail(), "Счёт выставлен"), "amount", "invoice_number")
    deal = new_deal(org.manager)
    before = snapshot(deal)

    response = manager_api.post(
        f"/deals/{deal.pk}/move", {"stage_id": invoice.pk, "updates": {"amount": "0"}}
    )

    assert_422(response, "updates.amount", "invoice_number")
    assert snapshot(deal) == before


def test_the_current_stage_requirements_keep_holding_on_change(org, manager_api):
    invoice = _require(stage(retail(), "Счёт выставлен"), "amount")
    deal = new_deal(org.manager)
    manager_api.post(
        f"/deals/{deal.pk}/move", {"stage_id": invoice.pk, "updates": {"amount": "100"}}
    )
    before = snapshot(deal)

    assert_422(manager_api.patch(f"/deals/{deal.pk}", {"amount": None}), "amount")
    assert snapshot(deal) == before


def test_lost_without_a_reason_is_422_and_changes_nothing(org, manager_api):
    deal = new_deal(org.manager)
    before = snapshot(deal)

    assert_422(manager_api.post(f"/deals/{deal.pk}/lose", {}), "lost_reason_id")
    assert_422(
        manager_api.post(f"/deals/{deal.pk}/move", {"stage_id": stage(retail(), "Отказ").pk}),
        "lost_reason_id",
    )
    assert_422(
        manager_api.post(f"/deals/{deal.pk}/lose", {"lost_reason_id": 999999}), "lost_reason_id"
    )
    assert snapshot(deal) == before


def test_win_lose_and_reopen(org, manager_api):
    deal = new_deal(org.manager)
    invoice = stage(retail(), "Счёт выставлен")
    manager_api.post(f"/deals/{deal.pk}/move", {"stage_id": invoice.pk})
    reason = LostReason.objects.get(name="Дорого")

    lost = manager_api.post(
        f"/deals/{deal.pk}/lose", {"lost_reason_id": reason.pk, "lost_comment": "Нашли дешевле"}
    ).json()
    assert lost["status"] == "lost" and lost["closed_at"]
    assert lost["lost_reason"] == {"id": reason.pk, "name": "Дорого"}
    assert lost["lost_comment"] == "Нашли дешевле"

    reopened = manager_api.post(f"/deals/{deal.pk}/reopen").json()
    assert reopened["status"] == "open" and reopened["stage"]["id"] == invoice.pk
    assert reopened["lost_reason"] is None and reopened["closed_at"] is None

    won = manager_api.post(f"/deals/{deal.pk}/win").json()
    assert won["status"] == "won" and won["stage"]["kind"] == "won"
    assert len(manager_api.get(f"/deals/{deal.pk}/history").json()) == 5


def test_reopening_an_open_deal_is_422(org, manager_api):
    deal = new_deal(org.manager)

    assert_422(manager_api.post(f"/deals/{deal.pk}/reopen"), "status")


def test_win_refused_by_the_won_stage_requirements_changes_nothing(org, manager_api):
    _require(stage(retail(), "Отгружено"), "paid")
    deal = new_deal(org.manager, amount="1000")
    before = snapshot(deal)

    assert_422(manager_api.post(f"/deals/{deal.pk}/win"), "paid")
    assert snapshot(deal) == before


# --- the list ---------------------------------------------------------------------------------


def test_cursor_pagination_has_no_duplicates_and_misses_nothing(org, manager_api):
    ids = {new_deal(org.manager, title=f"Сделка {index}").pk for index in range(23)}
    seen: list[int] = []
    cursor = None

    for _page in range(10):
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        body = manager_api.get("/deals", **params).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == ids
    created = [Deal.objects.get(pk=pk).created_at for pk in seen]
    assert created == sorted(created, reverse=True)


def test_list_filters_are_those_of_the_page(org, manager_api):
    company = make_company(org.manager, legal_name="Вектор", inn="7707083893")
    wholesale_deal = new_deal(org.manager, title="Окна", company_id=company.pk)
    retail_deal = new_deal(org.manager, title="Кухня", expected_close="2020-01-01")
    reason = LostReason.objects.get(name="Дорого")
    lost = new_deal(org.manager, title="Двери")
    manager_api.post(f"/deals/{lost.pk}/lose", {"lost_reason_id": reason.pk})

    def ids(**params):
        response = manager_api.get("/deals", **params)
        assert response.status_code == 200, response.content
        return {item["id"] for item in response.json()["items"]}

    assert ids(pipeline=wholesale().pk) == {wholesale_deal.pk}
    assert ids(company=company.pk) == {wholesale_deal.pk}
    assert ids(q="вектор") == {wholesale_deal.pk}
    assert ids(q="кухн") == {retail_deal.pk}
    assert ids(status="lost") == {lost.pk}
    assert ids(overdue="true") == {retail_deal.pk}
    assert ids(close_to="2020-12-31") == {retail_deal.pk}
    assert ids(owner=org.colleague.pk) == set()


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"pipeline": "abc"},
        {"created_to": "9999-12-31"},
        {"created_from": "0001-01-01"},
        {"close_from": "31.12.2030"},
        {"limit": "0"},
        {"limit": "201"},
        {"cursor": "garbage"},
    ],
)
def test_bad_list_parameters_are_422(manager_api, params):
    response = manager_api.get("/deals", **params)

    assert response.status_code == 422, response.content
    assert set(response.json()["errors"]) == set(params)


def _rich_deal(org, index):
    contact = make_contact(org.colleague, first_name=f"Имя{index}", last_name=f"Фамилия{index}")
    company = make_company(org.colleague, legal_name=f"Компания {index}", allow_duplicate=True)
    deal = new_deal(
        org.colleague,
        title=f"Сделка {index}",
        amount="100",
        contact_id=contact.pk,
        company_id=company.pk,
        tags=[f"тег{index}", "общий"],
    )
    deal_share(actor=org.colleague, pk=deal.pk, user_ids=[org.manager.pk])
    deal_line_add(actor=org.colleague, deal=deal, name=f"Товар {index}", price="10")
    payment_add(actor=org.colleague, deal=deal, kind="prepayment", amount="5")
    return deal


def _count(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, limit=200)
    assert response.status_code == 200, response.content
    return len(queries)


@pytest.mark.parametrize("path", ["/deals", "/pipelines", "/lost-reasons", "/products"])
def test_list_query_count_is_the_same_for_one_and_thirty_deals(org, path):
    client = ApiClient(token_for(org.head))
    _rich_deal(org, 0)
    client.get(path)  # warm caches (content types, the token's last use)
    one = _count(client, path)

    for index in range(1, 30):
        _rich_deal(org, index)

    assert _count(client, path) == one
    if path == "/deals":
        assert len(client.get(path, limit=200).json()["items"]) == 30


@pytest.mark.parametrize("suffix", ["", "/history", "/lines", "/payments"])
def test_a_deal_costs_the_same_queries_with_many_lines_payments_and_moves(org, suffix):
    client = ApiClient(token_for(org.manager))
    deal = new_deal(org.manager, amount="1000")
    deal_line_add(actor=org.manager, deal=deal, name="Стол", price="10")
    payment_add(actor=org.manager, deal=deal, kind="prepayment", amount="5")
    path = f"/deals/{deal.pk}{suffix}"
    client.get(path)
    one = _count(client, path)

    stages = list(retail().stages.filter(kind="open").order_by("position"))
    for index in range(10):
        deal_line_add(actor=org.manager, deal=deal, name=f"Товар {index}", price="10")
        payment_add(actor=org.manager, deal=deal, kind="partial", amount="1")
        client.post(f"/deals/{deal.pk}/move", {"stage_id": stages[(index + 1) % 3].pk})

    assert _count(client, path) == one


def test_the_openapi_schema_lists_the_sales_paths():
    schema = json.loads(Client().get("/api/v1/openapi.json").content)

    paths = set(schema["paths"])
    for path in (
        "/api/v1/pipelines",
        "/api/v1/pipelines/{pipeline_id}/stages",
        "/api/v1/stages/{stage_id}",
        "/api/v1/lost-reasons",
        "/api/v1/deals",
        "/api/v1/deals/{deal_id}/move",
        "/api/v1/deals/{deal_id}/history",
        "/api/v1/deals/{deal_id}/lines/{line_id}",
        "/api/v1/deals/{deal_id}/payments/{payment_id}/receive",
        "/api/v1/products/{product_id}/archive",
    ):
        assert path in paths, path
    amount = schema["components"]["schemas"]["DealOut"]["properties"]["amount"]
    assert {"type": "string"} in amount["anyOf"]

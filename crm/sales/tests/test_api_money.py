"""Line items, payments, the catalogue and the pipeline settings through the API: amounts as
strings, the services' rules, 422 naming each bad field and nothing half-applied."""

from __future__ import annotations

import pytest

from crm.activities.models import TimelineEntry
from crm.api.tests.conftest import ApiClient, token_for
from crm.sales.models import Deal, DealLine, Payment, Pipeline, Product, Stage
from crm.sales.services.deals import deal_create
from crm.sales.services.lines import deal_line_add
from crm.sales.services.payments import payment_add
from crm.sales.tests.factories import make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_api(org):
    return ApiClient(token_for(org.manager))


@pytest.fixture
def admin_api(org):
    return ApiClient(token_for(org.admin))


def new_deal(owner, **data) -> Deal:
    data.setdefault("title", "Кухня на заказ")
    return deal_create(actor=owner, data=data)


def assert_422(response, *fields):
    assert response.status_code == 422, response.content
    body = response.json()
    for field in fields:
        assert body["errors"].get(field), (field, body)
    return body


def money_state(deal: Deal) -> tuple:
    deal.refresh_from_db()
    return (
        deal.amount,
        sorted(DealLine.objects.filter(deal=deal).values_list("name", "quantity", "price")),
        sorted(Payment.objects.filter(deal=deal).values_list("kind", "status", "amount")),
        TimelineEntry.objects.count(),
    )


# --- line items -------------------------------------------------------------------------------


def test_lines_compute_totals_and_the_deal_amount_follows(org, manager_api):
    deal = new_deal(org.manager, amount_from_lines=True)
    table = make_product(name="Стол", price="1000.00", vat_rate="20")
    lines = f"/deals/{deal.pk}/lines"

    first = manager_api.post(lines, {"product_id": table.pk, "quantity": "2"})
    second = manager_api.post(
        lines,
        {
            "name": "Сборка",
            "price": 999.99,
            "quantity": 1,
            "discount_percent": "10",
            "unit": "service",
        },
    )

    assert first.status_code == 201, first.content
    assert first.json()["total"] == "2000.00" and first.json()["vat_amount"] == "333.33"
    assert first.json()["quantity"] == "2.000" and first.json()["product_id"] == table.pk
    assert second.json()["total"] == "899.99" and second.json()["price"] == "999.99"
    listing = manager_api.get(lines).json()
    assert [line["name"] for line in listing["items"]] == ["Стол", "Сборка"]
    assert listing["lines_total"] == "2899.99" and listing["currency"] == "RUB"
    assert {group["rate"] for group in listing["vat_groups"]} == {"20", "22"}
    assert manager_api.get(f"/deals/{deal.pk}").json()["amount"] == "2899.99"

    changed = manager_api.patch(f"{lines}/{second.json()['id']}", {"quantity": "2", "name": None})
    assert changed.status_code == 200, changed.content
    assert changed.json()["name"] == "Сборка" and changed.json()["total"] == "1799.98"
    assert manager_api.request("DELETE", f"{lines}/{first.json()['id']}").status_code == 204
    assert manager_api.get(f"/deals/{deal.pk}").json()["amount"] == "1799.98"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Стол", "price": "-1"}, "price"),
        ({"name": "Стол", "price": "abc"}, "price"),
        ({"name": "Стол", "price": 1e308}, "price"),
        ({"name": "Стол", "price": "10", "quantity": "0"}, "quantity"),
        ({"name": "Стол", "price": "10", "quantity": "-2"}, "quantity"),
        ({"name": "Стол", "price": "10", "quantity": "1.2345"}, "quantity"),
        ({"name": "Стол", "price": "10", "discount_percent": "101"}, "discount_percent"),
        ({"name": "Стол", "price": "10", "vat_rate": "18"}, "vat_rate"),
        ({"name": "Стол", "price": "10", "unit": "ведро"}, "unit"),
        ({"name": "Стол", "price": "99999999999999", "quantity": "10"}, "total"),
        ({"name": "", "price": "10"}, "name"),
        ({"price": "10"}, "name"),
        ({"product_id": 999999}, "product"),
        ({"name": "Стол", "price": True}, "price"),
        ({"name": "Стол", "price": "10", "deal_id": 1}, "deal_id"),
    ],
)
def test_bad_lines_are_422_naming_the_field_and_change_nothing(org, manager_api, body, field):
    deal = new_deal(org.manager, amount_from_lines=True)
    line = deal_line_add(actor=org.manager, deal=deal, name="Стул", price="10")
    before = money_state(deal)

    assert_422(manager_api.post(f"/deals/{deal.pk}/lines", body), field)
    if "product_id" not in body and "deal_id" not in body and field not in ("name",):
        assert_422(manager_api.patch(f"/deals/{deal.pk}/lines/{line.pk}", body), field)
    assert money_state(deal) == before


def test_a_raw_1e309_price_is_422(org, manager_api):
    deal = new_deal(org.manager)

    response = manager_api.post(f"/deals/{deal.pk}/lines", '{"name": "Стол", "price": 1e309}')

    assert_422(response, "price")
    assert not DealLine.objects.exists()


# --- payments ---------------------------------------------------------------------------------


def test_payments_and_their_state(org, manager_api):
    deal = new_deal(org.manager, amount="1000")
    payments = f"/deals/{deal.pk}/payments"

    prepayment = manager_api.post(
        payments, {"kind": "prepayment", "amount": "300", "due_date": "2030-01-10"}
    )
    final = manager_api.post(payments, {"kind": "final", "amount": 700, "status": "received"})

    assert prepayment.status_code == 201, prepayment.content
    assert prepayment.json()["amount"] == "300.00" and prepayment.json()["status"] == "expected"
    assert final.json()["status"] == "received" and final.json()["paid_on"]
    payment_id = prepayment.json()["id"]
    changed = manager_api.patch(f"{payments}/{payment_id}", {"amount": "250", "due_date": None})
    assert changed.json()["amount"] == "250.00" and changed.json()["due_date"] is None
    received = manager_api.post(f"{payments}/{payment_id}/receive", {"method": "card"})
    assert received.json()["status"] == "received" and received.json()["method"] == "card"
    state = manager_api.get(payments).json()["state"]
    assert state["received"] == "950.00" and state["due"] == "50.00"
    assert state["has_prepayment"] is True and state["paid_in_full"] is False
    cancelled = manager_api.post(f"{payments}/{payment_id}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert manager_api.get(payments).json()["state"]["received"] == "700.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "prepayment", "amount": "0"}, "amount"),
        ({"kind": "prepayment", "amount": "-5"}, "amount"),
        ({"kind": "prepayment", "amount": "abc"}, "amount"),
        ({"kind": "prepayment", "amount": "1e309"}, "amount"),
        ({"kind": "prepayment", "amount": "10.001"}, "amount"),
        ({"kind": "advance", "amount": "10"}, "kind"),
        ({"amount": "10"}, "kind"),
        ({"kind": "prepayment"}, "amount"),
        ({"kind": "prepayment", "amount": "10", "status": "cancelled"}, "status"),
        ({"kind": "prepayment", "amount": "10", "paid_on": "2020-01-01"}, "paid_on"),
        (
            {"kind": "final", "amount": "10", "status": "received", "paid_on": "2099-01-01"},
            "paid_on",
        ),
        ({"kind": "prepayment", "amount": "10", "method": "barter"}, "method"),
        ({"kind": "prepayment", "amount": "10", "currency": "USD"}, "currency"),
    ],
)
def test_bad_payments_are_422_naming_the_field_and_change_nothing(org, manager_api, body, field):
    deal = new_deal(org.manager, amount="1000")
    before = money_state(deal)

    assert_422(manager_api.post(f"/deals/{deal.pk}/payments", body), field)
    assert money_state(deal) == before


def test_refused_payment_changes_leave_it_as_it_was(org, manager_api):
    deal = new_deal(org.manager, amount="1000")
    payment = payment_add(actor=org.manager, deal=deal, kind="prepayment", amount="300")
    url = f"/deals/{deal.pk}/payments/{payment.pk}"
    before = money_state(deal)

    assert_422(manager_api.patch(url, {"amount": "-1", "comment": "x"}), "amount")
    assert_422(manager_api.post(f"{url}/receive", {"paid_on": "2099-01-01"}), "paid_on")
    assert money_state(deal) == before
    manager_api.post(f"{url}/cancel")
    assert_422(manager_api.post(f"{url}/receive", {}), "status")
    assert_422(manager_api.patch(url, {"comment": "снова"}), "status")


# --- the catalogue ----------------------------------------------------------------------------


def test_products_through_the_api(org):
    head = ApiClient(token_for(org.head))

    created = head.post(
        "/products", {"name": "Шкаф", "sku": "SH-1", "price": "15 000,5", "currency": "USD"}
    )

    assert created.status_code == 201, created.content
    data = created.json()
    assert data["price"] == "15000.50" and data["currency"] == "USD" and data["vat_rate"] == "22"
    assert head.get(f"/products/{data['id']}").json() == data
    assert head.patch(f"/products/{data['id']}", {"price": 0}).json()["price"] == "0.00"
    assert head.post(f"/products/{data['id']}/archive").json()["archived"] is True
    manager = ApiClient(token_for(org.manager))
    assert manager.get("/products").json()["items"] == []
    assert manager.get("/products", archived="true").json()["items"] == []
    assert [p["id"] for p in head.get("/products", archived="true").json()["items"]] == [data["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Шкаф", "price": "-1"}, "price"),
        ({"name": "Шкаф", "price": "abc"}, "price"),
        ({"name": "Шкаф", "price": "1e309"}, "price"),
        ({"name": "Шкаф"}, "price"),
        ({"name": "Шкаф", "price": "1", "currency": "XXX"}, "currency"),
        ({"name": "Шкаф", "price": "1", "vat_rate": "18"}, "vat_rate"),
        ({"name": "Шкаф", "price": "1", "sku": "TAKEN"}, "sku"),
        ({"name": "Шкаф", "price": "1", "sku": "taken"}, "sku"),
        ({"name": "Шкаф", "price": "1", "archived": True}, "archived"),
        ({"price": "1"}, "name"),
    ],
)
def test_bad_products_are_422_naming_the_field(admin_api, body, field):
    make_product(name="Стол", sku="TAKEN")

    assert_422(admin_api.post("/products", body), field)
    assert Product.objects.count() == 1


# --- pipeline settings ------------------------------------------------------------------------


def test_stage_rules_through_the_api(org, admin_api):
    retail = Pipeline.objects.get(name="Розница")
    wholesale = Pipeline.objects.get(name="Опт")
    new = retail.stages.get(name="Новая")
    invoice = retail.stages.get(name="Счёт выставлен")
    deal = new_deal(org.manager)

    response = admin_api.patch(
        f"/stages/{invoice.pk}",
        {"required_fields": ["amount", "custom.nothing"], "color": "red", "probability": 101},
    )
    assert_422(response, "required_fields", "color", "probability")
    assert admin_api.patch(f"/stages/{new.pk}", {"kind": "won"}).status_code == 409
    assert admin_api.request("DELETE", f"/stages/{new.pk}").status_code == 409
    other = wholesale.stages.get(name="Новая").pk
    assert_422(admin_api.request("DELETE", f"/stages/{new.pk}?move_to={other}"), "move_to")
    assert_422(admin_api.request("DELETE", f"/stages/{new.pk}?move_to=999999"), "move_to")
    assert admin_api.post(f"/pipelines/{retail.pk}/archive").status_code == 409
    assert admin_api.post(f"/stages/{new.pk}/archive").status_code == 409
    assert_422(
        admin_api.post(f"/pipelines/{retail.pk}/stages/order", {"stage_ids": [new.pk]}), "stage_ids"
    )
    deal.refresh_from_db()
    assert deal.stage == new and not retail.archived
    assert Stage.objects.filter(pk=new.pk, kind="open", archived=False).exists()

    moved = admin_api.request("DELETE", f"/stages/{new.pk}?move_to={invoice.pk}")
    assert moved.status_code == 204
    deal.refresh_from_db()
    assert deal.stage == invoice


def test_pipelines_through_the_api(admin_api):
    created = admin_api.post("/pipelines", {"name": "Проекты", "client_types": []})

    assert created.status_code == 201, created.content
    pipeline = created.json()
    assert [s["kind"] for s in pipeline["stages"]] == ["open", "won", "lost"]
    stage = admin_api.post(
        f"/pipelines/{pipeline['id']}/stages",
        {"name": "Замер", "required_fields": ["amount"], "stale_after_days": 3},
    ).json()
    stages = admin_api.get(f"/pipelines/{pipeline['id']}/stages").json()
    assert [s["id"] for s in stages][1] == stage["id"]
    assert stage["required_fields"] == ["amount"] and stage["stale_after_days"] == 3
    assert_422(admin_api.post("/pipelines", {"name": ""}), "name")
    assert_422(
        admin_api.post("/pipelines", {"name": "X", "client_types": ["alien"]}), "client_types"
    )
    renamed = admin_api.patch(f"/pipelines/{pipeline['id']}", {"name": "Проекты 2"}).json()
    assert renamed["name"] == "Проекты 2"
    archived = admin_api.post(f"/pipelines/{pipeline['id']}/archive").json()
    assert archived["archived"] is True
    listed = {p["id"] for p in admin_api.get("/pipelines").json()}
    assert pipeline["id"] not in listed
    everything = admin_api.get("/pipelines", include_archived="true").json()
    assert pipeline["id"] in {p["id"] for p in everything}

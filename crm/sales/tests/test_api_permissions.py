"""The permission matrix of the sales API: the API sees and changes what the UI does.

Team A: ``head`` leads ``manager``, ``colleague`` and the read-only ``viewer``; team B has
``outsider``. A deal the caller may not see (and its lines and payments) answers 404, a
change the caller's role may not make answers 403, and a refused change changes nothing.
"""

from __future__ import annotations

import pytest

from crm.activities.models import TimelineEntry
from crm.api.tests.conftest import ApiClient, token_for
from crm.api.urls import api
from crm.sales.models import Deal, LostReason, Pipeline
from crm.sales.services.deals import deal_create
from crm.sales.services.lines import deal_line_add
from crm.sales.services.payments import payment_add
from crm.sales.services.pipelines import pipeline_save, stage_save
from crm.sales.tests.factories import make_product

pytestmark = pytest.mark.django_db

SALES_PREFIXES = ("/pipelines", "/stages", "/lost-reasons", "/deals", "/products")

# (actor, owner of the deal) → may read?, may write?
VISIBLE = {
    ("admin", "manager"): (True, True),
    ("admin", "outsider"): (True, True),
    ("head", "manager"): (True, True),
    ("head", "colleague"): (True, True),
    ("head", "outsider"): (False, False),
    ("manager", "manager"): (True, True),
    ("manager", "colleague"): (False, False),
    ("manager", "outsider"): (False, False),
    ("viewer", "manager"): (True, False),
    ("viewer", "outsider"): (False, False),
    ("outsider", "outsider"): (True, True),
    ("outsider", "manager"): (False, False),
}


def _sales_operations() -> list[tuple[str, str]]:
    """(method, path with every id set to 1) of each sales operation in the schema."""
    operations = []
    for template, methods in api.get_openapi_schema()["paths"].items():
        path = template.removeprefix("/api/v1")
        if not path.startswith(SALES_PREFIXES):
            continue
        for part in ("pipeline_id", "stage_id", "reason_id", "deal_id", "line_id", "payment_id"):
            path = path.replace("{" + part + "}", "1")
        path = path.replace("{product_id}", "1")
        operations += [(method.upper(), path) for method in methods]
    return operations


def test_every_sales_operation_needs_authentication(org):
    anonymous = ApiClient()
    operations = _sales_operations()
    assert len(operations) >= 40

    for method, path in operations:
        response = anonymous.request(method, path, {})
        assert response.status_code == 401, (method, path, response.content)
        assert response.json()["detail"]


def _world(org, owner_name):
    """A deal of ``owner`` with a line and an expected payment, made through the services."""
    owner = getattr(org, owner_name)
    deal = deal_create(actor=owner, data={"title": "Кухня", "amount": "1000"})
    line = deal_line_add(actor=owner, deal=deal, name="Стол", price="500")
    payment = payment_add(actor=owner, deal=deal, kind="prepayment", amount="300")
    return deal, line, payment


def _read_calls(deal):
    return [
        ("GET", f"/deals/{deal.pk}", None),
        ("GET", f"/deals/{deal.pk}/history", None),
        ("GET", f"/deals/{deal.pk}/lines", None),
        ("GET", f"/deals/{deal.pk}/payments", None),
    ]


def _write_calls(org, deal, line, payment):
    """Writes in an order in which each succeeds for a caller who may make them."""
    second = deal.pipeline.stages.get(name="Счёт выставлен")
    reason = LostReason.objects.get(name="Дорого")
    lines = f"/deals/{deal.pk}/lines"
    payments = f"/deals/{deal.pk}/payments"
    return [
        ("PATCH", f"/deals/{deal.pk}", {"notes": "изменено"}, 200),
        ("POST", lines, {"name": "Стул", "price": "100", "quantity": 2}, 201),
        ("PATCH", f"{lines}/{line.pk}", {"quantity": "3"}, 200),
        ("DELETE", f"{lines}/{line.pk}", None, 204),
        ("POST", payments, {"kind": "final", "amount": "700"}, 201),
        ("PATCH", f"{payments}/{payment.pk}", {"comment": "по счёту"}, 200),
        ("POST", f"{payments}/{payment.pk}/receive", {}, 200),
        ("POST", f"{payments}/{payment.pk}/cancel", None, 200),
        ("POST", f"/deals/{deal.pk}/move", {"stage_id": second.pk}, 200),
        ("POST", f"/deals/{deal.pk}/win", None, 200),
        ("POST", f"/deals/{deal.pk}/reopen", None, 200),
        ("POST", f"/deals/{deal.pk}/lose", {"lost_reason_id": reason.pk}, 200),
        ("POST", f"/deals/{deal.pk}/reopen", None, 200),
        ("POST", f"/deals/{deal.pk}/share", {"user_ids": [org.admin.pk]}, 200),
    ]


def _state(deal):
    deal.refresh_from_db()
    return (
        deal.stage_id,
        deal.status,
        deal.notes,
        deal.amount,
        sorted(deal.lines.values_list("name", "quantity")),
        sorted(deal.payments.values_list("status", "comment")),
        list(deal.shared_with.all()),
        TimelineEntry.objects.count(),
    )


@pytest.mark.parametrize(("actor", "owner"), sorted(VISIBLE))
def test_deal_permission_matrix(org, actor, owner):
    deal, line, payment = _world(org, owner)
    may_read, may_write = VISIBLE[(actor, owner)]
    client = ApiClient(token_for(getattr(org, actor)))

    for method, path, body in _read_calls(deal):
        response = client.request(method, path, body)
        assert response.status_code == (200 if may_read else 404), (method, path)

    before = _state(deal)
    for method, path, body, success in _write_calls(org, deal, line, payment):
        response = client.request(method, path, body)
        expected = success if may_write else (403 if may_read else 404)
        assert response.status_code == expected, (method, path, response.content)
        if expected >= 400:
            assert set(response.json()) == {"detail", "errors"}
    if not may_write:
        assert _state(deal) == before


def test_lists_hold_only_visible_deals(org):
    deals = {
        owner: deal_create(actor=getattr(org, owner), data={"title": f"Сделка {owner}"})
        for owner in ("manager", "colleague", "outsider")
    }
    expected = {
        "admin": {"manager", "colleague", "outsider"},
        "head": {"manager", "colleague"},
        "manager": {"manager"},
        "viewer": {"manager", "colleague"},
        "outsider": {"outsider"},
    }
    for actor, owners in expected.items():
        response = ApiClient(token_for(getattr(org, actor))).get("/deals")
        ids = {item["id"] for item in response.json()["items"]}
        assert ids == {deals[owner].pk for owner in owners}, actor


def test_a_shared_deal_is_visible_and_editable_by_a_manager(org):
    deal = deal_create(actor=org.colleague, data={"title": "Общая"})
    client = ApiClient(token_for(org.manager))
    assert client.get(f"/deals/{deal.pk}").status_code == 404

    ApiClient(token_for(org.colleague)).post(
        f"/deals/{deal.pk}/share", {"user_ids": [org.manager.pk]}
    )

    assert client.get(f"/deals/{deal.pk}").status_code == 200
    assert client.patch(f"/deals/{deal.pk}", {"notes": "общий"}).status_code == 200


@pytest.mark.parametrize(
    ("actor", "status"),
    [("admin", 201), ("head", 201), ("manager", 201), ("outsider", 201), ("viewer", 403)],
)
def test_create_deal_by_role(org, actor, status):
    response = ApiClient(token_for(getattr(org, actor))).post("/deals", {"title": "Новая"})

    assert response.status_code == status, response.content
    assert Deal.objects.count() == (1 if status == 201 else 0)


def _config_world(org):
    pipeline = pipeline_save(actor=org.admin, name="Проекты")
    stage = stage_save(actor=org.admin, pipeline=pipeline, name="Замер")
    reason = LostReason.objects.get(name="Дорого")
    return pipeline, stage, reason, make_product()


def _config_reads(pipeline, product):
    return [
        "/pipelines",
        f"/pipelines/{pipeline.pk}",
        f"/pipelines/{pipeline.pk}/stages",
        "/lost-reasons",
        "/products",
        f"/products/{product.pk}",
    ]


def _pipeline_writes(pipeline, stage, reason):
    order = list(pipeline.stages.values_list("id", flat=True))
    return [
        ("POST", "/pipelines", {"name": "Сервис"}, 201),
        ("PATCH", f"/pipelines/{pipeline.pk}", {"name": "Проекты 2"}, 200),
        ("POST", f"/pipelines/{pipeline.pk}/stages/order", {"stage_ids": order[::-1]}, 200),
        ("PATCH", f"/stages/{stage.pk}", {"probability": 30}, 200),
        ("POST", f"/stages/{stage.pk}/archive", None, 200),
        ("POST", f"/stages/{stage.pk}/restore", None, 200),
        ("DELETE", f"/stages/{stage.pk}", None, 204),
        ("POST", f"/pipelines/{pipeline.pk}/stages", {"name": "Монтаж"}, 201),
        ("POST", f"/pipelines/{pipeline.pk}/archive", None, 200),
        ("POST", f"/pipelines/{pipeline.pk}/restore", None, 200),
        ("POST", "/lost-reasons", {"name": "Передумали"}, 201),
        ("PATCH", f"/lost-reasons/{reason.pk}", {"name": "Слишком дорого"}, 200),
        ("POST", f"/lost-reasons/{reason.pk}/archive", None, 200),
        ("POST", f"/lost-reasons/{reason.pk}/restore", None, 200),
    ]


def _product_writes(product):
    return [
        ("POST", "/products", {"name": "Шкаф", "price": "15000"}, 201),
        ("PATCH", f"/products/{product.pk}", {"price": 1200.5}, 200),
        ("POST", f"/products/{product.pk}/archive", None, 200),
        ("POST", f"/products/{product.pk}/restore", None, 200),
    ]


def _config_state():
    return (
        sorted(Pipeline.objects.values_list("id", "name", "archived")),
        sorted(Pipeline.objects.values_list("stages__id", "stages__position")),
        sorted(LostReason.objects.values_list("id", "name", "archived")),
    )


# actor → may configure pipelines?, may edit the catalogue?
CONFIG_RIGHTS = {
    "admin": (True, True),
    "head": (False, True),
    "manager": (False, False),
    "outsider": (False, False),
    "viewer": (False, False),
}


@pytest.mark.parametrize("actor", sorted(CONFIG_RIGHTS))
def test_configuration_permission_matrix(org, actor):
    pipeline, stage, reason, product = _config_world(org)
    configures, edits_catalogue = CONFIG_RIGHTS[actor]
    client = ApiClient(token_for(getattr(org, actor)))

    for path in _config_reads(pipeline, product):
        assert client.get(path).status_code == 200, path

    before = _config_state()
    for method, path, body, success in _pipeline_writes(pipeline, stage, reason):
        response = client.request(method, path, body)
        assert response.status_code == (success if configures else 403), (method, path)
    if not configures:
        assert _config_state() == before
    for method, path, body, success in _product_writes(product):
        response = client.request(method, path, body)
        assert response.status_code == (success if edits_catalogue else 403), (method, path)


@pytest.mark.parametrize(
    "path",
    [
        "/deals/999999",
        "/deals/999999/history",
        "/deals/999999/lines",
        "/deals/999999/payments",
        "/pipelines/999999",
        "/pipelines/999999/stages",
        "/products/999999",
    ],
)
def test_missing_records_are_404(org, path):
    response = ApiClient(token_for(org.admin)).get(path)

    assert response.status_code == 404
    assert response.json()["detail"]


def test_a_line_or_payment_of_another_deal_is_404(org):
    deal, line, payment = _world(org, "manager")
    other, _line, _payment = _world(org, "manager")
    client = ApiClient(token_for(org.manager))

    assert client.patch(f"/deals/{other.pk}/lines/{line.pk}", {"name": "x"}).status_code == 404
    assert client.request("DELETE", f"/deals/{other.pk}/lines/{line.pk}").status_code == 404
    assert client.post(f"/deals/{other.pk}/payments/{payment.pk}/cancel").status_code == 404
    assert deal.lines.get().name == "Стол"

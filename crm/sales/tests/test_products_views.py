"""The catalogue pages: reading for everyone, editing for administrators and heads, search,
paging with a constant number of queries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from conftest import client_for
from crm.sales.models import Product
from crm.sales.tests.factories import make_product

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    """These tests read English messages: pin the language (the default is Russian)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


LIST = reverse("sales:product_list")
ROLES = ["admin", "head", "manager", "colleague", "outsider", "viewer"]


@pytest.mark.parametrize("who", ROLES)
def test_everyone_signed_in_reads_the_catalogue(org, who):
    make_product(name="Стул", sku="CH-1")
    response = client_for(getattr(org, who)).get(LIST)
    assert response.status_code == 200
    assert "Стул" in response.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(db):
    assert client_for(None).get(LIST).status_code == 302
    assert client_for(None).post(reverse("sales:product_create"), {}).status_code == 302


def test_search_by_name_in_any_case_and_by_sku(org):
    make_product(name="Стол дубовый", sku="OAK-7")
    make_product(name="Шкаф", sku="WARD-1")
    client = client_for(org.manager)
    for query in ("стол", "СТОЛ", "дуб", "oak", "OAK-7"):
        page = client.get(LIST, {"q": query}).content.decode()
        assert "Стол дубовый" in page and "Шкаф" not in page, query
    assert "No products match" in client.get(LIST, {"q": "диван"}).content.decode()


def test_archived_products_leave_the_list(org):
    make_product(name="Старый стол", archived=True)
    make_product(name="Новый стол")
    page = client_for(org.manager).get(LIST).content.decode()
    assert "Новый стол" in page and "Старый стол" not in page
    # the archive is for editors; others get the live list
    assert (
        "Старый стол" not in client_for(org.manager).get(LIST, {"archived": "1"}).content.decode()
    )
    assert "Старый стол" in client_for(org.admin).get(LIST, {"archived": "1"}).content.decode()


def test_pages_follow_a_cursor(org, monkeypatch):
    from crm.sales.views import products as views

    monkeypatch.setattr(views, "LIST_LIMIT", 2)
    for name in ("А", "Б", "В"):
        make_product(name=name)
    client = client_for(org.manager)
    first = client.get(LIST)
    assert first.context["next_url"]
    second = client.get(LIST + first.context["next_url"])
    assert [p.name for p in second.context["page"].items] == ["В"]
    assert client.get(LIST, {"cursor": "garbage"}).status_code == 400


def test_json_rows_for_pickers(org):
    make_product(name="Стул", sku="CH-1", price=Decimal("10.50"))
    data = client_for(org.viewer).get(LIST, {"format": "json", "q": "стул"}).json()
    assert data["items"] == [
        {
            "id": Product.objects.get().pk,
            "name": "Стул",
            "sku": "CH-1",
            "price": "10.50",
            "currency": "RUB",
            "unit": "pcs",
            "vat_rate": "22",
        }
    ]


def test_list_query_count_does_not_grow_with_rows(org, django_assert_num_queries):
    client = client_for(org.manager)
    make_product(name="Первый")
    client.get(LIST)  # warm the session and caches
    with CaptureQueriesContext(connection) as one:
        assert client.get(LIST).status_code == 200
    for index in range(29):
        make_product(name=f"Товар {index}", sku=f"SKU-{index}")
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(LIST)
    assert len(response.context["page"].items) == 30


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("head", 200),
        ("manager", 403),
        ("colleague", 403),
        ("viewer", 403),
        ("outsider", 403),
    ],
)
def test_only_editors_open_the_forms(org, who, status):
    product = make_product()
    client = client_for(getattr(org, who))
    assert client.get(reverse("sales:product_create")).status_code == status
    assert client.get(reverse("sales:product_edit", args=[product.pk])).status_code == status
    response = client.post(
        reverse("sales:product_create"),
        {"name": "X", "price": "1", "currency": "RUB", "unit": "pcs", "vat_rate": "22"},
    )
    assert response.status_code == (302 if status == 200 else 403)
    archive = client.post(reverse("sales:product_archive", args=[product.pk]))
    assert archive.status_code == (302 if status == 200 else 403)


def test_create_edit_archive_restore_through_the_pages(org):
    client = client_for(org.head)
    data = {
        "name": "Комод",
        "sku": "K-1",
        "price": "7 500,00",
        "currency": "RUB",
        "unit": "pcs",
        "vat_rate": "20",
        "description": "",
    }
    response = client.post(reverse("sales:product_create"), data)
    assert response.status_code == 302
    product = Product.objects.get()
    assert product.price == Decimal("7500.00") and product.vat_rate == "20"
    response = client.post(
        reverse("sales:product_edit", args=[product.pk]), {**data, "price": "8000"}
    )
    assert response.status_code == 302
    assert Product.objects.get().price == Decimal("8000.00")
    client.post(reverse("sales:product_archive", args=[product.pk]), {"action": "archive"})
    assert Product.objects.get().archived
    client.post(reverse("sales:product_archive", args=[product.pk]), {"action": "restore"})
    assert not Product.objects.get().archived


@pytest.mark.parametrize("price", ["-5", "abc", "1e309", "NaN", "99999999999999999999", ""])
def test_bad_input_shows_inline_errors_with_422(org, price):
    client = client_for(org.admin)
    data = {"name": "Комод", "price": price, "currency": "RUB", "unit": "pcs", "vat_rate": "22"}
    response = client.post(reverse("sales:product_create"), data)
    assert response.status_code == 422
    errors = response.context["form"].errors["price"]
    assert errors and errors[0] in response.content.decode()
    assert "is-invalid" in response.content.decode()
    assert not Product.objects.exists()


def test_a_taken_sku_is_shown_on_the_field(org):
    make_product(sku="K-1")
    data = {
        "name": "Комод",
        "sku": "k-1",
        "price": "1",
        "currency": "RUB",
        "unit": "pcs",
        "vat_rate": "22",
    }
    response = client_for(org.admin).post(reverse("sales:product_create"), data)
    assert response.status_code == 422
    assert response.context["form"].errors["sku"]


def test_unknown_product_is_404(org):
    assert client_for(org.admin).get(reverse("sales:product_edit", args=[999])).status_code == 404

"""The lines panel of a deal card: HTMX answers with the refreshed panel, plain posts
redirect back, bad input shows inline with 422, and the permission matrix."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from conftest import client_for
from crm.sales.models import Deal, DealLine
from crm.sales.services.lines import deal_line_add
from crm.sales.tests.factories import make_deal, make_product

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
LINE = {"name": "Монтаж", "quantity": "2", "price": "1000", "discount_percent": "0"}


def url(name, deal, *args):
    return reverse(f"sales:{name}", args=[deal.pk, *args])


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("head", 200),
        ("manager", 200),
        ("colleague", 404),
        ("outsider", 404),
        ("viewer", 403),
    ],
)
def test_who_may_add_a_line(org, who, status):
    deal = make_deal(org.manager)
    response = client_for(getattr(org, who)).post(url("deal_line_add", deal), LINE, headers=HTMX)
    assert response.status_code == status
    assert DealLine.objects.count() == (1 if status == 200 else 0)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("head", 200),
        ("manager", 200),
        ("colleague", 404),
        ("outsider", 404),
        ("viewer", 200),
    ],
)
def test_who_may_see_the_panel(org, who, status):
    deal = make_deal(org.manager)
    deal_line_add(actor=org.manager, deal=deal, name="Монтаж", price="10")
    response = client_for(getattr(org, who)).get(url("deal_lines", deal), headers=HTMX)
    assert response.status_code == status
    if status == 200:
        page = response.content.decode()
        assert "Монтаж" in page
        # the read-only user sees no controls
        assert ("deal-line-add" in page) is (who != "viewer")


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("head", 200),
        ("manager", 200),
        ("colleague", 404),
        ("outsider", 404),
        ("viewer", 403),
    ],
)
def test_who_may_edit_and_remove_a_line(org, who, status):
    deal = make_deal(org.manager)
    line = deal_line_add(actor=org.manager, deal=deal, name="Монтаж", price="10")
    client = client_for(getattr(org, who))
    edited = client.post(
        url("deal_line_edit", deal, line.pk),
        {**LINE, "unit": "pcs", "vat_rate": "22"},
        headers=HTMX,
    )
    assert edited.status_code == status
    assert DealLine.objects.get().price == (
        Decimal("1000.00") if status == 200 else Decimal("10.00")
    )
    removed = client.post(url("deal_line_remove", deal, line.pk), headers=HTMX)
    assert removed.status_code == status
    assert DealLine.objects.exists() is (status != 200)


def test_anonymous_visitors_are_sent_to_sign_in(org):
    deal = make_deal(org.manager)
    assert client_for(None).post(url("deal_line_add", deal), LINE).status_code == 302
    assert client_for(None).get(url("deal_lines", deal)).status_code == 302
    assert not DealLine.objects.exists()


def test_htmx_add_answers_the_panel_with_payments_out_of_band(org):
    deal = make_deal(org.manager, amount_from_lines=True)
    response = client_for(org.manager).post(url("deal_line_add", deal), LINE, headers=HTMX)
    page = response.content.decode()
    assert response.status_code == 200
    assert f'id="deal-lines-{deal.pk}"' in page
    assert f'id="deal-payments-{deal.pk}"' in page and 'hx-swap-oob="true"' in page
    assert "dealMoneyChanged" in response["HX-Trigger"]
    assert '"amount": "2000.00"' in response["HX-Trigger"]
    assert Deal.objects.get(pk=deal.pk).amount == Decimal("2000.00")


def test_a_plain_post_redirects_to_the_deal(org):
    deal = make_deal(org.manager)
    response = client_for(org.manager).post(url("deal_line_add", deal), LINE)
    assert response.status_code == 302
    assert response["Location"] == reverse("sales:deal_detail", args=[deal.pk])
    assert DealLine.objects.get().total == Decimal("2000.00")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"quantity": "abc"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "1e309"}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"price": "99999999999999999999"}, "price"),
        ({"price": "-1"}, "price"),
        ({"price": ""}, "price"),
        ({"discount_percent": "150"}, "discount_percent"),
        ({"name": ""}, "name"),
        ({"name": "x" * 300}, "name"),
        ({"product": "99999"}, "product"),
        ({"product": "99999999999999999999999"}, "product"),
    ],
)
def test_bad_input_shows_inline_with_422(org, data, field):
    deal = make_deal(org.manager)
    for headers in (HTMX, {}):
        response = client_for(org.manager).post(
            url("deal_line_add", deal), {**LINE, **data}, headers=headers
        )
        assert response.status_code == 422
        errors = response.context["line_form"].errors[field]
        assert errors and str(errors[0]) in response.content.decode()
    assert not DealLine.objects.exists()


def test_edit_opens_the_line_and_bad_input_keeps_it_open(org):
    deal = make_deal(org.manager)
    line = deal_line_add(actor=org.manager, deal=deal, name="Монтаж", price="10")
    client = client_for(org.manager)
    opened = client.get(url("deal_line_edit", deal, line.pk), headers=HTMX)
    assert opened.status_code == 200 and opened.context["editing_line_id"] == line.pk
    assert 'value="Монтаж"' in opened.content.decode()
    refused = client.post(
        url("deal_line_edit", deal, line.pk),
        {**LINE, "quantity": "0", "unit": "pcs", "vat_rate": "22"},
        headers=HTMX,
    )
    assert refused.status_code == 422 and refused.context["edit_form"].errors["quantity"]
    assert DealLine.objects.get().quantity == Decimal("1.000")
    # the plain page too (no JavaScript)
    assert client.get(url("deal_lines", deal) + f"?edit={line.pk}").status_code == 200
    assert client.get(url("deal_lines", deal) + "?edit=999").status_code == 404


def test_a_line_of_another_deal_is_404(org):
    deal, other = make_deal(org.manager), make_deal(org.manager)
    line = deal_line_add(actor=org.manager, deal=other, name="Монтаж", price="10")
    client = client_for(org.manager)
    assert client.post(url("deal_line_remove", deal, line.pk), headers=HTMX).status_code == 404
    assert client.post(url("deal_line_edit", deal, line.pk), LINE, headers=HTMX).status_code == 404
    assert DealLine.objects.filter(pk=line.pk).exists()


def test_the_picker_offers_products_and_fills_the_form(org):
    make_product(name="Стол дубовый", sku="OAK", price=Decimal("15000"))
    make_product(name="Стул", archived=True)
    deal = make_deal(org.manager)
    client = client_for(org.manager)
    fragment = client.get(url("deal_line_picker", deal), {"name": "стол"}, headers=HTMX)
    assert fragment.status_code == 200 and "Стол дубовый" in fragment.content.decode()
    assert (
        "Стул"
        not in client.get(
            url("deal_line_picker", deal), {"q": "стул"}, headers=HTMX
        ).content.decode()
    )
    data = client.get(url("deal_line_picker", deal), {"q": "oak", "format": "json"}).json()
    product_id = data["items"][0]["id"]
    picked = client.get(url("deal_lines", deal), {"pick": product_id}, headers=HTMX)
    page = picked.content.decode()
    assert f'name="product" value="{product_id}"' in page
    assert 'value="15000.00"' in page
    added = client.post(
        url("deal_line_add", deal),
        {"product": product_id, "quantity": "2", "name": "", "price": ""},
        headers=HTMX,
    )
    assert added.status_code == 200
    line = DealLine.objects.get()
    assert line.product_id == product_id and line.total == Decimal("30000.00")


def test_the_picker_is_404_for_a_deal_out_of_sight(org):
    deal = make_deal(org.manager)
    assert (
        client_for(org.outsider).get(url("deal_line_picker", deal), {"q": "x"}).status_code == 404
    )


def test_the_plain_page_shows_catalogue_results(org):
    make_product(name="Стол дубовый")
    deal = make_deal(org.manager)
    page = client_for(org.manager).get(url("deal_lines", deal), {"q": "стол"}).content.decode()
    assert "Стол дубовый" in page and "?pick=" in page


def test_reorder(org):
    deal = make_deal(org.manager)
    a = deal_line_add(actor=org.manager, deal=deal, name="A", price="1")
    b = deal_line_add(actor=org.manager, deal=deal, name="B", price="1")
    client = client_for(org.manager)
    response = client.post(url("deal_lines_reorder", deal), {"line": [b.pk, a.pk]}, headers=HTMX)
    assert response.status_code == 200
    assert list(DealLine.objects.order_by("position").values_list("name", flat=True)) == ["B", "A"]
    assert (
        client.post(url("deal_lines_reorder", deal), {"line": [b.pk]}, headers=HTMX).status_code
        == 422
    )
    assert (
        client.post(url("deal_lines_reorder", deal), {"line": ["x"]}, headers=HTMX).status_code
        == 422
    )
    assert (
        client_for(org.viewer)
        .post(url("deal_lines_reorder", deal), {"line": [a.pk, b.pk]})
        .status_code
        == 403
    )


def test_totals_by_vat_rate_on_the_panel(org):
    deal = make_deal(org.manager)
    deal_line_add(actor=org.manager, deal=deal, name="A", price="122", vat_rate="22")
    deal_line_add(actor=org.manager, deal=deal, name="B", price="110", vat_rate="10")
    deal_line_add(actor=org.manager, deal=deal, name="C", price="50", vat_rate="none")
    response = client_for(org.manager).get(url("deal_lines", deal), headers=HTMX)
    money = response.context["money"]
    assert [(g.rate, g.total, g.vat) for g in money.vat_groups] == [
        ("none", Decimal("50.00"), Decimal("0.00")),
        ("10", Decimal("110.00"), Decimal("10.00")),
        ("22", Decimal("122.00"), Decimal("22.00")),
    ]
    assert money.lines_total == Decimal("282.00") and money.vat_total == Decimal("32.00")
    assert money.amount_differs  # the typed-in amount (none) is not the lines' total

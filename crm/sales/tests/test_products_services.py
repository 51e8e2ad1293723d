"""The product catalogue services: who edits, the rules of a product, archiving."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.core.errors import PermissionDenied, ValidationFailed
from crm.sales.models import Product
from crm.sales.services import products as services
from crm.sales.tests.factories import make_product

pytestmark = pytest.mark.django_db


def create(actor, **data):
    data.setdefault("name", "Стол обеденный")
    data.setdefault("price", "15 000,50")
    return services.product_create(actor=actor, **data)


def test_creates_a_product_with_defaults(org):
    product = create(org.admin, sku=" ST-1 ", description="Дуб\nмассив")
    assert product.name == "Стол обеденный" and product.sku == "ST-1"
    assert product.price == Decimal("15000.50")
    assert (product.unit, product.currency, product.vat_rate) == ("pcs", "RUB", "22")
    assert product.description == "Дуб\nмассив" and not product.archived


@pytest.mark.parametrize("who", ["admin", "head"])
def test_administrators_and_heads_edit_the_catalogue(org, who):
    actor = getattr(org, who)
    product = create(actor)
    product = services.product_update(actor=actor, product=product, price="0", vat_rate="none")
    assert product.price == Decimal("0.00") and product.vat_rate == "none"
    assert services.product_archive(actor=actor, product=product).archived
    assert not services.product_restore(actor=actor, product=product).archived


@pytest.mark.parametrize("who", ["manager", "colleague", "outsider", "viewer"])
def test_others_may_not_edit_the_catalogue(org, who):
    actor = getattr(org, who)
    product = make_product()
    with pytest.raises(PermissionDenied):
        create(actor)
    with pytest.raises(PermissionDenied):
        services.product_update(actor=actor, product=product, name="Другой")
    with pytest.raises(PermissionDenied):
        services.product_archive(actor=actor, product=product)
    product.refresh_from_db()
    assert Product.objects.count() == 1 and product.name == "Стол" and not product.archived


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"sku": "x" * 61}, "sku"),
        ({"price": "-1"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": "1e309"}, "price"),
        ({"price": float("inf")}, "price"),
        ({"price": "100000000000000"}, "price"),
        ({"price": "1.001"}, "price"),
        ({"price": ""}, "price"),
        ({"unit": "parsec"}, "unit"),
        ({"currency": "XXX"}, "currency"),
        ({"vat_rate": "18"}, "vat_rate"),
        ({"description": "x" * 5001}, "description"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_refuses_bad_products_naming_the_field(org, data, field):
    with pytest.raises(ValidationFailed) as error:
        create(org.admin, **data)
    assert field in error.value.field_errors
    assert not Product.objects.exists()


def test_sku_is_unique_when_set_ignoring_case(org):
    create(org.admin, sku="ST-1")
    with pytest.raises(ValidationFailed) as error:
        create(org.admin, sku="st-1")
    assert "sku" in error.value.field_errors
    create(org.admin, sku="")
    create(org.admin, sku="")
    assert Product.objects.count() == 3


def test_a_product_keeps_its_sku_when_changed(org):
    product = create(org.admin, sku="ST-1")
    other = create(org.admin, sku="ST-2")
    assert services.product_update(actor=org.admin, product=product, name="Стол").sku == "ST-1"
    with pytest.raises(ValidationFailed):
        services.product_update(actor=org.admin, product=other, sku="ST-1")
    assert Product.objects.get(pk=other.pk).sku == "ST-2"

"""Deal line services: adding from the catalogue or as free text, changing, removing and
reordering lines, the amount that follows the lines, the timeline, and refusals that change
nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.activities.models import TimelineEntry
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.sales.models import Deal, DealLine
from crm.sales.services import lines as services
from crm.sales.tests.factories import make_deal, make_product

pytestmark = pytest.mark.django_db

D = Decimal


def changes_of(deal: Deal) -> list[dict]:
    entries = TimelineEntry.objects.filter(subject_id=deal.pk, kind="field_change").order_by("id")
    return [change for entry in entries for change in entry.data["changes"]]


def add(actor, deal, **data):
    data.setdefault("name", "Монтаж")
    data.setdefault("price", "500")
    return services.deal_line_add(actor=actor, deal=deal, **data)


def test_adds_a_free_text_line_with_its_total_and_vat(org):
    deal = make_deal(org.manager)
    line = add(org.manager, deal, quantity="2", price="1 500,00", discount_percent="10")
    assert line.name == "Монтаж"
    assert line.quantity == D("2.000") and line.price == D("1500.00")
    assert line.total == D("2700.00")
    assert line.vat_amount == D("486.89")  # 2700 × 22 / 122
    assert line.unit == "pcs" and line.vat_rate == "22"
    assert line.product is None and line.position == 0
    change = changes_of(deal)[0]
    assert change["field"] == "lines" and change["old"] == ""
    assert "Монтаж" in change["new"] and "2" in change["new"]


def test_a_product_fills_name_price_unit_and_vat(org):
    deal = make_deal(org.manager)
    product = make_product(name="Шкаф", price=D("12000.00"), unit="set", vat_rate="10")
    line = services.deal_line_add(actor=org.manager, deal=deal, product=product, quantity=3)
    assert (line.name, line.price, line.unit, line.vat_rate) == ("Шкаф", D("12000.00"), "set", "10")
    assert line.product == product and line.total == D("36000.00")
    # given values win over the product's
    other = services.deal_line_add(
        actor=org.manager, deal=deal, product=product.pk, name="Шкаф угловой", price="9000"
    )
    assert other.name == "Шкаф угловой" and other.price == D("9000.00") and other.position == 1


def test_a_product_in_another_currency_needs_a_price(org):
    deal = make_deal(org.manager)
    product = make_product(currency="USD", price=D("10.00"))
    with pytest.raises(ValidationFailed) as error:
        services.deal_line_add(actor=org.manager, deal=deal, product=product)
    assert "price" in error.value.field_errors
    line = services.deal_line_add(actor=org.manager, deal=deal, product=product, price="950")
    assert line.price == D("950.00")


def test_archived_or_unknown_products_are_refused(org):
    deal = make_deal(org.manager)
    archived = make_product(archived=True)
    for product in (archived, archived.pk + 100, "abc", True):
        with pytest.raises(ValidationFailed) as error:
            services.deal_line_add(actor=org.manager, deal=deal, product=product)
        assert "product" in error.value.field_errors
    assert not DealLine.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "abc"}, "quantity"),
        ({"quantity": "1.2345"}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"quantity": "Infinity"}, "quantity"),
        ({"quantity": float("inf")}, "quantity"),
        ({"quantity": float("nan")}, "quantity"),
        ({"quantity": "1e309"}, "quantity"),
        ({"quantity": 1e309}, "quantity"),
        ({"quantity": "100000000000"}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": ""}, "quantity"),
        ({"price": "-0.01"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "1.234"}, "price"),
        ({"price": "1e16"}, "price"),
        ({"price": "9" * 100}, "price"),
        ({"price": ""}, "price"),
        ({"price": None}, "price"),
        ({"discount_percent": "101"}, "discount_percent"),
        ({"discount_percent": "-1"}, "discount_percent"),
        ({"discount_percent": "abc"}, "discount_percent"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 42}, "name"),
        ({"unit": "parsec"}, "unit"),
        ({"vat_rate": "18"}, "vat_rate"),
        ({"quantity": "99999999999", "price": "99999999999999"}, "total"),
    ],
)
def test_refuses_bad_input_naming_the_field_and_writes_nothing(org, data, field):
    deal = make_deal(org.manager, amount_from_lines=True, amount=D("10.00"))
    before = Deal.objects.get(pk=deal.pk)
    with pytest.raises(ValidationFailed) as error:
        add(org.manager, deal, **data)
    assert field in error.value.field_errors
    assert not DealLine.objects.exists()
    assert not TimelineEntry.objects.filter(subject_id=deal.pk).exists()
    after = Deal.objects.get(pk=deal.pk)
    assert after.amount == D("10.00") and after.last_activity_at == before.last_activity_at


def test_every_bad_field_is_named_at_once(org):
    deal = make_deal(org.manager)
    with pytest.raises(ValidationFailed) as error:
        add(org.manager, deal, name="", quantity="abc", price="-1", discount_percent="200")
    assert {"name", "quantity", "price", "discount_percent"} <= set(error.value.field_errors)


def test_the_amount_follows_the_lines_when_asked(org):
    deal = make_deal(org.manager, amount_from_lines=True)
    first = add(org.manager, deal, quantity="2", price="100")
    second = add(org.manager, deal, quantity="1", price="50.50")
    assert second.deal.amount == D("250.50")
    assert Deal.objects.get(pk=deal.pk).amount == D("250.50")
    updated = services.deal_line_update(actor=org.manager, line=first, quantity="3")
    assert updated.total == D("300.00") and updated.deal.amount == D("350.50")
    removed = services.deal_line_remove(actor=org.manager, line=second)
    assert removed.amount == D("300.00")
    assert Deal.objects.get(pk=deal.pk).amount == D("300.00")
    assert services.deal_amount_from_lines(deal) == D("300.00")
    amounts = [c for c in changes_of(deal) if c["field"] == "amount"]
    assert [c["new"].split()[0] for c in amounts] == ["200.00", "250.50", "350.50", "300.00"]


def test_a_typed_in_amount_is_left_alone(org):
    deal = make_deal(org.manager, amount=D("999.00"))
    add(org.manager, deal, price="100")
    assert Deal.objects.get(pk=deal.pk).amount == D("999.00")
    assert all(c["field"] != "amount" for c in changes_of(deal))


def test_recalculate_sets_the_amount_once_the_deal_follows_its_lines(org):
    deal = make_deal(org.manager, amount=D("5.00"))
    add(org.manager, deal, price="100")
    add(org.manager, deal, price="20.25", quantity="2")
    assert services.deal_recalculate_amount(deal=deal).amount == D("5.00")
    Deal.objects.filter(pk=deal.pk).update(amount_from_lines=True)
    assert services.deal_recalculate_amount(deal=deal).amount == D("140.50")
    assert Deal.objects.get(pk=deal.pk).amount == D("140.50")
    assert services.deal_amount_from_lines(make_deal(org.manager)) == D("0.00")


def test_the_deal_total_must_fit_the_amount_column(org):
    deal = make_deal(org.manager, amount_from_lines=True)
    add(org.manager, deal, quantity="1", price="99999999999999")
    with pytest.raises(ValidationFailed) as error:
        add(org.manager, deal, quantity="1", price="1")
    assert "total" in error.value.field_errors
    assert DealLine.objects.filter(deal=deal).count() == 1


def test_each_change_marks_the_deal_active(org):
    long_ago = timezone.now() - dt.timedelta(days=30)
    deal = make_deal(org.manager, last_activity_at=long_ago, stale_notified_at=long_ago)
    line = add(org.manager, deal)
    assert line.deal.last_activity_at > long_ago
    stored = Deal.objects.get(pk=deal.pk)
    assert stored.last_activity_at > long_ago and stored.stale_notified_at is None


def test_update_records_old_and_new_and_a_no_op_writes_nothing(org):
    deal = make_deal(org.manager)
    line = add(org.manager, deal, price="100")
    services.deal_line_update(actor=org.manager, line=line, name="Монтаж", price="100.00")
    assert len(changes_of(deal)) == 1
    services.deal_line_update(actor=org.manager, line=line, price="120", vat_rate="none")
    change = changes_of(deal)[-1]
    assert "100.00" in change["old"] and "120.00" in change["new"]
    stored = DealLine.objects.get(pk=line.pk)
    assert stored.total == D("120.00") and stored.vat_amount == D("0.00")


def test_update_refuses_bad_input_and_keeps_the_line(org):
    deal = make_deal(org.manager, amount_from_lines=True)
    line = add(org.manager, deal, price="100")
    for data, field in (
        ({"quantity": "0"}, "quantity"),
        ({"price": "x"}, "price"),
        ({"name": ""}, "name"),
        ({"discount_percent": "100.5"}, "discount_percent"),
    ):
        with pytest.raises(ValidationFailed) as error:
            services.deal_line_update(actor=org.manager, line=line, **data)
        assert field in error.value.field_errors
    stored = DealLine.objects.get(pk=line.pk)
    assert stored.price == D("100.00") and stored.name == "Монтаж"
    assert Deal.objects.get(pk=deal.pk).amount == D("100.00")


def test_remove_records_the_removed_line(org):
    deal = make_deal(org.manager)
    line = add(org.manager, deal, name="Доставка")
    services.deal_line_remove(actor=org.manager, line=line)
    change = changes_of(deal)[-1]
    assert "Доставка" in change["old"] and change["new"] == ""
    assert not DealLine.objects.exists()
    with pytest.raises(NotFound):
        services.deal_line_remove(actor=org.manager, line=line)


def test_reorder_takes_every_line_once(org):
    deal = make_deal(org.manager)
    a, b, c = (add(org.manager, deal, name=name) for name in "ABC")
    services.deal_lines_reorder(actor=org.manager, deal=deal, line_ids=[c.pk, a.pk, b.pk])
    assert [line.name for line in services.deal_lines(deal)] == ["C", "A", "B"]
    for wrong in ([a.pk, b.pk], [a.pk, a.pk, b.pk], [a.pk, b.pk, c.pk, 10**6]):
        with pytest.raises(ValidationFailed):
            services.deal_lines_reorder(actor=org.manager, deal=deal, line_ids=wrong)
    assert [line.name for line in services.deal_lines(deal)] == ["C", "A", "B"]


def test_a_deal_has_a_limited_number_of_lines(org, monkeypatch):
    monkeypatch.setattr(services, "LINES_MAX", 2)
    deal = make_deal(org.manager)
    add(org.manager, deal)
    add(org.manager, deal)
    with pytest.raises(ValidationFailed) as error:
        add(org.manager, deal)
    assert "lines" in error.value.field_errors


@pytest.mark.parametrize(
    ("who", "outcome"),
    [
        ("admin", None),
        ("head", None),
        ("manager", None),
        ("colleague", NotFound),
        ("outsider", NotFound),
        ("viewer", PermissionDenied),
    ],
)
def test_who_may_change_the_lines_of_a_managers_deal(org, who, outcome):
    deal = make_deal(org.manager)
    actor = getattr(org, who)
    if outcome is None:
        line = add(actor, deal)
        services.deal_line_update(actor=actor, line=line, quantity="2")
        services.deal_line_remove(actor=actor, line=line)
        return
    with pytest.raises(outcome):
        add(actor, deal)
    line = add(org.manager, deal)
    with pytest.raises(outcome):
        services.deal_line_update(actor=actor, line=line, quantity="2")
    with pytest.raises(outcome):
        services.deal_line_remove(actor=actor, line=line)
    with pytest.raises(outcome):
        services.deal_lines_reorder(actor=actor, deal=deal, line_ids=[line.pk])
    assert DealLine.objects.get(pk=line.pk).quantity == D("1.000")


def test_a_colleague_may_change_a_deal_shared_with_them(org):
    deal = make_deal(org.manager)
    deal.shared_with.add(org.colleague)
    assert add(org.colleague, deal).deal == deal

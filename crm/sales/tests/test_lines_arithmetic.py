"""The line arithmetic: totals with discounts and VAT included in the price, rounded half up
to kopecks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.sales.services.lines import line_total, line_vat_amount

D = Decimal


@pytest.mark.parametrize(
    ("quantity", "price", "discount", "total"),
    [
        ("1", "100.00", "0", "100.00"),
        ("2", "1500.00", "10", "2700.00"),
        ("3", "33.33", "10", "89.99"),  # 89.991
        ("1", "0.05", "50", "0.03"),  # 0.025 rounds half up
        ("0.005", "1.00", "0", "0.01"),  # 0.005 rounds half up
        ("0.004", "1.00", "0", "0.00"),
        ("1.5", "99.99", "0", "149.99"),  # 149.985 rounds half up
        ("7", "0.00", "0", "0.00"),
        ("5", "200.00", "100", "0.00"),
        ("99999999999.999", "0.01", "0", "1000000000.00"),
    ],
)
def test_line_total_rounds_half_up_to_kopecks(quantity, price, discount, total):
    assert line_total(quantity=D(quantity), price=D(price), discount_percent=D(discount)) == D(
        total
    )


def test_line_total_has_no_intermediate_rounding():
    # 1/3 of a discount on a large amount: one rounding at the end only
    total = line_total(quantity=D("12345678.123"), price=D("98765.43"), discount_percent=D("33.33"))
    exact = D("12345678.123") * D("98765.43") * (D(100) - D("33.33")) / D(100)
    assert total == exact.quantize(D("0.01"), rounding="ROUND_HALF_UP")


@pytest.mark.parametrize(
    ("total", "rate", "vat"),
    [
        ("122.00", "22", "22.00"),
        ("120.00", "20", "20.00"),
        ("100.00", "20", "16.67"),
        ("100.00", "22", "18.03"),
        ("110.00", "10", "10.00"),
        ("0.05", "10", "0.00"),
        ("0.11", "10", "0.01"),
        ("105.00", "5", "5.00"),
        ("107.00", "7", "7.00"),
        ("100.00", "0", "0.00"),
        ("100.00", "none", "0.00"),
        ("0.00", "22", "0.00"),
    ],
)
def test_vat_is_included_in_the_total(total, rate, vat):
    assert line_vat_amount(total=D(total), vat_rate=rate) == D(vat)

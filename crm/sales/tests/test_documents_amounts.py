"""Amounts in words and number formats as Russian invoices print them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.sales.documents.amounts import (
    amount_in_words,
    format_money,
    format_quantity,
    integer_in_words,
    plural,
)

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "Ноль рублей 00 копеек"),
        ("1", "Один рубль 00 копеек"),
        ("2", "Два рубля 00 копеек"),
        ("5", "Пять рублей 00 копеек"),
        ("11", "Одиннадцать рублей 00 копеек"),
        ("12", "Двенадцать рублей 00 копеек"),
        ("14", "Четырнадцать рублей 00 копеек"),
        ("21", "Двадцать один рубль 00 копеек"),
        ("22", "Двадцать два рубля 00 копеек"),
        ("111", "Сто одиннадцать рублей 00 копеек"),
        ("1000", "Одна тысяча рублей 00 копеек"),
        ("2000", "Две тысячи рублей 00 копеек"),
        ("5000", "Пять тысяч рублей 00 копеек"),
        ("11000", "Одиннадцать тысяч рублей 00 копеек"),
        ("21000", "Двадцать одна тысяча рублей 00 копеек"),
        ("1000000", "Один миллион рублей 00 копеек"),
        ("2000000", "Два миллиона рублей 00 копеек"),
        ("1001001", "Один миллион одна тысяча один рубль 00 копеек"),
        ("1000000000", "Один миллиард рублей 00 копеек"),
        (
            "123456.78",
            "Сто двадцать три тысячи четыреста пятьдесят шесть рублей 78 копеек",
        ),
        ("1.01", "Один рубль 01 копейка"),
        ("2.02", "Два рубля 02 копейки"),
        ("0.05", "Ноль рублей 05 копеек"),
        ("0.11", "Ноль рублей 11 копеек"),
        ("0.21", "Ноль рублей 21 копейка"),
        ("0.99", "Ноль рублей 99 копеек"),
        ("100.5", "Сто рублей 50 копеек"),
    ],
)
def test_amount_in_words_as_accountants_write_it(amount, words):
    assert amount_in_words(Decimal(amount)) == words


def test_amount_in_words_rounds_half_up_to_kopecks():
    assert amount_in_words(Decimal("0.005")) == "Ноль рублей 01 копейка"
    assert amount_in_words(Decimal("1.994")) == "Один рубль 99 копеек"
    assert amount_in_words(Decimal("1.995")) == "Два рубля 00 копеек"


def test_other_currencies_agree_in_gender_and_number():
    assert amount_in_words(Decimal("21.21"), "USD") == "Двадцать один доллар США 21 цент"
    assert amount_in_words(Decimal("2.02"), "TRY") == "Две турецкие лиры 02 куруша"
    assert amount_in_words(Decimal("5"), "EUR") == "Пять евро 00 центов"
    assert amount_in_words(Decimal("3"), "XXX") == "Три XXX 00"


def test_integer_in_words_feminine_and_limits():
    assert integer_in_words(1, "f") == "одна"
    assert integer_in_words(2, "f") == "две"
    assert integer_in_words(999_999_999_999_999).startswith("девятьсот девяносто девять триллионов")
    with pytest.raises(ValueError):
        integer_in_words(10**15)


@pytest.mark.parametrize(
    ("number", "form"),
    [
        (1, "рубль"),
        (2, "рубля"),
        (4, "рубля"),
        (5, "рублей"),
        (11, "рублей"),
        (12, "рублей"),
        (21, "рубль"),
        (101, "рубль"),
        (111, "рублей"),
        (1000, "рублей"),
        (0, "рублей"),
    ],
)
def test_plural_forms(number, form):
    assert plural(number, ("рубль", "рубля", "рублей")) == form


def test_money_and_quantity_formats():
    assert format_money(Decimal("1234567.8")) == f"1{NBSP}234{NBSP}567,80"
    assert format_money(Decimal("0")) == "0,00"
    assert format_money(Decimal("999.999")) == f"1{NBSP}000,00"
    assert format_quantity(Decimal("2.500")) == "2,5"
    assert format_quantity(Decimal("1000.000")) == f"1{NBSP}000"
    assert format_quantity(Decimal("0.125")) == "0,125"

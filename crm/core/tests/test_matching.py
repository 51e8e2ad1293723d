import pytest

from crm.core.matching import (
    NEAR_MATCH_THRESHOLD,
    company_block_keys,
    person_block_keys,
    score_company,
    score_person,
)
from crm.core.text import latin_key, search_text, strip_legal_form


@pytest.mark.parametrize(
    ("new", "old"),
    [
        (("Иванов", "Иван", ""), ("Ivanov", "Ivan", "")),  # another alphabet
        (("Ёлкина", "Анна", ""), ("Елкина", "Анна", "")),  # ё/е
        (("Иванов", "Иван", ""), ("Иван", "Иванов", "")),  # word order
        (("Иванов", "Иван", "Петрович"), ("Иванов", "Иван", "")),  # no patronymic
        (("Иваонв", "Иван", ""), ("Иванов", "Иван", "")),  # typo
    ],
)
def test_same_person_written_differently_is_a_near_match(new, old):
    match = score_person(new, old)
    assert match.score >= NEAR_MATCH_THRESHOLD
    assert match.reasons
    assert person_block_keys(*new) & person_block_keys(*old), "must meet under a block key"


def test_different_people_are_not_matched():
    assert (
        score_person(("Сидоров", "Пётр", ""), ("Иванов", "Иван", "")).score < NEAR_MATCH_THRESHOLD
    )


@pytest.mark.parametrize(
    ("new", "old"),
    [
        ("ООО «Ромашка»", "Romashka LLC"),
        ('АО "Вектор"', "Вектор"),
        ("Ромашка", "Ромошка"),
        ("Общество с ограниченной ответственностью «Ромашка»", "ООО Ромашка"),
    ],
)
def test_same_company_written_differently_is_a_near_match(new, old):
    assert score_company(new, old).score >= NEAR_MATCH_THRESHOLD
    assert company_block_keys(new) & company_block_keys(old)


def test_different_companies_are_not_matched():
    assert score_company("ООО «Лютик»", "ООО «Ромашка»").score < NEAR_MATCH_THRESHOLD


def test_text_folding():
    assert latin_key("Юрий Щукин") == latin_key("Iurii Schukin")
    assert strip_legal_form("ПАО «Сбербанк»") == "сбербанк"
    assert search_text("Пётр") == "петр petr"

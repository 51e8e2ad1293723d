import pytest

from crm.core.matching import (
    MAX_KEY_LENGTH,
    NEAR_MATCH_THRESHOLD,
    company_block_keys,
    person_block_keys,
    person_lookup_keys,
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
        (("Петров", "Алекснадр", ""), ("Петров", "Александр", "")),  # typo in the first name
        (("Иванов", "Иван", "Птерович"), ("Иванов", "Иван", "Петрович")),  # early typo, 3 words
        (("Aleksandr", "Petrov", "Ivanovich"), ("Петров", "Александр", "Иванович")),
        (("Пётр", "Ёлкин", ""), ("Елкин", "Петр", "Сергеевич")),  # ё, order, patronymic
        (("Деинсов", "Саша", ""), ("Денисов", "Александр", "")),  # early typo and a diminutive
        (("Wod", "Timothy", ""), ("Wood", "Timothy", "")),  # a letter missing from a short word
        (("Петров", "Алексадр", ""), ("Птеров", "Александр", "")),  # a typo in both words
    ],
)
def test_same_person_written_differently_is_a_near_match(new, old):
    match = score_person(new, old)
    assert match.score >= NEAR_MATCH_THRESHOLD
    assert match.reasons
    assert person_block_keys(*new) & person_block_keys(*old), "must meet under a block key"
    assert person_lookup_keys(*new) & person_block_keys(*old), "the check must find it"


def test_a_surname_is_keyed_by_the_full_first_name_not_by_its_initial():
    keys = person_block_keys("Смирнова", "Катя")
    # the surname, whole and with each letter deleted, with the full name Катя stands for
    assert {"s:smirnova|ekaterina", "s:mirnova|ekaterina", "s:smirnoa|ekaterina"} <= keys
    # the first name's deleted forms are not keys: at 1M they hold every «Екатерина С…»
    assert not any(key.startswith(("d:ekaterina", "d:katerina")) for key in keys)
    # a foreign name not on the list keeps the keys of both words
    assert {"d:zbignev|k", "d:kovalski|z"} <= person_block_keys("Kowalski", "Zbigniew")


def test_namesakes_of_another_first_name_share_no_surname_key():
    ekaterina = {key for key in person_block_keys("Смирнова", "Екатерина") if key[:2] == "s:"}
    elena = {key for key in person_block_keys("Смирнова", "Елена") if key[:2] == "s:"}
    assert ekaterina and elena and not ekaterina & elena


def test_person_keys_fit_the_column():
    long_word = "Ааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааа"
    assert all(len(key) <= MAX_KEY_LENGTH for key in person_block_keys(long_word, "Иван"))
    assert all(len(key) <= MAX_KEY_LENGTH for key in company_block_keys(long_word + " Плюс"))


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
        ("Ромашка Плюс", "ООО «Ромашка»"),  # one name contains the other
        ("Плюс Ромашка", "Ромашка Плюс"),  # word order
        ("Ромашка Плюсс", "Ромашка Плюс"),  # typo after the third letter
    ],
)
def test_same_company_written_differently_is_a_near_match(new, old):
    assert score_company(new, old).score >= NEAR_MATCH_THRESHOLD
    assert company_block_keys(new) & company_block_keys(old)


def test_company_keys_are_not_single_common_words():
    # «Москва» or a 4-letter prefix alone put 16,000 of 200,000 companies under one key
    keys = company_block_keys("Управление образования г. Москва")
    assert not keys & company_block_keys("Московский кредитный банк")
    assert not keys & company_block_keys("Центр социального обслуживания Москва")
    assert not any(key.startswith("c~mosk") for key in keys)


def test_different_companies_are_not_matched():
    assert score_company("ООО «Лютик»", "ООО «Ромашка»").score < NEAR_MATCH_THRESHOLD


def test_text_folding():
    assert latin_key("Юрий Щукин") == latin_key("Iurii Schukin")
    assert strip_legal_form("ПАО «Сбербанк»") == "сбербанк"
    # «й» folds to «и» in the name and must fold the same way in the legal-form phrase
    assert strip_legal_form("Общество с ограниченной ответственностью «Рой»") == "рои"
    assert strip_legal_form("Аоника") == "аоника"
    assert search_text("Пётр") == "петр petr"

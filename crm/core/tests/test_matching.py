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
    ],
)
def test_same_person_written_differently_is_a_near_match(new, old):
    match = score_person(new, old)
    assert match.score >= NEAR_MATCH_THRESHOLD
    assert match.reasons
    assert person_block_keys(*new) & person_block_keys(*old), "must meet under a block key"
    assert person_lookup_keys(*new) & person_block_keys(*old), "the check must find it"


def test_person_keys_are_a_whole_word_with_a_prefix_of_another_in_any_order():
    assert person_block_keys("Петров", "Александр") == {"p:petrov|ale", "p:alexandr|pet"}
    assert person_block_keys("Петров", "Александр", "Иванович") == {
        "p:petrov|ale",
        "p:petrov|iva",
        "p:alexandr|pet",
        "p:alexandr|iva",
        "p:ivanovich|pet",
        "p:ivanovich|ale",
    }


def test_lookup_skips_first_name_and_patronymic_pairs_but_not_when_words_are_swapped():
    assert person_lookup_keys("Петров", "Александр", "Иванович") == {
        "p:petrov|ale",
        "p:petrov|iva",
        "p:alexandr|pet",
        "p:ivanovich|pet",
    }
    assert person_lookup_keys("Петров", "Александр") == person_block_keys("Петров", "Александр")
    # the whole name in the surname field, or no surname: every key
    assert person_lookup_keys("Петров Александр Иванович", "") == person_block_keys(
        "Петров", "Александр", "Иванович"
    )
    assert person_lookup_keys("", "Александр", "Иванович") == person_block_keys(
        "", "Александр", "Иванович"
    )


def test_one_word_name_has_one_key_of_the_whole_word():
    assert person_block_keys("Мадонна", "") == {"p:madonna|"}
    assert person_block_keys("", "") == set()


def test_namesakes_sharing_only_prefixes_share_no_key():
    # the old 3-letter prefix pairs put all of them under p:ale|pet
    keys = person_block_keys("Петров", "Александр")
    for other in (("Петренко", "Алексей"), ("Петрова", "Алёна"), ("Петухов", "Александра")):
        assert not keys & person_block_keys(*other)


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

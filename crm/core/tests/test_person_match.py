"""The person matcher: each field agreeing, conflicting or missing, names by part with
diminutives, transliteration, typos and swapped parts; the tiers and the exact rule; and the
blocking keys that survive typos and bound a common name."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from crm.core.field_compare import (
    Level,
    address_level,
    birthday_level,
    first_name_level,
    surname_level,
)
from crm.core.matching import person_block_keys, person_lookup_keys
from crm.core.person_match import (
    HOUSEHOLD_CAP,
    HOUSEHOLD_FIELDS,
    LIKELY,
    POSSIBLE,
    WEIGHTS,
    PersonFacts,
    is_exact,
    score_person_facts,
    tier_of,
)


@pytest.fixture(autouse=True)
def _english():
    """Reasons are asserted in English (the site's default language is Russian)."""
    with translation.override("en"):
        yield


PERSON = PersonFacts(last_name="Петров", first_name="Александр", middle_name="Иванович")
BORN = dt.date(1980, 3, 4)


def _with(**changes: object) -> PersonFacts:
    values = {**PERSON.__dict__, **changes}
    return PersonFacts(**values)  # type: ignore[arg-type]


def _bits(name: str, level: Level) -> float:
    return WEIGHTS[name][level].bits


# --- each field: agreement adds, conflict subtracts, missing is neutral ------------------------


@pytest.mark.parametrize(
    ("name", "agreeing", "conflicting"),
    [
        ("birthday", {"birthday": BORN}, {"birthday": dt.date(1955, 7, 9)}),
        ("phone", {"phones": frozenset({"+79161234567"})}, {"phones": frozenset({"+79160000000"})}),
        (
            "email",
            {"emails": frozenset({"a@example.com"})},
            {"emails": frozenset({"b@example.com"})},
        ),
        (
            "messenger",
            {"handles": frozenset({"telegram:a"})},
            {"handles": frozenset({"telegram:b"})},
        ),
        (
            "address",
            {"addresses": ("Москва, ул. Ленина, д. 5",)},
            {"addresses": ("Казань, Баумана 70",)},
        ),
        ("company", {"companies": frozenset({1})}, {"companies": frozenset({2})}),
    ],
)
def test_a_field_agreeing_adds_its_weight_conflicting_subtracts_missing_adds_nothing(
    name, agreeing, conflicting
):
    names_only = score_person_facts(PERSON, PERSON).bits
    # given the new record holds the field
    new = _with(**agreeing)
    # when the other record has the same value, another one, or none
    same = score_person_facts(new, _with(**agreeing))
    other = score_person_facts(new, _with(**conflicting))
    missing = score_person_facts(new, PERSON)
    # then
    household = HOUSEHOLD_CAP if name in HOUSEHOLD_FIELDS else float("inf")
    assert same.bits == pytest.approx(names_only + min(_bits(name, Level.EXACT), household))
    assert other.bits == pytest.approx(names_only + _bits(name, Level.CONFLICT))
    assert _bits(name, Level.EXACT) > 0 > _bits(name, Level.CONFLICT)
    assert missing.bits == pytest.approx(names_only)
    assert (same.levels[name], other.levels[name], missing.levels[name]) == (
        Level.EXACT,
        Level.CONFLICT,
        Level.MISSING,
    )


def test_names_agreeing_conflicting_and_missing_by_part():
    match = score_person_facts(PERSON, _with(last_name="Сидоров", middle_name=""))
    assert match.levels["surname"] == Level.CONFLICT
    assert match.levels["first_name"] == Level.EXACT
    assert match.levels["patronymic"] == Level.MISSING
    assert match.names_conflict
    assert "different surnames" in match.reasons
    expected = _bits("surname", Level.CONFLICT) + _bits("first_name", Level.EXACT)
    assert match.bits == pytest.approx(expected)


def test_the_patronymic_weighs_less_than_the_first_name_and_the_surname():
    patronymic = _bits("patronymic", Level.EXACT)
    assert patronymic < _bits("first_name", Level.EXACT) < _bits("surname", Level.EXACT)
    assert -_bits("patronymic", Level.CONFLICT) < -_bits("first_name", Level.CONFLICT)


def test_birthday_with_day_and_month_swapped_is_partial():
    assert birthday_level(BORN, dt.date(1980, 4, 3)) == Level.CLOSE
    assert birthday_level(BORN, dt.date(1981, 3, 4)) == Level.CONFLICT
    assert 0 < _bits("birthday", Level.CLOSE) < _bits("birthday", Level.EXACT)
    match = score_person_facts(_with(birthday=BORN), _with(birthday=dt.date(1980, 4, 3)))
    assert "birthday with day and month swapped" in match.reasons


def test_addresses_written_differently_agree_and_other_houses_conflict():
    assert address_level(["Москва, ул. Ленина, д. 5, кв. 12"], ["г Москва Ленина д5 кв12"]) == (
        Level.EXACT
    )
    assert address_level(["12 High Street, London"], ["12 High St., London"]) == Level.EXACT
    assert address_level(["12 High Street, London"], ["45 High Street, London"]) == (Level.CONFLICT)
    assert address_level([], ["12 High Street"]) == Level.MISSING


# --- names: diminutives, transliteration, typos, swapped parts ---------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Александр", "Саша"),
        ("Саша", "Alexander"),
        ("Sasha", "Александр"),
        ("Екатерина", "Катя"),
        ("Ekaterina", "Katya"),
        ("Катя", "Catherine"),
        ("Robert", "Bob"),
    ],
)
def test_diminutives_and_latin_equivalents_are_variants_of_one_name(first, second):
    assert first_name_level(first, second) == Level.VARIANT
    match = score_person_facts(_with(first_name=first), _with(first_name=second))
    assert f"first name {first} ≈ {second}" in match.reasons
    assert tier_of(match) == LIKELY


@pytest.mark.parametrize(
    ("first", "second"),
    [("Александр", "Александра"), ("Evgeni", "Evgenia"), ("Иван", "Пётр")],
)
def test_another_name_or_its_other_gender_conflicts(first, second):
    assert first_name_level(first, second) == Level.CONFLICT


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Денисов", "Deinsov"),  # a transposition at the start, another alphabet
        ("Хидоров", "Сидоров"),  # the first letter
        ("Ford", "Ofrd"),  # a transposition at the start of a short word
        ("Иванов", "Ivanof"),
        ("Moiseeva", "Моисеева"),
    ],
)
def test_typos_early_in_a_word_and_transliteration_are_tolerated(first, second):
    assert surname_level(first, second) in {Level.EXACT, Level.CLOSE}


def test_a_typo_in_a_diminutive_is_still_the_name():
    assert first_name_level("Пашэ", "Павел") == Level.CLOSE


@pytest.mark.parametrize(
    ("first", "second", "level"),
    [
        ("Debrha", "Deborah", Level.CLOSE),  # two typos in a longer word starting alike
        ("Андреев", "Аншерев", Level.CONFLICT),  # two typos from the second letter on
        ("Bne", "Ben", Level.CLOSE),  # two letters swapped in a short name
        ("Jen", "Jon", Level.CONFLICT),  # another short name
        ("Зо", "Зоя", Level.CLOSE),  # a letter missing
    ],
)
def test_how_far_a_typo_goes(first, second, level):
    assert first_name_level(first, second) == level


def test_swapped_name_parts_are_recognised():
    match = score_person_facts(
        PersonFacts(last_name="Fedya", first_name="Vlasov"),
        PersonFacts(last_name="Власов", first_name="Фёдор", middle_name="Алексеевич"),
    )
    assert match.swapped
    assert "name parts in another order" in match.reasons
    assert not match.names_conflict
    assert tier_of(match) == LIKELY


def test_a_surname_in_the_other_gender_proves_nothing():
    assert surname_level("Иванов", "Иванова") == Level.NEUTRAL
    assert surname_level("Толстой", "Толстая") == Level.NEUTRAL


# --- tiers and the exact rule --------------------------------------------------------------


def test_a_family_mailbox_is_a_possible_pair_not_an_exact_one():
    mailbox = frozenset({"petrovy@example.com"})
    husband = _with(birthday=BORN, emails=mailbox, addresses=("Москва, Ленина 5",))
    wife = PersonFacts(
        last_name="Петрова",
        first_name="Анна",
        middle_name="Сергеевна",
        birthday=dt.date(1983, 8, 9),
        emails=mailbox,
        addresses=("г. Москва, ул. Ленина, д. 5",),
    )
    match = score_person_facts(husband, wife)
    assert not is_exact(match)
    assert tier_of(match) == POSSIBLE
    assert {"same e-mail petrovy@example.com", "different first names"} <= set(match.reasons)


def test_shared_mailbox_and_address_count_at_most_the_household_cap():
    mailbox = frozenset({"petrovy@example.com"})
    phone = frozenset({"+74951234567"})
    home = ("Москва, Ленина 5",)
    one = PersonFacts(last_name="Петров", emails=mailbox, phones=phone, addresses=home)
    other = PersonFacts(last_name="Петров", emails=mailbox, phones=phone, addresses=home)
    match = score_person_facts(one, other)
    assert match.bits == pytest.approx(_bits("surname", Level.EXACT) + HOUSEHOLD_CAP)


def test_a_shared_point_with_agreeing_names_is_exact():
    phone = frozenset({"+79161234567"})
    match = score_person_facts(_with(phones=phone), _with(first_name="Саша", phones=phone))
    assert is_exact(match)
    assert tier_of(match) == LIKELY


def test_a_shared_point_with_names_agreeing_but_birthdays_differing_is_not_exact():
    phone = frozenset({"+79161234567"})
    father = _with(phones=phone, birthday=dt.date(1950, 1, 2))
    son = _with(phones=phone, birthday=dt.date(1980, 1, 2))
    assert not is_exact(score_person_facts(father, son))


def test_namesakes_born_decades_apart_with_other_details_are_not_likely():
    namesake = _with(
        birthday=dt.date(1951, 6, 7),
        phones=frozenset({"+79160000000"}),
        emails=frozenset({"other@example.com"}),
    )
    person = _with(
        birthday=BORN, phones=frozenset({"+79161234567"}), emails=frozenset({"a@example.com"})
    )
    assert tier_of(score_person_facts(person, namesake)) != LIKELY


def test_tiers_follow_the_settings(settings):
    match = score_person_facts(PERSON, _with(middle_name=""))
    settings.CRM_DUPLICATES_LIKELY_SCORE = match.score + 1
    assert tier_of(match) == POSSIBLE
    settings.CRM_DUPLICATES_POSSIBLE_SCORE = match.score + 1
    assert tier_of(match) == ""


# --- blocking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "old"),
    [
        (("Deinsov", "Ivan"), ("Денисов", "Иван")),  # a typo in the first letters
        (("Хидоров", "Пётр"), ("Сидоров", "Пётр")),  # the first letter
        (("Rss", "Elizabeth"), ("Ross", "Elizabeth")),
        (("Eavns", "Christopher"), ("Evans", "Chris")),  # a typo and a diminutive
        (("Петров", "Саша"), ("Petrov", "Alexander")),
        (("Иванов", ""), ("Иванов", "Иван")),  # one word meets two
    ],
)
def test_blocking_keys_survive_typos_diminutives_and_missing_parts(new, old):
    assert person_lookup_keys(*new) & person_block_keys(*old)


def test_a_birthday_key_survives_typos_in_both_words():
    new = person_lookup_keys("Сидровв", "Пеетр", "", BORN)
    old = person_block_keys("Сидоров", "Пётр", "", BORN)
    swapped_day = person_block_keys("Сидоров", "Пётр", "", dt.date(1980, 4, 3))
    assert new & old
    assert new & swapped_day


def test_the_check_looks_up_no_whole_word_key_of_a_longer_name():
    # a whole common word (w:ivanov) holds thousands at 1M contacts
    assert not any(key.startswith("w:") for key in person_lookup_keys("Иванов", "Иван"))
    assert "w:ivanov" in person_lookup_keys("Иванов", "")


def test_relatives_with_other_first_names_are_never_likely_whatever_else_agrees():
    # brothers sharing the home phone and address: the score alone would be likely
    home = {"phones": frozenset({"+74951234567"}), "addresses": ("Москва, Ленина 5-12",)}
    brother = _with(first_name="Николай", **home)
    match = score_person_facts(_with(**home), brother)
    assert match.names_conflict
    assert match.score >= 80
    assert tier_of(match) == POSSIBLE
    # with the same birthday too the first name is taken for a typo beyond what the
    # comparison forgives (twins sharing a phone are rarer)
    same_day = score_person_facts(
        _with(birthday=BORN, **home), _with(first_name="Николай", birthday=BORN, **home)
    )
    assert tier_of(same_day) == LIKELY

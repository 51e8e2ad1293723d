"""A name of several words is found in any word order and either alphabet (issue 20, part 3):
each typed word starts a word of the name of its own."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import client_for
from crm.customers.models import Company, Contact
from crm.customers.selectors import CustomerFilters, contact_queryset, customer_find
from crm.customers.services import contact_merge, contact_update, merge_undo
from crm.customers.tests.factories import make_company, make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(org):
    return {
        "petrov": make_contact(
            org.manager, last_name="Петров", first_name="Иван", middle_name="Сергеевич"
        ),
        "sidorov": make_contact(org.manager, last_name="Сидоров", first_name="Иван"),
        "petrov_sergei": make_contact(org.manager, last_name="Петров", first_name="Сергей"),
        "ivanov": make_contact(org.manager, last_name="Иванов", first_name="Пётр"),
        "smith": make_contact(org.manager, last_name="Smith", first_name="John"),
    }


def _found(user, q: str) -> set[Contact]:
    return set(contact_queryset(user=user, filters=CustomerFilters(q=q)))


@pytest.mark.parametrize(
    "q",
    [
        "Иван Петров",  # first name first: found nothing before
        "Петров Иван",
        "петров иван",
        "ИВАН ПЕТРОВ",
        "Ivan Petrov",  # the other alphabet
        "petrov ivan",
        "Ivan Петров",  # both at once
        "Петров И",  # an initial
        "Петров И.",
        "Пет Ив Се",  # the starts of words
        "Петров Ива Серг",  # three words
        "Сергеевич Иван Петров",
        "Sergeevich Petrov Ivan",
        "Иван  ,Петров",  # punctuation and spaces between words
    ],
)
def test_several_words_find_the_name_in_any_order_and_alphabet(org, people, q):
    assert _found(org.manager, q) == {people["petrov"]}


def test_a_latin_name_is_found_in_any_order(org, people):
    assert _found(org.manager, "smith john") == {people["smith"]}
    assert _found(org.manager, "Jo Smi") == {people["smith"]}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("Петров", {"petrov", "petrov_sergei"}),
        ("етров", {"petrov", "petrov_sergei"}),  # one word is still any piece of the name
        ("иван", {"petrov", "sidorov", "ivanov"}),
        ("Petrov", {"petrov", "petrov_sergei"}),
    ],
)
def test_one_word_still_finds_any_part_of_the_name(org, people, q, expected):
    assert _found(org.manager, q) == {people[key] for key in expected}


@pytest.mark.parametrize(
    "q",
    [
        "Иван Иванов",  # «Иванов Пётр» has one word starting with «иван», not two
        "Иванов Иванов",
        "ван петров",  # each word must start a word of the name
        "Петров Сергеевич Сергей",
        "Иван Петров Николаевич",
        "Петров Jo",
    ],
)
def test_no_false_hits(org, people, q):
    assert _found(org.manager, q) == set()


def test_the_same_start_twice_needs_two_words(org, people):
    namesake = make_contact(org.manager, last_name="Иванов", first_name="Иван")
    assert _found(org.manager, "Иван Иванов") == {namesake}
    assert _found(org.manager, "Иванов Иван") == {namesake}
    assert _found(org.manager, "Ив Ив") == {namesake}


def test_a_first_name_and_a_patronymic_of_one_root(org, people):
    namesake = make_contact(
        org.manager, last_name="Петров", first_name="Иван", middle_name="Иванович"
    )
    alexander = make_contact(
        org.manager, last_name="Смирнов", first_name="Александр", middle_name="Александрович"
    )
    make_contact(org.manager, last_name="Смирнов", first_name="Павел", middle_name="Александрович")
    assert _found(org.manager, "Иван Иванович") == {namesake}
    assert _found(org.manager, "Ivanovich Ivan Petrov") == {namesake}
    assert _found(org.manager, "Александр Александрович") == {alexander}
    assert _found(org.manager, "Алекс Алекс Смирнов") == {alexander}
    assert _found(org.manager, "Алекс Алекс Алекс") == set()


def test_the_stored_words_and_the_shared_prefix_tokens():
    from crm.core.text import name_words

    assert name_words("Петров", "Иван", "") == " петров иван petrov ivan "
    assert name_words("Smith", "John") == " smith john "
    assert name_words("Иванов", "Иван") == (" иванов иван ivanov ivan ǁivan ǁиван ")
    assert name_words("ǁǁ", "", None) == ""


def test_a_typed_letter_is_not_a_transliteration(org, people):
    make_contact(org.manager, last_name="Петров", first_name="Юрий")  # «iurii» in Latin
    assert _found(org.manager, "Петров И") == {people["petrov"]}
    assert len(_found(org.manager, "Petrov I")) == 2


def test_words_of_wildcards_and_quotes_are_plain_text(org, people):
    for nasty in ["% _", 'a" OR "b c', "NEAR( x", "* *", "'; DROP TABLE x; -- y", "ИВ%ан пе_т"]:
        assert _found(org.manager, nasty) == set()


def test_companies_are_found_in_any_order_with_or_without_their_legal_form(org):
    torg = make_company(org.manager, legal_name="Ромашка Торг", legal_form="ООО")
    other = make_company(org.manager, legal_name="Торговый дом Василёк", legal_form="АО")
    find = lambda q: set(customer_find(model=Company, user=org.manager, q=q))  # noqa: E731
    assert find("торг ромашка") == {torg}
    assert find("ООО Ромашка") == {torg}
    assert find("romashka torg") == {torg}
    assert find("дом торг") == {other}
    assert find("ромашка дом") == set()


def test_the_best_matches_come_first_then_the_newest(org):
    whole_words = make_contact(org.manager, last_name="Петров", first_name="Иван")
    make_contact(org.manager, last_name="Петровский", first_name="Иванна")  # newer, prefixes
    typed_order = make_contact(org.manager, last_name="Иван", first_name="Петров")
    found = customer_find(model=Contact, user=org.manager, q="Иван Петров")
    assert found[:2] == [typed_order, whole_words]
    assert len(found) == 3
    found = customer_find(model=Contact, user=org.manager, q="Петров Иван")
    assert found[:2] == [whole_words, typed_order]


def test_only_what_the_user_may_see(org, people):
    make_contact(org.outsider, last_name="Петров", first_name="Иван")
    assert _found(org.outsider, "Иван Петров") != _found(org.manager, "Иван Петров")
    assert {c.owner for c in _found(org.outsider, "Иван Петров")} == {org.outsider}
    assert customer_find(model=Contact, user=org.colleague, q="Иван Петров") == []


def test_the_name_words_follow_edits_and_merges(org, people):
    person = people["sidorov"]
    contact_update(actor=org.manager, contact=person, data={"last_name": "Кузнецов"}, partial=True)
    assert _found(org.manager, "Иван Кузнецов") == {person}
    assert _found(org.manager, "Иван Сидоров") == set()

    merged = make_contact(org.manager, last_name="Кузнецов", first_name="Иван", middle_name="Ильич")
    merge = contact_merge(
        actor=org.manager, survivor=person, merged=merged, choices={"middle_name": "merged"}
    )
    assert _found(org.manager, "Ильич Кузнецов") == {person}
    merge_undo(actor=org.manager, merge=merge)
    assert _found(org.manager, "Ильич Кузнецов") == {merged}


def test_the_list_page_and_the_typeahead_find_first_name_first(org, people):
    client = client_for(org.manager)
    page = client.get(reverse("customers:contact_list"), {"q": "Иван Петров"})
    assert [row.pk for row in page.context["page"].items] == [people["petrov"].pk]
    suggest = client.get(reverse("customers:search_suggest"), {"q": "Иван Петров"})
    assert suggest.context["results"]["contacts"] == [people["petrov"]]


def test_query_count_does_not_grow_with_matches(org, django_assert_num_queries):
    make_contact(org.manager, first_name="Иван", last_name="Запросов", phones=["+7 912 100-00-00"])
    client = client_for(org.manager)
    url = reverse("customers:search_suggest")
    client.get(url, {"q": "Иван Запросов"})
    with CaptureQueriesContext(connection) as one:
        client.get(url, {"q": "Иван Запросов"})
    for index in range(1, 8):
        make_contact(
            org.manager,
            first_name=f"Иван{index}",
            last_name="Запросов",
            phones=[f"+7 912 100-00-0{index}"],
            tags=["t"],
        )
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(url, {"q": "Иван Запросов"})
    assert len(response.context["results"]["contacts"]) == 8


def test_the_data_migration_fills_the_words_of_existing_records(org, people):
    company = make_company(org.manager, legal_name="Ромашка Торг", legal_form="other")
    Contact.objects.update(name_words="")
    Company.objects.update(name_words="")
    migration = importlib.import_module("crm.customers.migrations.0010_fill_name_words")
    migration.fill_name_words(apps, SimpleNamespace(connection=connection))
    assert Contact.objects.get(pk=people["petrov"].pk).name_words == (
        " петров иван сергеевич petrov ivan sergeevich "
    )
    assert Company.objects.get(pk=company.pk).name_words == " ромашка торг romashka torg "
    assert _found(org.manager, "Иван Петров") == {people["petrov"]}

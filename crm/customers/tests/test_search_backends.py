"""The one search function over both databases: SQLite FTS5 trigram and PostgreSQL pg_trgm."""

import pytest

from crm.core.search import filter_by_text
from crm.customers.models import Contact
from crm.customers.tests.factories import make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(org):
    return {
        "ivanov": make_contact(org.manager, last_name="Иванов", first_name="Пётр"),
        "smith": make_contact(org.manager, last_name="Smith", first_name="John"),
        "elkina": make_contact(org.manager, last_name="Ёлкина", first_name="Анна"),
    }


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("иванов", "ivanov"),
        ("ИВАН", "ivanov"),
        ("vanov", "ivanov"),  # a Latin fragment finds a Cyrillic name
        ("петр", "ivanov"),  # ё folded to е
        ("пётр", "ivanov"),
        ("smi", "smith"),
        ("елкин", "elkina"),
        ("ёлк", "elkina"),
    ],
)
def test_fragment_in_any_case_and_alphabet_finds_the_person(people, fragment, expected):
    found = set(filter_by_text(Contact.objects.all(), fragment))
    assert found == {people[expected]}


def test_short_fragment_matches_the_start(people):
    assert set(filter_by_text(Contact.objects.all(), "ив")) == {people["ivanov"]}


def test_search_text_follows_edits(people, org):
    from crm.customers.services import contact_update

    contact_update(
        actor=org.manager, contact=people["smith"], data={"last_name": "Кузнецов"}, partial=True
    )
    assert set(filter_by_text(Contact.objects.all(), "кузнец")) == {people["smith"]}
    assert not filter_by_text(Contact.objects.all(), "smith").exists()


def test_quotes_and_operators_in_the_query_are_plain_text(people):
    for nasty in ['"', 'a" OR "b', "NEAR(", "*", "'; DROP TABLE x; --", "%_%"]:
        assert list(filter_by_text(Contact.objects.all(), nasty)) == []


@pytest.mark.parametrize(
    ("fragment", "found"),
    [
        ("i.petrov", True),
        ("I.PETROV@", True),
        ("i.petrov@mail.ru", True),
        ("i.petrov@yandex", False),
        ("i.petrova", False),
        ("sales_", False),
    ],
)
def test_email_fragments_search_by_prefix(org, fragment, found):
    from crm.customers.selectors import CustomerFilters, contact_queryset

    person = make_contact(org.manager, last_name="Петров", emails=["i.petrov@mail.ru"])
    make_contact(org.manager, last_name="Сидоров", emails=["sidorov@mail.ru"])
    result = set(contact_queryset(user=org.manager, filters=CustomerFilters(q=fragment)))
    assert result == ({person} if found else set())


def test_a_plain_latin_word_is_still_a_name_search(org):
    from crm.customers.selectors import CustomerFilters, contact_queryset

    person = make_contact(org.manager, last_name="Петров", first_name="Иван")
    assert set(contact_queryset(user=org.manager, filters=CustomerFilters(q="petrov"))) == {person}

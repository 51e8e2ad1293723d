"""Splitting a full name written in one string: the first name recognised, not positional."""

from __future__ import annotations

import pytest

from crm.core.names import (
    PersonName,
    first_name_heads,
    is_first_name,
    is_patronymic,
    split_full_name,
)
from crm.core.text import latin_key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Russian, both orders, two and three words
        ("Пётр Иванов", ("Иванов", "Пётр", "")),
        ("Иванов Пётр", ("Иванов", "Пётр", "")),
        ("Иванов Пётр Сергеевич", ("Иванов", "Пётр", "Сергеевич")),
        ("Пётр Сергеевич Иванов", ("Иванов", "Пётр", "Сергеевич")),
        ("Смирнова Анна Ильинична", ("Смирнова", "Анна", "Ильинична")),
        # diminutives are first names too
        ("Саша Кузнецова", ("Кузнецова", "Саша", "")),
        ("Кузнецов Женя", ("Кузнецов", "Женя", "")),
        # a first name that ends like a surname (Лев) is still a first name
        ("Толстой Лев Николаевич", ("Толстой", "Лев", "Николаевич")),
        # Latin, both orders, and Russian names in Latin letters
        ("John Smith", ("Smith", "John", "")),
        ("Smith John", ("Smith", "John", "")),
        ("Petr Ivanov", ("Ivanov", "Petr", "")),
        ("Ivanov Pyotr Sergeevich", ("Ivanov", "Pyotr", "Sergeevich")),
        # a second given name after a leading first name is the middle name
        ("Lucy Patricia Cooper", ("Cooper", "Lucy", "Patricia")),
        ("Анна Мария Смирнова", ("Смирнова", "Анна", "Мария")),
        # English diminutives
        ("Bob Dylan", ("Dylan", "Bob", "")),
        ("Cooper Katie", ("Cooper", "Katie", "")),
        # a first name that is also a surname gives way to one that is only a first name
        ("Scott Jacqueline", ("Scott", "Jacqueline", "")),
        ("Thomas Lucy", ("Thomas", "Lucy", "")),
        ("Thomas Martin", ("Martin", "Thomas", "")),
        # a comma: last name first
        ("Smith, John Paul", ("Smith", "John", "Paul")),
        ("Иванов, Пётр Сергеевич", ("Иванов", "Пётр", "Сергеевич")),
        # several words of the last name stay together, in order
        ("Anna van der Berg", ("van der Berg", "Anna", "")),
        ("Мария Иванова-Петрова", ("Иванова-Петрова", "Мария", "")),
        # a surname ending like a patronymic, before the first name
        ("Абрамович Роман", ("Абрамович", "Роман", "")),
        ("Роман Аркадьевич", ("", "Роман", "Аркадьевич")),
        # a comma not followed by a first name ends the name
        ("Иванов Пётр, менеджер по закупкам", ("Иванов", "Пётр", "")),
        # what is in brackets is not the name
        ("Пётр Иванов (ООО «Вектор»)", ("Иванов", "Пётр", "")),
        ("[Sales] John Smith", ("Smith", "John", "")),
        # extra spaces
        ("  Пётр    Иванов ", ("Иванов", "Пётр", "")),
    ],
)
def test_the_first_name_is_recognised_in_either_order(text, expected):
    assert split_full_name(text) == PersonName(*expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # no known first name: the patronymic's left neighbour is the first name
        ("Кукушкина Аглая Фроловна", ("Кукушкина", "Аглая", "Фроловна")),
        # no known first name: the only word one typo away from one
        ("White Aelx", ("White", "Aelx", "")),
        ("Вкиктор Жбанк", ("Жбанк", "Вкиктор", "")),
        # no known first name, one word with a surname ending: the other is the first name
        ("Абдулла Кукушкин", ("Кукушкин", "Абдулла", "")),
        ("Кукушкин Абдулла", ("Кукушкин", "Абдулла", "")),
        # nothing recognised: Cyrillic is «Фамилия Имя», Latin is «First Last»
        ("Жбанк Друль", ("Жбанк", "Друль", "")),
        ("Quorra Zylbert", ("Zylbert", "Quorra", "")),
        # one word: a surname by its ending, else a first name
        ("Иванов", ("Иванов", "", "")),
        ("Абрамович", ("Абрамович", "", "")),
        ("Пётр", ("", "Пётр", "")),
        ("Друль", ("", "Друль", "")),
        ("", ("", "", "")),
    ],
)
def test_unknown_names_follow_the_documented_fallback(text, expected):
    assert split_full_name(text) == PersonName(*expected)


def test_recognition_works_across_alphabets_and_spellings():
    assert all(is_first_name(word) for word in ("Пётр", "Петр", "Petr", "Pyotr", "KATYA", "Катя"))
    assert not any(is_first_name(word) for word in ("Иванов", "Smith", "Сергеевич"))


def test_patronymic_endings():
    for word in ("Сергеевич", "Ильич", "Ивановна", "Сергеевна", "Ильинична", "Fomich", "Petrovna"):
        assert is_patronymic(word), word
    assert not is_patronymic("Иван") and not is_patronymic("Ich")


@pytest.mark.parametrize(
    ("word", "heads"),
    [
        ("Саша", {"alexandr", "alexandra"}),  # a diminutive stands for its full names
        ("Aleksandr", {"alexandr"}),  # every spelling is one Latin key
        ("alxeandr", {"alexandr"}),  # one typo from a listed name
        ("laura", {"laura"}),  # an international name stands for itself
        ("ivanov", set()),  # a surname ending is never corrected into a name
        ("smirnova", set()),
        ("ivn", set()),  # too short to correct
    ],
)
def test_first_name_heads(word, heads):
    assert first_name_heads(latin_key(word)) == frozenset(heads)

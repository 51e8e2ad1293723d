"""Contact cards from Outlook, Gmail, the iPhone and Android read as contact rows."""

from __future__ import annotations

import base64
import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import translation

from crm.transfer.readers import SourceRow, Table, read_table
from crm.transfer.vcard import MAX_VALUES, birthday

FILES = Path(__file__).parent / "files"


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def read_fixture(name: str) -> tuple[Table, list[SourceRow]]:
    with (FILES / name).open("rb") as file:
        table = read_table(file, name)
        return table, list(table.rows)


def as_dicts(table: Table, rows: list[SourceRow]) -> list[dict[str, list[str]]]:
    cards = []
    for row in rows:
        card: dict[str, list[str]] = {}
        for column, cell in zip(table.columns, row.cells, strict=True):
            if cell:
                card.setdefault(column, []).append(cell)
        cards.append(card)
    return cards


def test_outlook_21_with_quoted_printable_windows_1251() -> None:
    table, rows = read_fixture("outlook.vcf")
    assert table.format == "vcard"
    assert [row.number for row in rows] == [1]
    assert as_dicts(table, rows) == [
        {
            "full_name": ["Григорьев Антон Сергеевич"],
            "last_name": ["Григорьев"],
            "first_name": ["Антон"],
            "middle_name": ["Сергеевич"],
            "phone": ["+7 (495) 765-43-21", "+7 (926) 111-22-33"],
            "email": ["grigoriev@delta.ru"],
            "company": ["ООО «Дельта»"],
            "position": ["Коммерческий директор"],
            "birthday": ["1978-11-03"],
            "address": ["ул. Тверская, 7, Москва, 125009, Россия"],
            "notes": ["Встреча на выставке\nЦВК Экспоцентр"],
        }
    ]


def test_gmail_30_with_escapes_and_a_birthday_without_a_year() -> None:
    table, rows = read_fixture("gmail.vcf")
    assert table.columns == [
        "full_name", "last_name", "first_name", "middle_name", "phone", "email", "email",
        "company", "position", "birthday", "address", "tags", "notes",
    ]  # fmt: skip
    marina, john = as_dicts(table, rows)
    assert marina["email"] == ["marina.lebedeva@gmail.com", "m.lebedeva@omega.ru"]
    assert marina["address"] == ["Лесная ул., 10, кв. 5, Тверь, Тверская обл., 170000, Россия"]
    assert marina["notes"] == ["Знакомая Сергея\nлюбит чай"]
    assert marina["tags"] == ["Юристы, VIP"]  # without Gmail's "myContacts"
    assert "birthday" not in marina  # BDAY:--0521
    assert john == {
        "full_name": ["John Appleseed"],
        "last_name": ["Appleseed"],
        "first_name": ["John"],
        "email": ["john@example.com"],
    }
    assert [row.number for row in rows] == [1, 2]


def test_iphone_30_with_groups_labels_a_folded_photo_and_an_omitted_year() -> None:
    table, rows = read_fixture("iphone.vcf")
    (daria,) = as_dicts(table, rows)
    assert daria == {
        "full_name": ["Дарья Игоревна Соколова"],
        "last_name": ["Соколова"],
        "first_name": ["Дарья"],
        "middle_name": ["Игоревна"],
        "phone": ["+7 (911) 765-43-21", "+7 812 555-00-11"],
        "email": ["daria@len.studio"],
        "messenger": ["telegram:dsokolova"],
        "company": ["Студия «Лён»"],
        "position": ["Дизайнер"],
        "address": ["Наб. реки Мойки, 12, Санкт-Петербург, 191186, Россия"],
    }


def test_android_21_with_soft_line_breaks_and_a_base64_block() -> None:
    table, rows = read_fixture("android.vcf")
    nikita, bare = as_dicts(table, rows)
    assert nikita["full_name"] == ["Никита Андреевич Волков"]
    assert (nikita["last_name"], nikita["first_name"], nikita["middle_name"]) == (
        ["Волков"], ["Никита"], ["Андреевич"]
    )  # fmt: skip
    assert nikita["phone"] == ["+79161234567", "84951112233"]  # the preferred first
    assert bare == {"phone": ["+79990001122"]}
    assert [row.number for row in rows] == [1, 2]


def test_the_preferred_phone_comes_first() -> None:
    data = (
        b"BEGIN:VCARD\nVERSION:4.0\nFN:A\n"
        b"TEL;TYPE=home:tel:+1-111\nTEL;PREF=1:tel:+1-222\nEND:VCARD\n"
    )
    table = read_table(io.BytesIO(data), "a.vcf")
    assert [cell for column, cell in zip(table.columns, next(table.rows).cells, strict=True)
            if column == "phone"] == ["+1-222", "+1-111"]  # fmt: skip


def test_content_starting_with_begin_vcard_is_a_vcard_whatever_its_name() -> None:
    data = "\ufeffBEGIN:VCARD\r\nVERSION:3.0\r\nFN:Иван\r\nEND:VCARD\r\n".encode()
    table = read_table(io.BytesIO(data), "contacts.csv")
    assert table.format == "vcard"
    assert next(table.rows).cells[0] == "Иван"


def test_cards_in_cp1251_without_quoted_printable() -> None:
    data = "BEGIN:VCARD\nVERSION:2.1\nN:Жуков;Юрий\nFN:Юрий Жуков\nEND:VCARD\n".encode("cp1251")
    table = read_table(io.BytesIO(data), "a.vcf")
    assert table.encoding == "cp1251"
    assert next(table.rows).cells[:3] == ["Юрий Жуков", "Жуков", "Юрий"]


def test_a_huge_photo_is_skipped_in_bounded_memory() -> None:
    photo = base64.b64encode(b"\xff" * 3_000_000).decode()
    folded = "\r\n ".join(photo[i : i + 75] for i in range(0, len(photo), 75))
    data = f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Big\r\nPHOTO;ENCODING=b:{folded}\r\nEND:VCARD\r\n"
    file = io.BytesIO(data.encode())
    del photo, folded, data
    tracemalloc.start()
    try:
        rows = list(read_table(file, "big.vcf").rows)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == [SourceRow(1, ["Big", "", "", "", "", "", "", "", ""])]
    assert peak < 2_000_000


def test_a_long_unfolded_line_is_cut_and_its_card_has_a_problem() -> None:
    note = "ж" * 200_000
    data = f"BEGIN:VCARD\nFN:Long\nNOTE:{note}\nEMAIL:a@b.c\nEND:VCARD\n".encode()
    table = read_table(io.BytesIO(data), "a.vcf")
    row = next(table.rows)
    cells = dict(zip(table.columns, row.cells, strict=True))
    assert len(cells["notes"]) == 32_767
    assert cells["email"] == "a@b.c"
    assert row.problem == "A value of the card is longer than 32,767 characters."


def test_too_many_phones_is_a_problem_of_the_card() -> None:
    phones = "".join(f"TEL:+7900000{index:04d}\n" for index in range(MAX_VALUES + 2))
    data = f"BEGIN:VCARD\nFN:Many\n{phones}END:VCARD\n".encode()
    table = read_table(io.BytesIO(data), "a.vcf")
    assert table.columns.count("phone") == MAX_VALUES
    row = next(table.rows)
    assert row.problem == "The card has more than 10 phones; the rest were left out."


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1985-04-12", "1985-04-12"),
        ("19850412", "1985-04-12"),
        ("1985-04-12T00:00:00Z", "1985-04-12"),
        ("12.04.1985", "1985-04-12"),
        ("--0412", ""),
        ("--04-12", ""),
        ("", ""),
        ("1985-02-30", "1985-02-30"),
        ("весной", "весной"),
    ],
)
def test_birthday_formats(value: str, expected: str) -> None:
    assert birthday(value) == expected


def test_apples_omitted_year_gives_no_birthday() -> None:
    assert birthday("1604-08-17", omitted_year="1604") == ""


def test_a_card_without_its_end_ends_where_the_next_begins() -> None:
    data = b"BEGIN:VCARD\nFN:First\nBEGIN:VCARD\nFN:Second\nEND:VCARD\n"
    rows = list(read_table(io.BytesIO(data), "a.vcf").rows)
    assert [(row.number, row.cells[0]) for row in rows] == [(1, "First"), (2, "Second")]


def test_an_agents_card_inside_a_card_is_skipped() -> None:
    data = (
        b"BEGIN:VCARD\nVERSION:2.1\nFN:Boss\nAGENT:\nBEGIN:VCARD\nFN:Assistant\n"
        b"TEL:+1\nEND:VCARD\nTEL:+2\nEND:VCARD\nBEGIN:VCARD\nFN:Next\nEND:VCARD\n"
    )
    table = read_table(io.BytesIO(data), "a.vcf")
    rows = list(table.rows)
    assert [(row.number, row.cells[0]) for row in rows] == [(1, "Boss"), (2, "Next")]
    assert rows[0].cells[table.columns.index("phone")] == "+2"

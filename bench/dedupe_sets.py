"""Generate labelled duplicate test sets for the duplicate check and scan (issue 14).

Each line of the output is one contact record as a user or an import would type it, with the
truth: ``id`` (the record), ``cluster`` (the real person: records of one cluster are
duplicates of each other, records of different clusters are not), ``variants`` (how this
record differs from its person's canonical form, empty for the first record of a person) and
``relation`` (for a hard negative: ``{"kind": "namesake" | "family" | "brother", "of":
<cluster>}``). The fields are those a contact stores: ``last_name``, ``first_name``,
``middle_name``, ``birthday`` (ISO), ``phones`` and ``emails`` (raw, as typed),
``addresses`` (texts), ``company`` (``{"legal_name", "legal_form"}`` or null) and
``client_type``. ``alphabet`` says whether the person is Russian or English-language.

People: Russian (Cyrillic, with patronymics and gendered surnames) and English-language
(Latin, a middle name on some). A duplicate record applies one to three name variants —
a typo (insert, delete, substitute, transpose; at the first letter, inside or at the end of
the surname or first name; or one typo in each), a missing patronymic or middle name, the
first name typed into the surname field, a diminutive (Александр/Саша, Robert/Bob), a
transliteration (three systems: ICAO as in passports, BGN, informal with x/h/y), a
look-alike character (Deniss0v, a Latin «o» inside a Cyrillic word), ё written as е, all
capitals — or none ("copy", a plain double entry). With ``--fields all`` each duplicate also
varies its contact details: the same phone in another format (``+7 999 …``, ``8 (999) …``,
``999-…``), another phone, none; the e-mail in other case, another one, none; the birthday
missing or with day and month swapped; the address written differently or missing; the
employer missing. ``--fields names`` keeps only the names (and the private client type).

Hard negatives, each a person of its own related to an earlier one: namesakes (the same
full name, other phones, e-mails, address and a birthday decades apart), family members
(the same surname in its gendered form, another first name, the same address, and a shared
family mailbox or home phone, which the other person's records carry too) and brothers (the
same surname and patronymic — for English names the same surname and address — with their
own phones and e-mails, born a few years apart).

The output depends only on the options (``--seed`` included); the records are shuffled so
a person's duplicates are not next to each other. Examples::

    .venv/bin/python bench/dedupe_sets.py --preset ru > /tmp/dedupe-ru.jsonl
    .venv/bin/python bench/dedupe_sets.py --entities 500 --alphabet mixed --fields names \\
        --dup-rate 0.5 --seed 3 --out /tmp/small.jsonl

The presets (about 3,400 records each): ``ru`` (Russian people, both alphabets, all
fields), ``latin`` (English-language people, all fields) and ``names`` (both kinds of
people, names only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers

PRESETS: dict[str, dict[str, Any]] = {
    "ru": {"alphabet": "ru", "fields": "all", "entities": 2400, "dup_rate": 0.3, "seed": 14},
    "latin": {"alphabet": "latin", "fields": "all", "entities": 2400, "dup_rate": 0.3, "seed": 15},
    "names": {
        "alphabet": "mixed",
        "fields": "names",
        "entities": 2400,
        "dup_rate": 0.3,
        "seed": 16,
    },
}


def _words(text: str) -> list[str]:
    return text.split()


# --- name pools -------------------------------------------------------------------------------

# Male surnames; the female form is derived (``female_surname``).
RU_SURNAMES = _words(
    """
Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов Волков
Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Никитин
Захаров Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв Сергеев Кузьмин Фролов
Александров Дмитриев Королёв Гусев Киселёв Ильин Максимов Поляков Сорокин Виноградов Ковалёв
Белов Медведев Антонов Тарасов Жуков Баранов Филиппов Комаров Давыдов Беляев Герасимов
Богданов Осипов Сидоров Матвеев Титов Марков Миронов Крылов Куликов Карпов Власов Мельников
Денисов Гаврилов Тихонов Казаков Афанасьев Данилов Савельев Тимофеев Фомин Чернов Абрамов
Мартынов Ефимов Федотов Щербаков Назаров Калинин Исаев Чернышёв Быков Маслов Родионов Коновалов
Лазарев Воронин Климов Филатов Пономарёв Голубев Кудрявцев Прохоров Наумов Потапов Журавлёв
Овчинников Трофимов Леонов Соболев Ермаков Колесников Гончаров Емельянов Никифоров Грачёв
Котов Гришин Ефремов Архипов Громов Кириллов Малышев Панов Моисеев Румянцев Акимов Кондратьев
Бирюков Горбунов Анисимов Ерёмин Тихомиров Галкин Лукьянов Михеев Скворцов Юдин Белоусов
Нестеров Симонов Прокофьев Харитонов Князев Цветков Левин Митрофанов Воронцов Аксёнов Гаврилин
Рябов Лукин Суханов Шестаков Мухин Панфилов Шубин Третьяков Жданов Блинов Колобов Дорофеев
Ситников Муравьёв Селезнёв Кононов Зуев Березин Хабибуллин Шевченко Бондаренко Коваленко
Кравченко Ткаченко Черных Седых Ким Цой Островский Вишневский Ковальский Покровский Успенский
Троицкий Соловецкий Раевский Жуковский Толстой Донской Полевой Боровой Чистый
"""
)

# Male first names: (name, diminutives, patronymic male, patronymic female).
RU_MALE: list[tuple[str, tuple[str, ...], str, str]] = [
    ("Александр", ("Саша", "Шура"), "Александрович", "Александровна"),
    ("Алексей", ("Лёша", "Алёша"), "Алексеевич", "Алексеевна"),
    ("Дмитрий", ("Дима", "Митя"), "Дмитриевич", "Дмитриевна"),
    ("Михаил", ("Миша",), "Михайлович", "Михайловна"),
    ("Николай", ("Коля",), "Николаевич", "Николаевна"),
    ("Владимир", ("Володя", "Вова"), "Владимирович", "Владимировна"),
    ("Евгений", ("Женя",), "Евгеньевич", "Евгеньевна"),
    ("Сергей", ("Серёжа",), "Сергеевич", "Сергеевна"),
    ("Андрей", ("Андрюша",), "Андреевич", "Андреевна"),
    ("Иван", ("Ваня",), "Иванович", "Ивановна"),
    ("Павел", ("Паша",), "Павлович", "Павловна"),
    ("Пётр", ("Петя",), "Петрович", "Петровна"),
    ("Константин", ("Костя",), "Константинович", "Константиновна"),
    ("Григорий", ("Гриша",), "Григорьевич", "Григорьевна"),
    ("Василий", ("Вася",), "Васильевич", "Васильевна"),
    ("Виктор", ("Витя",), "Викторович", "Викторовна"),
    ("Юрий", ("Юра",), "Юрьевич", "Юрьевна"),
    ("Олег", (), "Олегович", "Олеговна"),
    ("Игорь", (), "Игоревич", "Игоревна"),
    ("Роман", ("Рома",), "Романович", "Романовна"),
    ("Максим", ("Макс",), "Максимович", "Максимовна"),
    ("Антон", ("Тоша",), "Антонович", "Антоновна"),
    ("Никита", (), "Никитич", "Никитична"),
    ("Артём", ("Тёма",), "Артёмович", "Артёмовна"),
    ("Станислав", ("Стас",), "Станиславович", "Станиславовна"),
    ("Вячеслав", ("Слава",), "Вячеславович", "Вячеславовна"),
    ("Ярослав", ("Слава",), "Ярославович", "Ярославовна"),
    ("Борис", ("Боря",), "Борисович", "Борисовна"),
    ("Георгий", ("Жора", "Гоша"), "Георгиевич", "Георгиевна"),
    ("Фёдор", ("Федя",), "Фёдорович", "Фёдоровна"),
    ("Степан", ("Стёпа",), "Степанович", "Степановна"),
    ("Денис", (), "Денисович", "Денисовна"),
    ("Илья", ("Илюша",), "Ильич", "Ильинична"),
    ("Кирилл", (), "Кириллович", "Кирилловна"),
    ("Тимофей", ("Тима",), "Тимофеевич", "Тимофеевна"),
    ("Анатолий", ("Толя",), "Анатольевич", "Анатольевна"),
    ("Геннадий", ("Гена",), "Геннадьевич", "Геннадьевна"),
    ("Валерий", ("Валера",), "Валерьевич", "Валерьевна"),
    ("Леонид", ("Лёня",), "Леонидович", "Леонидовна"),
    ("Евгений", ("Женя",), "Евгеньевич", "Евгеньевна"),
    ("Матвей", ("Мотя",), "Матвеевич", "Матвеевна"),
    ("Руслан", (), "Русланович", "Руслановна"),
]
RU_FEMALE: list[tuple[str, tuple[str, ...]]] = [
    ("Екатерина", ("Катя",)),
    ("Анастасия", ("Настя",)),
    ("Мария", ("Маша",)),
    ("Елена", ("Лена",)),
    ("Ольга", ("Оля",)),
    ("Татьяна", ("Таня",)),
    ("Наталья", ("Наташа",)),
    ("Юлия", ("Юля",)),
    ("Анна", ("Аня",)),
    ("Светлана", ("Света",)),
    ("Ирина", ("Ира",)),
    ("Ксения", ("Ксюша",)),
    ("Виктория", ("Вика",)),
    ("Дарья", ("Даша",)),
    ("Евгения", ("Женя",)),
    ("Людмила", ("Люда",)),
    ("Галина", ("Галя",)),
    ("Надежда", ("Надя",)),
    ("Любовь", ("Люба",)),
    ("Валентина", ("Валя",)),
    ("Маргарита", ("Рита",)),
    ("Полина", ("Поля",)),
    ("Софья", ("Соня",)),
    ("Александра", ("Саша",)),
    ("Елизавета", ("Лиза",)),
    ("Алёна", ()),
    ("Оксана", ()),
    ("Марина", ()),
    ("Вера", ()),
    ("Алла", ()),
    ("Лариса", ()),
    ("Зоя", ()),
    ("Тамара", ()),
    ("Кристина", ()),
    ("Вероника", ("Ника",)),
    ("Диана", ()),
]

EN_SURNAMES = _words(
    """
Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin
Jackson Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Hill
Green Adams Baker Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker Evans Edwards
Collins Stewart Morris Rogers Reed Cook Morgan Bell Murphy Bailey Cooper Richardson Cox Howard
Ward Peterson Gray James Watson Brooks Kelly Sanders Price Bennett Wood Barnes Ross Henderson
Coleman Jenkins Perry Powell Long Patterson Hughes Washington Butler Simmons Foster Bryant
Alexander Russell Griffin Hayes Myers Ford Hamilton Graham Sullivan Wallace West Cole Jordan
Owens Reynolds Fisher Ellis Harrison Gibson McDonald Marshall Murray Freeman Wells Webb Simpson
Stevens Tucker Porter Hunter Hicks Crawford Henry Boyd Mason Kennedy Warren Dixon Burns Gordon
Shaw Holmes Rice Robertson Hunt Black Daniels Palmer Mills Nichols Grant Knight Ferguson Stone
Hawkins Dunn Perkins Hudson Spencer Gardner Stephens Payne Pierce Berry Matthews Arnold Wagner
Willis Ray Watkins Olson Carroll Duncan Snyder Hart Cunningham Bradley Lane Andrews Ruiz Harper
Fox Riley Armstrong Carpenter Weaver Greene Lawrence Elliott Chapman Sutton Fleming Lambert
"""
)

EN_MALE: list[tuple[str, tuple[str, ...]]] = [
    ("Robert", ("Bob", "Rob", "Bobby")),
    ("William", ("Bill", "Will")),
    ("Michael", ("Mike",)),
    ("James", ("Jim", "Jimmy")),
    ("Richard", ("Rick", "Dick")),
    ("Thomas", ("Tom",)),
    ("Christopher", ("Chris",)),
    ("Daniel", ("Dan", "Danny")),
    ("Anthony", ("Tony",)),
    ("Joseph", ("Joe",)),
    ("Edward", ("Ed", "Ted")),
    ("Alexander", ("Alex",)),
    ("Samuel", ("Sam",)),
    ("Benjamin", ("Ben",)),
    ("Jonathan", ("Jon",)),
    ("Nicholas", ("Nick",)),
    ("Andrew", ("Andy", "Drew")),
    ("Matthew", ("Matt",)),
    ("Steven", ("Steve",)),
    ("Timothy", ("Tim",)),
    ("Charles", ("Charlie", "Chuck")),
    ("Peter", ("Pete",)),
    ("David", ("Dave",)),
    ("Gregory", ("Greg",)),
    ("Lawrence", ("Larry",)),
    ("Kenneth", ("Ken",)),
    ("Ronald", ("Ron",)),
    ("Donald", ("Don",)),
    ("Patrick", ("Pat",)),
    ("Frederick", ("Fred",)),
    ("George", ()),
    ("Paul", ()),
    ("Mark", ()),
    ("Brian", ()),
    ("Kevin", ()),
    ("Eric", ()),
    ("Scott", ()),
    ("Adam", ()),
]
EN_FEMALE: list[tuple[str, tuple[str, ...]]] = [
    ("Katherine", ("Kate", "Katie", "Kathy")),
    ("Elizabeth", ("Liz", "Beth", "Betty")),
    ("Margaret", ("Maggie", "Peggy")),
    ("Jennifer", ("Jen", "Jenny")),
    ("Patricia", ("Pat", "Trish")),
    ("Susan", ("Sue",)),
    ("Deborah", ("Debbie",)),
    ("Rebecca", ("Becky",)),
    ("Victoria", ("Vicky",)),
    ("Jessica", ("Jess",)),
    ("Christina", ("Tina", "Chris")),
    ("Samantha", ("Sam",)),
    ("Alexandra", ("Alex",)),
    ("Kimberly", ("Kim",)),
    ("Abigail", ("Abby",)),
    ("Jacqueline", ("Jackie",)),
    ("Catherine", ("Cathy",)),
    ("Dorothy", ("Dot",)),
    ("Barbara", ("Barb",)),
    ("Stephanie", ("Steph",)),
    ("Emily", ()),
    ("Sarah", ()),
    ("Laura", ()),
    ("Rachel", ()),
    ("Emma", ()),
    ("Olivia", ()),
    ("Hannah", ()),
    ("Lucy", ()),
    ("Claire", ()),
    ("Helen", ()),
    ("Karen", ()),
    ("Nancy", ()),
]

RU_CITIES = ["Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург", "Самара"]
RU_STREETS = [
    "Ленина",
    "Гагарина",
    "Пушкина",
    "Мира",
    "Садовая",
    "Советская",
    "Лесная",
    "Школьная",
    "Набережная",
    "Молодёжная",
    "Центральная",
    "Профсоюзная",
]
EN_CITIES = [("London", "NW1"), ("Manchester", "M1"), ("Leeds", "LS1"), ("Bristol", "BS1")]
EN_STREETS = [
    ("Baker", "Street"),
    ("High", "Street"),
    ("Church", "Road"),
    ("Station", "Road"),
    ("Victoria", "Road"),
    ("Park", "Avenue"),
    ("Mill", "Lane"),
    ("King", "Street"),
    ("Queens", "Road"),
    ("Green", "Lane"),
]
RU_COMPANIES = [
    ("Ромашка", "ООО"),
    ("Вектор", "ООО"),
    ("СтройИнвест", "АО"),
    ("Северная звезда", "ООО"),
    ("Техносфера", "ООО"),
    ("Агрохолдинг Заря", "АО"),
    ("Медиагруппа Восток", "ООО"),
    ("Уральские трубы", "ПАО"),
    ("Логистика Плюс", "ООО"),
    ("Кондитерская фабрика Весна", "АО"),
    ("Городская поликлиника № 5", "ГБУ"),
    ("Интерфарм", "ООО"),
    ("Балтийский берег", "ООО"),
    ("Сибирский лес", "АО"),
    ("Фортуна", "ООО"),
    ("Газпромбанк", "АО"),
]
EN_COMPANIES = [
    ("Acme Trading", ""),
    ("Northwind Logistics", ""),
    ("Blue Harbour Consulting", ""),
    ("Greenfield Foods", ""),
    ("Summit Engineering", ""),
    ("Redwood Analytics", ""),
    ("Oakleaf Publishing", ""),
    ("Silverline Travel", ""),
    ("Bright Path Education", ""),
    ("Harbour Bridge Capital", ""),
]
RU_MAIL = ["mail.ru", "yandex.ru", "gmail.com", "bk.ru", "list.ru", "inbox.ru", "rambler.ru"]
EN_MAIL = ["gmail.com", "outlook.com", "yahoo.co.uk", "hotmail.com", "icloud.com"]
RU_MOBILE_PREFIXES = [
    *range(900, 907),
    *range(908, 940),
    *range(950, 954),
    *range(960, 970),
    *range(977, 990),
    *range(991, 1000),
]
US_AREAS = [212, 213, 305, 312, 415, 617, 646, 702, 718, 202, 303, 206]

# --- transliteration --------------------------------------------------------------------------

_TRANSLIT_COMMON = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "e",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "ч": "ch",
    "ш": "sh",
    "ы": "y",
    "ь": "",
    "ъ": "",
    "э": "e",
}
TRANSLIT_SYSTEMS: dict[str, dict[str, str]] = {
    # As in Russian passports since 2013 (ICAO Doc 9303).
    "icao": {
        **_TRANSLIT_COMMON,
        "й": "i",
        "х": "kh",
        "ц": "ts",
        "щ": "shch",
        "ъ": "ie",
        "ю": "iu",
        "я": "ia",
    },
    # BGN/PCGN, the usual English-language press spelling.
    "bgn": {
        **_TRANSLIT_COMMON,
        "ё": "yo",
        "й": "y",
        "х": "kh",
        "ц": "ts",
        "щ": "shch",
        "ю": "yu",
        "я": "ya",
    },
    # What people type themselves: h for х, x for кс, y-endings.
    "informal": {
        **_TRANSLIT_COMMON,
        "ё": "yo",
        "й": "y",
        "х": "h",
        "ц": "c",
        "щ": "sch",
        "ю": "yu",
        "я": "ya",
        "ж": "j",
    },
}

KEYBOARD_RU = "йцукенгшщзхъфывапролджэячсмитьбю"
KEYBOARD_LATIN = "qwertyuiopasdfghjklzxcvbnm"
# Characters that look alike: a digit for a letter, or the other alphabet's twin.
LOOKALIKE_DIGIT = {"о": "0", "o": "0", "l": "1", "i": "1", "з": "3", "ч": "4", "s": "5", "b": "6"}
HOMOGLYPH = {
    "а": "a",
    "е": "e",
    "о": "o",
    "р": "p",
    "с": "c",
    "у": "y",
    "х": "x",
    "a": "а",
    "e": "е",
    "o": "о",
    "p": "р",
    "c": "с",
    "y": "у",
    "x": "х",
}


def transliterate(text: str, system: str) -> str:
    """``text`` in Latin letters by one of ``TRANSLIT_SYSTEMS``, capitals kept.

    The informal system also writes кс as x and a final ий/ый as y (Aleksandr → Alexandr,
    Dmitriy → Dmitry); BGN writes a word-initial е as ye (Евгений → Yevgeniy).
    """
    table = TRANSLIT_SYSTEMS[system]
    words = []
    for word in text.split(" "):
        lower = word.lower()
        if system == "informal":
            lower = lower.replace("кс", "x")
            if lower.endswith(("ий", "ый")):
                lower = lower[:-2] + "y"
        out = []
        for index, ch in enumerate(lower):
            if system == "bgn" and ch == "е" and index == 0:
                out.append("ye")
            else:
                out.append(table.get(ch, ch))
        latin = "".join(out)
        words.append(latin[:1].upper() + latin[1:] if word[:1].isupper() else latin)
    return " ".join(words)


def female_surname(surname: str) -> str:
    for male, female in (("ский", "ская"), ("цкий", "цкая"), ("ой", "ая"), ("ый", "ая")):
        if surname.endswith(male):
            return surname[: -len(male)] + female
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    return surname


# --- people ------------------------------------------------------------------------------------


@dataclass
class Person:
    """One real person (a cluster): the canonical name and everything known about them."""

    cluster: str
    alphabet: str  # "ru" or "latin"
    gender: str  # "m" or "f"
    last_name: str
    first_name: str
    middle_name: str
    diminutives: tuple[str, ...]
    birthday: dt.date
    phones: list[str]  # E.164
    emails: list[str]
    address: tuple[Any, ...]
    company: tuple[str, str] | None
    relation: dict[str, str] | None = None
    shared: list[str] = field(default_factory=list)  # "phone:…"/"email:…" shared with family
    phone_texts: dict[str, str] = field(default_factory=dict)  # as typed in the first record


class SetGenerator:
    """Makes people, their records and their hard negatives from one seeded ``Random``."""

    def __init__(
        self, *, seed: int, alphabet: str, fields: str, dup_rate: float, negatives: float
    ) -> None:
        self.rng = random.Random(seed)
        self.alphabet = alphabet
        self.fields = fields
        self.dup_rate = dup_rate
        self.negatives = negatives
        self.used_phones: set[str] = set()
        self.used_emails: set[str] = set()
        self.people: list[Person] = []

    # contact details --------------------------------------------------------------------------

    def _mobile(self, alphabet: str) -> str:
        while True:
            if alphabet == "ru" or self.rng.random() < 0.3:
                prefix = self.rng.choice(RU_MOBILE_PREFIXES)
                number = f"+7{prefix}{self.rng.randrange(10**7):07d}"
            elif self.rng.random() < 0.5:
                number = f"+447{self.rng.randrange(100, 1000)}{self.rng.randrange(10**6):06d}"
            else:
                area = self.rng.choice(US_AREAS)
                exchange = self.rng.randrange(200, 1000)
                number = f"+1{area}{exchange}{self.rng.randrange(10**4):04d}"
            if number in self.used_phones:
                continue
            if phonenumbers.is_valid_number(phonenumbers.parse(number)):
                self.used_phones.add(number)
                return number

    def _landline(self) -> str:
        while True:
            number = f"+7495{self.rng.randrange(2, 10)}{self.rng.randrange(10**6):06d}"
            if number not in self.used_phones and phonenumbers.is_valid_number(
                phonenumbers.parse(number)
            ):
                self.used_phones.add(number)
                return number

    def _email(self, alphabet: str, first: str, last: str) -> str:
        if alphabet == "ru":
            first, last = transliterate(first, "bgn"), transliterate(last, "bgn")
            domains = RU_MAIL
        else:
            domains = EN_MAIL
        first, last = first.lower().replace("'", ""), last.lower().replace("'", "")
        styles = [f"{first}.{last}", f"{first[0]}{last}", f"{last}.{first}", f"{last}{first[0]}"]
        while True:
            local = self.rng.choice(styles)
            if self.rng.random() < 0.5:
                local += str(self.rng.randrange(1, 100))
            email = f"{local}@{self.rng.choice(domains)}"
            if email not in self.used_emails:
                self.used_emails.add(email)
                return email

    def _address(self, alphabet: str) -> tuple[Any, ...]:
        if alphabet == "ru":
            return (
                "ru",
                self.rng.choice(RU_CITIES),
                self.rng.choice(RU_STREETS),
                self.rng.randrange(1, 120),
                self.rng.randrange(1, 300),
            )
        city, district = self.rng.choice(EN_CITIES)
        street, kind = self.rng.choice(EN_STREETS)
        postcode = f"{district} {self.rng.randrange(1, 10)}{self.rng.choice('ABDEFGHJ')}X"
        return ("latin", city, street, kind, self.rng.randrange(1, 200), postcode)

    def _birthday(self, around: dt.date | None = None, spread: tuple[int, int] = (0, 0)) -> dt.date:
        if around is None:
            start = dt.date(1950, 1, 1).toordinal()
            return dt.date.fromordinal(start + self.rng.randrange(55 * 365))
        years = self.rng.randint(*spread) * self.rng.choice((-1, 1))
        year = min(max(around.year + years, 1925), 2008)
        return dt.date(year, self.rng.randrange(1, 13), self.rng.randrange(1, 29))

    # people -----------------------------------------------------------------------------------

    def _person_alphabet(self) -> str:
        if self.alphabet == "mixed":
            return "ru" if self.rng.random() < 0.6 else "latin"
        return self.alphabet

    def _new_person(self, alphabet: str, *, gender: str | None = None) -> Person:
        gender = gender or self.rng.choice("mf")
        if alphabet == "ru":
            last = self.rng.choice(RU_SURNAMES)
            father = self.rng.choice(RU_MALE)
            if gender == "m":
                first, diminutives, *_patronymics = self.rng.choice(RU_MALE)
                middle = father[2]
            else:
                first, diminutives = self.rng.choice(RU_FEMALE)
                last, middle = female_surname(last), father[3]
        else:
            last = self.rng.choice(EN_SURNAMES)
            pool = EN_MALE if gender == "m" else EN_FEMALE
            first, diminutives = self.rng.choice(pool)
            middle = self.rng.choice(pool)[0] if self.rng.random() < 0.4 else ""
            if middle == first:
                middle = ""
        return self._with_details(
            Person(
                cluster="",
                alphabet=alphabet,
                gender=gender,
                last_name=last,
                first_name=first,
                middle_name=middle,
                diminutives=diminutives,
                birthday=self._birthday(),
                phones=[],
                emails=[],
                address=self._address(alphabet),
                company=None,
            )
        )

    def _with_details(self, person: Person) -> Person:
        """Give ``person`` their own phones and e-mails and maybe an employer."""
        person.phones = [self._mobile(person.alphabet)]
        if self.rng.random() < 0.15:
            person.phones.append(self._mobile(person.alphabet))
        person.emails = [self._email(person.alphabet, person.first_name, person.last_name)]
        if self.rng.random() < 0.1:
            person.emails.append(self._email(person.alphabet, person.first_name, person.last_name))
        if self.rng.random() < 0.3:
            person.company = self.rng.choice(
                RU_COMPANIES if person.alphabet == "ru" else EN_COMPANIES
            )
        return person

    def _own_emails(self, person: Person) -> Person:
        """New e-mails for ``person`` made from their final name."""
        person.emails = [
            self._email(person.alphabet, person.first_name, person.last_name)
            for _e in person.emails
        ]
        return person

    def _namesake(self, base: Person) -> Person:
        other = self._new_person(base.alphabet, gender=base.gender)
        other.last_name, other.first_name = base.last_name, base.first_name
        other.diminutives = base.diminutives
        if self.rng.random() < 0.6 or base.alphabet == "latin":
            other.middle_name = base.middle_name
        other.birthday = self._birthday(base.birthday, (10, 45))
        return self._own_emails(other)

    def _family(self, base: Person) -> Person:
        other = self._new_person(base.alphabet)
        if base.alphabet == "ru":
            male_surname = base.last_name if base.gender == "m" else None
            if male_surname is None:
                male_surname = next(
                    (s for s in RU_SURNAMES if female_surname(s) == base.last_name),
                    base.last_name,
                )
            other.last_name = male_surname if other.gender == "m" else female_surname(male_surname)
        else:
            other.last_name = base.last_name
        if other.first_name == base.first_name:
            other = self._family(base)
        other.address = base.address
        other.birthday = self._birthday(base.birthday, (0, 30))
        self._own_emails(other)
        shared = self.rng.choice(["email", "phone", "both"])
        if shared in {"email", "both"}:
            mailbox = base.emails[0]
            other.emails = [mailbox] + (other.emails[:1] if self.rng.random() < 0.5 else [])
            other.shared.append(f"email:{mailbox}")
        if shared in {"phone", "both"}:
            home = next((p for p in base.phones if p.startswith("+7495")), None)
            if home is None:
                home = self._landline()
                base.phones.append(home)
            other.phones = [*(p for p in other.phones if p != home), home]
            other.shared.append(f"phone:{home}")
        return other

    def _brother(self, base: Person) -> Person:
        other = self._new_person(base.alphabet, gender="m")
        while other.first_name == base.first_name:
            other = self._new_person(base.alphabet, gender="m")
        other.last_name = base.last_name
        if base.alphabet == "ru":
            other.middle_name = base.middle_name
            if base.gender == "f":
                other.last_name = next(
                    (s for s in RU_SURNAMES if female_surname(s) == base.last_name),
                    base.last_name,
                )
                patronymic = next((m for *_n, m, f in RU_MALE if f == base.middle_name), "")
                other.middle_name = patronymic or other.middle_name
        elif self.rng.random() < 0.5:
            other.address = base.address
        other.birthday = self._birthday(base.birthday, (1, 8))
        return self._own_emails(other)

    def people_make(self, entities: int) -> list[Person]:
        """``entities`` people; about ``negatives`` of them hard negatives of an earlier one."""
        for index in range(entities):
            base_pool = self.people
            if base_pool and self.rng.random() < self.negatives:
                base = self.rng.choice(base_pool)
                kind = self.rng.choices(["namesake", "family", "brother"], [2, 2, 1])[0]
                maker = {"namesake": self._namesake, "family": self._family}.get(
                    kind, self._brother
                )
                person = maker(base)
                person.relation = {"kind": kind, "of": base.cluster}
            else:
                person = self._new_person(self._person_alphabet())
            person.cluster = f"e{index:05d}"
            self.people.append(person)
        return self.people

    # records ----------------------------------------------------------------------------------

    def records(self, people: list[Person]) -> list[dict[str, Any]]:
        """The records of every person (one, or more with the duplicate rate), shuffled and
        numbered."""
        out: list[dict[str, Any]] = []
        for person in people:
            out.append(self._record(person, []))
            if self.rng.random() < self.dup_rate:
                copies = self.rng.choices([1, 2, 3], [70, 22, 8])[0]
                for _copy in range(copies):
                    out.append(self._duplicate(person))
        self.rng.shuffle(out)
        for index, record in enumerate(out):
            record["id"] = f"r{index:06d}"
        return [{"id": r.pop("id"), **r} for r in out]

    def _record(
        self,
        person: Person,
        variants: list[str],
        names: tuple[str, str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        last, first, middle = names or (person.last_name, person.first_name, person.middle_name)
        record: dict[str, Any] = {
            "cluster": person.cluster,
            "alphabet": person.alphabet,
            "variants": variants,
            "relation": person.relation,
            "last_name": last,
            "first_name": first,
            "middle_name": middle,
        }
        if self.fields == "names":
            record["client_type"] = "private"
            return record
        if details is None:
            person.phone_texts = {phone: self._phone_text(phone) for phone in person.phones}
        details = details or {
            "phones": list(person.phone_texts.values()),
            "emails": list(person.emails),
            "birthday": person.birthday.isoformat(),
            "addresses": [self._address_text(person.address)],
            "company": person.company,
        }
        company = details.pop("company")
        record.update(details)
        record["company"] = (
            {"legal_name": company[0], "legal_form": company[1]} if company else None
        )
        record["client_type"] = "business" if company else "private"
        return record

    def _duplicate(self, person: Person) -> dict[str, Any]:
        variants: list[str] = []
        names = self._vary_names(person, variants)
        details = None if self.fields == "names" else self._vary_details(person, variants)
        return self._record(person, variants, names, details)

    # name variants ----------------------------------------------------------------------------

    def _vary_names(self, person: Person, variants: list[str]) -> tuple[str, str, str]:
        """The names of a duplicate record; the kinds applied go into ``variants`` ("copy"
        when the names are unchanged)."""
        last, first, middle = person.last_name, person.first_name, person.middle_name
        kinds = ["typo", "typo", "typo", "middle_missing", "swapped", "lookalike", "case", "copy"]
        if person.diminutives:
            kinds += ["diminutive", "diminutive"]
        if person.alphabet == "ru":
            kinds += ["translit", "translit", "translit"]
            if "ё" in f"{last}{first}{middle}":
                kinds += ["yo"]
        count = self.rng.choices([1, 2, 3], [60, 30, 10])[0]
        chosen: list[str] = []
        for _pick in range(count):
            kind = self.rng.choice(kinds)
            if kind not in chosen or kind == "typo":
                chosen.append(kind)
        if "copy" in chosen:
            chosen = ["copy"] if len(chosen) == 1 else [k for k in chosen if k != "copy"]
        # The order matters: a diminutive before transliteration and typos, the swap last.
        order = ["diminutive", "middle_missing", "yo", "translit", "typo", "lookalike", "case"]
        for kind in sorted(chosen, key=lambda k: order.index(k) if k in order else 99):
            if kind == "diminutive":
                first = self.rng.choice(person.diminutives)
                variants.append("diminutive")
            elif kind == "middle_missing" and middle:
                middle = ""
                variants.append("middle_missing")
            elif kind == "yo":
                last, first, middle = (part.replace("ё", "е") for part in (last, first, middle))
                variants.append("yo")
            elif kind == "translit":
                system = self.rng.choice(list(TRANSLIT_SYSTEMS))
                last, first, middle = (transliterate(p, system) for p in (last, first, middle))
                variants.append(f"translit:{system}")
            elif kind == "typo":
                last, first = self._typo_names(last, first, variants)
            elif kind == "lookalike":
                last, first = self._lookalike(last, first, variants)
            elif kind == "case":
                last, first, middle = (part.upper() for part in (last, first, middle))
                variants.append("case")
        if "swapped" in chosen:
            last, first = first, last
            variants.append("swapped")
        if not variants:
            variants.append("copy")
        return last, first, middle

    def _typo_names(self, last: str, first: str, variants: list[str]) -> tuple[str, str]:
        if self.rng.random() < 0.15:
            last = self._typo(last)[0]
            first = self._typo(first)[0]
            variants.append("typo:both-words")
            return last, first
        word = "surname" if self.rng.random() < 0.6 else "first-name"
        target = last if word == "surname" else first
        changed, op, position = self._typo(target)
        variants.append(f"typo:{op}:{position}:{word}")
        return (changed, first) if word == "surname" else (last, changed)

    def _typo(self, word: str) -> tuple[str, str, str]:
        """One typo in ``word``: (new word, operation, position first/inner/last)."""
        op = self.rng.choice(["insert", "delete", "substitute", "transpose"])
        position = self.rng.choices(["first", "inner", "last"], [30, 50, 20])[0]
        if len(word) < 4:
            position = "first" if position == "inner" else position
        if position == "first":
            index = 0
        elif position == "last":
            index = len(word) - 1
        else:
            index = self.rng.randrange(1, len(word) - 1)
        letters = KEYBOARD_RU if any("а" <= ch <= "я" for ch in word.lower()) else KEYBOARD_LATIN

        def letter(like: str) -> str:
            choice = self.rng.choice([c for c in letters if c != like.lower()])
            return choice.upper() if like.isupper() else choice

        if op == "insert":
            at = index + 1 if position == "last" else index
            new = word[:at] + letter(word[index]) + word[at:]
        elif op == "delete":
            new = word[:index] + word[index + 1 :]
        elif op == "substitute":
            new = word[:index] + letter(word[index]) + word[index + 1 :]
        else:
            at = min(index, len(word) - 2)
            new = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        if position == "first" and word[:1].isupper() and not word.isupper():
            new = new[:1].upper() + new[1:].lower()
        if new.lower() == word.lower() or len(new) < 2:
            return self._typo(word)
        return new, op, position

    def _lookalike(self, last: str, first: str, variants: list[str]) -> tuple[str, str]:
        digit = self.rng.random() < 0.5
        table = LOOKALIKE_DIGIT if digit else HOMOGLYPH
        spots = [i for i, ch in enumerate(last) if ch in table]
        if not spots:
            return last, first
        index = self.rng.choice(spots)
        last = last[:index] + table[last[index]] + last[index + 1 :]
        variants.append("lookalike:digit" if digit else "lookalike:other-alphabet")
        return last, first

    # detail variants --------------------------------------------------------------------------

    def _vary_details(self, person: Person, variants: list[str]) -> dict[str, Any]:
        phones: list[str] = []
        for phone in person.phones:
            shown = self.rng.choices(["format", "same", "other", "missing"], [45, 25, 10, 20])[0]
            if shown == "missing":
                variants.append("phone:missing")
            elif shown == "other":
                phones.append(self._phone_text(self._mobile(person.alphabet)))
                variants.append("phone:other")
            else:
                typed = self._phone_text(phone)
                first_typed = person.phone_texts.get(phone, typed)
                if shown == "same" or typed == first_typed:
                    phones.append(first_typed)
                else:
                    phones.append(typed)
                    variants.append("phone:format")
        emails: list[str] = []
        for email in person.emails:
            shown = self.rng.choices(["same", "case", "other", "missing"], [40, 20, 10, 30])[0]
            if shown == "missing":
                variants.append("email:missing")
            elif shown == "other":
                emails.append(self._email(person.alphabet, person.first_name, person.last_name))
                variants.append("email:other")
            elif shown == "case":
                local, domain = email.split("@")
                emails.append(f"{local.title()}@{domain.upper()}")
                variants.append("email:case")
            else:
                emails.append(email)
        birthday: str | None = person.birthday.isoformat()
        roll = self.rng.random()
        if roll < 0.25:
            birthday = None
            variants.append("birthday:missing")
        elif (
            roll < 0.3
            and person.birthday.day <= 12
            and person.birthday.day != person.birthday.month
        ):
            birthday = person.birthday.replace(
                month=person.birthday.day, day=person.birthday.month
            ).isoformat()
            variants.append("birthday:day-month")
        addresses = [self._address_text(person.address)]
        roll = self.rng.random()
        if roll < 0.3:
            addresses = []
            variants.append("address:missing")
        elif roll < 0.8:
            variants.append("address:format")  # _address_text picks a random format
        company = person.company
        if company and self.rng.random() < 0.4:
            company = None
            variants.append("company:missing")
        if not phones and not emails:
            variants.append("no-contact-details")
        return {
            "phones": phones,
            "emails": emails,
            "birthday": birthday,
            "addresses": addresses,
            "company": company,
        }

    def _phone_text(self, e164: str) -> str:
        """``e164`` as a person might type it."""
        if e164.startswith("+7"):
            n = e164[2:]
            a, b, c, d = n[:3], n[3:6], n[6:8], n[8:]
            formats = [
                f"+7 {a} {b}-{c}-{d}",
                f"8 ({a}) {b}-{c}-{d}",
                f"{a}-{b}-{c}-{d}",
                f"+7{n}",
                f"8{n}",
                f"+7 ({a}) {b}{c}{d}",
                f"8 {a} {b} {c} {d}",
            ]
        elif e164.startswith("+44"):
            n = e164[3:]
            formats = [f"+44 {n[:4]} {n[4:]}", f"+44{n}", f"+44 (0){n[:4]} {n[4:]}"]
        else:
            n = e164[2:]
            formats = [f"+1 ({n[:3]}) {n[3:6]}-{n[6:]}", f"+1 {n[:3]}-{n[3:6]}-{n[6:]}", e164]
        return self.rng.choice(formats)

    def _address_text(self, address: tuple[Any, ...]) -> str:
        if address[0] == "ru":
            _alphabet, city, street, house, flat = address
            formats = [
                f"г. {city}, ул. {street}, д. {house}, кв. {flat}",
                f"{city}, ул {street} {house}-{flat}",
                f"{city}, {street} ул., дом {house}, квартира {flat}",
                f"г {city} ул {street} д{house} кв{flat}",
            ]
        else:
            _alphabet, city, street, kind, house, postcode = address
            short = {"Street": "St", "Road": "Rd", "Avenue": "Ave", "Lane": "Ln"}[kind]
            formats = [
                f"{house} {street} {kind}, {city} {postcode}",
                f"{house} {street} {short}., {city}",
                f"{house}, {street} {short}, {city}, {postcode}",
                f"{house} {street.upper()} {kind.upper()} {city.upper()}",
            ]
        return self.rng.choice(formats)


def generate(
    *,
    entities: int,
    dup_rate: float,
    fields: str,
    alphabet: str,
    seed: int,
    negatives: float = 0.12,
) -> list[dict[str, Any]]:
    """A labelled set as a list of records (see the module docstring for the fields)."""
    generator = SetGenerator(
        seed=seed, alphabet=alphabet, fields=fields, dup_rate=dup_rate, negatives=negatives
    )
    return generator.records(generator.people_make(entities))


def preset_options(name: str) -> dict[str, Any]:
    """The options of a preset, as keyword arguments of ``generate``."""
    return dict(PRESETS[name])


def iter_lines(records: list[dict[str, Any]]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record, ensure_ascii=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), help="a preset's options")
    parser.add_argument("--entities", type=int, default=1000, help="people (clusters)")
    parser.add_argument(
        "--dup-rate", type=float, default=0.3, help="share of people with duplicate records"
    )
    parser.add_argument(
        "--negatives",
        type=float,
        default=0.12,
        help="share of people who are a hard negative of an earlier one",
    )
    parser.add_argument("--fields", choices=["all", "names"], default="all")
    parser.add_argument("--alphabet", choices=["ru", "latin", "mixed"], default="mixed")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--out", type=Path, help="file to write (standard output by default)")
    args = parser.parse_args()
    options = {
        "entities": args.entities,
        "dup_rate": args.dup_rate,
        "fields": args.fields,
        "alphabet": args.alphabet,
        "seed": args.seed,
        "negatives": args.negatives,
    }
    if args.preset:
        options.update(preset_options(args.preset))
    records = generate(**options)
    text = "\n".join(iter_lines(records)) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    clusters = {record["cluster"] for record in records}
    print(f"{len(records)} records of {len(clusters)} people, options {options}", file=sys.stderr)


if __name__ == "__main__":
    main()

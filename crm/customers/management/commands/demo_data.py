"""``manage.py demo_data``: a small Russian sales team with clients and their history.

Everything is written through the services (users, teams, contacts, companies, timeline
entries, field changes), so derived data (search text, match keys, contact points, history)
is exactly what the product itself produces. The data is deterministic
(``random.Random(2026)``) and loaded only into a database without users; a second run
reports that demo data exists and changes nothing.

The word lists and the requisite generators here are reused by ``bench/generate.py``.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from crm.accounts.services import team_save, user_create
from crm.activities.choices import CallDirection, EntryKind
from crm.core.permissions import Role
from crm.core.text import fold, transliterate
from crm.customers import services
from crm.customers.choices import ClientType, Entity, LegalForm, Source
from crm.customers.models import Company, Contact
from crm.customers.services.scan import duplicates_scan

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - the published demo password
SEED = 2026
HISTORY_DAYS = 90

# --- word lists ---------------------------------------------------------------------------------

# (male, female) surnames; the common ones first, so weighted picks look like real life.
SURNAMES = [
    ("Иванов", "Иванова"),
    ("Смирнов", "Смирнова"),
    ("Кузнецов", "Кузнецова"),
    ("Попов", "Попова"),
    ("Васильев", "Васильева"),
    ("Петров", "Петрова"),
    ("Соколов", "Соколова"),
    ("Михайлов", "Михайлова"),
    ("Новиков", "Новикова"),
    ("Фёдоров", "Фёдорова"),
    ("Морозов", "Морозова"),
    ("Волков", "Волкова"),
    ("Алексеев", "Алексеева"),
    ("Лебедев", "Лебедева"),
    ("Семёнов", "Семёнова"),
    ("Егоров", "Егорова"),
    ("Павлов", "Павлова"),
    ("Козлов", "Козлова"),
    ("Степанов", "Степанова"),
    ("Николаев", "Николаева"),
    ("Орлов", "Орлова"),
    ("Андреев", "Андреева"),
    ("Макаров", "Макарова"),
    ("Никитин", "Никитина"),
    ("Захаров", "Захарова"),
    ("Зайцев", "Зайцева"),
    ("Соловьёв", "Соловьёва"),
    ("Борисов", "Борисова"),
    ("Яковлев", "Яковлева"),
    ("Григорьев", "Григорьева"),
    ("Романов", "Романова"),
    ("Воробьёв", "Воробьёва"),
    ("Сергеев", "Сергеева"),
    ("Кузьмин", "Кузьмина"),
    ("Фролов", "Фролова"),
    ("Александров", "Александрова"),
    ("Дмитриев", "Дмитриева"),
    ("Королёв", "Королёва"),
    ("Гусев", "Гусева"),
    ("Киселёв", "Киселёва"),
    ("Ильин", "Ильина"),
    ("Максимов", "Максимова"),
    ("Поляков", "Полякова"),
    ("Сорокин", "Сорокина"),
    ("Виноградов", "Виноградова"),
    ("Ковалёв", "Ковалёва"),
    ("Белов", "Белова"),
    ("Медведев", "Медведева"),
    ("Антонов", "Антонова"),
    ("Тарасов", "Тарасова"),
    ("Жуков", "Жукова"),
    ("Баранов", "Баранова"),
    ("Филиппов", "Филиппова"),
    ("Комаров", "Комарова"),
    ("Давыдов", "Давыдова"),
    ("Беляев", "Беляева"),
    ("Герасимов", "Герасимова"),
    ("Богданов", "Богданова"),
    ("Осипов", "Осипова"),
    ("Сидоров", "Сидорова"),
    ("Матвеев", "Матвеева"),
    ("Титов", "Титова"),
    ("Марков", "Маркова"),
    ("Миронов", "Миронова"),
    ("Крылов", "Крылова"),
    ("Куликов", "Куликова"),
    ("Карпов", "Карпова"),
    ("Власов", "Власова"),
    ("Мельников", "Мельникова"),
    ("Денисов", "Денисова"),
    ("Гаврилов", "Гаврилова"),
    ("Тихонов", "Тихонова"),
    ("Казаков", "Казакова"),
    ("Афанасьев", "Афанасьева"),
    ("Данилов", "Данилова"),
    ("Савельев", "Савельева"),
    ("Тимофеев", "Тимофеева"),
    ("Фомин", "Фомина"),
    ("Чернов", "Чернова"),
    ("Абрамов", "Абрамова"),
    ("Мартынов", "Мартынова"),
    ("Ефимов", "Ефимова"),
    ("Федотов", "Федотова"),
    ("Щербаков", "Щербакова"),
    ("Назаров", "Назарова"),
    ("Калинин", "Калинина"),
    ("Исаев", "Исаева"),
    ("Чернышёв", "Чернышёва"),
    ("Быков", "Быкова"),
    ("Маслов", "Маслова"),
    ("Родионов", "Родионова"),
    ("Коновалов", "Коновалова"),
    ("Лазарев", "Лазарева"),
    ("Воронин", "Воронина"),
    ("Климов", "Климова"),
    ("Филатов", "Филатова"),
    ("Пономарёв", "Пономарёва"),
    ("Голубев", "Голубева"),
    ("Кудрявцев", "Кудрявцева"),
    ("Прохоров", "Прохорова"),
    ("Наумов", "Наумова"),
    ("Потапов", "Потапова"),
    ("Журавлёв", "Журавлёва"),
    ("Овчинников", "Овчинникова"),
    ("Трофимов", "Трофимова"),
    ("Леонов", "Леонова"),
    ("Соболев", "Соболева"),
    ("Ермаков", "Ермакова"),
    ("Колесников", "Колесникова"),
    ("Гончаров", "Гончарова"),
    ("Емельянов", "Емельянова"),
    ("Никифоров", "Никифорова"),
    ("Грачёв", "Грачёва"),
    ("Котов", "Котова"),
    ("Гришин", "Гришина"),
    ("Ефремов", "Ефремова"),
    ("Архипов", "Архипова"),
    ("Громов", "Громова"),
    ("Кириллов", "Кириллова"),
    ("Малышев", "Малышева"),
    ("Панов", "Панова"),
    ("Моисеев", "Моисеева"),
    ("Румянцев", "Румянцева"),
    ("Акимов", "Акимова"),
    ("Кондратьев", "Кондратьева"),
    ("Бирюков", "Бирюкова"),
    ("Горбунов", "Горбунова"),
    ("Анисимов", "Анисимова"),
    ("Ерёмин", "Ерёмина"),
    ("Тихомиров", "Тихомирова"),
    ("Галкин", "Галкина"),
    ("Лукьянов", "Лукьянова"),
    ("Михеев", "Михеева"),
    ("Скворцов", "Скворцова"),
    ("Юдин", "Юдина"),
    ("Белоусов", "Белоусова"),
    ("Нестеров", "Нестерова"),
    ("Симонов", "Симонова"),
    ("Прокофьев", "Прокофьева"),
    ("Харитонов", "Харитонова"),
    ("Князев", "Князева"),
    ("Цветков", "Цветкова"),
    ("Левин", "Левина"),
    ("Митрофанов", "Митрофанова"),
    ("Воронцов", "Воронцова"),
    ("Ершов", "Ершова"),
    ("Шестаков", "Шестакова"),
    ("Зуев", "Зуева"),
    ("Шубин", "Шубина"),
    ("Коротков", "Короткова"),
    ("Гордеев", "Гордеева"),
    ("Третьяков", "Третьякова"),
    ("Субботин", "Субботина"),
    ("Быстров", "Быстрова"),
    ("Лапин", "Лапина"),
    ("Рябов", "Рябова"),
    ("Ковалевский", "Ковалевская"),
    ("Сахаров", "Сахарова"),
    ("Шевченко", "Шевченко"),
    ("Бондаренко", "Бондаренко"),
    ("Кравченко", "Кравченко"),
    ("Ткаченко", "Ткаченко"),
    ("Мельник", "Мельник"),
    ("Гусейнов", "Гусейнова"),
    ("Алиев", "Алиева"),
    ("Хасанов", "Хасанова"),
    ("Сафин", "Сафина"),
    ("Гарипов", "Гарипова"),
    ("Ким", "Ким"),
    ("Цой", "Цой"),
]
MALE_NAMES = [
    "Александр", "Алексей", "Андрей", "Антон", "Артём", "Борис", "Вадим", "Валерий",
    "Василий", "Виктор", "Виталий", "Владимир", "Владислав", "Георгий", "Глеб", "Григорий",
    "Даниил", "Денис", "Дмитрий", "Евгений", "Егор", "Иван", "Игорь", "Илья", "Кирилл",
    "Константин", "Леонид", "Максим", "Марк", "Матвей", "Михаил", "Никита", "Николай",
    "Олег", "Павел", "Пётр", "Роман", "Руслан", "Сергей", "Станислав", "Степан", "Тимур",
    "Фёдор", "Юрий", "Ярослав",
]  # fmt: skip
FEMALE_NAMES = [
    "Алёна", "Алина", "Алла", "Анастасия", "Анна", "Валентина", "Валерия", "Вера",
    "Вероника", "Виктория", "Галина", "Дарья", "Диана", "Екатерина", "Елена", "Елизавета",
    "Жанна", "Зоя", "Инна", "Ирина", "Карина", "Кристина", "Ксения", "Лариса", "Любовь",
    "Людмила", "Маргарита", "Марина", "Мария", "Надежда", "Наталья", "Нина", "Оксана",
    "Ольга", "Полина", "Светлана", "Софья", "Тамара", "Татьяна", "Ульяна", "Юлия", "Яна",
]  # fmt: skip
# Fathers' names → (male, female) patronymics.
PATRONYMICS = [
    ("Александрович", "Александровна"), ("Алексеевич", "Алексеевна"),
    ("Анатольевич", "Анатольевна"), ("Андреевич", "Андреевна"), ("Борисович", "Борисовна"),
    ("Валерьевич", "Валерьевна"), ("Васильевич", "Васильевна"), ("Викторович", "Викторовна"),
    ("Владимирович", "Владимировна"), ("Вячеславович", "Вячеславовна"),
    ("Геннадьевич", "Геннадьевна"), ("Григорьевич", "Григорьевна"),
    ("Дмитриевич", "Дмитриевна"), ("Евгеньевич", "Евгеньевна"), ("Иванович", "Ивановна"),
    ("Игоревич", "Игоревна"), ("Ильич", "Ильинична"), ("Константинович", "Константиновна"),
    ("Леонидович", "Леонидовна"), ("Михайлович", "Михайловна"), ("Николаевич", "Николаевна"),
    ("Олегович", "Олеговна"), ("Павлович", "Павловна"), ("Петрович", "Петровна"),
    ("Романович", "Романовна"), ("Сергеевич", "Сергеевна"), ("Станиславович", "Станиславовна"),
    ("Степанович", "Степановна"), ("Фёдорович", "Фёдоровна"), ("Юрьевич", "Юрьевна"),
]  # fmt: skip
POSITIONS = [
    "генеральный директор", "коммерческий директор", "финансовый директор",
    "главный бухгалтер", "бухгалтер", "начальник отдела закупок", "менеджер по закупкам",
    "специалист по закупкам", "руководитель проекта", "главный инженер", "инженер-сметчик",
    "начальник АХО", "офис-менеджер", "юрист", "начальник отдела снабжения",
    "заместитель директора", "директор по развитию", "IT-директор", "контрактный управляющий",
    "начальник отдела продаж",
]  # fmt: skip
EMAIL_DOMAINS = ["mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "list.ru", "rambler.ru"]
MOBILE_CODES = [
    "900", "901", "902", "903", "904", "905", "906", "908", "909", "910", "911", "912",
    "913", "914", "915", "916", "917", "918", "919", "920", "921", "922", "923", "925",
    "926", "927", "928", "929", "930", "931", "932", "933", "950", "951", "952", "953",
    "960", "961", "962", "963", "964", "965", "966", "967", "968", "977", "978", "980",
    "981", "982", "983", "984", "985", "986", "987", "988", "989", "991", "992", "993",
    "994", "995", "996", "997", "999",
]  # fmt: skip


@dataclass(frozen=True)
class City:
    name: str
    phone_code: str  # the area code of landlines, 3 digits
    tax_region: str  # the first 2 digits of ИНН/КПП/ОГРН issued there
    streets: tuple[str, ...]


CITIES = [
    City("Москва", "495", "77", ("ул. Тверская", "Ленинский пр-т", "ул. Профсоюзная",
         "Варшавское ш.", "ул. Большая Ордынка", "Кутузовский пр-т", "ул. Бутырская")),
    City("Санкт-Петербург", "812", "78", ("Невский пр-т", "Московский пр-т", "ул. Марата",
         "Лиговский пр-т", "наб. Обводного канала", "ул. Савушкина")),
    City("Екатеринбург", "343", "66", ("ул. Малышева", "ул. Ленина", "ул. 8 Марта",
         "ул. Челюскинцев")),
    City("Новосибирск", "383", "54", ("Красный пр-т", "ул. Кирова", "ул. Фрунзе")),
    City("Казань", "843", "16", ("ул. Баумана", "пр-т Победы", "ул. Декабристов")),
    City("Нижний Новгород", "831", "52", ("ул. Большая Покровская", "ул. Родионова",
         "Московское ш.")),
    City("Краснодар", "861", "23", ("ул. Красная", "ул. Северная", "ул. Уральская")),
    City("Самара", "846", "63", ("Московское ш.", "ул. Ново-Садовая", "ул. Мичурина")),
    City("Ростов-на-Дону", "863", "61", ("ул. Большая Садовая", "пр-т Будённовский",
         "ул. Малиновского")),
    City("Одинцово", "495", "50", ("Можайское ш.", "ул. Маршала Жукова", "Красногорское ш.")),
]  # fmt: skip

INDUSTRIES = [
    "Строительство", "Оптовая торговля", "Розничная торговля", "Производство",
    "Логистика и склад", "Медицина", "Образование", "Информационные технологии",
    "Государственное управление", "Общественное питание", "Недвижимость", "Энергетика",
    "Сельское хозяйство", "Финансы", "Реклама и маркетинг", "Продукты питания",
]  # fmt: skip

# Parts of invented company names for the benchmark generator (``bench/generate.py``).
NAME_PREFIXES = [
    "Строй", "Техно", "Агро", "Энерго", "Мед", "Транс", "Лес", "Нефте", "Металл", "Газ",
    "Инвест", "Торг", "Снаб", "Пром", "Электро", "Авто", "Сиб", "Урал", "Волга", "Нева",
    "Дон", "Кубань", "Евро", "Рус", "Гео", "Эко", "Био", "Фарм", "Инфо", "Соф", "Мега",
    "Вектор", "Альфа", "Дельта", "Омега", "Сфера", "Квант", "Прайм", "Стандарт", "Полимер",
]  # fmt: skip
NAME_SUFFIXES = [
    "Монтаж", "Сервис", "Комплект", "Ресурс", "Групп", "Альянс", "Холдинг", "Трейд",
    "Систем", "Логистик", "Снаб", "Маркет", "Проект", "Инжиниринг", "Тех", "Лайн", "Плюс",
    "Строй", "Пром", "Снабжение", "Консалт", "Девелопмент", "Технологии", "Решения",
]  # fmt: skip
NAME_ADJECTIVES = [
    "Северный", "Южный", "Первый", "Новый", "Большой", "Золотой", "Красный", "Зелёный",
    "Белый", "Русский", "Сибирский", "Уральский", "Балтийский", "Московский", "Волжский",
    "Надёжный", "Городской", "Центральный", "Восточный", "Западный",
]  # fmt: skip
NAME_NOUNS = [
    "ветер", "берег", "мост", "дом", "двор", "сад", "парк", "путь", "край", "регион",
    "стандарт", "квартал", "форт", "маяк", "кедр", "медведь", "сокол", "город", "лес", "луг",
]  # fmt: skip

TAGS = ["VIP", "опт", "розница", "тендер", "постоянный клиент", "новый", "партнёр", "дилер"]

# --- requisites ---------------------------------------------------------------------------------


def _weighted_check(digits: str, weights: list[int]) -> str:
    return str(sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10)


def company_inn(rng: random.Random, region: str) -> str:
    """A 10-digit organisation ИНН with a valid check digit."""
    body = region + f"{rng.randrange(100):02d}" + f"{rng.randrange(100000):05d}"
    return body + _weighted_check(body, [2, 4, 10, 3, 5, 9, 4, 6, 8])


def person_inn(rng: random.Random, region: str) -> str:
    """A 12-digit personal (ИП) ИНН with both check digits valid."""
    body = region + f"{rng.randrange(100):02d}" + f"{rng.randrange(1000000):06d}"
    body += _weighted_check(body, [7, 2, 4, 10, 3, 5, 9, 4, 6, 8])
    return body + _weighted_check(body, [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8])


def company_kpp(inn: str) -> str:
    """КПП of a head office registered where the ИНН was issued (reason code 01)."""
    return inn[:4] + "01001"


def company_ogrn(rng: random.Random, region: str, *, individual: bool = False) -> str:
    """A 13-digit ОГРН (15-digit ОГРНИП for ``individual``) with a valid check digit."""
    year = f"{rng.randrange(2, 24):02d}"
    if individual:
        # The rule takes the last digit of the remainder mod 13; python-stdnum (which the
        # product validates with) rejects remainders 10-12, so those bodies are skipped.
        while True:
            body = "3" + year + region + f"{rng.randrange(10**9):09d}"
            if int(body) % 13 < 10:
                return body + str(int(body) % 13)
    body = "1" + year + region + f"{rng.randrange(10**7):07d}"
    return body + str(int(body) % 11 % 10)


def mobile_phone(rng: random.Random) -> str:
    """A Russian mobile number in E.164 (``+79161234567``)."""
    return f"+7{rng.choice(MOBILE_CODES)}{rng.randrange(10**7):07d}"


def written_phone(e164: str, style: int) -> str:
    """The same number as a person might type it, in one of several styles."""
    d = e164[2:]
    styles = [
        f"+7 {d[:3]} {d[3:6]}-{d[6:8]}-{d[8:]}",
        f"8 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}",
        f"8{d}",
        f"+7({d[:3]}){d[3:6]}{d[6:]}",
        f"7 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}",
    ]
    return styles[style % len(styles)]


def latin(text: str) -> str:
    """A name in Latin letters as a passport or an e-mail would spell it (``Pётр`` → ``Petr``)."""
    return " ".join(transliterate(fold(word)).capitalize() for word in text.split())


# --- the demo itself --------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoCompany:
    form: str
    name: str
    industry: str
    city: int
    kind: str = ClientType.BUSINESS
    domain: str = ""


DEMO_COMPANIES = [
    DemoCompany("ООО", "СтройМонтаж", "Строительство", 0, domain="stroymontazh.ru"),
    DemoCompany("АО", "Северный ветер", "Энергетика", 1, domain="sev-veter.ru"),
    DemoCompany("ИП", "Кузнецов А. В.", "Розничная торговля", 0),
    DemoCompany("ГБУ", "Городская поликлиника № 3", "Медицина", 0, ClientType.GOVERNMENT,
                "gp3.mos.ru"),
    DemoCompany("ОГВ", "Администрация Одинцовского городского округа",
                "Государственное управление", 9, ClientType.GOVERNMENT, "odin.ru"),
    DemoCompany("ООО", "Ромашка", "Оптовая торговля", 0, domain="romashka-opt.ru"),
    DemoCompany("ООО", "ТехноСервис Урал", "Информационные технологии", 2,
                domain="tservice-ural.ru"),
    DemoCompany("ПАО", "Волжский трубный завод", "Производство", 7, domain="vtz-samara.ru"),
    DemoCompany("ООО", "Логистик Плюс", "Логистика и склад", 1, domain="logplus.spb.ru"),
    DemoCompany("ООО", "Агрокомплекс Кубань", "Сельское хозяйство", 6, domain="agrokuban.ru"),
    DemoCompany("ООО", "МедТехника", "Медицина", 4, domain="medtechnika-kzn.ru"),
    DemoCompany("АО", "Сибирский кедр", "Производство", 3, domain="sibkedr.ru"),
    DemoCompany("ООО", "Вкусный двор", "Общественное питание", 0, domain="vkusdvor.ru"),
    DemoCompany("ООО", "Невский квартал", "Недвижимость", 1, domain="nevkvartal.ru"),
    DemoCompany("ООО", "ЭнергоРесурс", "Энергетика", 5, domain="energoresurs-nn.ru"),
    DemoCompany("ИП", "Орлова М. С.", "Реклама и маркетинг", 8),
    DemoCompany("МБУ", "Школа № 1287", "Образование", 0, ClientType.GOVERNMENT, "sch1287.ru"),
    DemoCompany("ООО", "Балтийский берег", "Логистика и склад", 1, domain="baltbereg.ru"),
    DemoCompany("ООО", "Дон-Металл", "Оптовая торговля", 8, domain="don-metall.ru"),
    DemoCompany("АО", "ИнвестПроект", "Финансы", 0, domain="investproekt.ru"),
    DemoCompany("ООО", "Полимер Стандарт", "Производство", 5, domain="polimer-std.ru"),
    DemoCompany("ООО", "Зелёный сад", "Розничная торговля", 6, domain="zelsad.ru"),
    DemoCompany("ООО", "Квант Софт", "Информационные технологии", 1, domain="kvantsoft.ru"),
    DemoCompany("ФГБУ", "Научно-исследовательский институт пищевой промышленности",
                "Образование", 0, ClientType.GOVERNMENT, "niipp.ru"),
    DemoCompany("ООО", "Уральский маяк", "Строительство", 2, domain="uralmayak.ru"),
    DemoCompany("ООО", "Фарм Альянс", "Оптовая торговля", 4, domain="farmalliance.ru"),
    DemoCompany("ИП", "Гарипов Р. Р.", "Общественное питание", 4),
    DemoCompany("ООО", "АвтоТрейд", "Розничная торговля", 3, domain="avtotrade-nsk.ru"),
    DemoCompany("ООО", "ГеоПроект Инжиниринг", "Строительство", 0, domain="geoproekt.ru"),
    DemoCompany("ЗАО", "Мега Логистик", "Логистика и склад", 9, domain="megalog.ru"),
    DemoCompany("ООО", "Эко Решения", "Производство", 7, domain="eco-resheniya.ru"),
    DemoCompany("ГУП", "Водоканал Ростова", "Энергетика", 8, ClientType.GOVERNMENT,
                "vodokanal-rnd.ru"),
    DemoCompany("ООО", "Красный мост", "Недвижимость", 5, domain="krasmost.ru"),
    DemoCompany("ООО", "Сфера Консалт", "Реклама и маркетинг", 0, domain="sfera-consult.ru"),
    DemoCompany("ООО", "Надёжный путь", "Логистика и склад", 2, domain="nadput.ru"),
    DemoCompany("АО", "Центральный регион", "Оптовая торговля", 0, domain="centreg.ru"),
    DemoCompany("ООО", "БиоФарм", "Медицина", 1, domain="biofarm-spb.ru"),
    DemoCompany("ИП", "Ткаченко О. И.", "Строительство", 6),
    DemoCompany("ООО", "Золотой луг", "Продукты питания", 3, domain="zolotoylug.ru"),
    DemoCompany("АНО", "Центр поддержки предпринимательства", "Финансы", 7,
                domain="cpp-samara.ru"),
]  # fmt: skip

NOTES = [
    "Клиент запросил коммерческое предложение на {product}. Обещал ответить до конца недели.",
    "Обсудили условия оплаты: готовы на 50% предоплаты, остальное по факту поставки.",
    "Сравнивают нас с двумя конкурентами, главный вопрос — сроки поставки.",
    "Бюджет согласован, ждём подписанный договор от юристов клиента.",
    "Попросили скидку 7% при заказе от 500 тыс. руб. Согласовать с руководителем.",
    "Клиент недоволен задержкой последней отгрузки, нужно держать на контроле.",
    "Новый контакт в закупках, прежний специалист уволился. Обновил данные в карточке.",
    "Планируют тендер во втором квартале, просили прислать шаблон технического задания.",
    "Договорились о пробной поставке {product}, если всё устроит — годовой контракт.",
    "Отправил счёт и спецификацию, оплата ожидается в течение 5 банковских дней.",
    "Клиент интересуется сервисным обслуживанием, предложил расширенную гарантию.",
    "Переговоры на паузе: у клиента реорганизация отдела закупок.",
]
CALLS = [
    ("Уточнение по заказу", "Уточнили количество и адрес доставки, всё подтверждено."),
    ("Холодный звонок", "Рассказал о компании, попросили прислать презентацию на почту."),
    ("Согласование цены", "Обсудили цену на {product}, клиент думает до пятницы."),
    ("Звонок по счёту", "Бухгалтерия подтвердила оплату, платёжка придёт завтра."),
    ("Повторный звонок", "Не дозвонился до ЛПР, секретарь просила перезвонить после обеда."),
    ("Рекламация", "Клиент сообщил о браке в партии, договорились о замене за наш счёт."),
    ("Входящий запрос", "Позвонили с сайта, интересуются {product}. Отправил прайс."),
]
EMAILS = [
    ("Коммерческое предложение", "Направляем КП на {product} с учётом вашей скидки."),
    ("Счёт на оплату", "Во вложении счёт № {number} и спецификация к договору."),
    ("Договор поставки", "Высылаем проект договора. Просим согласовать до {day}."),
    ("Акт сверки", "Направляем акт сверки взаиморасчётов за квартал."),
    ("Re: сроки поставки", "Подтверждаем отгрузку {day}, транспортная компания — ПЭК."),
    ("Приглашение на выставку", "Приглашаем на наш стенд на выставке «Стройэкспо»."),
]
MEETINGS = [
    ("Встреча в офисе клиента", "Презентация продукта для коммерческого директора и закупок."),
    ("Демонстрация образцов", "Показали образцы {product}, клиенту понравилось качество."),
    ("Переговоры по контракту", "Обсудили годовой объём и график поставок, ждём протокол."),
    ("Обед с директором", "Неформальная встреча, обсудили планы клиента на следующий год."),
    ("Видеозвонок", "Созвон в Контур.Толк: согласовали техническое задание."),
]
PRODUCTS = [
    "металлопрокат", "офисную мебель", "серверное оборудование", "медицинские расходники",
    "упаковку", "спецодежду", "строительные смеси", "кабельную продукцию", "продукты питания",
    "лицензии ПО", "кондиционеры", "светодиодные светильники",
]  # fmt: skip

TEAM_MOSCOW = "Москва"
TEAM_SPB = "Санкт-Петербург"

USERS = [
    # username, role, first, last, position, team
    ("head", Role.HEAD, "Ольга", "Руководова", "руководитель отдела продаж", TEAM_MOSCOW),
    ("ivanova", Role.MANAGER, "Мария", "Иванова", "менеджер по продажам", TEAM_MOSCOW),
    ("petrov", Role.MANAGER, "Дмитрий", "Петров", "менеджер по продажам", TEAM_MOSCOW),
    ("smirnov", Role.MANAGER, "Андрей", "Смирнов", "менеджер по продажам", TEAM_SPB),
    ("viewer", Role.READONLY, "Елена", "Наблюдателева", "аналитик", TEAM_MOSCOW),
]


class Command(BaseCommand):
    help = "Load a demo sales team with companies, contacts and their history (empty DB only)."

    def handle(self, *args: Any, **options: Any) -> None:
        # The duplicate scan reports progress through the cache; make sure its table exists.
        call_command("createcachetable", verbosity=0)
        user_model = get_user_model()
        if user_model.objects.exists():
            self.stdout.write("Demo data exists (the database has users); nothing to do.")
            return
        started = timezone.now()
        with transaction.atomic():
            summary = DemoLoader(random.Random(SEED)).load()  # noqa: S311 - demo data, not secrets
        seconds = (timezone.now() - started).total_seconds()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded in {seconds:.1f} s: {summary}. "
                f"Sign in as admin, head, ivanova, petrov, smirnov or viewer "
                f"with the password {DEMO_PASSWORD}."
            )
        )


class DemoLoader:
    """Builds the demo organisation through the services, in a fixed random order."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.now = timezone.now()
        self.users: dict[str, Any] = {}
        self.used_phones: set[str] = set()
        self.entries = 0

    # --- users -------------------------------------------------------------------------------

    def load(self) -> str:
        self._users()
        managers = [self.users[name] for name in ("ivanova", "petrov", "smirnov", "head")]
        companies = self._companies(managers)
        contacts = self._employees(companies) + self._private_clients(managers)
        self._changes(contacts)
        self._sharing(companies, contacts)
        self._duplicates()
        records: list[Contact | Company] = [*companies, *contacts]
        for record in records:
            self._history(record)
        for entity in Entity.values:  # fill the "Possible duplicates" page
            duplicates_scan(entity=entity)
        return (
            f"{len(self.users)} users, {Company.objects.count()} companies, "
            f"{Contact.objects.count()} contacts, {self.entries} timeline entries"
        )

    def _users(self) -> None:
        user_model = get_user_model()
        # The first administrator has nobody to create them, so the bootstrap is direct.
        admin = user_model.objects.create_superuser(
            username="admin",
            email="admin@demo.crm.local",
            password=DEMO_PASSWORD,
            first_name="Алексей",
            last_name="Администраторов",
            role=Role.ADMIN,
            position="администратор CRM",
        )
        self.users["admin"] = admin
        for username, role, first, last, position, _team in USERS:
            self.users[username] = user_create(
                actor=admin,
                password=DEMO_PASSWORD,
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@demo.crm.local",
                role=role,
                position=position,
                phone=written_phone(mobile_phone(self.rng), 0),
            )
        for team in (TEAM_MOSCOW, TEAM_SPB):
            members = [self.users[u[0]] for u in USERS if u[5] == team]
            heads = [self.users["head"]] if team == TEAM_MOSCOW else []
            team_save(actor=admin, name=team, members=members, heads=heads)

    # --- companies and people ----------------------------------------------------------------

    def _phone(self) -> str:
        while True:
            phone = mobile_phone(self.rng)
            if phone not in self.used_phones:
                self.used_phones.add(phone)
                return phone

    def _address(self, city: City) -> str:
        street = self.rng.choice(city.streets)
        return f"г. {city.name}, {street}, д. {self.rng.randint(1, 120)}"

    def _companies(self, managers: list[Any]) -> list[Company]:
        companies = []
        for index, demo in enumerate(DEMO_COMPANIES):
            city = CITIES[demo.city]
            owner = self.users["smirnov"] if city.tax_region == "78" else managers[index % 4]
            if owner.username == "smirnov" and city.tax_region != "78":
                owner = self.users["ivanova"]
            is_individual = demo.form == LegalForm.IP
            inn = (
                person_inn(self.rng, city.tax_region)
                if is_individual
                else company_inn(self.rng, city.tax_region)
            )
            landline = f"+7{city.phone_code}{self.rng.randrange(2000000, 9999999)}"
            domain = demo.domain
            emails = [f"info@{domain}"] if domain else [f"{self._email_local(demo.name)}@mail.ru"]
            data = {
                "kind": demo.kind,
                "legal_form": demo.form,
                "legal_name": demo.name,
                "short_name": "",
                "inn": inn,
                "kpp": "" if is_individual else company_kpp(inn),
                "ogrn": company_ogrn(self.rng, city.tax_region, individual=is_individual),
                "industry": demo.industry,
                "website": f"https://{domain}" if domain else "",
                "phones": [{"value": written_phone(landline, index), "label": "work"}],
                "emails": emails,
                "addresses": [
                    {"kind": "legal", "text": self._address(city)},
                ],
                "source": self.rng.choice(Source.values[:8]),
                "tags": self.rng.sample(TAGS[:4], k=self.rng.randint(0, 2)),
                "notes": "",
            }
            companies.append(services.company_create(actor=owner, data=data))
        return companies

    def _email_local(self, name: str) -> str:
        words = transliterate(fold(name)).split()
        return ".".join(words[:2]) + str(self.rng.randint(1, 99))

    def _person(self) -> tuple[str, str, str]:
        is_male = self.rng.random() < 0.5
        last = self.rng.choice(SURNAMES)[0 if is_male else 1]
        first = self.rng.choice(MALE_NAMES if is_male else FEMALE_NAMES)
        middle = self.rng.choice(PATRONYMICS)[0 if is_male else 1]
        return last, first, middle

    def _person_email(self, last: str, first: str, domain: str | None = None) -> str:
        local = f"{transliterate(fold(first))[0]}.{transliterate(fold(last))}"
        return (
            f"{local}@{domain}"
            if domain
            else f"{local}{self.rng.randint(1, 999)}@" + (self.rng.choice(EMAIL_DOMAINS))
        )

    def _birthday(self) -> str:
        return dt.date(
            self.rng.randint(1958, 2001), self.rng.randint(1, 12), self.rng.randint(1, 28)
        ).isoformat()

    def _employees(self, companies: list[Company]) -> list[Contact]:
        contacts = []
        for company in companies:
            owner = company.owner
            domain = company.website.removeprefix("https://") if company.website else None
            count = 1 if company.legal_form == LegalForm.IP else self.rng.randint(1, 3)
            positions = self.rng.sample(POSITIONS, k=count)
            for position in positions:
                last, first, middle = self._person()
                data = {
                    "client_type": company.kind,
                    "last_name": last,
                    "first_name": first,
                    "middle_name": middle,
                    "birthday": self._birthday() if self.rng.random() < 0.4 else "",
                    "phones": [
                        {"value": written_phone(self._phone(), self.rng.randrange(5)),
                         "label": "mobile"}
                    ],
                    "emails": [self._person_email(last, first, domain)],
                    "employments": [{"company_id": company.pk, "position": position}],
                    "source": company.source,
                    "tags": self.rng.sample(TAGS, k=self.rng.randint(0, 2)),
                }  # fmt: skip
                contacts.append(services.contact_create(actor=owner, data=data))
        return contacts

    def _private_clients(self, managers: list[Any]) -> list[Contact]:
        contacts = []
        preferences = [
            "Предпочитает связь в WhatsApp", "Звонить после 18:00", "Не любит холодные звонки",
            "Интересуется новинками", "Покупает к праздникам", "",
        ]  # fmt: skip
        for index in range(44):
            owner = managers[index % len(managers)]
            last, first, middle = self._person()
            data = {
                "client_type": ClientType.PRIVATE,
                "last_name": last,
                "first_name": first,
                "middle_name": middle if self.rng.random() < 0.85 else "",
                "birthday": self._birthday(),
                "phones": [
                    {"value": written_phone(self._phone(), index), "label": "mobile"}
                ],
                "emails": [self._person_email(last, first)] if self.rng.random() < 0.75 else [],
                "preferences": self.rng.choice(preferences),
                "source": self.rng.choice(Source.values[:8]),
                "tags": self.rng.sample(["VIP", "розница", "постоянный клиент", "новый"],
                                        k=self.rng.randint(0, 2)),
            }  # fmt: skip
            contacts.append(services.contact_create(actor=owner, data=data))
        return contacts

    def _changes(self, contacts: list[Contact]) -> None:
        """A few real edits, so cards show field changes (old → new) in their history."""
        for contact in self.rng.sample(contacts, k=8):
            owner = contact.owner
            phone = written_phone(self._phone(), 1)
            current = [point.value for point in contact.points.filter(kind="phone")]
            services.contact_update(
                actor=owner,
                contact=contact,
                data={"phones": [*current, phone], "tags": ["постоянный клиент"]},
                partial=True,
            )
        for contact in self.rng.sample(contacts, k=3):
            services.contact_update(
                actor=contact.owner,
                contact=contact,
                data={"preferences": "Просит присылать документы только через ЭДО"},
                partial=True,
            )

    def _sharing(self, companies: list[Company], contacts: list[Contact]) -> None:
        """Some records are shared with a colleague who works on them too."""
        colleagues = {
            "ivanova": "petrov",
            "petrov": "ivanova",
            "head": "ivanova",
            "smirnov": "petrov",
        }
        shared: list[Contact | Company] = [
            *self.rng.sample(companies, k=5),
            *self.rng.sample(contacts, k=8),
        ]
        for record in shared:
            other = self.users[colleagues[record.owner.username]]
            services.customer_share(actor=record.owner, record=record, user_ids=[other.pk])

    def _duplicates(self) -> None:
        """Near-duplicates planted on purpose, so the duplicates page has something to show."""
        ivanova, petrov, smirnov = (self.users[n] for n in ("ivanova", "petrov", "smirnov"))
        phone = self._phone()
        pairs = [
            (
                ivanova,
                {"last_name": "Иванов", "first_name": "Пётр", "middle_name": "Сергеевич",
                 "phones": [written_phone(phone, 0)]},
                petrov,
                {"last_name": "Ivanov", "first_name": "Petr", "phones": [written_phone(phone, 1)]},
            ),
            (
                petrov,
                {"last_name": "Семёнова", "first_name": "Алёна", "middle_name": "Игоревна",
                 "emails": ["a.semenova@yandex.ru"]},
                ivanova,
                {"last_name": "Семенова", "first_name": "Алена", "middle_name": "Игоревна",
                 "emails": ["A.Semenova@yandex.ru"]},
            ),
            (
                smirnov,
                {"last_name": "Кудрявцев", "first_name": "Константин", "middle_name": "Олегович",
                 "phones": [written_phone(self._phone(), 2)]},
                smirnov,
                {"last_name": "Кудрявцев", "first_name": "Костантин",
                 "phones": [written_phone(self._phone(), 3)]},
            ),
        ]  # fmt: skip
        for first_owner, first_data, second_owner, second_data in pairs:
            for owner, data in ((first_owner, first_data), (second_owner, second_data)):
                data = {"client_type": ClientType.PRIVATE, "source": Source.PHONE, **data}
                services.contact_create(actor=owner, data=data, allow_duplicate=True)
        romashka = Company.objects.get(legal_name="Ромашка")
        romashka_phone = romashka.points.filter(kind="phone").first()
        services.company_create(
            actor=petrov,
            data={
                "legal_form": LegalForm.LLC,
                "legal_name": "Romashka",
                "industry": "Оптовая торговля",
                "phones": [written_phone(romashka_phone.value, 4)] if romashka_phone else [],
                "emails": ["sales@romashka-opt.ru"],
                "source": Source.EXHIBITION,
            },
            allow_duplicate=True,
        )

    # --- history ------------------------------------------------------------------------------

    def _moment(self) -> dt.datetime:
        days_ago = self.rng.uniform(0, HISTORY_DAYS)
        moment = self.now - dt.timedelta(days=days_ago)
        # Work happens in office hours, Moscow time.
        moment = moment.replace(hour=self.rng.randint(6, 15), minute=self.rng.choice([0, 15, 30]))
        return moment if moment < self.now else moment - dt.timedelta(days=1)

    def _fill(self, text: str) -> str:
        return text.format(
            product=self.rng.choice(PRODUCTS),
            number=self.rng.randint(100, 999),
            day=(self.now + dt.timedelta(days=self.rng.randint(2, 14))).strftime("%d.%m"),
        )

    def _history(self, record: Contact | Company) -> None:
        is_main = isinstance(record, Company) or record.client_type == ClientType.PRIVATE
        count = self.rng.randint(5, 30) if is_main else self.rng.randint(0, 6)
        actor = record.owner
        for _index in range(count):
            roll = self.rng.random()
            extra: dict[str, Any] = {}
            if roll < 0.3:
                kind, title, body = EntryKind.NOTE, "", self.rng.choice(NOTES)
            elif roll < 0.65:
                kind = EntryKind.CALL
                title, body = self.rng.choice(CALLS)
                direction = self.rng.choice(CallDirection.values)
                extra = {
                    "direction": direction,
                    "duration_seconds": 0
                    if direction == CallDirection.MISSED
                    else self.rng.randint(25, 1500),
                }
            elif roll < 0.88:
                kind = EntryKind.EMAIL
                title, body = self.rng.choice(EMAILS)
            else:
                kind = EntryKind.MEETING
                title, body = self.rng.choice(MEETINGS)
            services.customer_timeline_add(
                actor=actor,
                record=record,
                kind=kind,
                title=self._fill(title),
                body=self._fill(body),
                occurred_at=self._moment(),
                **extra,
            )
            self.entries += 1

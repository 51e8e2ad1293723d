"""Fill an empty database with a large, realistic Russian customer base for benchmarks.

Writes contacts, companies, their phones and e-mails, places of work, match keys, tags,
sharing and a "created" timeline entry per record directly in bulk (COPY on PostgreSQL,
``executemany`` in large transactions on SQLite): the services would take hours. The stored
values are exactly what the services store (E.164 phones with reversed digits, lower-case
e-mails, ``core.text.search_text`` and ``core.matching`` keys); a sample of rows is checked
against the real functions while generating. About 2% of contacts and 1% of companies are
planted near-duplicates of earlier ones (another alphabet, no patronymic, ё/е, a typo,
the same phone or e-mail).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_crm \\
        .venv/bin/python bench/generate.py --contacts 1000000 --companies 200000
    CRM_VAR_DIR=/tmp/bench-sqlite .venv/bin/python bench/generate.py --contacts 100000 \\
        --companies 20000

The database must be empty (it is migrated first). Users: ``admin``, ``head`` (leads team
«Москва», about a third of the data), ``head2``, ``head3``, managers ``m01``…``m17`` and
``viewer``; password ``bench-password-2026``. Contact 1 is the "card" contact with 200
timeline entries.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import itertools
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")

import django

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import translation  # noqa: E402
from django.utils.translation import gettext  # noqa: E402

from crm.accounts.models import Team, TeamMembership, User  # noqa: E402
from crm.activities.models import TimelineEntry  # noqa: E402
from crm.core.matching import company_block_keys, person_block_keys  # noqa: E402
from crm.core.normalize import normalize_email, normalize_phone  # noqa: E402
from crm.core.permissions import Role  # noqa: E402
from crm.core.search import sqlite_fts_sql  # noqa: E402
from crm.core.text import fold, latin_key, search_text, transliterate  # noqa: E402
from crm.customers.management.commands import demo_data as words  # noqa: E402
from crm.customers.models import (  # noqa: E402
    Company,
    Contact,
    ContactPoint,
    Employment,
    MatchKey,
    Tag,
)

PASSWORD = "bench-password-2026"  # noqa: S105 - a published benchmark password
CHUNK = 10_000
CHECK_EVERY = 997  # rows compared with the real normalisation functions
DUPLICATE_SHARE = 0.02
COMPANY_DUPLICATE_SHARE = 0.01
TEAMS = [("Москва", "head", 6), ("Санкт-Петербург", "head2", 6), ("Регионы", "head3", 5)]
BULK_TABLES = [
    "customers_company",
    "customers_contact",
    "customers_contactpoint",
    "customers_employment",
    "customers_matchkey",
    "customers_contact_tags",
    "customers_company_tags",
    "customers_contact_shared_with",
    "activities_timelineentry",
]
COLUMNS = {
    "customers_company": (
        "id created_at updated_at owner_id created_by_id source notes custom search_text "
        "kind legal_name short_name legal_form inn kpp ogrn website industry merged_into_id"
    ),
    "customers_contact": (
        "id created_at updated_at owner_id created_by_id source notes custom search_text "
        "client_type last_name first_name middle_name birthday preferences merged_into_id"
    ),
    "customers_contactpoint": (
        "kind value label messenger digits_reversed is_primary contact_id company_id position"
    ),
    "customers_employment": "contact_id company_id position is_primary",
    "customers_matchkey": "key contact_id company_id",
    "customers_contact_tags": "contact_id tag_id",
    "customers_company_tags": "company_id tag_id",
    "customers_contact_shared_with": "contact_id user_id",
    "activities_timelineentry": (
        "subject_type_id subject_id kind title body data direction duration_seconds "
        "attachment_id author_id occurred_at created_at"
    ),
}


# --- weighted picks ------------------------------------------------------------------------------


class Pool:
    """Fast weighted random choice: Zipf-like weights over a list ordered by frequency."""

    def __init__(self, items: Sequence, rng: random.Random, skew: float = 8.0):
        self.items = list(items)
        weights = [1.0 / (rank + skew) for rank in range(len(self.items))]
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]
        self.random = rng.random

    def pick(self):
        return self.items[bisect.bisect(self.cumulative, self.random() * self.total)]


def _surname_pairs() -> list[tuple[str, str]]:
    pairs = list(words.SURNAMES)
    seen = {male for male, _female in pairs}
    try:
        from faker.providers.person.ru_RU import Provider
    except ImportError:  # Faker is a dev dependency; the demo list alone still works
        return pairs
    for male in Provider.last_names_male:
        if male not in seen and male.endswith(("ов", "ев", "ёв", "ин", "ын")):
            pairs.append((male, male + "а"))
            seen.add(male)
    return pairs


# --- the normalised forms, cached per word --------------------------------------------------------


class Folding:
    """Per-word caches of what ``search_text`` and ``person_block_keys`` compute per string.

    Both functions work word by word for plain names (folding, transliteration and the
    Latin variants never cross a space), so composing cached words gives the same result
    as calling them on the whole name; ``check`` proves it on a sample of rows.
    """

    def __init__(self) -> None:
        self.folded: dict[str, str] = {}
        self.latin: dict[str, str] = {}
        self.tokens: dict[str, list[str]] = {}
        self.company_keys: dict[tuple[str, str], list[str]] = {}

    def word(self, word: str) -> tuple[str, str]:
        folded = self.folded.get(word)
        if folded is None:
            folded = self.folded[word] = fold(word)
            self.latin[word] = transliterate(folded)
        return folded, self.latin[word]

    def person_search_text(self, names: Sequence[str], emails: Sequence[str]) -> str:
        folded_parts, latin_parts = [], []
        for name in names:
            if name:
                folded, latin = self.word(name)
                folded_parts.append(folded)
                latin_parts.append(latin)
        for email in emails:
            email_folded = email.replace(".", " ").replace("@", " ").replace("-", " ")
            folded_parts.append(email_folded)
            latin_parts.append(email_folded)
        folded, latin = " ".join(folded_parts), " ".join(latin_parts)
        return folded if latin == folded else f"{folded} {latin}"

    def person_keys(self, last: str, first: str, middle: str) -> list[str]:
        tokens: list[str] = []
        for name in (last, first, middle):
            if name:
                cached = self.tokens.get(name)
                if cached is None:
                    cached = self.tokens[name] = [t for t in latin_key(name).split() if len(t) >= 2]
                tokens.extend(cached)
        if len(tokens) == 1:
            return [f"p:{tokens[0][:3]}|"]
        prefixes = sorted(token[:3] for token in tokens)
        return list({f"p:{a}|{b}" for a, b in itertools.combinations(prefixes, 2)})

    def company_block_keys(self, legal_name: str, short_name: str) -> list[str]:
        key = (legal_name, short_name)
        cached = self.company_keys.get(key)
        if cached is None:
            cached = self.company_keys[key] = [
                k[:64] for k in company_block_keys(legal_name, short_name)
            ]
        return cached


# --- output ---------------------------------------------------------------------------------------


class Sink:
    """Writes prepared rows (tuples of strings and ``NULL``) to the database in bulk."""

    NULL: str | None = None

    def timestamp(self, moment: dt.datetime) -> str:
        raise NotImplementedError

    def write(self, table: str, rows: list[tuple]) -> None:
        raise NotImplementedError

    def prepare(self) -> None:
        """Drop what slows a bulk load down (secondary indexes, triggers, FK checks)."""

    def finish(self, log: Callable[[str], None]) -> None:
        """Restore what ``prepare`` dropped and refresh the planner's statistics."""


class PostgresSink(Sink):
    NULL = "\\N"

    def __init__(self) -> None:
        connection.ensure_connection()
        self.raw = connection.connection
        self.saved_indexes: list[tuple[str, str]] = []
        self.saved_foreign_keys: list[tuple[str, str, str]] = []

    def timestamp(self, moment: dt.datetime) -> str:
        return f"{moment}+00"  # moments are naive UTC without microseconds

    def write(self, table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        columns = ", ".join(COLUMNS[table].split())
        data = "".join("\t".join(row) + "\n" for row in rows)
        with (
            self.raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            copy.write(data)

    def prepare(self) -> None:
        with self.raw.cursor() as cursor:
            cursor.execute(
                """
                SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
                FROM pg_constraint c
                WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)
                """,
                [BULK_TABLES],
            )
            self.saved_foreign_keys = cursor.fetchall()
            for table, name, _definition in self.saved_foreign_keys:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            cursor.execute(
                """
                SELECT i.indexname, i.indexdef FROM pg_indexes i
                WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
                  AND NOT EXISTS (
                    SELECT 1 FROM pg_constraint c
                    WHERE c.conindid = (quote_ident(i.indexname))::regclass)
                """,
                [BULK_TABLES],
            )
            self.saved_indexes = cursor.fetchall()
            for name, _definition in self.saved_indexes:
                cursor.execute(f'DROP INDEX "{name}"')

    def finish(self, log: Callable[[str], None]) -> None:
        with self.raw.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '1GB'")
            for name, definition in self.saved_indexes:
                started = time.perf_counter()
                cursor.execute(definition)
                if time.perf_counter() - started > 1:
                    log(f"  index {name}: {time.perf_counter() - started:.1f} s")
            for table, name, definition in self.saved_foreign_keys:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            log("  foreign keys restored and validated")
            for table in BULK_TABLES:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
                )
            started = time.perf_counter()
            cursor.execute("ANALYZE")
            log(f"  ANALYZE: {time.perf_counter() - started:.1f} s")


class SqliteSink(Sink):
    NULL = None

    def __init__(self, keep_triggers: bool) -> None:
        connection.ensure_connection()
        self.raw = connection.connection
        self.keep_triggers = keep_triggers
        self.saved_indexes: list[tuple[str, str]] = []

    def timestamp(self, moment: dt.datetime) -> str:
        return str(moment)  # Django keeps UTC as naive text on SQLite

    def write(self, table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        names = COLUMNS[table].split()
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        self.raw.execute("BEGIN")
        self.raw.executemany(sql, rows)
        self.raw.execute("COMMIT")

    def prepare(self) -> None:
        self.raw.execute("PRAGMA foreign_keys = OFF")
        self.raw.execute("PRAGMA synchronous = OFF")
        self.raw.execute("PRAGMA cache_size = -400000")
        placeholders = ", ".join("?" * len(BULK_TABLES))
        self.saved_indexes = self.raw.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({placeholders})",
            BULK_TABLES,
        ).fetchall()
        for name, _sql in self.saved_indexes:
            self.raw.execute(f'DROP INDEX "{name}"')
        if not self.keep_triggers:
            for table in ("customers_contact", "customers_company"):
                for statement in sqlite_fts_sql(table)[1]:
                    self.raw.execute(statement)

    def finish(self, log: Callable[[str], None]) -> None:
        started = time.perf_counter()
        for _name, sql in self.saved_indexes:
            self.raw.execute(sql)
        log(f"  {len(self.saved_indexes)} indexes: {time.perf_counter() - started:.1f} s")
        if not self.keep_triggers:
            for table in ("customers_contact", "customers_company"):
                started = time.perf_counter()
                for statement in sqlite_fts_sql(table)[0]:
                    self.raw.execute(statement)
                log(f"  FTS5 {table}_fts rebuilt: {time.perf_counter() - started:.1f} s")
        self.raw.execute("PRAGMA foreign_keys = ON")
        started = time.perf_counter()
        self.raw.execute("ANALYZE")
        log(f"  ANALYZE: {time.perf_counter() - started:.1f} s")


# --- the generator ---------------------------------------------------------------------------------


class Generator:
    """Produces the rows; holds the counters and the samples the duplicates copy."""

    def __init__(self, sink: Sink, *, contacts: int, companies: int, seed: int) -> None:
        self.sink = sink
        self.n_contacts = contacts
        self.n_companies = companies
        self.rng = random.Random(seed)
        self.fold = Folding()
        self.null = sink.NULL
        self.surnames = Pool(_surname_pairs(), self.rng)
        self.male_names = Pool(words.MALE_NAMES, self.rng, skew=4)
        self.female_names = Pool(words.FEMALE_NAMES, self.rng, skew=4)
        self.patronymics = Pool(words.PATRONYMICS, self.rng, skew=4)
        self.cities = Pool(words.CITIES, self.rng, skew=1.5)
        # Naive UTC moments without microseconds format fast with str().
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
        self.start = self.now - dt.timedelta(days=3 * 365)
        self.phone_space = len(words.MOBILE_CODES) * 10**7
        self.company_emails: set[str] = set()
        self.inns: set[str] = set()
        self.rows = 0
        self.checked = 0

    # users ----------------------------------------------------------------------------------------

    def users(self) -> None:
        hashed = make_password(PASSWORD)
        admin = User.objects.create(
            username="admin",
            password=hashed,
            role=Role.ADMIN,
            is_superuser=True,
            is_staff=True,
            first_name="Алексей",
            last_name="Администраторов",
        )
        User.objects.create(
            username="viewer",
            password=hashed,
            role=Role.READONLY,
            first_name="Елена",
            last_name="Наблюдателева",
        )
        self.managers: list[int] = []
        self.team_of: dict[int, list[int]] = {}
        number = 0
        for team_name, head_name, size in TEAMS:
            last, first, _middle = self._person_names()
            head = User.objects.create(
                username=head_name,
                password=hashed,
                role=Role.HEAD,
                first_name=first,
                last_name=last,
            )
            team = Team.objects.create(name=team_name)
            team.heads.add(head)
            members = [head]
            for _index in range(size):
                number += 1
                last, first, _middle = self._person_names()
                members.append(
                    User.objects.create(
                        username=f"m{number:02d}",
                        password=hashed,
                        role=Role.MANAGER,
                        first_name=first,
                        last_name=last,
                    )
                )
            TeamMembership.objects.bulk_create(
                [TeamMembership(team=team, user=member) for member in members]
            )
            ids = [member.pk for member in members[1:]]
            self.managers.extend(ids)
            for member_id in ids:
                self.team_of[member_id] = ids
        moscow = Team.objects.get(name="Москва")
        TeamMembership.objects.create(team=moscow, user=User.objects.get(username="viewer"))
        self.admin_id = admin.pk
        self.tag_ids = [Tag.objects.create(name=name).pk for name in words.TAGS]

    # helpers ---------------------------------------------------------------------------------------

    def _person_names(self) -> tuple[str, str, str]:
        male = self.rng.random() < 0.5
        pair = self.surnames.pick()
        if male:
            return pair[0], self.male_names.pick(), self.patronymics.pick()[0]
        return pair[1], self.female_names.pick(), self.patronymics.pick()[1]

    def _moment(self, index: int, total: int) -> dt.datetime:
        """Creation times grow with the id over three years, as in a real base."""
        span = (self.now - self.start).total_seconds()
        offset = span * (index + self.rng.random() * 0.9) / (total + 1)
        return self.start + dt.timedelta(seconds=int(offset))

    def _mobile(self, index: int) -> str:
        # A bijection of the index onto the number space: unique numbers that look random.
        slot = (index * 7_368_787 + 1_234_567) % self.phone_space
        code, rest = divmod(slot, 10**7)
        return f"+7{words.MOBILE_CODES[code]}{rest:07d}"

    def _email(self, last: str, first: str, number: int) -> str:
        _folded, last_latin = self.fold.word(last)
        _folded, first_latin = self.fold.word(first)
        domain = words.EMAIL_DOMAINS[number % len(words.EMAIL_DOMAINS)]
        return f"{first_latin[:1]}.{last_latin}{number % 9973}@{domain}"

    def _check_contact(self, row: tuple, emails: list[str], keys: list[str], phones) -> None:
        last, first, middle = row[10], row[11], row[12]
        expected = search_text(last, first, middle, *emails)
        if row[8] != expected:
            raise AssertionError(f"search_text differs: {row[8]!r} != {expected!r}")
        if set(keys) != {key[:64] for key in person_block_keys(last, first, middle)}:
            raise AssertionError(f"match keys differ for {last} {first} {middle}")
        for phone in phones:
            if normalize_phone(words.written_phone(phone, self.checked)) != phone:
                raise AssertionError(f"phone {phone} does not normalise to itself")
        for email in emails:
            if normalize_email(email) != email:
                raise AssertionError(f"e-mail {email} is not normalised")
        self.checked += 1

    # companies -------------------------------------------------------------------------------------

    def _company_name(self) -> tuple[str, str, str, str]:
        """(kind, legal form, legal name, industry) of an invented organisation."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.04:
            city = self.cities.pick()
            name = rng.choice(
                [
                    f"Городская поликлиника № {rng.randint(1, 220)}",
                    f"Школа № {rng.randint(1, 2500)}",
                    f"Детский сад № {rng.randint(1, 900)}",
                    f"Центр социального обслуживания «{city.name}»",
                    f"Управление образования г. {city.name}",
                ]
            )
            form = rng.choice(["ГБУ", "МБУ", "ГБУ", "ОГВ"]) if "Управление" not in name else "ОГВ"
            return "government", form, name, "Государственное управление"
        industry = rng.choice(words.INDUSTRIES[:-1])
        if roll < 0.15:
            last, first, middle = self._person_names()
            return "business", "ИП", f"{last} {first[0]}. {middle[0]}.", industry
        form = rng.choices(["ООО", "АО", "ПАО", "ЗАО", "АНО"], weights=[85, 8, 1, 4, 2])[0]
        if rng.random() < 0.6:
            name = rng.choice(words.NAME_PREFIXES) + rng.choice(words.NAME_SUFFIXES).lower()
            if rng.random() < 0.5:
                name = rng.choice(words.NAME_PREFIXES) + rng.choice(words.NAME_SUFFIXES)
        else:
            adjective = rng.choice(words.NAME_ADJECTIVES)
            name = f"{adjective} {rng.choice(words.NAME_NOUNS)}"
        tail = rng.random()
        if tail < 0.25:
            name += f" {self.cities.pick().name}"
        elif tail < 0.45:
            name += f"-{rng.randint(1, 99)}"
        elif tail < 0.55:
            name += " " + rng.choice(["Плюс", "Групп", "Холдинг", "Сервис", "Трейд", "М"])
        return "business", form, name, industry

    def _inn(self, individual: bool, region: str) -> str:
        while True:
            inn = (
                words.person_inn(self.rng, region)
                if individual
                else words.company_inn(self.rng, region)
            )
            if inn not in self.inns:
                self.inns.add(inn)
                return inn

    def companies(self, log: Callable[[str], None]) -> None:
        sink, null, rng = self.sink, self.null, self.rng
        originals: list[tuple] = []
        started = time.perf_counter()
        for chunk_start in range(1, self.n_companies + 1, CHUNK):
            companies, points, keys, timeline, tags = [], [], [], [], []
            for pk in range(chunk_start, min(chunk_start + CHUNK, self.n_companies + 1)):
                owner = self.managers[int(rng.random() * len(self.managers))]
                city = self.cities.pick()
                kind, form, name, industry = self._company_name()
                email_domain = None
                if originals and rng.random() < COMPANY_DUPLICATE_SHARE:
                    # Romashka LLC next to ООО «Ромашка»: Latin name, same phone.
                    o_name, o_phone, o_inn, o_kpp, o_kind = rng.choice(originals)
                    kind, name, form = o_kind, words.latin(o_name), "LLC"
                    phone = o_phone
                    inn = o_inn if rng.random() < 0.5 else self._inn(False, city.tax_region)
                    kpp = words.company_kpp(inn) if rng.random() < 0.5 else o_kpp
                else:
                    phone = f"+7{city.phone_code}{rng.randrange(2_000_000, 10_000_000)}"
                    inn = self._inn(form == "ИП", city.tax_region)
                    kpp = "" if form == "ИП" else words.company_kpp(inn)
                    if len(originals) < 5000:
                        originals.append((name, phone, inn, kpp, kind))
                    elif rng.random() < 0.05:
                        originals[int(rng.random() * 5000)] = (name, phone, inn, kpp, kind)
                ogrn = words.company_ogrn(rng, city.tax_region, individual=form == "ИП")
                slug = "-".join(self.fold.word(w)[1] for w in name.split()[:2] if w[:1].isalpha())
                slug = "".join(ch for ch in slug if ch.isalnum() or ch == "-")[:30] or "org"
                email_domain = f"{slug}.ru"
                email = f"info@{email_domain}"
                if email in self.company_emails:
                    email = f"info{pk}@{email_domain}"
                self.company_emails.add(email)
                emails = [email] if rng.random() < 0.85 else []
                created = sink.timestamp(self._moment(pk, self.n_companies))
                folded_name = fold(name)
                latin_name = transliterate(folded_name)
                folded = " ".join([folded_name, inn, *(fold(e) for e in emails)])
                latin = " ".join([latin_name, inn, *(fold(e) for e in emails)])
                text = folded if latin == folded else f"{folded} {latin}"
                if pk % CHECK_EVERY == 0 and text != search_text(name, "", inn, *emails):
                    raise AssertionError(f"company search_text differs for {name}")
                website = f"https://{email_domain}" if emails else ""
                companies.append(
                    (
                        str(pk),
                        created,
                        created,
                        str(owner),
                        str(owner),
                        "website",
                        "",
                        "{}",
                        text,
                        kind,
                        name,
                        "",
                        form,
                        inn,
                        kpp,
                        ogrn,
                        website,
                        industry,
                        null,
                    )
                )
                points.append(
                    ("phone", phone, "work", "", phone[1:][::-1], "1", null, str(pk), "0")
                )
                for position, address in enumerate(emails, start=1):
                    points.append(
                        ("email", address, "work", "", "", "1", null, str(pk), str(position))
                    )
                for key in self.fold.company_block_keys(name, ""):
                    keys.append((key, null, str(pk)))
                timeline.append(
                    (
                        self.company_type,
                        str(pk),
                        "created",
                        self.company_created,
                        "",
                        "{}",
                        "",
                        null,
                        null,
                        str(owner),
                        created,
                        created,
                    )
                )
                if rng.random() < 0.1:
                    tags.append((str(pk), str(rng.choice(self.tag_ids))))
            sink.write("customers_company", companies)
            sink.write("customers_contactpoint", points)
            sink.write("customers_matchkey", keys)
            sink.write("customers_company_tags", tags)
            sink.write("activities_timelineentry", timeline)
            self.rows += len(companies) + len(points) + len(keys) + len(timeline) + len(tags)
        seconds = time.perf_counter() - started
        log(
            f"companies: {self.n_companies} in {seconds:.1f} s "
            f"({self.n_companies / seconds:,.0f} companies/s)"
        )

    # contacts --------------------------------------------------------------------------------------

    def _variant(self, original: tuple[str, str, str]) -> tuple[str, str, str]:
        """A near-duplicate spelling of a person's name."""
        last, first, middle = original
        kind = self.rng.randrange(4)
        if kind == 0:  # another alphabet, no patronymic: Ivanov Petr
            return words.latin(last), words.latin(first), ""
        if kind == 1:  # no patronymic
            return last, first, ""
        if kind == 2:  # ё written as е (a patronymic is dropped where there is no ё)
            if "ё" in last + first + middle:
                return last.replace("ё", "е"), first.replace("ё", "е"), middle.replace("ё", "е")
            return last, first, ""
        if len(last) < 6:
            return last, first, ""
        position = self.rng.randrange(3, len(last) - 1)  # a typo after the 3rd letter
        typo = (
            last[:position]
            + last[position + 1 : position + 2]
            + last[position]
            + last[position + 2 :]
        )
        return typo if typo != last else last + "а", first, middle

    def contacts(self, log: Callable[[str], None]) -> None:
        sink, null, rng, fold_ = self.sink, self.null, self.rng, self.fold
        originals: list[tuple] = []
        preferences = ["", "", "", "Звонить после 18:00", "Предпочитает WhatsApp"]
        sources = ["website", "phone", "email", "referral", "exhibition", "advertising", "cold"]
        duplicates = 0
        started = time.perf_counter()
        for chunk_start in range(1, self.n_contacts + 1, CHUNK):
            contacts, points, keys, timeline, jobs, tags, shared = [], [], [], [], [], [], []
            for pk in range(chunk_start, min(chunk_start + CHUNK, self.n_contacts + 1)):
                owner = (
                    self.managers[0]
                    if pk == 1
                    else self.managers[int(rng.random() * len(self.managers))]
                )
                phones: list[str]
                emails: list[str]
                if pk > 1 and originals and rng.random() < DUPLICATE_SHARE:
                    o_names, o_phones, o_emails = originals[int(rng.random() * len(originals))]
                    last, first, middle = self._variant(o_names)
                    # The same phone typed differently normalises to the same E.164 number.
                    phones = o_phones[:1] if rng.random() < 0.7 else [self._mobile(pk)]
                    emails = o_emails if rng.random() < 0.5 else []
                    duplicates += 1
                else:
                    last, first, middle = self._person_names()
                    if rng.random() < 0.12:
                        middle = ""
                    phones = [self._mobile(pk)]
                    if rng.random() < 0.2:
                        phones.append(self._mobile(pk + self.n_contacts))
                    emails = [self._email(last, first, pk)] if rng.random() < 0.65 else []
                    if len(originals) < 20000:
                        originals.append(((last, first, middle), phones, emails))
                    elif rng.random() < 0.02:
                        originals[int(rng.random() * 20000)] = (
                            (last, first, middle),
                            phones,
                            emails,
                        )
                roll = rng.random()
                client_type = (
                    "private" if roll < 0.6 else "business" if roll < 0.95 else "government"
                )
                moment = self._moment(pk, self.n_contacts)
                created = sink.timestamp(moment)
                birthday = (
                    f"{rng.randint(1950, 2003)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                    if rng.random() < 0.3
                    else null
                )
                text = fold_.person_search_text((last, first, middle), emails)
                key_list = fold_.person_keys(last, first, middle)
                row = (
                    str(pk),
                    created,
                    created,
                    str(owner),
                    str(owner),
                    sources[pk % 7],
                    "",
                    "{}",
                    text,
                    client_type,
                    last,
                    first,
                    middle,
                    birthday,
                    preferences[pk % 5],
                    null,
                )
                if pk % CHECK_EVERY == 0:
                    self._check_contact(row, emails, key_list, phones)
                contacts.append(row)
                spk = str(pk)
                position = 0
                for phone in phones:
                    points.append(
                        (
                            "phone",
                            phone,
                            "mobile",
                            "",
                            phone[1:][::-1],
                            "1" if position == 0 else "0",
                            spk,
                            null,
                            str(position),
                        )
                    )
                    position += 1
                for email in emails:
                    points.append(("email", email, "work", "", "", "1", spk, null, str(position)))
                    position += 1
                for key in key_list:
                    keys.append((key, spk, null))
                timeline.append(
                    (
                        self.contact_type,
                        spk,
                        "created",
                        self.contact_created,
                        "",
                        "{}",
                        "",
                        null,
                        null,
                        str(owner),
                        created,
                        created,
                    )
                )
                if client_type != "private" and self.n_companies:
                    company = 1 + int(rng.random() * self.n_companies)
                    position_name = words.POSITIONS[int(rng.random() * len(words.POSITIONS))]
                    jobs.append((spk, str(company), position_name, "1"))
                if rng.random() < 0.1:
                    tags.append((spk, str(self.tag_ids[int(rng.random() * len(self.tag_ids))])))
                if rng.random() < 0.01:
                    colleagues = self.team_of[owner]
                    other = colleagues[int(rng.random() * len(colleagues))]
                    if other != owner:
                        shared.append((spk, str(other)))
            sink.write("customers_contact", contacts)
            sink.write("customers_contactpoint", points)
            sink.write("customers_matchkey", keys)
            sink.write("customers_employment", jobs)
            sink.write("customers_contact_tags", tags)
            sink.write("customers_contact_shared_with", shared)
            sink.write("activities_timelineentry", timeline)
            self.rows += (
                len(contacts)
                + len(points)
                + len(keys)
                + len(jobs)
                + len(tags)
                + len(shared)
                + len(timeline)
            )
            done = min(chunk_start + CHUNK - 1, self.n_contacts)
            if done % 100_000 == 0 or done == self.n_contacts:
                seconds = time.perf_counter() - started
                log(f"  contacts: {done:,} ({done / seconds:,.0f}/s)")
        seconds = time.perf_counter() - started
        self.contact_seconds = seconds
        log(
            f"contacts: {self.n_contacts:,} in {seconds:.1f} s "
            f"({self.n_contacts / seconds:,.0f} contacts/s with points, keys and history; "
            f"{duplicates:,} planted near-duplicates)"
        )

    def card(self) -> None:
        """Contact 1 gets 200 entries of every kind over the last year."""
        contact_type = ContentType.objects.get_for_model(Contact)
        kinds = ["note", "call", "email", "meeting"]
        entries = []
        for index in range(200):
            kind = kinds[index % 4]
            title, body = {
                "note": ("", words.NOTES[index % len(words.NOTES)]),
                "call": words.CALLS[index % len(words.CALLS)],
                "email": words.EMAILS[index % len(words.EMAILS)],
                "meeting": words.MEETINGS[index % len(words.MEETINGS)],
            }[kind]
            entries.append(
                TimelineEntry(
                    subject_type=contact_type,
                    subject_id=1,
                    kind=kind,
                    title=title,
                    body=body.format(product="упаковку", number=index, day="01.12"),
                    direction="outgoing" if kind == "call" else "",
                    duration_seconds=60 + index if kind == "call" else None,
                    author_id=self.managers[0],
                    occurred_at=(self.now - dt.timedelta(hours=index * 40)).replace(tzinfo=dt.UTC),
                )
            )
        TimelineEntry.objects.bulk_create(entries, batch_size=200)

    def run(self, log: Callable[[str], None]) -> None:
        translation.activate("ru")
        self.contact_type = str(ContentType.objects.get_for_model(Contact).pk)
        self.company_type = str(ContentType.objects.get_for_model(Company).pk)
        self.contact_created = gettext("Contact created")
        self.company_created = gettext("Company created")
        self.users()
        self.companies(log)
        self.contacts(log)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--keep-triggers",
        action="store_true",
        help="SQLite: keep the FTS5 triggers during the load (to measure their cost)",
    )
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, flush=True)

    vendor = connection.vendor
    log(f"database: {vendor} {connection.settings_dict['NAME']}")
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    if User.objects.exists() or Contact.objects.exists():
        sys.exit("The database is not empty; use a fresh one (drop it or delete the file).")
    log(f"migrated in {time.perf_counter() - started:.1f} s")
    sink: Sink = PostgresSink() if vendor == "postgresql" else SqliteSink(args.keep_triggers)
    generator = Generator(sink, contacts=args.contacts, companies=args.companies, seed=args.seed)
    sink.prepare()
    load_started = time.perf_counter()
    generator.run(log)
    generator.card()
    load_seconds = time.perf_counter() - load_started
    log(
        f"loaded {generator.rows:,} rows in {load_seconds:.1f} s ({generator.rows / load_seconds:,.0f} rows/s)"
    )
    finish_started = time.perf_counter()
    log("indexes, constraints, statistics:")
    sink.finish(log)
    finish_seconds = time.perf_counter() - finish_started
    total = load_seconds + finish_seconds
    log(
        f"done: {args.contacts:,} contacts, {args.companies:,} companies; load {load_seconds:.1f} s, "
        f"indexes {finish_seconds:.1f} s; contacts/s: load only "
        f"{args.contacts / generator.contact_seconds:,.0f}, end to end "
        f"{(args.contacts + args.companies) / total:,.0f} records/s"
    )
    counts = {
        model.__name__: model.objects.count()
        for model in (Contact, Company, ContactPoint, Employment, MatchKey, TimelineEntry)
    }
    log(f"rows: {counts}")


if __name__ == "__main__":
    main()

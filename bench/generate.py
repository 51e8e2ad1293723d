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

The rows are made in chunks of 10,000 records by a pool of forked worker processes
(``--workers``, 2 by default; 0 makes them in the main process). Each chunk has its own seed
and its own id range, so the data depends only on ``--seed`` (and the timestamps on the time
of the run), never on the number of workers or on which worker made which chunk. The main
process only writes.

The database must be empty (it is migrated first). Users: ``admin``, ``head`` (leads team
«Москва», about a third of the data), ``head2``, ``head3``, managers ``m01``…``m17`` and
``viewer``; password ``bench-password-2026``. Contact 1 is the "card" contact with 200
timeline entries.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import datetime as dt
import functools
import gc
import itertools
import multiprocessing
import os
import random
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

if __name__ == "__main__":
    # The other scripts in bench/ must not shadow the standard library (a calendar.py did); when
    # imported (by sales_generate.py) the importer has arranged the path.
    here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]
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
from stdnum.ru import inn as stdnum_inn  # noqa: E402

from crm.accounts.models import Team, TeamMembership, User  # noqa: E402
from crm.activities.models import TimelineEntry  # noqa: E402
from crm.core.matching import company_block_keys, person_block_keys  # noqa: E402
from crm.core.normalize import (  # noqa: E402
    normalize_email,
    normalize_inn,
    normalize_kpp,
    normalize_ogrn,
    normalize_phone,
    phone_digits_reversed,
)
from crm.core.permissions import Role  # noqa: E402
from crm.core.search import sqlite_fts_sql  # noqa: E402
from crm.core.text import fold, name_words, search_text, transliterate  # noqa: E402
from crm.customers.kinds import company_name_parts  # noqa: E402
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
CHUNK = 10_000  # records (contacts or companies) per chunk: one seed, one id range, one COPY
CHECK_EVERY = 997  # rows compared with the real normalisation functions
KEY_LENGTH = 64  # MatchKey.key is a varchar(64)
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
FTS_COLUMNS = ("search_text", "name_words")  # SQLite: each has an FTS5 table with triggers
COLUMNS = {
    "customers_company": (
        "id created_at updated_at owner_id created_by_id source notes custom search_text "
        "kind legal_name short_name legal_form inn kpp ogrn website industry merged_into_id "
        "name_words"
    ),
    "customers_contact": (
        "id created_at updated_at owner_id created_by_id source notes custom search_text "
        "client_type last_name first_name middle_name birthday preferences merged_into_id "
        "name_words"
    ),
    "customers_contactpoint": (
        "id kind value label messenger digits_reversed is_primary contact_id company_id position "
        "undeliverable_reason"
    ),
    "customers_employment": "id contact_id company_id position is_primary",
    "customers_matchkey": "id key contact_id company_id",
    "customers_contact_tags": "id contact_id tag_id",
    "customers_company_tags": "id company_id tag_id",
    "customers_contact_shared_with": "id contact_id user_id",
    "activities_timelineentry": (
        "id subject_type_id subject_id kind title body data direction duration_seconds "
        "attachment_id author_id occurred_at created_at"
    ),
}
# Explicit ids: chunk ``slot`` (companies first, then contacts) owns the ids
# ``slot * CHUNK * stride + 1`` … ``(slot + 1) * CHUNK * stride`` of each table, where the stride
# bounds the rows per record. Workers need no shared counter; unused ids are simply skipped.
ID_STRIDE = {
    "customers_contactpoint": 3,  # at most 2 phones and an e-mail
    "customers_matchkey": 32,  # n(n-1) keys for n name words: 6 for a usual name
    "customers_employment": 1,
    "customers_contact_tags": 1,
    "customers_company_tags": 1,
    "customers_contact_shared_with": 1,
    "activities_timelineentry": 1,
}
# Bijections of an index onto a number space (the multiplier is prime to the modulus): unique
# values that look random, without a set of the values already given out.
MOBILE_STEP = 7_368_787
COMPANY_INN_STEP, COMPANY_INN_SPACE = 3_716_371, 10**7  # 7 digits after the region
PERSON_INN_STEP, PERSON_INN_SPACE = 37_163_713, 10**8  # 8 digits after the region


# --- weighted picks ------------------------------------------------------------------------------


class Pool:
    """Fast weighted random choice: Zipf-like weights over a list ordered by frequency.

    ``random`` is rebound to each chunk's generator (``Generator._chunk_random``).
    """

    def __init__(self, items: Sequence, skew: float = 8.0):
        self.items = list(items)
        weights = [1.0 / (rank + skew) for rank in range(len(self.items))]
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]
        self.random: Callable[[], float] = random.random

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


# --- the normalised forms, memoised per name -------------------------------------------------------
#
# The folded and Latin forms and the match keys of a name depend only on the name, and names
# repeat a lot (a few hundred surnames, first names and patronymics), so each is computed once
# per worker by the real functions and reused. Only the e-mail part of ``search_text`` is
# per row; ``Generator._check_*`` compare whole rows with the real functions.


@functools.cache
def person_forms(last: str, first: str, middle: str) -> tuple[str, str, tuple[str, ...]]:
    """(folded name, its Latin spelling, match keys) of a person.

    ``fold`` and ``transliterate`` work word by word on plain names (neither crosses a
    space), so the name is folded from cached words; the keys come from the real
    ``person_block_keys`` of the whole name, whatever it does.
    """
    parts = [part for part in (last, first, middle) if part]
    keys = tuple(sorted({key[:KEY_LENGTH] for key in person_block_keys(last, first, middle)}))
    return " ".join(map(word_folded, parts)), " ".join(map(word_latin, parts)), keys


@functools.cache
def company_forms(name: str) -> tuple[str, str, tuple[str, ...], str]:
    """(folded name, its Latin spelling, match keys, e-mail domain) of a company."""
    folded = fold(name)
    keys = tuple(sorted({key[:KEY_LENGTH] for key in company_block_keys(name, "")}))
    slug = "-".join(word_latin(w) for w in name.split()[:2] if w[:1].isalpha())
    slug = "".join(ch for ch in slug if ch.isalnum() or ch == "-")[:30] or "org"
    return folded, transliterate(folded), keys, f"{slug}.ru"


@functools.cache
def person_words(last: str, first: str, middle: str) -> str:
    """``name_words`` of a person (the real function, once per name)."""
    return name_words(last, first, middle)


@functools.cache
def company_words(name: str, form: str) -> str:
    """``name_words`` of a company with no short name (the real function, once per name)."""
    return name_words(*company_name_parts(name, "", form))


@functools.cache
def word_folded(word: str) -> str:
    return fold(word)


@functools.cache
def word_latin(word: str) -> str:
    return transliterate(fold(word))


@functools.cache
def domain_folded(domain: str) -> str:
    return fold(domain)


def email_folded(email: str) -> str:
    """``fold`` of a generated address: ASCII letters and digits joined by ``.``, ``@``, ``-``."""
    return email.replace(".", " ").replace("@", " ").replace("-", " ")


# --- output ---------------------------------------------------------------------------------------


class Sink:
    """Writes the rows of a chunk to the database in bulk.

    The generator makes every row as a line of PostgreSQL COPY text (tab-separated, ``\\N``
    for NULL, ending in a newline; no value holds a tab, a newline or a backslash). ``encode``
    turns a table's lines into what the sink writes; it runs in the worker that made them.
    ``write_chunk`` runs in the main process.
    """

    TIMESTAMP_SUFFIX = ""

    def encode(self, table: str, lines: list[str]) -> object:
        raise NotImplementedError

    def write_chunk(self, tables: dict[str, object]) -> None:
        raise NotImplementedError

    def prepare(self) -> None:
        """Drop what slows a bulk load down (secondary indexes, triggers, FK checks)."""

    def reset_sequences(self) -> None:
        """Move the id sequences past the explicit ids (SQLite's AUTOINCREMENT follows them)."""

    def finish(self, log: Callable[[str], None]) -> None:
        """Restore what ``prepare`` dropped and refresh the planner's statistics."""


class PostgresBulk:
    """COPY into ``tables`` of PostgreSQL with their secondary indexes and foreign keys
    dropped first (``prepare``) and rebuilt after (``finish``). Also used by
    ``sales_generate.py``. ``columns`` maps a table to its COPY columns, space-separated."""

    def __init__(
        self, tables: Sequence[str], columns: dict[str, str], log: Callable[[str], None]
    ) -> None:
        connection.ensure_connection()
        self.raw = connection.connection
        self.tables, self.columns, self.log = list(tables), columns, log
        self.saved_indexes: list[tuple[str, str]] = []
        self.saved_foreign_keys: list[tuple[str, str, str]] = []

    def prepare(self) -> None:
        with self.raw.cursor() as cursor:
            # A crash loses the last chunks, not consistency; the load is redone from scratch.
            cursor.execute("SET synchronous_commit = off")
            cursor.execute(
                """
                SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
                FROM pg_constraint c
                WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)
                """,
                [self.tables],
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
                [self.tables],
            )
            self.saved_indexes = cursor.fetchall()
            for name, _definition in self.saved_indexes:
                cursor.execute(f'DROP INDEX "{name}"')

    def write(self, tables: dict[str, bytes]) -> None:
        """One transaction per chunk: all its tables together."""
        with self.raw.transaction(), self.raw.cursor() as cursor:
            for table, data in tables.items():
                if data:
                    columns = ", ".join(self.columns[table].split())
                    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        copy.write(data)

    def reset_sequences(self) -> None:
        with self.raw.cursor() as cursor:
            for table in self.tables:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
                )

    def finish(self) -> None:
        with self.raw.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '1GB'")
            for name, definition in self.saved_indexes:
                started = time.perf_counter()
                cursor.execute(definition)
                if time.perf_counter() - started > 1:
                    self.log(f"  index {name}: {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            for table, name, definition in self.saved_foreign_keys:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            self.log(
                f"  foreign keys restored and validated: {time.perf_counter() - started:.1f} s"
            )
            # VACUUM as well as ANALYZE: autovacuum would do it on a live database (it is
            # off on the bench server), and until it has run the visibility map is empty, so
            # every "index-only" scan (the duplicate check's key count, the board's counts)
            # reads the heap too. Django keeps the connection in autocommit, so VACUUM runs.
            started = time.perf_counter()
            cursor.execute("VACUUM (ANALYZE)")
            self.log(f"  VACUUM (ANALYZE): {time.perf_counter() - started:.1f} s")


class PostgresSink(Sink):
    TIMESTAMP_SUFFIX = "+00"  # moments are naive UTC without microseconds

    def __init__(self) -> None:
        self.bulk = PostgresBulk(BULK_TABLES, COLUMNS, log=print)

    def encode(self, table: str, lines: list[str]) -> bytes:
        return "".join(lines).encode()

    def write_chunk(self, tables: dict[str, object]) -> None:
        self.bulk.write(tables)  # type: ignore[arg-type]  (bytes from ``encode``)

    def prepare(self) -> None:
        self.bulk.prepare()

    def reset_sequences(self) -> None:
        self.bulk.reset_sequences()

    def finish(self, log: Callable[[str], None]) -> None:
        self.bulk.log = log
        self.bulk.finish()


class SqliteSink(Sink):
    def __init__(self, keep_triggers: bool) -> None:
        connection.ensure_connection()
        self.raw = connection.connection
        self.keep_triggers = keep_triggers
        self.saved_indexes: list[tuple[str, str]] = []

    def encode(self, table: str, lines: list[str]) -> list[tuple]:
        # SQLite numbers the rows of the child tables itself: explicit ids in an AUTOINCREMENT
        # table cost a sqlite_sequence update per row. The main process writes the chunks in
        # order, so the ids are the same on every run all the same.
        first = 1 if table in ID_STRIDE else 0
        return [
            tuple(None if value == "\\N" else value for value in line[:-1].split("\t")[first:])
            for line in lines
        ]

    def write_chunk(self, tables: dict[str, object]) -> None:
        """One transaction per chunk: all its tables together."""
        self.raw.execute("BEGIN")
        for table, rows in tables.items():
            if rows:
                names = COLUMNS[table].split()[1 if table in ID_STRIDE else 0 :]
                placeholders = ", ".join("?" * len(names))
                self.raw.executemany(
                    f"INSERT INTO {table} ({', '.join(names)}) VALUES ({placeholders})", rows
                )
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
                for column in FTS_COLUMNS:
                    for statement in sqlite_fts_sql(table, column)[1]:
                        self.raw.execute(statement)

    def finish(self, log: Callable[[str], None]) -> None:
        started = time.perf_counter()
        for _name, sql in self.saved_indexes:
            self.raw.execute(sql)
        log(f"  {len(self.saved_indexes)} indexes: {time.perf_counter() - started:.1f} s")
        if not self.keep_triggers:
            for table in ("customers_contact", "customers_company"):
                started = time.perf_counter()
                for column in FTS_COLUMNS:
                    for statement in sqlite_fts_sql(table, column)[0]:
                        self.raw.execute(statement)
                log(f"  FTS5 tables of {table} rebuilt: {time.perf_counter() - started:.1f} s")
        self.raw.execute("PRAGMA foreign_keys = ON")
        started = time.perf_counter()
        self.raw.execute("ANALYZE")
        log(f"  ANALYZE: {time.perf_counter() - started:.1f} s")


# --- the generator ---------------------------------------------------------------------------------


class Generator:
    """Makes the rows chunk by chunk; the main process writes them.

    A chunk of contacts or companies depends only on its index: it has its own seed, its ids
    are ``index * CHUNK + 1`` onwards, and the values that must be unique across the whole
    base (phones, ИНН, ``info@`` addresses) are derived from the id, not from a set of the
    values already used. So chunks can be made in any order, by any process.
    """

    def __init__(self, sink: Sink, *, contacts: int, companies: int, seed: int) -> None:
        self.sink = sink
        self.n_contacts = contacts
        self.n_companies = companies
        self.n_company_chunks = -(-companies // CHUNK)
        self.seed = seed
        self.rng = random.Random(seed)  # users; each chunk gets its own (``_chunk_random``)
        self.surnames = Pool(_surname_pairs())
        self.male_names = Pool(words.MALE_NAMES, skew=4)
        self.female_names = Pool(words.FEMALE_NAMES, skew=4)
        self.patronymics = Pool(words.PATRONYMICS, skew=4)
        self.cities = Pool(words.CITIES, skew=1.5)
        self._bind_pools(self.rng.random)
        # Naive UTC moments without microseconds; formatted from per-day and per-second tables.
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
        self.start = self.now - dt.timedelta(days=3 * 365)
        epoch = dt.datetime(1970, 1, 1)
        self.start_seconds = int((self.start - epoch).total_seconds())
        self.span = (self.now - self.start).total_seconds()
        self.first_day = self.start_seconds // 86400
        self.days = [
            (epoch + dt.timedelta(days=day)).date().isoformat()
            for day in range(self.first_day, int((self.now - epoch).total_seconds()) // 86400 + 1)
        ]
        suffix = sink.TIMESTAMP_SUFFIX
        self.clock = [
            f"{h:02d}:{m:02d}:{s:02d}{suffix}"
            for h in range(24)
            for m in range(60)
            for s in range(60)
        ]
        self.phone_space = len(words.MOBILE_CODES) * 10**7
        self.rows = 0
        self.checked = 0
        self.contact_seconds = 0.0

    def _bind_pools(self, random_: Callable[[], float]) -> None:
        for pool in (self.surnames, self.male_names, self.female_names, self.patronymics):
            pool.random = random_
        self.cities.random = random_

    def _chunk_random(self, kind: str, index: int) -> Callable[[], float]:
        """A generator seeded by (seed, kind, chunk): the chunk's data never depends on others."""
        self.rng = random.Random(f"{self.seed}:{kind}:{index}")
        self._bind_pools(self.rng.random)
        return self.rng.random

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
        self.team_of: dict[str, list[str]] = {}
        number = 0
        for team_name, head_name, size in TEAMS:
            last, first, _middle = self._person_names(self.rng.random)
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
                last, first, _middle = self._person_names(self.rng.random)
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
                self.team_of[str(member_id)] = [str(pk) for pk in ids]
        moscow = Team.objects.get(name="Москва")
        TeamMembership.objects.create(team=moscow, user=User.objects.get(username="viewer"))
        self.admin_id = admin.pk
        self.manager_ids = [str(pk) for pk in self.managers]
        self.tag_ids = [str(Tag.objects.create(name=name).pk) for name in words.TAGS]

    # helpers ---------------------------------------------------------------------------------------

    def _person_names(self, random_: Callable[[], float]) -> tuple[str, str, str]:
        if random_() < 0.5:
            return self.surnames.pick()[0], self.male_names.pick(), self.patronymics.pick()[0]
        return self.surnames.pick()[1], self.female_names.pick(), self.patronymics.pick()[1]

    def _moment(self, index: int, total: int, random_: Callable[[], float]) -> str:
        """Creation times grow with the id over three years, as in a real base."""
        offset = int(self.span * (index + random_() * 0.9) / (total + 1))
        day, second = divmod(self.start_seconds + offset, 86400)
        return f"{self.days[day - self.first_day]} {self.clock[second]}"

    def _mobile(self, index: int) -> str:
        # A bijection of the index onto the number space: unique numbers that look random.
        code, rest = divmod((index * MOBILE_STEP + 1_234_567) % self.phone_space, 10**7)
        return f"+7{words.MOBILE_CODES[code]}{rest:07d}"

    def _email(self, last: str, first: str, number: int) -> str:
        domain = words.EMAIL_DOMAINS[number % len(words.EMAIL_DOMAINS)]
        return f"{word_latin(first)[:1]}.{word_latin(last)}{number % 9973}@{domain}"

    def _inn(self, individual: bool, region: str, index: int) -> str:
        """A valid ИНН unique to ``index`` (a bijection, as for phones)."""
        if individual:
            body = region + f"{(index * PERSON_INN_STEP + 7_654_321) % PERSON_INN_SPACE:08d}"
            return body + stdnum_inn.calc_personal_check_digits(body)
        body = region + f"{(index * COMPANY_INN_STEP + 765_432) % COMPANY_INN_SPACE:07d}"
        return body + stdnum_inn.calc_company_check_digit(body)

    @staticmethod
    def _first_ids(slot: int, *tables: str) -> list[int]:
        """The first explicit id of each table in chunk ``slot`` (see ``ID_STRIDE``)."""
        return [slot * CHUNK * ID_STRIDE[table] + 1 for table in tables]

    @staticmethod
    def _check_ranges(*, points: list, keys: list) -> None:
        if len(points) > CHUNK * ID_STRIDE["customers_contactpoint"] or len(keys) > (
            CHUNK * ID_STRIDE["customers_matchkey"]
        ):
            raise AssertionError("a chunk has more rows than its id range (raise ID_STRIDE)")

    def _check_contact(self, line: str, keys: Sequence[str], points: list[str]) -> None:
        row = line[:-1].split("\t")
        last, first, middle = row[10], row[11], row[12]
        emails = [p.split("\t")[2] for p in points if p.split("\t")[1] == "email"]
        expected = search_text(last, first, middle, *emails)
        if row[8] != expected:
            raise AssertionError(f"search_text differs: {row[8]!r} != {expected!r}")
        if row[16] != name_words(last, first, middle):
            raise AssertionError(f"name_words differ: {row[16]!r}")
        if set(keys) != {key[:KEY_LENGTH] for key in person_block_keys(last, first, middle)}:
            raise AssertionError(f"match keys differ for {last} {first} {middle}")
        self._check_points(points)

    def _check_points(self, points: list[str]) -> None:
        for line in points:
            _id, kind, value, _label, _messenger, reversed_digits, *_rest = line.split("\t")
            if kind == "phone":
                written = words.written_phone(value, self.checked)
                if normalize_phone(written) != value:
                    raise AssertionError(f"phone {written} does not normalise to {value}")
                if reversed_digits != phone_digits_reversed(value):
                    raise AssertionError(f"digits_reversed of {value} is {reversed_digits}")
            elif normalize_email(value) != value:
                raise AssertionError(f"e-mail {value} is not normalised")
        self.checked += 1

    def _check_company(self, line: str, keys: Sequence[str], points: list[str]) -> None:
        row = line[:-1].split("\t")
        name, inn, kpp, ogrn = row[10], row[13], row[14], row[15]
        emails = [p.split("\t")[2] for p in points if p.split("\t")[1] == "email"]
        expected = search_text(name, "", inn, *emails)
        if row[8] != expected:
            raise AssertionError(f"company search_text differs: {row[8]!r} != {expected!r}")
        if row[19] != name_words(*company_name_parts(name, "", row[12])):
            raise AssertionError(f"company name_words differ: {row[19]!r}")
        if set(keys) != {key[:KEY_LENGTH] for key in company_block_keys(name, "")}:
            raise AssertionError(f"company match keys differ for {name}")
        if normalize_inn(inn) != inn or normalize_ogrn(ogrn) != ogrn:
            raise AssertionError(f"ИНН {inn} or ОГРН {ogrn} is not valid")
        if kpp and normalize_kpp(kpp) != kpp:
            raise AssertionError(f"КПП {kpp} is not valid")
        self._check_points(points)

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
            last, first, middle = self._person_names(rng.random)
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

    def company_chunk(self, index: int) -> tuple[dict[str, object], int, int]:
        """Companies ``index * CHUNK + 1``… with their points, keys, tags and created entries.

        A planted duplicate copies an earlier company of the same chunk. ``info@domain`` goes
        to the first company with that domain in the one chunk the domain hashes to; every
        other company with the domain gets ``info<id>@domain``, so addresses stay unique.
        """
        r = self._chunk_random("companies", index)
        rng, total = self.rng, self.n_companies
        managers, n_managers = self.manager_ids, len(self.manager_ids)
        tag_ids = self.tag_ids
        company_type, title = self.company_type, self.company_created
        originals: list[tuple] = []
        own_domains: set[str] = set()
        companies: list[str] = []
        points: list[str] = []
        keys: list[str] = []
        timeline: list[str] = []
        tags: list[str] = []
        point_id, key_id, entry_id, tag_id = self._first_ids(
            index,
            "customers_contactpoint",
            "customers_matchkey",
            "activities_timelineentry",
            "customers_company_tags",
        )
        duplicates = 0
        first_pk = index * CHUNK + 1
        for pk in range(first_pk, min(first_pk + CHUNK, total + 1)):
            owner = managers[int(r() * n_managers)]
            city = self.cities.pick()
            kind, form, name, industry = self._company_name()
            if originals and r() < COMPANY_DUPLICATE_SHARE:
                # Romashka LLC next to ООО «Ромашка»: Latin name, same phone.
                o_name, o_phone, o_inn, o_kpp, o_kind = rng.choice(originals)
                kind, name, form = o_kind, words.latin(o_name), "LLC"
                phone = o_phone
                inn = o_inn if r() < 0.5 else self._inn(False, city.tax_region, pk + total)
                kpp = words.company_kpp(inn) if r() < 0.5 else o_kpp
                duplicates += 1
            else:
                phone = f"+7{city.phone_code}{rng.randrange(2_000_000, 10_000_000)}"
                inn = self._inn(form == "ИП", city.tax_region, pk)
                kpp = "" if form == "ИП" else words.company_kpp(inn)
                if len(originals) < 5000:
                    originals.append((name, phone, inn, kpp, kind))
                elif r() < 0.05:
                    originals[int(r() * 5000)] = (name, phone, inn, kpp, kind)
            ogrn = words.company_ogrn(rng, city.tax_region, individual=form == "ИП")
            folded, latin, key_list, domain = company_forms(name)
            if (
                domain not in own_domains
                and zlib.crc32(domain.encode()) % self.n_company_chunks == index
            ):
                own_domains.add(domain)
                local = "info"
            else:
                local = f"info{pk}"
            has_email = r() < 0.85
            created = self._moment(pk, total, r)
            tail = f" {inn} {local} {domain_folded(domain)}" if has_email else f" {inn}"
            text = f"{folded}{tail}" if latin == folded else f"{folded}{tail} {latin}{tail}"
            website = f"https://{domain}" if has_email else ""
            companies.append(
                f"{pk}\t{created}\t{created}\t{owner}\t{owner}\twebsite\t\t{{}}\t{text}\t{kind}\t"
                f"{name}\t\t{form}\t{inn}\t{kpp}\t{ogrn}\t{website}\t{industry}\t\\N\t"
                f"{company_words(name, form)}\n"
            )
            first_point = len(points)
            points.append(
                f"{point_id + first_point}\tphone\t{phone}\twork\t\t{phone[:0:-1]}\t1\t\\N\t{pk}\t0\t\n"
            )
            if has_email:
                points.append(
                    f"{point_id + first_point + 1}\temail\t{local}@{domain}\twork\t\t\t1\t\\N\t{pk}"
                    "\t1\t\n"
                )
            for key in key_list:
                keys.append(f"{key_id + len(keys)}\t{key}\t\\N\t{pk}\n")
            timeline.append(
                f"{entry_id + len(timeline)}\t{company_type}\t{pk}\tcreated\t{title}\t\t{{}}\t\t"
                f"\\N\t\\N\t{owner}\t{created}\t{created}\n"
            )
            if r() < 0.1:
                tags.append(f"{tag_id + len(tags)}\t{pk}\t{tag_ids[int(r() * len(tag_ids))]}\n")
            if pk % CHECK_EVERY == 0:
                self._check_company(companies[-1], key_list, points[first_point:])
        self._check_ranges(points=points, keys=keys)
        encode = self.sink.encode
        tables = {
            "customers_company": encode("customers_company", companies),
            "customers_contactpoint": encode("customers_contactpoint", points),
            "customers_matchkey": encode("customers_matchkey", keys),
            "customers_company_tags": encode("customers_company_tags", tags),
            "activities_timelineentry": encode("activities_timelineentry", timeline),
        }
        rows = len(companies) + len(points) + len(keys) + len(timeline) + len(tags)
        return tables, rows, duplicates

    # contacts --------------------------------------------------------------------------------------

    def _variant(
        self, original: tuple[str, str, str], r: Callable[[], float]
    ) -> tuple[str, str, str]:
        """A near-duplicate spelling of a person's name."""
        last, first, middle = original
        kind = int(r() * 4)
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
        position = 3 + int(r() * (len(last) - 4))  # a typo after the 3rd letter
        typo = (
            last[:position]
            + last[position + 1 : position + 2]
            + last[position]
            + last[position + 2 :]
        )
        return typo if typo != last else last + "а", first, middle

    def contact_chunk(self, index: int) -> tuple[dict[str, object], int, int]:
        """Contacts ``index * CHUNK + 1``… with their points, keys, jobs, tags, sharing and
        created entries. A planted duplicate copies an earlier contact of the same chunk."""
        r = self._chunk_random("contacts", index)
        total, n_companies = self.n_contacts, self.n_companies
        managers, n_managers = self.manager_ids, len(self.manager_ids)
        tag_ids, n_tags, team_of = self.tag_ids, len(self.tag_ids), self.team_of
        positions, n_positions = words.POSITIONS, len(words.POSITIONS)
        contact_type, title = self.contact_type, self.contact_created
        mobile, moment, person_names = self._mobile, self._moment, self._person_names
        preferences = ["", "", "", "Звонить после 18:00", "Предпочитает WhatsApp"]
        sources = ["website", "phone", "email", "referral", "exhibition", "advertising", "cold"]
        originals: list[tuple] = []
        contacts: list[str] = []
        points: list[str] = []
        keys: list[str] = []
        timeline: list[str] = []
        jobs: list[str] = []
        tags: list[str] = []
        shared: list[str] = []
        point_id, key_id, entry_id, job_id, tag_id, share_id = self._first_ids(
            self.n_company_chunks + index,
            "customers_contactpoint",
            "customers_matchkey",
            "activities_timelineentry",
            "customers_employment",
            "customers_contact_tags",
            "customers_contact_shared_with",
        )
        duplicates = 0
        first_pk = index * CHUNK + 1
        for pk in range(first_pk, min(first_pk + CHUNK, total + 1)):
            owner = managers[0] if pk == 1 else managers[int(r() * n_managers)]
            phones: list[str]
            emails: list[str]
            if pk > 1 and originals and r() < DUPLICATE_SHARE:
                o_names, o_phones, o_emails = originals[int(r() * len(originals))]
                last, first, middle = self._variant(o_names, r)
                # The same phone typed differently normalises to the same E.164 number.
                phones = o_phones[:1] if r() < 0.7 else [mobile(pk)]
                emails = o_emails if r() < 0.5 else []
                duplicates += 1
            else:
                last, first, middle = person_names(r)
                if r() < 0.12:
                    middle = ""
                phones = [mobile(pk)]
                if r() < 0.2:
                    phones.append(mobile(pk + total))
                emails = [self._email(last, first, pk)] if r() < 0.65 else []
                originals.append(((last, first, middle), phones, emails))
            roll = r()
            client_type = "private" if roll < 0.6 else "business" if roll < 0.95 else "government"
            created = moment(pk, total, r)
            birthday = (
                f"{1950 + int(r() * 54)}-{1 + int(r() * 12):02d}-{1 + int(r() * 28):02d}"
                if r() < 0.3
                else "\\N"
            )
            folded, latin, key_list = person_forms(last, first, middle)
            if emails:
                tail = " " + email_folded(emails[0])
                text = f"{folded}{tail}" if latin == folded else f"{folded}{tail} {latin}{tail}"
            else:
                text = folded if latin == folded else f"{folded} {latin}"
            contacts.append(
                f"{pk}\t{created}\t{created}\t{owner}\t{owner}\t{sources[pk % 7]}\t\t{{}}\t"
                f"{text}\t{client_type}\t{last}\t{first}\t{middle}\t{birthday}\t"
                f"{preferences[pk % 5]}\t\\N\t{person_words(last, first, middle)}\n"
            )
            first_point = len(points)
            phone = phones[0]
            points.append(
                f"{point_id + first_point}\tphone\t{phone}\tmobile\t\t{phone[:0:-1]}\t1\t{pk}\t"
                "\\N\t0\t\n"
            )
            if len(phones) > 1:
                phone = phones[1]
                points.append(
                    f"{point_id + first_point + 1}\tphone\t{phone}\tmobile\t\t{phone[:0:-1]}\t0\t"
                    f"{pk}\t\\N\t1\t\n"
                )
            if emails:
                points.append(
                    f"{point_id + len(points)}\temail\t{emails[0]}\twork\t\t\t1\t{pk}\t\\N\t"
                    f"{len(phones)}\t\n"
                )
            for key in key_list:
                keys.append(f"{key_id + len(keys)}\t{key}\t{pk}\t\\N\n")
            timeline.append(
                f"{entry_id + len(timeline)}\t{contact_type}\t{pk}\tcreated\t{title}\t\t{{}}\t\t"
                f"\\N\t\\N\t{owner}\t{created}\t{created}\n"
            )
            if client_type != "private" and n_companies:
                jobs.append(
                    f"{job_id + len(jobs)}\t{pk}\t{1 + int(r() * n_companies)}\t"
                    f"{positions[int(r() * n_positions)]}\t1\n"
                )
            if r() < 0.1:
                tags.append(f"{tag_id + len(tags)}\t{pk}\t{tag_ids[int(r() * n_tags)]}\n")
            if r() < 0.01:
                colleagues = team_of[owner]
                other = colleagues[int(r() * len(colleagues))]
                if other != owner:
                    shared.append(f"{share_id + len(shared)}\t{pk}\t{other}\n")
            if pk % CHECK_EVERY == 0:
                self._check_contact(contacts[-1], key_list, points[first_point:])
        self._check_ranges(points=points, keys=keys)
        encode = self.sink.encode
        tables = {
            "customers_contact": encode("customers_contact", contacts),
            "customers_contactpoint": encode("customers_contactpoint", points),
            "customers_matchkey": encode("customers_matchkey", keys),
            "customers_employment": encode("customers_employment", jobs),
            "customers_contact_tags": encode("customers_contact_tags", tags),
            "customers_contact_shared_with": encode("customers_contact_shared_with", shared),
            "activities_timelineentry": encode("activities_timelineentry", timeline),
        }
        rows = (
            len(contacts)
            + len(points)
            + len(keys)
            + len(jobs)
            + len(tags)
            + len(shared)
            + len(timeline)
        )
        return tables, rows, duplicates

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

    # the load --------------------------------------------------------------------------------------

    def _phase(
        self,
        label: str,
        make: Callable[[int], tuple[dict[str, object], int, int]],
        total: int,
        pool,
        window: int,
        log: Callable[[str], None],
    ) -> float:
        """Make the chunks of one kind (in the pool, at most ``window`` ahead) and write them
        in order. Returns the seconds from the first chunk asked for to the last one written."""
        started = time.perf_counter()
        chunks = range(-(-total // CHUNK))
        results = map(make, chunks) if pool is None else _in_order(pool, make, chunks, window)
        duplicates = 0
        writing = 0.0
        for index, (tables, rows, planted) in enumerate(results):
            write_started = time.perf_counter()
            self.sink.write_chunk(tables)
            writing += time.perf_counter() - write_started
            self.rows += rows
            duplicates += planted
            done = min((index + 1) * CHUNK, total)
            if done % 100_000 == 0 and done != total:
                seconds = time.perf_counter() - started
                log(f"  {label}: {done:,} ({done / seconds:,.0f}/s, load {_load()})")
        seconds = time.perf_counter() - started
        log(
            f"{label}: {total:,} in {seconds:.1f} s ({total / seconds:,.0f} {label}/s with "
            f"points, keys and history; {duplicates:,} planted near-duplicates; the main process "
            f"spent {writing:.1f} s writing; load {_load()})"
        )
        return seconds

    def run(self, log: Callable[[str], None], workers: int) -> None:
        global _GENERATOR  # the forked workers find the generator here
        translation.activate("ru")
        self.contact_type = str(ContentType.objects.get_for_model(Contact).pk)
        self.company_type = str(ContentType.objects.get_for_model(Company).pk)
        self.contact_created = gettext("Contact created")
        self.company_created = gettext("Company created")
        self.users()
        _GENERATOR = self
        # Forked after everything the workers read is set; they never touch the database.
        # The workers make no reference cycles, and the cyclic collector would walk the
        # growing name caches again and again (15-20% of their time), so it is off there.
        pool = (
            multiprocessing.get_context("fork").Pool(workers, initializer=gc.disable)
            if workers
            else None
        )
        window = 2 * workers + 1
        try:
            self._phase("companies", _company_chunk, self.n_companies, pool, window, log)
            self.contact_seconds = self._phase(
                "contacts", _contact_chunk, self.n_contacts, pool, window, log
            )
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()


_GENERATOR: Generator | None = None


def _company_chunk(index: int) -> tuple[dict[str, object], int, int]:
    assert _GENERATOR is not None
    return _GENERATOR.company_chunk(index)


def _contact_chunk(index: int) -> tuple[dict[str, object], int, int]:
    assert _GENERATOR is not None
    return _GENERATOR.contact_chunk(index)


def _in_order(pool, make: Callable, chunks: range, window: int):
    """``pool.imap`` with at most ``window`` chunks made ahead of the writer (bounded memory)."""
    pending: collections.deque = collections.deque()
    indexes = iter(chunks)
    for index in itertools.islice(indexes, window):
        pending.append(pool.apply_async(make, (index,)))
    while pending:
        result = pending.popleft().get()
        for index in itertools.islice(indexes, 1):
            pending.append(pool.apply_async(make, (index,)))
        yield result


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def _database_cpu_seconds() -> float | None:
    """CPU time of this connection's PostgreSQL backend, when the server runs on this machine."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="processes that make the rows (default 2; 0: the main process makes them)",
    )
    parser.add_argument(
        "--keep-triggers",
        action="store_true",
        help="SQLite: keep the FTS5 triggers during the load (to measure their cost)",
    )
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, flush=True)

    vendor = connection.vendor
    log(
        f"database: {vendor} {connection.settings_dict['NAME']}; {os.cpu_count()} CPUs, "
        f"{args.workers} workers; load {_load()}"
    )
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
    cpu_started = (time.process_time(), _database_cpu_seconds())
    generator.run(log, args.workers)
    sink.reset_sequences()
    generator.card()
    load_seconds = time.perf_counter() - load_started
    log(
        f"loaded {generator.rows:,} rows in {load_seconds:.1f} s "
        f"({generator.rows / load_seconds:,.0f} rows/s: contacts, companies, their points, keys, "
        f"jobs, tags, sharing and created entries)"
    )
    # What the load cost in CPU, whatever else ran on the machine: the rate two free cores
    # would give is about 2 * wall / CPU times the measured one.
    children = os.times()
    database_cpu = _database_cpu_seconds()
    cpu = {
        "main": time.process_time() - cpu_started[0],
        "workers": children.children_user + children.children_system,
    }
    if database_cpu is not None and cpu_started[1] is not None:
        cpu["PostgreSQL backend"] = database_cpu - cpu_started[1]
    log(
        "CPU of the load: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in cpu.items())
        + f"; total {sum(cpu.values()):.1f} s in {load_seconds:.1f} s on {os.cpu_count()} CPUs"
    )
    finish_started = time.perf_counter()
    log("indexes, constraints, statistics:")
    sink.finish(log)
    finish_seconds = time.perf_counter() - finish_started
    total = load_seconds + finish_seconds
    log(
        f"done: {args.contacts:,} contacts, {args.companies:,} companies; load {load_seconds:.1f} s, "
        f"indexes {finish_seconds:.1f} s; contacts/s: load only "
        f"{args.contacts / max(generator.contact_seconds, 1e-9):,.0f}, end to end "
        f"{(args.contacts + args.companies) / total:,.0f} records/s; load {_load()}"
    )
    counts = {
        model.__name__: model.objects.count()
        for model in (Contact, Company, ContactPoint, Employment, MatchKey, TimelineEntry)
    }
    log(f"rows: {counts}")


if __name__ == "__main__":
    main()

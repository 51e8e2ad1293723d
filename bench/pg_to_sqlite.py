"""Copy a generated PostgreSQL benchmark database into a migrated SQLite one, row for row.

``bench/analytics_generate.py`` makes its data with SQL on PostgreSQL in minutes; SQLite has
no ``generate_series`` fast path, and the ORM generator of ``bench/analytics.py`` makes a
thinner data set (two to four stage visits a deal over one year). To measure SQLite on the
same data shape at a tenth of the issue's size::

    createdb -h 127.0.0.1 -U postgres crm_bench_tenth
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_tenth
    .venv/bin/python manage.py migrate && .venv/bin/python bench/analytics_generate.py --scale 0.1
    CRM_VAR_DIR=/tmp/bench-tenth env -u DATABASE_URL .venv/bin/python manage.py migrate
    .venv/bin/python bench/pg_to_sqlite.py --to /tmp/bench-tenth/crm.sqlite3
    CRM_VAR_DIR=/tmp/bench-tenth env -u DATABASE_URL .venv/bin/python bench/analytics.py --viewers head

Both databases must be migrated to the same state (the same code). Every table of the SQLite
file except ``django_migrations`` is emptied and refilled from PostgreSQL's table of the same
name with the same columns, with values converted the way Django stores them on SQLite
(datetimes as naive UTC text, dates as ISO text, decimals as text, JSON as text, UUIDs as
32 hex digits), foreign keys checked off during the copy and verified after it
(``PRAGMA foreign_key_check``), then ``ANALYZE``. Progress is printed per table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import os
import sqlite3
import time
import uuid
from typing import Any

import psycopg

BATCH = 20_000


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.timedelta):
        return int(value.total_seconds() * 1_000_000)  # Django's DurationField on SQLite
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _sqlite_tables(target: sqlite3.Connection) -> list[str]:
    rows = target.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' AND name <> 'django_migrations' "
        "ORDER BY name"
    ).fetchall()
    virtual_parts = {
        name
        for (name,) in target.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"
        )
    }
    # The shadow tables of an FTS5 index (<name>_data, _idx, _content, _docsize, _config)
    # belong to the index: its triggers fill them from the copied rows.
    return [
        name
        for (name,) in rows
        if not any(name.startswith(f"{virtual}_") for virtual in virtual_parts)
    ]


def copy(source_url: str, target_path: str) -> None:
    started = time.perf_counter()
    target = sqlite3.connect(target_path, isolation_level=None)
    target.execute("PRAGMA foreign_keys = OFF")
    target.execute("PRAGMA journal_mode = WAL")
    target.execute("PRAGMA synchronous = OFF")
    with psycopg.connect(source_url) as source:
        for table in _sqlite_tables(target):
            columns = [row[1] for row in target.execute(f'PRAGMA table_info("{table}")')]
            with source.cursor() as probe:
                probe.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND table_name = %s",
                    (table,),
                )
                present = {row[0] for row in probe.fetchall()}
            if not present:
                print(f"  {table}: not in PostgreSQL, emptied", flush=True)
                target.execute(f'DELETE FROM "{table}"')
                continue
            missing = [column for column in columns if column not in present]
            if missing:
                raise SystemExit(f"{table}: columns {missing} are not in PostgreSQL: migrate both")
            target.execute("BEGIN")
            target.execute(f'DELETE FROM "{table}"')
            names = ", ".join(f'"{column}"' for column in columns)
            marks = ", ".join("?" for _ in columns)
            insert = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
            count = 0
            with source.cursor(name=f"copy_{table}") as rows:
                rows.itersize = BATCH
                rows.execute(f'SELECT {names} FROM "{table}"')
                while batch := rows.fetchmany(BATCH):
                    target.executemany(insert, [tuple(map(_value, row)) for row in batch])
                    count += len(batch)
            target.execute("COMMIT")
            print(f"[{time.perf_counter() - started:7.1f} s] {table}: {count:,} rows", flush=True)
    broken = target.execute("PRAGMA foreign_key_check").fetchmany(5)
    if broken:
        raise SystemExit(f"foreign keys broken after the copy, e.g. {broken}")
    target.execute("ANALYZE")
    target.close()
    print(f"[{time.perf_counter() - started:7.1f} s] done, foreign keys checked, ANALYZE run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--to", dest="target", required=True, help="the migrated SQLite file")
    options = parser.parse_args()
    if not options.source:
        raise SystemExit("give --from postgres://… or DATABASE_URL")
    copy(options.source, options.target)


if __name__ == "__main__":
    main()

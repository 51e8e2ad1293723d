"""Bench: counting a segment's recipients over 1,000,000 contacts (issue 16: ≤ 500 ms with
three filters on PostgreSQL), median and p95.

On a database filled by ``generate.py`` (``--contacts 1000000 --companies 200000``)::

    createdb -h 127.0.0.1 -U postgres bench_segments
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_segments
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/generate.py --contacts 1000000 --companies 200000
    .venv/bin/python bench/segment_count.py --prepare   # consent, unsubscribes, last touch
    .venv/bin/python bench/segment_count.py              # the figures
    .venv/bin/python bench/segment_count.py --explain    # and the plan of each count

``--prepare`` (once) gives the generated base what the generator leaves out: a last touch
(the creation, as migration ``customers/0012`` does), consent on about 30% of contacts and
an unsubscribed mark on about 3% of e-mails, spread by id. Each spec below has three
filters (one also takes the people of matching companies) and is counted as the
administrator (the whole base), as ``head`` (team «Москва», a third) and as ``m01`` (one
manager): ``segment_count`` (one query: contacts and recipients) and the editor's fragment
``GET /mailings/segments/count/`` (count and the first 20 recipients, through Django's test
client). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")
os.environ.setdefault("CRM_DEBUG", "0")
os.environ.setdefault("CRM_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from crm.accounts.models import Team, User  # noqa: E402
from crm.customers.models import Contact, Tag  # noqa: E402
from crm.mailings.forms import SegmentForm  # noqa: E402
from crm.mailings.selectors import segment_count, segment_recipients  # noqa: E402
from crm.mailings.spec import spec_clean  # noqa: E402


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def prepare() -> None:
    """Fill what the generator leaves out (idempotent: only rows still without it)."""
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers_contact SET last_touch_at = created_at WHERE last_touch_at IS NULL"
        )
        cursor.execute(
            "UPDATE customers_company SET last_touch_at = created_at WHERE last_touch_at IS NULL"
        )
        cursor.execute(
            "UPDATE customers_contact SET consent_at = created_at, consent_source = 'form' "
            "WHERE consent_at IS NULL AND id % 10 IN (1, 4, 7)"
        )
        cursor.execute(
            "UPDATE customers_contactpoint SET unsubscribed_at = now() "
            "WHERE kind = 'email' AND contact_id IS NOT NULL AND unsubscribed_at IS NULL "
            "AND id % 100 IN (3, 50, 97)"
        )
    with connection.cursor() as cursor:
        for table in ("customers_contact", "customers_company", "customers_contactpoint"):
            cursor.execute(f"ANALYZE {table}")
    print(f"prepared in {time.perf_counter() - started:.1f} s")


def specs() -> dict[str, dict[str, Any]]:
    tags = list(Tag.objects.order_by("id").values_list("name", flat=True)[:2])
    team = Team.objects.get(name="Москва").pk
    return {
        "business+tag+has e-mail": {"client_type": "business", "tags": tags[:1], "has_email": True},
        "source+no touch 30d+consent": {"source": "website", "no_touch_days": 30, "consent": True},
        "team+private+has phone": {"team": team, "client_type": "private", "has_phone": True},
        "tags+source+companies' people": {
            "tags": tags,
            "source": "website",
            "with_companies": True,
        },
    }


def measure(run: Callable[[], object], runs: int, warmup: int) -> tuple[float, float]:
    for _ in range(warmup):
        run()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def query_string(spec: dict[str, Any]) -> dict[str, Any]:
    """The editor's inputs for ``spec`` (as the browser sends them)."""
    initial = SegmentForm.initial_of("", False, spec)
    initial.pop("name"), initial.pop("is_shared")
    return {key: ("on" if value is True else value) for key, value in initial.items()}


def explain(user: User, spec: dict[str, Any]) -> None:
    with CaptureQueriesContext(connection) as captured:
        segment_count(user=user, spec=spec_clean(spec))
    sql = captured.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        print("\n".join(row[0] for row in cursor.fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--viewers", default="admin,head,m01")
    arguments = parser.parse_args()
    if arguments.prepare:
        prepare()
        return
    contacts = Contact.objects.count()
    print(f"{connection.vendor}, {contacts:,} contacts, load {load()}")
    rows = []
    for username in arguments.viewers.split(","):
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        for label, spec in specs().items():
            clean = spec_clean(spec)
            figures = segment_count(user=user, spec=clean)
            count = measure(
                lambda user=user, clean=clean: segment_count(user=user, spec=clean),
                arguments.runs,
                arguments.warmup,
            )
            page = measure(
                lambda user=user, clean=clean: segment_recipients(user=user, spec=clean),
                arguments.runs,
                arguments.warmup,
            )
            params = query_string(spec)
            fragment = measure(
                lambda client=client, params=params: client.get(
                    "/mailings/segments/count/", params
                ),
                arguments.runs,
                arguments.warmup,
            )
            rows.append(
                f"| {username} | {label} | {figures.total:,} / {figures.recipients:,} | "
                f"{count[0]:.0f} / {count[1]:.0f} | {page[0]:.0f} / {page[1]:.0f} | "
                f"{fragment[0]:.0f} / {fragment[1]:.0f} |"
            )
            print(rows[-1], flush=True)
            if arguments.explain:
                explain(user, spec)
    print(f"\nload after: {load()}")
    print(
        "| viewer | spec (three filters) | contacts / recipients | count ms (median / p95) "
        "| first 20 recipients ms | editor fragment ms |"
    )
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

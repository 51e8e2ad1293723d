"""Measure the hot paths of the customer base on a database filled by ``bench/generate.py``.

In-process, with Django's test ``Client`` (the whole request: middleware, session, view,
template) where the page is built, and through the selectors/services otherwise. Each
operation is warmed up, then run N times; the median and the 95th percentile go into a
Markdown table, printed and written into ``bench/RESULTS.md`` (the section for this
database is replaced).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_crm .venv/bin/python bench/run.py
    CRM_VAR_DIR=/tmp/bench-sqlite .venv/bin/python bench/run.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The other scripts in bench/ must not shadow modules of the standard library (a calendar.py did).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")
os.environ.setdefault("CRM_DEBUG", "0")
os.environ.setdefault("CRM_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from crm.accounts.models import User  # noqa: E402
from crm.customers import selectors, services  # noqa: E402
from crm.customers.models import Company, Contact, ContactPoint  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
TARGETS = {"list": 50, "card": 50, "search": 100, "suggest": 100, "duplicates": 10}


@dataclass
class Result:
    name: str
    user: str
    how: str
    median: float
    p95: float
    queries: int
    target: float | None
    cpu: tuple[float, float] = (0.0, 0.0)
    """CPU ms per run of this process and of its PostgreSQL backend: on a busy machine, what
    a run costs on a quiet one."""

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        return "✅" if self.p95 <= self.target else "❌"


def measure(fn: Callable[[int], object], *, iterations: int, warmup: int) -> tuple[float, float]:
    for index in range(warmup):
        fn(index)
    timings = []
    for index in range(iterations):
        started = time.perf_counter()
        fn(index)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[min(len(timings) - 1, int(len(timings) * 0.95))]


def backend_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend when the server runs on this
    machine (0 otherwise, and on SQLite, whose work is this process's)."""
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_queries(fn: Callable[[int], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn(0)
    return len(captured.captured_queries)


def http_ready(client: Client, url: str) -> bool:
    return client.get(url).status_code == 200


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        memory = f"{mem_kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, StopIteration):
        memory = "unknown RAM"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory}, Python {platform.python_version()}; "
        f"load average {load} (other jobs share the machine)"
    )


def samples(limit: int) -> tuple[list[Contact], list[str], list[str]]:
    """Existing people, phone suffixes and e-mail prefixes to look for (spread over the ids)."""
    top = Contact.objects.order_by("-id").values_list("id", flat=True).first() or 0
    step = max(1, top // limit)
    ids = list(range(1, top + 1, step))[:limit]
    people = list(Contact.objects.filter(pk__in=ids).prefetch_related("points"))
    phones = list(
        ContactPoint.objects.filter(contact_id__in=ids, kind="phone").values_list(
            "value", flat=True
        )
    )
    emails = list(
        ContactPoint.objects.filter(contact_id__in=ids, kind="email").values_list(
            "value", flat=True
        )
    )
    return people, [phone[-4:] for phone in phones], [email[:6] for email in emails]


def run(args: argparse.Namespace) -> list[Result]:
    people, suffixes, prefixes = samples(args.iterations)
    results: list[Result] = []
    for label in ("head", "admin"):
        results += run_for(User.objects.get(username=label), args, people, suffixes, prefixes)
    return results


def run_for(
    user: User,
    args: argparse.Namespace,
    people: list[Contact],
    suffixes: list[str],
    prefixes: list[str],
) -> list[Result]:
    """Every operation as seen by ``user``; pages where built, selectors otherwise."""
    results: list[Result] = []
    client = Client()
    client.force_login(user)
    card_id = 1

    def add(name: str, how: str, fn: Callable[[int], object], target_key: str) -> None:
        if args.only and not any(word in name for word in args.only):
            return
        queries = count_queries(fn)
        cpu_started, database_started = time.process_time(), backend_cpu()
        median, p95 = measure(fn, iterations=args.iterations, warmup=args.warmup)
        runs = args.iterations + args.warmup
        cpu = (
            (time.process_time() - cpu_started) * 1000 / runs,
            (backend_cpu() - database_started) * 1000 / runs,
        )
        result = Result(
            name, user.username, how, median, p95, queries, TARGETS.get(target_key), cpu
        )
        results.append(result)
        print(f"  {name:<34} {user.username:<6} {how:<8} median {median:7.1f} ms  "
              f"p95 {p95:7.1f} ms  CPU {cpu[0]:5.1f} + {cpu[1]:5.1f} ms  ({queries} queries)",
              flush=True)  # fmt: skip

    def page(url: str, params: dict | None = None) -> Callable[[int], object]:
        def get(_index: int) -> object:
            response = client.get(url, params or {})
            if response.status_code != 200:
                raise RuntimeError(f"{url}: HTTP {response.status_code}")
            return response.content

        return get

    def search(query: Callable[[int], str]) -> Callable[[int], object]:
        return lambda index: selectors.customer_search(user=user, q=query(index))

    def duplicates(index: int) -> object:
        person = people[index % len(people)]
        points = [(p.kind, p.value) for p in person.points.all() if p.kind == "phone"][:1]
        return services.contact_duplicates_find(
            actor=user,
            last_name=person.last_name,
            first_name=person.first_name,
            middle_name=person.middle_name,
            points=points,
        )

    def card(_index: int) -> object:
        contact = selectors.contact_get(user=user, pk=card_id)
        return selectors.contact_timeline(contact=contact, limit=50).items

    if http_ready(client, "/customers/contacts/"):
        add("contact list, 50 rows", "HTTP", page("/customers/contacts/"), "list")
    else:
        add(
            "contact list, 50 rows",
            "selector",
            lambda _index: selectors.contact_list(user=user, limit=50).items,
            "list",
        )
    add("search name «иванов»", "selector", search(lambda _i: "иванов"), "search")
    add(
        "search last 4 phone digits",
        "selector",
        search(lambda i: suffixes[i % len(suffixes)]),
        "search",
    )
    add("search e-mail prefix", "selector", search(lambda i: prefixes[i % len(prefixes)]), "search")
    if http_ready(client, "/customers/search/suggest/?q=%D0%B8%D0%B2%D0%B0%D0%BD%D0%BE%D0%B2"):
        add(
            "suggest «иванов»",
            "HTTP",
            page("/customers/search/suggest/", {"q": "иванов"}),
            "suggest",
        )
    # Names typed as people type them (issue 20): first name first, a surname and an
    # initial, the whole name first name first; 200 different existing people each.
    first_last = [f"{p.first_name} {p.last_name}" for p in people if p.last_name]
    last_initial = [f"{p.last_name} {p.first_name[:1]}" for p in people if p.last_name]
    full = [f"{p.first_name} {p.middle_name} {p.last_name}" for p in people if p.middle_name]
    add(
        "search name «Имя Фамилия»",
        "selector",
        search(lambda i: first_last[i % len(first_last)]),
        "search",
    )
    add(
        "search name «Фамилия И»",
        "selector",
        search(lambda i: last_initial[i % len(last_initial)]),
        "search",
    )
    add(
        "search name «Имя Отчество Фамилия»",
        "selector",
        search(lambda i: full[i % len(full)]),
        "search",
    )
    add("search name «Иванов Иван»", "selector", search(lambda _i: "Иванов Иван"), "search")

    def listed(query: list[str]) -> Callable[[int], object]:
        return lambda i: page("/customers/contacts/", {"q": query[i % len(query)]})(i)

    def suggested(query: list[str]) -> Callable[[int], object]:
        return lambda i: page("/customers/search/suggest/", {"q": query[i % len(query)]})(i)

    add("contact list «Имя Фамилия»", "HTTP", listed(first_last), "list")
    add("suggest «Имя Фамилия»", "HTTP", suggested(first_last), "suggest")
    add("duplicate check (name + phone)", "service", duplicates, "duplicates")
    if http_ready(client, f"/customers/contacts/{card_id}/"):
        add("contact card, 200 entries", "HTTP", page(f"/customers/contacts/{card_id}/"), "card")
    else:
        add("contact card, 200 entries", "selector", card, "card")
    return results


def markdown(results: list[Result], *, title: str, command: str, size: str) -> str:
    lines = [
        f"## {title}",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine()}",
        f"- data: {size}",
        f"- command: `{command}`",
        "- users: `head` (head of sales of «Москва», about a third of the data) and `admin`",
        "- how: HTTP = Django test client, full request; selector/service = the function alone",
        "- CPU: ms per run of this process + its PostgreSQL backend (what a run costs when "
        "the machine is quiet)",
        "",
        "| operation | user | how | median, ms | p95, ms | CPU, ms | queries | target p95, ms | |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        target = f"{r.target:.0f}" if r.target is not None else ""
        lines.append(
            f"| {r.name} | {r.user} | {r.how} | {r.median:.1f} | {r.p95:.1f} "
            f"| {r.cpu[0]:.1f} + {r.cpu[1]:.1f} | {r.queries} "
            f"| {target} | {r.verdict} |"
        )
    return "\n".join(lines) + "\n"


def write_section(title: str, section: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--only",
        type=lambda value: [part for part in value.split(",") if part],
        default=[],
        help="operations whose name contains one of these comma-separated words (a separate "
        "section of RESULTS.md): «Имя Фамилия,Фамилия И»",
    )
    args = parser.parse_args()
    vendor = connection.vendor
    title = "PostgreSQL" if vendor == "postgresql" else "SQLite"
    if args.only:
        title += ": " + ", ".join(args.only)
    contacts, companies = Contact.objects.count(), Company.objects.count()
    size = f"{contacts:,} contacts, {companies:,} companies"
    print(f"{title}: {size}")
    results = run(args)
    env = (
        "DATABASE_URL=" + os.environ["DATABASE_URL"]
        if vendor == "postgresql"
        else ("CRM_VAR_DIR=" + os.environ.get("CRM_VAR_DIR", "var"))
    )
    only = f" --only '{','.join(args.only)}'" if args.only else ""
    command = f"{env} .venv/bin/python bench/run.py --iterations {args.iterations}{only}"
    section = markdown(results, title=title, command=command, size=size)
    print()
    print(section)
    if not args.no_write:
        write_section(title, section)


if __name__ == "__main__":
    main()

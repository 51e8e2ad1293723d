"""Measure the deal board and stage moves on a database filled by ``bench/sales_generate.py``.

Through Django's test ``Client`` against the real URLs (middleware, session, view,
template), as ``bench/run.py`` does for the customer base:

- the board's first screen, ``GET /sales/board/?pipeline=<«Опт»>`` (columns with their
  counts and sums, the first cards of every open column), and a column's second page
  (``GET /sales/board/stages/<id>/cards/?cursor=…``);
- a stage move as the board makes it, ``POST /sales/deals/<id>/move/`` with ``HX-Request``,
  of a random open «Опт» deal to the next stage, with the stage's required fields satisfied
  (fields the deal lacks and the dialog can take are sent with the move, as the "fill in the
  missing fields" dialog does), so the stage's actions run: a task, notifications, their
  e-mail jobs, the timeline entries, and the two refreshed column headers in the answer;
- a refused move (422 and the dialog): a deal in «КП отправлено» without a contract number
  dropped on «Договор».

Each runs as ``head`` (the head of sales of «Москва», who sees and moves the deals of his
team) and as ``admin``: ``--warmup`` runs, then ``--iterations`` timed ones; the median and
the 95th percentile are printed with the query count, and a Markdown section for
``bench/RESULTS.md`` at the end (the script does not write the file).

Moves change the data: every timed move moves another deal one stage on (and creates its
task and notifications). There are 20,000 open deals, so many runs fit before it matters.
The server's autovacuum is off, so the script VACUUMs the tables moves write to before it
measures (``--no-vacuum`` skips it).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_sales .venv/bin/python bench/sales.py
    … bench/sales.py --explain    # also the slowest queries of one board and one move
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Run as ``python bench/<script>.py``, this folder comes first on the path, where another
# benchmark's ``calendar.py`` would shadow the standard library's (``email`` imports it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")
os.environ.setdefault("CRM_DEBUG", "0")
os.environ.setdefault("CRM_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tasks_db.models import DBTaskResult  # noqa: E402

from crm.accounts.models import User  # noqa: E402
from crm.activities.models import TimelineEntry  # noqa: E402
from crm.notifications.models import Notification  # noqa: E402
from crm.planner.models import Task  # noqa: E402
from crm.sales.choices import StageKind  # noqa: E402
from crm.sales.models import Deal, Pipeline, Stage  # noqa: E402
from crm.sales.permissions import DEAL  # noqa: E402
from crm.sales.selectors_board import BoardFilters, deal_board  # noqa: E402
from crm.sales.services.deals import missing_fields  # noqa: E402

TARGETS = {"board": 150, "move": 50}
VACUUMED = (
    "sales_deal",
    "sales_stagevisit",
    "activities_timelineentry",
    "planner_task",
    "planner_taskreminder",
    "notifications_notification",
    "django_tasks_database_dbtaskresult",
)
# What the move dialog can take (``selectors_board.UPDATABLE``) and a value for each.
TYPED = {
    "amount": lambda deal: "250000",
    "expected_close": lambda deal: (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
    "invoice_number": lambda deal: f"С-{deal.pk}",
    "contract_number": lambda deal: f"Д-{deal.pk}",
}


@dataclass
class Result:
    name: str
    user: str
    median: float
    p95: float
    queries: int
    target: float | None
    note: str = ""
    python_cpu: float = 0.0
    database_cpu: float = 0.0

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        return "✅" if self.p95 <= self.target else "❌"


def load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def backend_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend (the server runs on this machine;
    parallel workers it starts are not counted)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Timing:
    median: float
    p95: float
    python_cpu: float  # ms of this process's CPU per run
    database_cpu: float  # ms of the PostgreSQL backend's CPU per run


def timed(fn: Callable[[int], object], *, iterations: int, warmup: int) -> Timing:
    """Run ``fn`` ``warmup`` times, then ``iterations`` timed times: wall-clock median and
    p95, and the CPU both processes spent per run (what the run costs on a quiet machine)."""
    for index in range(warmup):
        fn(index)
    timings = []
    cpu_started, database_started = time.process_time(), backend_cpu()
    for index in range(warmup, warmup + iterations):
        started = time.perf_counter()
        fn(index)
        timings.append((time.perf_counter() - started) * 1000)
    python_cpu = (time.process_time() - cpu_started) * 1000 / iterations
    database_cpu = (backend_cpu() - database_started) * 1000 / iterations
    timings.sort()
    p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
    return Timing(statistics.median(timings), p95, python_cpu, database_cpu)


def slowest(captured: CaptureQueriesContext, limit: int = 6) -> str:
    queries = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:limit]
    total = sum(float(q["time"]) for q in captured.captured_queries) * 1000
    lines = [f"    {len(captured.captured_queries)} queries, {total:.1f} ms in SQL; slowest:"]
    for query in queries:
        lines.append(f"    {float(query['time']) * 1000:7.1f} ms  {query['sql'][:300]}")
    return "\n".join(lines)


def move_plan(user: User, opt: Pipeline, count: int, rng: random.Random) -> list[tuple]:
    """``count`` random open «Опт» deals ``user`` may move, each with the POST that moves it
    to the next stage: the fields the deal lacks and the dialog can take are filled in."""
    stages = list(opt.stages.filter(archived=False).order_by("position", "id"))
    following = {a.pk: b for a, b in itertools.pairwise(stages)}
    movable = [s.pk for s in stages if s.kind == StageKind.OPEN and s.pk in following]
    ids = list(
        Deal.objects.visible_to(user)
        .filter(pipeline=opt, status="open", stage_id__in=movable)
        .values_list("pk", flat=True)
    )
    rng.shuffle(ids)
    plan = []
    for start in range(0, len(ids), 500):
        batch = Deal.objects.filter(pk__in=ids[start : start + 500]).select_related("stage")
        for deal in batch:
            if not DEAL.may_change(user, deal):
                continue
            target = following[deal.stage_id]
            missing = missing_fields(deal, target)
            if any(name not in TYPED for name in missing):
                continue  # the client or the products: not something a drop can fill in
            data = {"stage_id": str(target.pk)}
            data.update({name: TYPED[name](deal) for name in missing})
            plan.append((deal.pk, data, target))
            if len(plan) == count:
                return plan
    raise SystemExit(f"only {len(plan)} movable deals for {user.username}; need {count}")


def refusal_plan(user: User, opt: Pipeline, count: int) -> list[tuple[int, dict]]:
    """Deals in «КП отправлено» without a contract number: a drop on «Договор» is refused."""
    offer = opt.stages.get(position=4)
    contract = opt.stages.get(position=5)
    ids = list(
        Deal.objects.visible_to(user)
        .filter(stage=offer, contract_number="")
        .order_by("-stage_entered_at")
        .values_list("pk", flat=True)[:count]
    )
    if not ids:
        raise SystemExit("no deal to refuse")
    return [(pk, {"stage_id": str(contract.pk)}) for pk in ids]


def run_for(user: User, opt: Pipeline, args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []
    client = Client()
    client.force_login(user)
    board_url = f"/sales/board/?pipeline={opt.pk}"

    def add(name: str, fn: Callable[[int], object], target: str | None, queries: int, note=""):
        timing = timed(fn, iterations=args.iterations, warmup=args.warmup)
        report(name, timing, queries, target, note)

    def report(name: str, timing: Timing, queries: int, target: str | None, note: str) -> None:
        result = Result(
            name, user.username, timing.median, timing.p95, queries, TARGETS.get(target or ""),
            note, timing.python_cpu, timing.database_cpu,
        )  # fmt: skip
        results.append(result)
        print(f"  {name:<32} {user.username:<6} median {timing.median:7.1f} ms  p95 "
              f"{timing.p95:7.1f} ms  CPU python {timing.python_cpu:5.1f} + PostgreSQL "
              f"{timing.database_cpu:5.1f} ms  ({queries} queries{'; ' + note if note else ''}; "
              f"load {load()})", flush=True)  # fmt: skip

    # --- the board --------------------------------------------------------------------------
    def board(_index: int) -> bytes:
        response = client.get(board_url)
        if response.status_code != 200:
            raise RuntimeError(f"{board_url}: HTTP {response.status_code}")
        return response.content

    only = set(args.only.split(","))
    with CaptureQueriesContext(connection) as captured:
        size = len(board(0))
    data = deal_board(user=user, filters=BoardFilters(pipeline_id=opt.pk))
    cards = sum(len(column.cards) for column in data.columns)
    counted = sum(column.count for column in data.columns)
    note = f"{counted:,} open deals in view, {cards} cards, {size // 1024} KB"
    if args.explain:
        print(slowest(captured))
    if "board" in only:
        add("board, first screen", board, "board", len(captured.captured_queries), note)

    column = max(data.columns, key=lambda c: c.count)
    page_url = f"/sales/board/stages/{column.stage.pk}/cards/?cursor={column.next_cursor}"

    def page(_index: int) -> bytes:
        response = client.get(page_url)
        if response.status_code != 200:
            raise RuntimeError(f"{page_url}: HTTP {response.status_code}")
        return response.content

    if "page" in only:
        with CaptureQueriesContext(connection) as captured:
            page(0)
        add("board, a column's 2nd page", page, None, len(captured.captured_queries))
    if "move" in only:
        move_scenario(user, opt, args, client, report)
    if "refuse" in only:
        refuse_scenario(user, opt, args, client, add)
    return results


def move_scenario(user: User, opt: Pipeline, args: argparse.Namespace, client: Client,
                  report: Callable) -> None:  # fmt: skip
    """Moves of random open deals to the next stage (with automations)."""
    rng = random.Random(f"{args.seed}:{user.username}:{time.time()}")

    # --- moves ------------------------------------------------------------------------------
    needed = args.warmup + args.iterations + 1
    plan = move_plan(user, opt, needed, rng)
    headers = {"HX-Request": "true"}
    move_query = f"?pipeline={opt.pk}"

    def move(index: int) -> bytes:
        pk, post, _target = plan[index]
        response = client.post(f"/sales/deals/{pk}/move/{move_query}", post, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"move {pk}: HTTP {response.status_code} {response.content[:300]!r}")
        return response.content

    since = timezone.now()
    tasks_before, notes_before = Task.objects.count(), Notification.objects.count()
    jobs_before = DBTaskResult.objects.count()
    with CaptureQueriesContext(connection) as captured:
        move(needed - 1)  # the last planned deal: not one of the timed ones
    if args.explain:
        print(slowest(captured, 10))
    move_queries = len(captured.captured_queries)
    timing = timed(move, iterations=args.iterations, warmup=args.warmup)
    moves = args.iterations + args.warmup + 1
    tasks = Task.objects.count() - tasks_before
    notifications = Notification.objects.count() - notes_before
    jobs = DBTaskResult.objects.count() - jobs_before
    entries = TimelineEntry.objects.filter(created_at__gte=since).count()
    with_updates = sum(1 for _pk, post, _t in plan if len(post) > 1)
    targets = {t.name for _pk, _post, t in plan}
    note = (
        f"per move: {tasks / moves:.2f} tasks, {notifications / moves:.2f} notifications, "
        f"{jobs / moves:.2f} e-mail jobs, {entries / moves:.2f} timeline entries; "
        f"{with_updates} of {moves} sent missing fields; into {len(targets)} stages"
    )
    report("stage move (rules + actions)", timing, move_queries, "move", note)


def refuse_scenario(user: User, opt: Pipeline, args: argparse.Namespace, client: Client,
                    add: Callable) -> None:  # fmt: skip
    """A drop the stage's rules refuse: 422 and the dialog."""
    headers = {"HX-Request": "true"}
    move_query = f"?pipeline={opt.pk}"
    refusals = refusal_plan(user, opt, 50)

    def refuse(index: int) -> bytes:
        pk, post = refusals[index % len(refusals)]
        response = client.post(f"/sales/deals/{pk}/move/{move_query}", post, headers=headers)
        if response.status_code != 422:
            raise RuntimeError(f"refusal {pk}: HTTP {response.status_code}")
        return response.content

    with CaptureQueriesContext(connection) as captured:
        refuse(0)
    if args.explain:
        print(slowest(captured))
    add("refused move (422, the dialog)", refuse, "move", len(captured.captured_queries))


def markdown(results: list[Result], *, size: str, command: str, started_load: str) -> str:
    lines = [
        "## Deals: board and stage moves (PostgreSQL)",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {os.cpu_count()} cores; load average at the start {started_load}, "
        f"at the end {load()} (other jobs share the machine)",
        f"- data: {size}",
        f"- command: `{command}`",
        "- how: Django test client, the whole request; moves are the board's htmx POST. CPU: "
        "this process's and its PostgreSQL backend's CPU time per run (parallel query workers "
        "not counted), about what a run costs on a quiet machine",
        "",
        "| operation | user | median, ms | p95, ms | CPU python + PostgreSQL, ms | queries "
        "| target p95, ms | |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        target = f"{r.target:.0f}" if r.target is not None else ""
        lines.append(
            f"| {r.name} | {r.user} | {r.median:.1f} | {r.p95:.1f} "
            f"| {r.python_cpu:.1f} + {r.database_cpu:.1f} | {r.queries} | {target} | {r.verdict} |"
        )
    notes = [f"- {r.name}, {r.user}: {r.note}" for r in results if r.note]
    return "\n".join([*lines, "", *notes]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--users", default="head,admin")
    parser.add_argument("--pipeline", default="Опт")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--explain", action="store_true", help="print the slowest queries")
    parser.add_argument(
        "--only", default="board,page,move,refuse", help="what to measure (comma-separated)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a PostgreSQL setting for the session, e.g. max_parallel_workers_per_gather=0",
    )
    parser.add_argument(
        "--no-vacuum", action="store_true", help="skip the VACUUM (ANALYZE) before measuring"
    )
    args = parser.parse_args()
    if not args.no_vacuum:
        # Autovacuum is off on the bench server, and earlier runs' moves left dead rows and
        # cleared the visibility map (index-only scans then read the heap). A live server's
        # autovacuum keeps up with a few thousand moves.
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for table in VACUUMED:
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        print(f"VACUUM (ANALYZE) of {len(VACUUMED)} tables: {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        for assignment in args.set:
            name, _, value = assignment.partition("=")
            cursor.execute("SELECT set_config(%s, %s, false)", [name.strip(), value.strip()])
            print(f"SET {name.strip()} = {value.strip()}")
    started_load = load()
    opt = Pipeline.objects.get(name=args.pipeline)
    deals = Deal.objects.count()
    opened = Deal.objects.filter(pipeline=opt, status="open").count()
    size = (
        f"{deals:,} deals, {opened:,} open in «{opt.name}» "
        f"({Stage.objects.filter(pipeline=opt, kind='open').count()} open stages)"
    )
    print(f"{connection.vendor} {connection.settings_dict['NAME']}: {size}; load {started_load}")
    results: list[Result] = []
    for username in args.users.split(","):
        results += run_for(User.objects.get(username=username), opt, args)
    env = f"DATABASE_URL={os.environ.get('DATABASE_URL', '')}"
    command = f"{env} .venv/bin/python bench/sales.py --iterations {args.iterations}"
    print()
    print(markdown(results, size=size, command=command, started_load=started_load))


if __name__ == "__main__":
    main()

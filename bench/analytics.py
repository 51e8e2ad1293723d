"""Measure every analytics report, through its selector and its page, on a generated database.

The data: on PostgreSQL ``bench/analytics_generate.py`` makes the issue's full size with SQL in
about two minutes (see there); on SQLite this script makes it with ``bulk_create``
(``--generate``): ``--managers`` managers in ``--teams`` teams, the first led by ``head``,
``--deals`` deals over the last year in the default pipelines with two to four stage visits
each (some skip a stage, some move back, a third closed won or lost, a few in dollars),
``--leads`` leads over the year (a fifth of the deals by default), a task per five deals and
``--entries`` timeline entries (calls, notes, e-mails, meetings by the managers).

Then, as each of ``--viewers`` (``head,admin``), ``--warmup`` and ``--iterations`` timed runs
of each case (``--only WORD …`` keeps the cases whose name holds a word, ``--skip WORD …``
leaves them out):

- ``dashboard_for`` and ``GET /`` (this month);
- for this quarter and this year: the selectors ``funnel_report`` («Опт»), ``sales_report``
  (by week for a quarter, by month for a year, as the page), ``leads_report``,
  ``activity_report``, ``forecast_report`` and ``clients_report`` with the pages' default
  options, and the pages ``GET /reports/<name>/?period=this_quarter`` (``this_year``)
  through Django's test ``Client`` (middleware, session, template; the funnel page builds
  the period and the one before);
- ``plan_report`` and ``GET /reports/plans/`` for this month.

The median and the 95th percentile are printed with the query count, as a Markdown table
for ``bench/RESULTS.md`` (the script does not write the file)::

    # PostgreSQL, the issue's size
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_analytics
    .venv/bin/python manage.py migrate && .venv/bin/python bench/analytics_generate.py
    .venv/bin/python bench/analytics.py --viewers head,admin
    # SQLite, a tenth
    CRM_VAR_DIR=/tmp/bench-analytics .venv/bin/python manage.py migrate
    CRM_VAR_DIR=/tmp/bench-analytics .venv/bin/python bench/analytics.py --generate \
        --deals 100000 --managers 100 --teams 10 --leads 100000 --entries 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")
os.environ.setdefault("CRM_DEBUG", "0")
os.environ.setdefault("CRM_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

import django  # noqa: E402

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from crm.accounts.models import Team, TeamMembership, User  # noqa: E402
from crm.activities.models import TimelineEntry  # noqa: E402
from crm.analytics.filters import ReportFilters  # noqa: E402
from crm.analytics.periods import Period, unit_period, user_time_zone  # noqa: E402
from crm.analytics.selectors import dashboard_for  # noqa: E402
from crm.analytics.selectors.activity import activity_report  # noqa: E402
from crm.analytics.selectors.clients import clients_report  # noqa: E402
from crm.analytics.selectors.forecast import forecast_report  # noqa: E402
from crm.analytics.selectors.funnel import funnel_report  # noqa: E402
from crm.analytics.selectors.leads import leads_report  # noqa: E402
from crm.analytics.selectors.plans import plan_report  # noqa: E402
from crm.analytics.selectors.sales import bucket_parse, sales_report  # noqa: E402
from crm.core.permissions import Role  # noqa: E402
from crm.leads.models import Lead  # noqa: E402
from crm.planner.models import Task, TaskType  # noqa: E402
from crm.sales.models import Deal, LostReason, Pipeline, StageVisit  # noqa: E402

TARGET_MS = 300  # a quarter; a year: 1 s


def _visits(deal: Deal, path: list[tuple[Any, dt.datetime]]) -> list[StageVisit]:
    """The deal's visits along ``path`` (stage, moment), with the copies the services keep
    (``crm.sales.services.visits``): the owner, the next decision and win, the prior entry."""

    def first(after: dt.datetime, kinds: set[str]) -> dt.datetime | None:
        return min((at for stage, at in path if at > after and stage.kind in kinds), default=None)

    return [
        StageVisit(
            deal=deal,
            stage=stage,
            entered_at=moment,
            left_at=path[index + 1][1] if index + 1 < len(path) else None,
            owner_id=deal.owner_id,
            decided_at=first(moment, {"won", "lost"}),
            won_at=first(moment, {"won"}),
            prior_entered_at=max(
                (at for other, at in path[:index] if other.pk == stage.pk and at < moment),
                default=None,
            ),
        )
        for index, (stage, moment) in enumerate(path)
    ]


def _funnel(viewer: User, period: Period) -> object:
    wholesale = Pipeline.objects.get(name="Опт")
    return funnel_report(viewer=viewer, period=period, filters=ReportFilters(pipeline=wholesale))


# Each report's selector for a viewer and a period, with the page's default options.
SELECTORS: dict[str, Callable[[User, Period], object]] = {
    "funnel_report": _funnel,
    "sales_report": lambda viewer, period: sales_report(
        viewer=viewer, period=period, filters=ReportFilters(), bucket=bucket_parse(None, period)
    ),
    "leads_report": lambda viewer, period: leads_report(
        viewer=viewer, period=period, filters=ReportFilters()
    ),
    "activity_report": lambda viewer, period: activity_report(
        viewer=viewer, period=period, filters=ReportFilters()
    ),
    "forecast_report": lambda viewer, period: forecast_report(
        viewer=viewer, period=period, filters=ReportFilters()
    ),
    "clients_report": lambda viewer, period: clients_report(
        viewer=viewer, period=period, filters=ReportFilters()
    ),
}


def generate(
    *, deals: int, managers: int, team_count: int, leads_count: int, entries: int, seed: int
) -> None:
    """Users, teams and ``deals`` deals with their visits, leads, tasks and timeline (bulk)."""
    rng = random.Random(seed)
    now = timezone.now()
    User.objects.create_user("admin", role=Role.ADMIN)
    head = User.objects.create_user("head", role=Role.HEAD)
    teams = [Team.objects.create(name=f"Команда {number + 1}") for number in range(team_count)]
    teams[0].heads.add(head)
    people = [
        User.objects.create_user(f"manager{number}", first_name=f"М{number}")
        for number in range(managers)
    ]
    TeamMembership.objects.bulk_create(
        [
            TeamMembership(team=teams[number % team_count], user=user)
            for number, user in enumerate(people)
        ]
    )
    reasons = list(LostReason.objects.all())
    pipelines = [
        (pipeline, list(pipeline.stages.order_by("position")))
        for pipeline in Pipeline.objects.all()
    ]
    task_type = TaskType.objects.order_by("position").first()
    with transaction.atomic():
        rows, paths = [], []
        for _number in range(deals):
            pipeline, stages = rng.choice(pipelines)
            opens = [stage for stage in stages if stage.kind == "open"]
            won = next(stage for stage in stages if stage.kind == "won")
            lost = next(stage for stage in stages if stage.kind == "lost")
            path = [opens[0]]
            for stage in opens[1:]:
                if rng.random() < 0.55:
                    break
                if rng.random() < 0.85:  # otherwise the stage is skipped
                    path.append(stage)
            if len(path) > 2 and rng.random() < 0.1:
                path.append(path[-2])  # a move back
            outcome = rng.random()
            if outcome < 0.2:
                path.append(won)
            elif outcome < 0.35:
                path.append(lost)
            start = now - dt.timedelta(minutes=rng.randrange(365 * 24 * 60))
            moments = [start]
            for _stage in path[1:]:
                moments.append(moments[-1] + dt.timedelta(minutes=rng.randrange(60, 20 * 24 * 60)))
            moments = [min(moment, now) for moment in moments]
            last = path[-1]
            rows.append(
                Deal(
                    title="Сделка",
                    pipeline=pipeline,
                    stage=last,
                    status=last.kind,
                    owner=rng.choice(people),
                    amount=Decimal(rng.randrange(1000, 5_000_000)) / 100,
                    currency="USD" if rng.random() < 0.05 else "RUB",
                    source=rng.choice(["web_form", "email", "phone", ""]),
                    stage_entered_at=moments[-1],
                    last_activity_at=moments[-1],
                    closed_at=moments[-1] if last.kind != "open" else None,
                    lost_reason=rng.choice(reasons) if last.kind == "lost" and reasons else None,
                    created_at=start,
                    updated_at=start,
                )
            )
            paths.append(list(zip(path, moments, strict=True)))
        created = Deal.objects.bulk_create(rows, batch_size=2000)
        visits = [
            visit
            for deal, path in zip(created, paths, strict=True)
            for visit in _visits(deal, path)
        ]
        StageVisit.objects.bulk_create(visits, batch_size=5000)
        leads = []
        for _number in range(leads_count):
            assigned = now - dt.timedelta(minutes=rng.randrange(365 * 24 * 60))
            answered = rng.random() < 0.8
            leads.append(
                Lead(
                    title="Заявка",
                    channel="web_form",
                    owner=rng.choice(people),
                    status="in_progress" if answered else "new",
                    created_at=assigned,
                    updated_at=assigned,
                    assigned_at=assigned,
                    responded_at=assigned + dt.timedelta(minutes=rng.randrange(1, 600))
                    if answered
                    else None,
                )
            )
        Lead.objects.bulk_create(leads, batch_size=2000)
        Lead.objects.update(created_at=F("assigned_at"))  # ``auto_now_add`` set it to now
        Task.objects.bulk_create(
            [
                Task(
                    type=task_type,
                    title="Позвонить",
                    owner=rng.choice(people),
                    due_at=now + dt.timedelta(hours=rng.randrange(-240, 240)),
                )
                for _number in range(deals // 5)
            ],
            batch_size=2000,
        )
        deal_type = ContentType.objects.get_for_model(Deal)
        kinds = ["call", "call", "note", "email", "meeting"]
        first_id = created[0].pk
        for start in range(0, entries, 20_000):
            TimelineEntry.objects.bulk_create(
                [
                    TimelineEntry(
                        subject_type=deal_type,
                        subject_id=first_id + rng.randrange(deals),
                        kind=rng.choice(kinds),
                        author=rng.choice(people),
                        occurred_at=now - dt.timedelta(minutes=rng.randrange(365 * 24 * 60)),
                    )
                    for _number in range(min(20_000, entries - start))
                ],
                batch_size=5000,
            )
    print(
        f"generated {deals} deals, {len(visits)} visits, {len(leads)} leads, "
        f"{entries} timeline entries, {managers} managers in {team_count} teams"
    )


def measure(name: str, run: Callable[[], object], warmup: int, iterations: int) -> tuple:
    for _number in range(warmup):
        run()
    timings = []
    for _number in range(iterations):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        run()
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return name, statistics.median(timings), p95, len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generate", action="store_true")
    parser.add_argument("--deals", type=int, default=50_000)
    parser.add_argument("--managers", type=int, default=20)
    parser.add_argument("--teams", type=int, default=2)
    parser.add_argument("--leads", type=int, default=None, help="a fifth of --deals by default")
    parser.add_argument("--entries", type=int, default=0, help="timeline entries")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--viewers", default="head,admin", help="user names, comma-separated")
    parser.add_argument(
        "--only", nargs="*", default=[], help="measure only the cases whose name holds a word"
    )
    parser.add_argument(
        "--skip", nargs="*", default=[], help="leave out the cases whose name holds a word"
    )
    options = parser.parse_args()
    if options.generate:
        generate(
            deals=options.deals,
            managers=options.managers,
            team_count=options.teams,
            leads_count=options.deals // 5 if options.leads is None else options.leads,
            entries=options.entries,
            seed=options.seed,
        )
    wholesale = Pipeline.objects.get(name="Опт")
    results = []
    for username in options.viewers.split(","):
        viewer = User.objects.get(username=username)
        zone = user_time_zone(viewer)
        today = timezone.now().astimezone(zone).date()
        quarter = unit_period("quarter", today, zone)
        year = unit_period("year", today, zone)
        month = today.replace(day=1)
        client = Client()
        client.force_login(viewer)

        def page(url: str, client: Client = client) -> None:
            response = client.get(url)
            assert response.status_code == 200, response.status_code

        cases: list[tuple[str, Callable[[], object]]] = [
            ("dashboard_for", lambda viewer=viewer: dashboard_for(viewer=viewer)),
            ("GET /", lambda: page("/")),
        ]
        for span, period, preset in (
            ("quarter", quarter, "this_quarter"),
            ("year", year, "this_year"),
        ):
            cases += [
                (
                    f"{name} ({span})",
                    lambda read=read, viewer=viewer, period=period: read(viewer, period),
                )
                for name, read in SELECTORS.items()
            ]
            cases += [
                (
                    f"GET /reports/{name}/ ({span})",
                    lambda url=f"/reports/{name}/?period={preset}{extra}": page(url),
                )
                for name, extra in (
                    ("funnel", f"&pipeline={wholesale.pk}"),
                    ("sales", ""),
                    ("leads", ""),
                    ("activity", ""),
                    ("forecast", ""),
                    ("clients", ""),
                )
            ]
        cases += [
            (
                "plan_report (month)",
                lambda viewer=viewer, month=month: plan_report(
                    viewer=viewer, month=month, filters=ReportFilters()
                ),
            ),
            ("GET /reports/plans/ (month)", lambda: page("/reports/plans/")),
        ]
        if options.only:
            cases = [case for case in cases if any(word in case[0] for word in options.only)]
        cases = [case for case in cases if not any(word in case[0] for word in options.skip)]
        for name, run in cases:
            results.append((username, *measure(name, run, options.warmup, options.iterations)))
            print(results[-1], flush=True)
    counts = (Deal.objects.count(), StageVisit.objects.count(), Lead.objects.count())
    print(f"\n{connection.vendor}: {counts[0]} deals, {counts[1]} visits, {counts[2]} leads\n")
    print("| as | what | median, ms | p95, ms | queries | target p95 (≤ 300 ms, a year ≤ 1 s) |")
    print("|---|---|---:|---:|---:|---|")
    for username, name, median, p95, queries in results:
        target = TARGET_MS * (1000 / 300 if "year" in name else 1)
        verdict = "met" if p95 <= target else "**not met**"
        print(f"| {username} | {name} | {median:.1f} | {p95:.1f} | {queries} | {verdict} |")


if __name__ == "__main__":
    main()

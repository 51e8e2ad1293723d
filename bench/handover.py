"""The handover of a leaving manager's work: preview and the one-transaction move.

On a migrated database (PostgreSQL, or SQLite under ``CRM_VAR_DIR``)::

    createdb -h 127.0.0.1 -U postgres bench_handover
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_handover .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_handover \\
        .venv/bin/python bench/handover.py --contacts 20000

What it does:

1. Deletes what an earlier run left (users ``hb…`` and their records), then makes a leaving
   manager with ``--contacts`` contacts (half of them employed at one of ``contacts / 5``
   companies), ``contacts / 2`` deals (one stage visit each; a quarter of them won),
   ``contacts / 10`` open leads and ``contacts / 5`` open tasks, in bulk; and a team of two
   receivers.
2. Times the preview (``handover_preview``) and the job (``reassignment_execute``) spreading
   the work over the team, with the number of SQL queries of each.
3. Checks: nothing left with the leaving user but the won deals, every stage visit's owner
   equals its deal's, one notice per receiver.

Numbers only: nothing is asserted here. A Markdown row is printed at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from crm.accounts.models import Team, TeamMembership, User  # noqa: E402
from crm.activities.models import TimelineEntry  # noqa: E402
from crm.customers.models import BulkReassignment, Company, Contact, Employment  # noqa: E402
from crm.customers.services import reassign  # noqa: E402
from crm.leads.models import Lead  # noqa: E402
from crm.notifications.models import Notification  # noqa: E402
from crm.planner.models import Task, TaskType  # noqa: E402
from crm.sales.models import Deal, Pipeline, StageVisit  # noqa: E402

PREFIX = "hb"


def _clean() -> None:
    users = list(User.objects.filter(username__startswith=PREFIX).values_list("pk", flat=True))
    BulkReassignment.objects.filter(from_user__in=users).delete()
    Notification.objects.filter(recipient__in=users).delete()
    StageVisit.objects.filter(deal__owner__in=users).delete()
    Deal.objects.filter(owner__in=users).delete()
    Lead.objects.filter(owner__in=users).delete()
    Task.objects.filter(owner__in=users).delete()
    Employment.objects.filter(contact__owner__in=users).delete()
    Contact.objects.filter(owner__in=users).delete()
    Company.objects.filter(owner__in=users).delete()
    Team.objects.filter(name=f"{PREFIX}-team").delete()
    User.objects.filter(pk__in=users).delete()


def _make(contacts: int) -> tuple[User, User, Team]:
    admin = User.objects.create(username=f"{PREFIX}admin", role="admin")
    leaver = User.objects.create(username=f"{PREFIX}leaver", role="manager")
    team = Team.objects.create(name=f"{PREFIX}-team")
    for name in ("r1", "r2"):
        receiver = User.objects.create(username=f"{PREFIX}{name}", role="manager")
        TeamMembership.objects.create(team=team, user=receiver)
    now = timezone.now()
    companies = Company.objects.bulk_create(
        Company(owner=leaver, legal_name=f"Фирма {i}", legal_form="ООО")
        for i in range(contacts // 5)
    )
    people = Contact.objects.bulk_create(
        Contact(owner=leaver, first_name="Имя", last_name=f"Фамилия {i}") for i in range(contacts)
    )
    Employment.objects.bulk_create(
        Employment(contact=people[i], company=companies[i % len(companies)])
        for i in range(0, contacts, 2)
    )
    pipeline = Pipeline.objects.order_by("position", "pk").first()
    assert pipeline is not None
    stage = pipeline.stages.order_by("position").first()
    deals = Deal.objects.bulk_create(
        Deal(
            owner=leaver,
            title=f"Сделка {i}",
            pipeline=pipeline,
            stage=stage,
            status="won" if i % 4 == 0 else "open",
            contact=people[i * 2],
            stage_entered_at=now,
            last_activity_at=now,
        )
        for i in range(contacts // 2)
    )
    StageVisit.objects.bulk_create(
        StageVisit(deal=deal, stage=stage, entered_at=now, owner=leaver) for deal in deals
    )
    Lead.objects.bulk_create(
        Lead(owner=leaver, title=f"Заявка {i}", channel="api", contact=people[i])
        for i in range(contacts // 10)
    )
    task_type = TaskType.objects.order_by("position").first()
    Task.objects.bulk_create(
        Task(owner=leaver, type=task_type, title=f"Позвонить {i}") for i in range(contacts // 5)
    )
    return admin, leaver, team


def _timed(work):  # type: ignore[no-untyped-def]
    """``work()``'s result, seconds and queries, with the share of time by kind of query."""
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = work()
        elapsed = time.perf_counter() - started
    by_kind: dict[str, float] = {}
    for query in queries.captured_queries:
        words = query["sql"].split()
        table = next((w for w in words if w.startswith('"') and "_" in w), "?")
        key = f"{words[0]} {table}"
        by_kind[key] = by_kind.get(key, 0.0) + float(query["time"])
    for key, seconds in sorted(by_kind.items(), key=lambda item: -item[1])[:6]:
        print(f"  {seconds:7.2f} s  {key}")
    return result, elapsed, len(queries.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=20000)
    options = parser.parse_args()
    _clean()
    admin, leaver, team = _make(options.contacts)
    counts, preview_s, preview_q = _timed(
        lambda: reassign.handover_preview(actor=admin, from_user=leaver)
    )
    request = reassign.HandoverRequest(from_user=leaver, team=team)
    row = reassign.handover_start(actor=admin, request=request)  # queued; run here
    _done, move_s, move_q = _timed(lambda: reassign.reassignment_execute(reassignment_id=row.pk))
    row.refresh_from_db()
    left = {
        "contacts": Contact.objects.filter(owner=leaver).count(),
        "open deals": Deal.objects.filter(owner=leaver, status="open").count(),
        "leads": Lead.objects.filter(owner=leaver).count(),
        "tasks": Task.objects.filter(owner=leaver).count(),
    }
    stale_visits = StageVisit.objects.filter(deal__owner__username__startswith=PREFIX).exclude(
        owner=F("deal__owner")
    )
    print(f"preview counts: {counts}")
    print(f"status {row.status} {row.error} moved {row.counts}")
    print(f"left with the leaver: {left}")
    print(f"visits not matching their deal's owner: {stale_visits.count()}")
    print(f"timeline entries: {TimelineEntry.objects.filter(data__reassignment_id=row.pk).count()}")
    print(f"notices: {Notification.objects.filter(dedupe_key=f'handover:{row.pk}').count()}")
    print(
        f"| {connection.vendor} | {options.contacts:,} contacts | {row.total:,} records | "
        f"preview {preview_s * 1000:.0f} ms, {preview_q} queries | "
        f"handover {move_s:.1f} s, {move_q} queries, {row.total / move_s:,.0f} records/s |"
    )
    _clean()


if __name__ == "__main__":
    main()

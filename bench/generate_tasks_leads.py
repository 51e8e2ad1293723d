"""Fill a database with users, tasks and leads in SQL (``INSERT … SELECT`` over a numbered
series), not the ORM: 2,000,000 tasks in a minute or two instead of 13 minutes (the ORM made
2,626 tasks/s and 115 leads/s). PostgreSQL and SQLite alike.

On a migrated database without a previous run's users (``tl…``)::

    createdb -h 127.0.0.1 -U postgres crm_bench_tasks
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_tasks
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/generate_tasks_leads.py                 # 2M tasks, 200k leads
    .venv/bin/python bench/tasks_lists.py                          # measure the task lists

    export CRM_VAR_DIR=/tmp/bench-tasks-sqlite    # SQLite
    .venv/bin/python manage.py migrate && .venv/bin/python bench/generate_tasks_leads.py

What it writes (``--users`` 1,000 by default):

- the users ``tladmin`` (administrator), ``tlhead01`` … (one head of sales per team of
  ``--team-size`` 20, member of it) and the managers ``tl0001`` …; the password of all is
  ``bench-password-2026``. One user in fifty is away today (a vacation of two weeks), each
  covered by the next user;
- ``--tasks`` tasks (2,000,000) with owners spread evenly over the users; due dates spread
  over the last two years and the next two months (one in twenty undated, one in eight
  all-day); a task due more than a day ago is done or cancelled, except 7 % of the last
  month's and 1 % of older ones, left open (overdue: about 20 per user), so about 10 % are
  open; half of them are about a lead. One in ten has
  one or two co-workers and one in thirty a watcher (never the owner);
- ``--leads`` leads (200,000) over the last year: channels, classification, the owner and
  team of a manager, a response deadline and a first answer for all but the newest ones, a
  third of the answered ones converted (without a deal) or lost.

Every row respects the schema (the NOT NULL columns, the JSON defaults, the subject check).
The random values of a row are drawn once into a temporary table (``bench_draw``), so a
value used twice in a row is the same on both databases. The bulk tables' secondary indexes
(and, on PostgreSQL, foreign keys) are dropped for the load and rebuilt after it, then
``VACUUM (ANALYZE)`` / ``ANALYZE``. PostgreSQL's ``random()`` is seeded (``--seed``); SQLite's
cannot be, so a SQLite run differs from the last one in the details only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")
os.environ.setdefault("CRM_DEBUG", "0")

import django  # noqa: E402

django.setup()
sys.path.append(str(BENCH))

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from crm.accounts.models import Team, TeamMembership, User  # noqa: E402
from crm.core.permissions import Role  # noqa: E402
from crm.leads.models import Lead  # noqa: E402
from crm.planner.models import Absence, Task  # noqa: E402

PASSWORD = "bench-password-2026"  # noqa: S105 - a published benchmark password
PREFIX = "tl"
BULK_TABLES = ["planner_task", "planner_task_coworkers", "planner_task_watchers", "leads_lead"]
STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.1f} s] {message}", flush=True)


class Dialect:
    """The few SQL fragments PostgreSQL and SQLite write differently."""

    def __init__(self, vendor: str) -> None:
        self.postgres = vendor == "postgresql"

    def series(self, count: int) -> str:
        """A CTE ``series(n)`` numbering 1 … ``count``."""
        if self.postgres:
            return f"series(n) AS (SELECT generate_series(1, {int(count)}))"
        return f"series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series WHERE n < {int(count)})"

    def with_series(self, count: int) -> str:
        return ("WITH " if self.postgres else "WITH RECURSIVE ") + self.series(count)

    @property
    def random(self) -> str:
        """A uniform draw in [0, 1)."""
        return (
            "random()" if self.postgres else "((random() & 4503599627370495) / 4503599627370496.0)"
        )

    def days_from_now(self, days: str) -> str:
        """The moment ``days`` (an SQL number, may be negative or fractional) from now."""
        if self.postgres:
            return f"(now() + ({days}) * interval '1 day')"
        return f"strftime('%Y-%m-%d %H:%M:%f', 'now', ({days}) || ' days')"

    def plus_days(self, moment: str, days: str) -> str:
        if self.postgres:
            return f"({moment} + ({days}) * interval '1 day')"
        return f"strftime('%Y-%m-%d %H:%M:%f', {moment}, ({days}) || ' days')"

    def day_of(self, moment: str) -> str:
        """Midnight (UTC) of the moment's day: the due time of an all-day task."""
        if self.postgres:
            return f"date_trunc('day', {moment})"
        return f"strftime('%Y-%m-%d 00:00:00', {moment})"

    def whole(self, number: str) -> str:
        """The integer part of a non-negative number."""
        return f"floor({number})::bigint" if self.postgres else f"CAST({number} AS INTEGER)"

    def boolean(self, condition: str) -> str:
        return f"({condition})" if self.postgres else f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"

    def json_empty(self) -> str:
        return "'{}'::jsonb" if self.postgres else "'{}'"


def people(*, users: int, team_size: int) -> list[int]:
    """The administrator, a head per team and the managers, the teams and today's absences;
    returns the ids of every user but the administrator, in order."""
    password = make_password(PASSWORD)
    with transaction.atomic():
        User.objects.create(
            username=f"{PREFIX}admin", role=Role.ADMIN, password=password, is_staff=True
        )
        team_count = max(1, users // team_size)
        staff: list[User] = []
        for number in range(users):
            head = number % team_size == 0 and number // team_size < team_count
            staff.append(
                User(
                    username=f"{PREFIX}head{number // team_size + 1:02}"
                    if head
                    else f"{PREFIX}{number:04}",
                    first_name="Руководитель" if head else "Менеджер",
                    last_name=f"Б{number:04}",
                    role=Role.HEAD if head else Role.MANAGER,
                    password=password,
                    email=f"{PREFIX}{number}@bench.example",
                )
            )
        staff = User.objects.bulk_create(staff)
        teams = Team.objects.bulk_create(
            Team(name=f"Отдел {number + 1:02}") for number in range(team_count)
        )
        TeamMembership.objects.bulk_create(
            TeamMembership(team=teams[min(number // team_size, team_count - 1)], user=user)
            for number, user in enumerate(staff)
        )
        for user in staff:
            if user.role == Role.HEAD:
                teams[min(staff.index(user) // team_size, team_count - 1)].heads.add(user)
        today = timezone.localdate()
        Absence.objects.bulk_create(
            Absence(
                user=staff[number],
                kind="vacation",
                starts_on=today - timezone.timedelta(days=3),
                ends_on=today + timezone.timedelta(days=10),
                substitute=staff[number + 1],
            )
            for number in range(1, users - 1, 50)
        )
    return [user.pk for user in staff]


def steps(d: Dialect, sizes: dict[str, int]) -> list[tuple[str, str]]:
    """The statements, in order. ``bench_people(n, user_id)`` numbers the users from 0."""
    r = d.random
    users, leads = sizes["users"], sizes["leads"]
    owner = d.whole(f"t.r_owner * {users}")
    due = d.days_from_now("(t.r_due * 790 - 730)")
    # Past due: done (or cancelled) but for 7 % of the last month's and 1 % of older ones.
    recent = "t.r_due * 790 - 730 > -30"
    done = f"(t.r_due * 790 - 730 < -1 AND t.r_status < CASE WHEN {recent} THEN 0.9 ELSE 0.985 END)"
    cancelled = (
        f"(t.r_due * 790 - 730 < -1 AND t.r_status >= CASE WHEN {recent} THEN 0.97 ELSE 0.995 END)"
    )
    lead_at = d.days_from_now("(-t.r_at * 365)")
    answered = "(t.r_at * 365 > 3 AND t.r_status < 0.995)"
    return [
        (
            "random draws of the tasks (temporary)",
            f"""
            CREATE TEMP TABLE bench_draw AS
            {d.with_series(sizes["tasks"])}
            SELECT n, {r} AS r_owner, {r} AS r_due, {r} AS r_status, {r} AS r_kind,
                {r} AS r_subject, {r} AS r_share, {r} AS r_other
            FROM series
            """,
        ),
        (
            "tasks",
            f"""
            INSERT INTO planner_task (id, created_at, updated_at, owner_id, created_by_id,
                subject_type_id, subject_id, type_id, title, description, due_at, all_day,
                duration_minutes, priority, status, completed_at, completed_by_id, result,
                outcome, origin, escalated_at)
            SELECT t.n, {d.plus_days(due, "-3")}, {d.plus_days(due, "-3")}, p.user_id,
                p.user_id,
                CASE WHEN t.r_subject < 0.5 THEN {sizes["lead_type"]} END,
                CASE WHEN t.r_subject < 0.5
                     THEN 1 + {d.whole(f"t.r_subject * 2 * {leads}")} END,
                (SELECT min(id) FROM planner_tasktype) + {d.whole("t.r_kind * 4")},
                'Позвонить клиенту ' || t.n, '',
                CASE WHEN t.r_due < 0.02 THEN NULL
                     WHEN t.r_kind < 0.125 THEN {d.day_of(due)} ELSE {due} END,
                {d.boolean("t.r_due >= 0.02 AND t.r_kind < 0.125")},
                CASE WHEN t.r_kind >= 0.5 THEN 30 END, 1 + {d.whole("t.r_other * 3")},
                CASE WHEN t.r_due >= 0.02 AND {done} THEN 'done'
                     WHEN t.r_due >= 0.02 AND {cancelled} THEN 'cancelled' ELSE 'open' END,
                CASE WHEN t.r_due >= 0.02 AND {done} THEN {d.plus_days(due, "t.r_other")} END,
                CASE WHEN t.r_due >= 0.02 AND {done} THEN p.user_id END,
                CASE WHEN t.r_due >= 0.02 AND {done} THEN 'Сделано' ELSE '' END,
                '', '', NULL
            FROM bench_draw t
            JOIN bench_people p ON p.n = {owner}
            """,
        ),
        (
            "co-workers (one in ten tasks, a second on a third of those)",
            f"""
            INSERT INTO planner_task_coworkers (task_id, user_id)
            SELECT t.n, p.user_id FROM bench_draw t
            JOIN bench_people p ON p.n = ({owner} + 1
                + {d.whole(f"t.r_other * {users // 2}")}) % {users}
            WHERE t.r_share < 0.1
            UNION ALL
            SELECT t.n, p.user_id FROM bench_draw t
            JOIN bench_people p ON p.n = ({owner} + 2
                + {users // 2} + {d.whole(f"t.r_other * {users // 2 - 3}")}) % {users}
            WHERE t.r_share < 0.033
            """,
        ),
        (
            "watchers (one in thirty tasks)",
            f"""
            INSERT INTO planner_task_watchers (task_id, user_id)
            SELECT t.n, p.user_id FROM bench_draw t
            JOIN bench_people p ON p.n = ({owner} + {users} - 1
                - {d.whole(f"t.r_status * {users // 3}")}) % {users}
            WHERE t.r_share >= 0.9 AND t.r_share < 0.933
            """,
        ),
        ("random draws dropped", "DROP TABLE bench_draw"),
        (
            "random draws of the leads (temporary)",
            f"""
            CREATE TEMP TABLE bench_draw AS
            {d.with_series(sizes["leads"])}
            SELECT n, {r} AS r_owner, {r} AS r_at, {r} AS r_status, {r} AS r_kind,
                {r} AS r_channel
            FROM series
            """,
        ),
        (
            "leads",
            f"""
            INSERT INTO leads_lead (id, created_at, updated_at, title, status, kind, channel,
                name, phone, email, company_name, inn, message, client_type, utm, referrer,
                page_url, data, "match", assigned_at, respond_by, responded_at, escalated_at,
                lost_reason, converted_at, thread_key, search_text, owner_id, team_id,
                body_points)
            SELECT t.n, {lead_at}, {lead_at}, 'Заявка ' || t.n,
                CASE WHEN NOT {answered} THEN 'new'
                     WHEN t.r_status < 0.33 THEN 'converted'
                     WHEN t.r_status < 0.5 OR t.r_kind >= 0.9 THEN 'lost'
                     ELSE 'in_progress' END,
                CASE WHEN t.r_kind < 0.7 THEN 'new' WHEN t.r_kind < 0.85 THEN 'repeat'
                     WHEN t.r_kind < 0.9 THEN 'partner' ELSE 'spam' END,
                CASE WHEN t.r_channel < 0.35 THEN 'web_form' WHEN t.r_channel < 0.55 THEN 'email'
                     WHEN t.r_channel < 0.8 THEN 'phone' WHEN t.r_channel < 0.9 THEN 'messenger'
                     WHEN t.r_channel < 0.95 THEN 'api' ELSE 'manual' END,
                'Клиент ' || t.n, '+7999' || (1000000 + t.n),
                'client' || t.n || '@example.ru', '', '', 'Хочу узнать цену', 'private',
                {d.json_empty()}, '', '', {d.json_empty()}, {d.json_empty()},
                {lead_at}, {d.plus_days(lead_at, f"(1 + {d.whole('t.r_status * 4')}) / 24.0")},
                CASE WHEN {answered} THEN {d.plus_days(lead_at, "t.r_status / 12.0")} END, NULL,
                CASE WHEN {answered} AND (t.r_status >= 0.33 AND t.r_status < 0.5
                     OR t.r_kind >= 0.9) THEN 'Дорого' ELSE '' END,
                CASE WHEN {answered} AND t.r_status < 0.33
                     THEN {d.plus_days(lead_at, "1")} END,
                '', 'клиент ' || t.n || ' заявка ' || t.n, p.user_id, m.team_id, '[]'
            FROM bench_draw t
            JOIN bench_people p ON p.n = {owner}
            JOIN accounts_teammembership m ON m.user_id = p.user_id
            """,
        ),
        ("random draws dropped", "DROP TABLE bench_draw"),
    ]


def load_sqlite(sql_steps: list[tuple[str, str]]) -> None:
    raw = connection.connection
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("PRAGMA synchronous = OFF")
    raw.execute("PRAGMA cache_size = -400000")
    placeholders = ", ".join("?" * len(BULK_TABLES))
    indexes = raw.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({placeholders})",
        BULK_TABLES,
    ).fetchall()
    for name, _sql in indexes:
        raw.execute(f'DROP INDEX "{name}"')
    for label, sql in sql_steps:
        started = time.perf_counter()
        raw.execute("BEGIN")
        count = raw.execute(sql).rowcount
        raw.execute("COMMIT")
        rows = f"{count:,} rows, " if count and count > 0 else ""
        log(f"{label}: {rows}{time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    for _name, sql in indexes:
        raw.execute(sql)
    log(f"{len(indexes)} indexes rebuilt: {time.perf_counter() - started:.1f} s")
    raw.execute("PRAGMA foreign_keys = ON")
    raw.execute("ANALYZE")


def load_postgres(sql_steps: list[tuple[str, str]]) -> None:
    from generate import PostgresBulk

    bulk = PostgresBulk(BULK_TABLES, {}, log=log)
    bulk.prepare()
    log("secondary indexes and foreign keys of the bulk tables dropped")
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '256MB'")
        for label, sql in sql_steps:
            started = time.perf_counter()
            cursor.execute(sql)
            rows = f"{cursor.rowcount:,} rows, " if cursor.rowcount and cursor.rowcount > 0 else ""
            log(f"{label}: {rows}{time.perf_counter() - started:.1f} s")
    bulk.reset_sequences()
    log("rebuilding the indexes and foreign keys, VACUUM (ANALYZE)")
    bulk.finish()


def generate(options: argparse.Namespace) -> None:
    if User.objects.filter(username__startswith=PREFIX).exists():
        sys.exit(f"The database already holds '{PREFIX}…' users: generate into a fresh one.")
    if Lead.objects.exists() or Task.objects.exists():
        sys.exit("The database already holds tasks or leads: generate into a fresh one.")
    staff = people(users=options.users, team_size=options.team_size)
    log(f"{len(staff)} users in teams of {options.team_size}, absences")
    dialect = Dialect(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_people (n INTEGER PRIMARY KEY, user_id BIGINT)")
        for start in range(0, len(staff), 500):
            cursor.executemany(
                "INSERT INTO bench_people (n, user_id) VALUES (%s, %s)",
                [(n, pk) for n, pk in enumerate(staff[start : start + 500], start)],
            )
        if dialect.postgres:
            cursor.execute("SELECT setseed(%s)", [options.seed / 2**31])
    sizes = {
        "users": len(staff),
        "tasks": options.tasks,
        "leads": options.leads,
        "lead_type": ContentType.objects.get_for_model(Lead).pk,
    }
    sql_steps = steps(dialect, sizes)
    if dialect.postgres:
        load_postgres(sql_steps)
    else:
        load_sqlite(sql_steps)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM planner_task), "
            "(SELECT count(*) FROM planner_task WHERE status = 'open'), "
            "(SELECT count(*) FROM planner_task_coworkers), (SELECT count(*) FROM leads_lead)"
        )
        tasks, open_tasks, coworkers, leads = cursor.fetchone()
    log(
        f"done: {tasks:,} tasks ({open_tasks:,} open), {coworkers:,} co-workers, "
        f"{leads:,} leads; {tasks / (time.perf_counter() - STARTED):,.0f} tasks/s overall"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--team-size", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=2_000_000)
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2026)
    generate(parser.parse_args())


if __name__ == "__main__":
    main()

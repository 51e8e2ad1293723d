"""Fill a PostgreSQL database for the analytics benchmark with SQL (``INSERT … SELECT …
FROM generate_series``), not the ORM: the issue's full size in minutes.

On a migrated, otherwise empty database (the default pipelines «Розница» and «Опт», the
lost reasons and the task types come from the migrations)::

    createdb -h 127.0.0.1 -U postgres crm_bench_analytics
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_analytics
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/analytics_generate.py            # the issue's size, ~2 min
    .venv/bin/python bench/analytics.py --viewers head,admin  # measure

What it writes (defaults = the issue's size; ``--scale 0.1`` for a tenth):

- ``admin`` (administrator), ``head`` (head of sales leading «Команда 1») and ``head2`` …
  ``head10`` leading the other teams; ``--managers`` managers (100) in ``--teams`` teams (10)
  round-robin; a plan per manager for this month (revenue won, deals won, payments received);
- ``--companies`` companies and ``--contacts`` contacts, owned by the managers: the clients;
- ``--deals`` deals (1,000,000) created over the last two years, 80 % in «Опт» (9 open
  stages), 20 % in «Розница» (3). Each walks its pipeline: the first stage, then each next
  open stage while a coin says go on (90 %), skipping one in ten; one in ten that reached
  a third stage moves back once; about 25 % end won and 20 % lost (with a lost reason, one
  in ten without), the rest stay open. Gaps between moves are 1 hour to 20 days; a move
  that would fall after now has not happened yet, so recent deals are still open. Every
  visit is a ``StageVisit`` row (about 5 per deal) with ``left_at`` the next one's entry
  and the copies ``crm.sales.services.visits`` keeps (the deal's owner, when it was next
  decided and won, its prior entry into the stage);
  the deal's stage, status, ``stage_entered_at`` and ``closed_at`` are its last visit's.
  4 % in dollars, 1 % in euros; amounts log-normal; open deals mostly have an expected close
  date; a client (company in «Опт», contact in «Розница»); a source channel;
- a payment per won deal (received within a month of the win; one in five deals has a
  second, still expected);
- ``--entries`` timeline entries (10,000,000) by the managers over two years on their deals
  (80 %) and contacts: calls (40 %: outgoing, incoming, missed; a duration unless missed;
  a third with a telephony ``call_id``), e-mails, notes, meetings;
- ``--leads`` leads (1,000,000) over two years: channels, classification (new, repeat,
  partner, spam), a responsible manager and team, a response deadline (1–4 h) and a first
  answer for 85 % (a quarter of those within two days rather than the hour), a third
  converted into one of the deals;
- a task per five deals (done, late or open) for the activity report.

The bulk tables' secondary indexes and foreign keys are dropped for the load and rebuilt
after it (``PostgresBulk`` of ``generate.py``), then ``VACUUM (ANALYZE)``. Progress and
times are printed. The random numbers come from PostgreSQL's ``random()`` after
``setseed(--seed)``, so a run is repeatable on one server.

SQLite: ``bench/analytics.py --generate`` still makes the data with ``bulk_create``
(slower, fine for a tenth of the size).
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
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from generate import PostgresBulk  # noqa: E402

from crm.accounts.models import Team, TeamMembership, User  # noqa: E402
from crm.analytics.models import Plan  # noqa: E402
from crm.core.permissions import Role  # noqa: E402
from crm.customers.models import Company, Contact  # noqa: E402
from crm.sales.models import Deal, Pipeline  # noqa: E402

PASSWORD = "bench-password-2026"  # noqa: S105 - a published benchmark password
BULK_TABLES = [
    "customers_company",
    "customers_contact",
    "sales_deal",
    "sales_stagevisit",
    "sales_payment",
    "activities_timelineentry",
    "leads_lead",
    "planner_task",
]
STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.1f} s] {message}", flush=True)


def run(cursor, label: str, sql: str, params: dict | None = None) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    cursor.execute(sql, params or {})
    rows = f"{cursor.rowcount:,} rows, " if cursor.rowcount and cursor.rowcount > 0 else ""
    log(f"{label}: {rows}{time.perf_counter() - started:.1f} s")


def people(*, managers: int, team_count: int) -> list[int]:
    """The administrator, the heads (``head`` leads the first team), the managers and this
    month's plans; returns the managers' ids."""
    password = make_password(PASSWORD)
    User.objects.create(username="admin", role=Role.ADMIN, password=password, is_staff=True)
    teams = [Team.objects.create(name=f"Команда {number + 1}") for number in range(team_count)]
    for number, team in enumerate(teams):
        name = "head" if number == 0 else f"head{number + 1}"
        team.heads.add(User.objects.create(username=name, role=Role.HEAD, password=password))
    staff = User.objects.bulk_create(
        User(
            username=f"manager{number}",
            first_name=f"Менеджер {number}",
            last_name=f"М{number:03}",
            password=password,
        )
        for number in range(managers)
    )
    TeamMembership.objects.bulk_create(
        TeamMembership(team=teams[number % team_count], user=user)
        for number, user in enumerate(staff)
    )
    month = timezone.localdate().replace(day=1)
    Plan.objects.bulk_create(
        Plan(
            effective_from=month,
            metric=metric,
            manager=user,
            currency="RUB" if metric != "deals_won" else "",
            target=target,
        )
        for user in staff
        for metric, target in (
            ("revenue_won", 3_000_000),
            ("deals_won", 40),
            ("payments_received", 2_500_000),
        )
    )
    return [user.pk for user in staff]


def generate(options: argparse.Namespace) -> None:
    scale = options.scale
    deals = int(options.deals * scale)
    sizes = {
        "deals": deals,
        "entries": int(options.entries * scale),
        "leads": int(options.leads * scale),
        "companies": int(options.companies * scale),
        "contacts": int(options.contacts * scale),
        "tasks": deals // 5,
    }
    if Deal.objects.exists() or User.objects.filter(username="head").exists():
        sys.exit("The database already holds deals or a 'head': generate into an empty one.")
    manager_ids = people(managers=options.managers, team_count=options.teams)
    log(f"{options.managers} managers in {options.teams} teams, heads, plans")
    pipelines = {pipeline.name: pipeline.pk for pipeline in Pipeline.objects.all()}
    types = {
        model: ContentType.objects.get_for_model(model).pk for model in (Deal, Contact, Company)
    }
    bulk = PostgresBulk(BULK_TABLES, {}, log=log)
    bulk.prepare()
    log("secondary indexes and foreign keys of the bulk tables dropped")
    params = {
        **sizes,
        "seed": options.seed,
        "managers": manager_ids,
        "opt": pipelines["Опт"],
        "retail": pipelines["Розница"],
        "deal_type": types[Deal],
        "contact_type": types[Contact],
        "company_type": types[Company],
    }
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '512MB'")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SELECT setseed(%(seed)s)", {"seed": options.seed / 2**31})
        for label, sql in STEPS:
            run(cursor, label, sql, params)
    bulk.reset_sequences()
    log("rebuilding the indexes and foreign keys, VACUUM (ANALYZE)")
    bulk.finish()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database())), "
            "(SELECT count(*) FROM sales_deal), (SELECT count(*) FROM sales_stagevisit), "
            "(SELECT count(*) FROM activities_timelineentry), (SELECT count(*) FROM leads_lead)"
        )
        size, deal_count, visit_count, entry_count, lead_count = cursor.fetchone()
    log(
        f"done: {deal_count:,} deals, {visit_count:,} visits, {entry_count:,} timeline "
        f"entries, {lead_count:,} leads; database {size}"
    )


# A manager picked at random: ``(%(managers)s)[1 + floor(random() * n)]`` with the ids as a
# PostgreSQL array.
MANAGER = "(%(managers)s::bigint[])[1 + floor(random() * cardinality(%(managers)s::bigint[]))::int]"

STEPS: list[tuple[str, str]] = [
    (
        "companies",
        f"""
        INSERT INTO customers_company (id, created_at, updated_at, owner_id, source, notes,
            custom, search_text, kind, legal_name, short_name, legal_form, inn, kpp, ogrn,
            website, industry, name_words, last_touch_at)
        SELECT g, t, t, {MANAGER}, 'website', '', '{{}}', 'компания ' || g,
            CASE WHEN random() < 0.1 THEN 'government' ELSE 'business' END,
            'ООО «Компания ' || g || '»', 'Компания ' || g, 'ООО', '', '', '', '', '',
            ' ооо компания ' || g || ' ooo kompaniya ' || g || ' ', t
        FROM generate_series(1, %(companies)s) g,
            LATERAL (SELECT now() - random() * interval '3 years' + g * interval '0') moment(t)
        """,
    ),
    (
        "contacts",
        f"""
        INSERT INTO customers_contact (id, created_at, updated_at, owner_id, source, notes,
            custom, search_text, client_type, last_name, first_name, middle_name,
            preferences, name_words, last_touch_at)
        SELECT g, t, t, {MANAGER}, 'phone', '', '{{}}', 'клиент ' || g,
            CASE WHEN random() < 0.8 THEN 'private' ELSE 'business' END,
            'Клиент ' || g, 'Имя', '', '', ' клиент' || g || ' имя klient' || g || ' imya ', t
        FROM generate_series(1, %(contacts)s) g,
            LATERAL (SELECT now() - random() * interval '3 years' + g * interval '0') moment(t)
        """,
    ),
    (
        "deal plans (temporary)",
        # One row per deal: its pipeline, how far it goes, its outcome and start. ``depth``
        # is the number of open stages walked (geometric: go on with 90 %), capped by the
        # pipeline's open stages.
        """
        CREATE TEMP TABLE bench_deal ON COMMIT PRESERVE ROWS AS
        SELECT n, pipeline_id, least(opens, 1 + floor(ln(1 - random()) / ln(0.9))::int) AS depth,
            random() AS outcome, random() < 0.1 AS moves_back,
            now() - random() * interval '2 years' AS start_at
        FROM (
            SELECT n, CASE WHEN random() < 0.8 THEN %(opt)s ELSE %(retail)s END AS pipeline_id
            FROM generate_series(1, %(deals)s) n
        ) chosen
        JOIN (
            SELECT pipeline_id AS p, count(*) AS opens FROM sales_stage
            WHERE kind = 'open' AND NOT archived GROUP BY pipeline_id
        ) counted ON counted.p = chosen.pipeline_id
        """,
    ),
    (
        "stage paths (temporary)",
        # The walk: open stages below the depth (the first always, the others skipped one
        # time in ten), a move back to the stage before the last for some, then won or
        # lost. ``step`` orders them; each move 1 hour to 20 days after the one before.
        """
        CREATE TEMP TABLE bench_path ON COMMIT PRESERVE ROWS AS
        SELECT n, stage_id, kind, step,
            start_at + sum(gap) OVER (PARTITION BY n ORDER BY step) AS entered_at
        FROM (
            SELECT d.n, s.id AS stage_id, s.kind, s.position AS step, d.start_at,
                CASE WHEN s.position = 0 THEN interval '0'
                     ELSE interval '1 hour' + random() * interval '20 days' END AS gap
            FROM bench_deal d JOIN sales_stage s
              ON s.pipeline_id = d.pipeline_id AND s.kind = 'open' AND NOT s.archived
             AND s.position < d.depth
            WHERE s.position = 0 OR random() < 0.9
            UNION ALL
            SELECT d.n, s.id, s.kind, d.depth, d.start_at,
                interval '1 hour' + random() * interval '20 days'
            FROM bench_deal d JOIN sales_stage s
              ON s.pipeline_id = d.pipeline_id AND s.kind = 'open' AND s.position = d.depth - 2
            WHERE d.moves_back AND d.depth > 2
            UNION ALL
            SELECT d.n, s.id, s.kind, 100, d.start_at,
                interval '1 hour' + random() * interval '20 days'
            FROM bench_deal d JOIN sales_stage s
              ON s.pipeline_id = d.pipeline_id
             AND s.kind = CASE WHEN d.outcome < 0.25 THEN 'won' ELSE 'lost' END
            WHERE d.outcome < 0.45
        ) walked
        """,
    ),
    ("moves not yet happened removed", "DELETE FROM bench_path WHERE entered_at > now()"),
    (
        "deals",
        f"""
        INSERT INTO sales_deal (id, created_at, updated_at, owner_id, title, pipeline_id,
            stage_id, status, amount, currency, amount_from_lines, expected_close, contact_id,
            company_id, source, invoice_number, contract_number, notes, custom,
            stage_entered_at, last_activity_at, closed_at, lost_reason_id, lost_comment,
            search_text)
        SELECT d.n, d.start_at, last.entered_at, {MANAGER}, 'Сделка ' || d.n, d.pipeline_id,
            last.stage_id, last.kind,
            round((exp(10 + 1.5 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))
                  ::numeric, 2),
            CASE WHEN money < 0.04 THEN 'USD' WHEN money < 0.05 THEN 'EUR' ELSE 'RUB' END,
            false,
            CASE WHEN last.kind = 'open' AND random() < 0.8
                 THEN (now() + random() * interval '180 days' - interval '20 days')::date END,
            CASE WHEN d.pipeline_id = %(retail)s OR random() < 0.5
                 THEN 1 + floor(random() * %(contacts)s)::bigint END,
            CASE WHEN d.pipeline_id = %(opt)s THEN 1 + floor(random() * %(companies)s)::bigint END,
            (ARRAY['web_form', 'email', 'phone', 'manual', 'messenger', 'api', ''])
                [1 + floor(random() * 7)::int],
            '', '', '', '{{}}', last.entered_at, last.entered_at,
            CASE WHEN last.kind <> 'open' THEN last.entered_at END,
            CASE WHEN last.kind = 'lost' AND random() < 0.9
                 THEN (SELECT min(id) FROM sales_lostreason) + floor(random() * 5)::bigint END,
            '', 'сделка ' || d.n
        FROM bench_deal d
        JOIN (
            SELECT DISTINCT ON (n) n, stage_id, kind, entered_at FROM bench_path
            ORDER BY n, step DESC
        ) last ON last.n = d.n,
        LATERAL (SELECT random() + d.n * 0) currency(money)
        """,
    ),
    (
        "stage visits",
        """
        INSERT INTO sales_stagevisit (deal_id, stage_id, entered_at, left_at, owner_id,
            decided_at, won_at, prior_entered_at)
        SELECT path.n, path.stage_id, path.entered_at,
            lead(path.entered_at) OVER (PARTITION BY path.n ORDER BY path.step),
            deal.owner_id,
            MIN(CASE WHEN path.kind IN ('won', 'lost') THEN path.entered_at END) OVER later,
            MIN(CASE WHEN path.kind = 'won' THEN path.entered_at END) OVER later,
            MAX(path.entered_at) OVER earlier_here
        FROM bench_path path JOIN sales_deal deal ON deal.id = path.n
        WINDOW later AS (
            PARTITION BY path.n ORDER BY path.entered_at DESC
            RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE GROUP
        ), earlier_here AS (
            PARTITION BY path.n, path.stage_id ORDER BY path.entered_at
            RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE GROUP
        )
        ORDER BY path.n, path.step
        """,
    ),
    ("temporary tables dropped", "DROP TABLE bench_path, bench_deal"),
    (
        "payments of won deals",
        """
        INSERT INTO sales_payment (created_at, updated_at, deal_id, kind, status, amount,
            due_date, paid_on, method, provider, external_id, comment)
        SELECT closed_at, closed_at, id, 'final', 'received', greatest(amount, 1),
            closed_at::date, least(now(), closed_at + random() * interval '30 days')::date,
            'bank_transfer', '', '', ''
        FROM sales_deal WHERE status = 'won'
        UNION ALL
        SELECT closed_at, closed_at, id, 'partial', 'expected', greatest(amount / 4, 1),
            (closed_at + interval '60 days')::date, NULL, 'bank_transfer', '', '', ''
        FROM sales_deal WHERE status = 'won' AND random() < 0.2
        """,
    ),
    (
        "timeline entries",
        # On a deal (80 %) or a contact; the author is the manager of nothing in
        # particular (a random one), as colleagues cover for each other.
        f"""
        INSERT INTO activities_timelineentry (subject_type_id, subject_id, kind, title, body,
            data, direction, duration_seconds, author_id, occurred_at, created_at)
        SELECT CASE WHEN on_deal THEN %(deal_type)s ELSE %(contact_type)s END,
            CASE WHEN on_deal THEN 1 + floor(random() * %(deals)s)::bigint
                 ELSE 1 + floor(random() * %(contacts)s)::bigint END,
            kind, '', '',
            CASE WHEN kind = 'call' AND random() < 0.33
                 THEN jsonb_build_object('call_id', 'bench-' || g) ELSE '{{}}' END,
            CASE WHEN kind <> 'call' THEN ''
                 WHEN direction < 0.55 THEN 'outgoing' WHEN direction < 0.9 THEN 'incoming'
                 ELSE 'missed' END,
            CASE WHEN kind = 'call' AND direction < 0.9 THEN floor(random() * 900)::int END,
            {MANAGER}, t, t
        FROM (
            SELECT g, random() < 0.8 AS on_deal, random() AS direction,
                now() - random() * interval '2 years' AS t,
                CASE WHEN r < 0.4 THEN 'call' WHEN r < 0.65 THEN 'email'
                     WHEN r < 0.85 THEN 'note' ELSE 'meeting' END AS kind
            FROM generate_series(1, %(entries)s) g, LATERAL (SELECT random() + g * 0) x(r)
        ) made
        """,
    ),
    (
        "leads",
        f"""
        INSERT INTO leads_lead (created_at, updated_at, title, status, kind, channel, name,
            phone, email, company_name, inn, message, client_type, utm, referrer, page_url,
            data, match, assigned_at, respond_by, responded_at, lost_reason, converted_at,
            thread_key, search_text, owner_id, team_id, pipeline_id, deal_id, phone_unchecked,
            body_points)
        SELECT t, t, 'Заявка ' || g,
            CASE WHEN converted THEN 'converted' WHEN kind = 'spam' THEN 'lost'
                 WHEN answered THEN 'in_progress' ELSE 'new' END,
            kind,
            (ARRAY['web_form', 'web_form', 'web_form', 'email', 'phone', 'phone', 'messenger',
                   'api', 'manual'])[1 + floor(random() * 9)::int],
            'Клиент', '', '', '', '', '', 'private', '{{}}', '', '', '{{}}', '{{}}',
            t, t + (1 + floor(random() * 4)::int) * interval '1 hour',
            CASE WHEN answered THEN t + CASE WHEN random() < 0.75
                 THEN random() * interval '1 hour' ELSE random() * interval '2 days' END END,
            '', CASE WHEN converted THEN t + interval '1 day' END, '', 'заявка ' || g,
            owner, team, CASE WHEN random() < 0.6 THEN %(opt)s ELSE %(retail)s END,
            CASE WHEN converted THEN 1 + floor(random() * %(deals)s)::bigint END, '', '[]'
        FROM (
            SELECT g, now() - random() * interval '2 years' AS t, random() < 0.85 AS answered,
                random() < 0.33 AND r < 0.9 AS converted,
                CASE WHEN r < 0.7 THEN 'new' WHEN r < 0.85 THEN 'repeat'
                     WHEN r < 0.9 THEN 'partner' ELSE 'spam' END AS kind,
                owner, (SELECT min(m.team_id) FROM accounts_teammembership m
                        WHERE m.user_id = owner) AS team
            FROM generate_series(1, %(leads)s) g,
                LATERAL (SELECT random() + g * 0) x(r),
                LATERAL (SELECT {MANAGER} + g * 0) p(owner)
        ) made
        """,
    ),
    (
        "tasks",
        f"""
        INSERT INTO planner_task (created_at, updated_at, title, description, due_at,
            all_day, priority, status, completed_at, result, outcome, origin, owner_id,
            type_id, subject_type_id, subject_id)
        SELECT due - interval '3 days', due, 'Позвонить', '', due, false, 1,
            CASE WHEN done THEN 'done' ELSE 'open' END,
            CASE WHEN done THEN due + (random() - 0.7) * interval '2 days' END,
            '', '', '', {MANAGER}, (SELECT min(id) FROM planner_tasktype),
            %(deal_type)s, 1 + floor(random() * %(deals)s)::bigint
        FROM (
            SELECT g, now() + (random() * 740 - 730) * interval '1 day' AS due
            FROM generate_series(1, %(tasks)s) g
        ) made, LATERAL (SELECT due < now() - interval '1 day' AND random() < 0.9 + g * 0) x(done)
        """,
    ),
    (
        "clients' last touch: timeline entries",
        # The stored last touch from its definition (``customers.services.touch``): the
        # latest of creation (set above), the client's timeline entries and its deals'
        # activity; grouped and joined, as the indexes are rebuilt only at the end.
        """
        UPDATE customers_contact c SET last_touch_at = greatest(c.last_touch_at, x.last)
        FROM (SELECT subject_id, max(occurred_at) AS last FROM activities_timelineentry
              WHERE subject_type_id = %(contact_type)s GROUP BY subject_id) x
        WHERE x.subject_id = c.id
        """,
    ),
    (
        "clients' last touch: contacts' deals",
        """
        UPDATE customers_contact c SET last_touch_at = greatest(c.last_touch_at, x.last)
        FROM (SELECT contact_id, max(last_activity_at) AS last FROM sales_deal
              WHERE contact_id IS NOT NULL GROUP BY contact_id) x
        WHERE x.contact_id = c.id
        """,
    ),
    (
        "clients' last touch: companies' deals",
        """
        UPDATE customers_company c SET last_touch_at = greatest(c.last_touch_at, x.last)
        FROM (SELECT company_id, max(last_activity_at) AS last FROM sales_deal
              WHERE company_id IS NOT NULL GROUP BY company_id) x
        WHERE x.company_id = c.id
        """,
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="0.1 for a tenth")
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=300_000)
    parser.add_argument("--managers", type=int, default=100)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2026)
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("PostgreSQL only (DATABASE_URL); on SQLite use bench/analytics.py --generate.")
    generate(options)


if __name__ == "__main__":
    main()

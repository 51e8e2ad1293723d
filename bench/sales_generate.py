"""Fill a benchmark database with pipelines, stage rules and a million deals.

Run it on a database that ``bench/generate.py`` has filled (users, teams, contacts and
companies: the clients of the deals), e.g.::

    createdb -h 127.0.0.1 -U postgres bench_sales
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_sales \\
        .venv/bin/python bench/generate.py --contacts 50000 --companies 10000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_sales \\
        .venv/bin/python bench/sales_generate.py --deals 1000000 --open 20000

What it writes:

- three more pipelines («Сервис», «Тендеры», «Партнёры») next to the default «Розница» and
  «Опт» (migration ``sales/0002``);
- rules on the open stages of «Опт» and on its won stage: required fields, a ``create_task``
  action on every open stage after the first, a ``notify`` action on most (see ``OPT_RULES``),
  and a 14-day staleness limit; the action settings go through the service's
  ``clean_action_config``;
- an e-mail address for every user, so a notification also enqueues its e-mail job, as on a
  real installation;
- ``--deals`` deals, ``--open`` of them open in «Опт», spread over its nine open stages like
  a funnel; a few thousand open deals in the other pipelines; the rest won or lost. Ids grow
  with the creation time over three years; open deals were created in the last year and
  entered their stage at some moment since (more of them recently). A closed deal's
  ``stage_entered_at`` and ``closed_at`` are its closing time. Amounts are log-normal, mostly
  in roubles; owners are the managers (5% the heads); «Опт» deals have a company and often a
  contact, retail ones a contact. An open deal meets the requirements of the stage it is in.
- one or two ``StageVisit`` rows per deal (the first stage, and the current one), a
  "created" timeline entry per deal (``--no-timeline`` leaves them out), a tag on 4% of the
  deals, sharing on 1% of the open ones.

The rows are made in chunks of 10,000 deals by ``--workers`` forked processes (2 by default;
0 makes them in the main process) and written by the main process with ``COPY`` (explicit
ids, one transaction per chunk, ``synchronous_commit = off``), with the secondary indexes and
foreign keys of the bulk tables dropped during the load and rebuilt after it. Every 997th
deal's ``search_text`` is compared with the real ``core.text.fold``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Run as ``python bench/<script>.py``, this folder comes first on the path, where another
# benchmark's ``calendar.py`` would shadow the standard library's (``email`` imports it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.append(str(BENCH))  # for ``generate``, after the standard library
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import translation  # noqa: E402
from generate import PostgresBulk, _database_cpu_seconds, _in_order, _load  # noqa: E402

from crm.accounts.models import Team, User  # noqa: E402
from crm.core.permissions import Role  # noqa: E402
from crm.core.text import fold  # noqa: E402
from crm.customers.choices import LegalForm  # noqa: E402
from crm.customers.models import Company, Contact, Tag  # noqa: E402
from crm.customers.services.cleaning import Errors  # noqa: E402
from crm.sales.choices import StageKind  # noqa: E402
from crm.sales.models import Deal, LostReason, Pipeline, Stage, StageAction  # noqa: E402
from crm.sales.services.automation import clean_action_config  # noqa: E402

CHUNK = 10_000
CHECK_EVERY = 997
DAY = 86_400
YEARS = 3

EXTRA_PIPELINES = [
    (
        "Сервис",
        [
            ("Заявка", "open", 10),
            ("Диагностика", "open", 30),
            ("Согласование", "open", 60),
            ("В работе", "open", 85),
            ("Выполнено", "won", 100),
            ("Отказ", "lost", 0),
        ],
    ),
    (
        "Тендеры",
        [
            ("Новый тендер", "open", 5),
            ("Подготовка заявки", "open", 20),
            ("Заявка подана", "open", 40),
            ("Торги", "open", 60),
            ("Контракт", "won", 100),
            ("Проиграли", "lost", 0),
        ],
    ),
    (
        "Партнёры",
        [
            ("Переговоры", "open", 20),
            ("Пилот", "open", 50),
            ("Договор", "open", 80),
            ("Партнёр", "won", 100),
            ("Отказ", "lost", 0),
        ],
    ),
]
# pipeline: (open deals per million, closed deals per million, share of the closed won,
# client: (company share, contact share), amount median)
PLAN = {
    "Опт": (None, 330_000, 0.35, (0.97, 0.6), 350_000),
    "Розница": (6_000, 444_000, 0.7, (0.0, 1.0), 25_000),
    "Сервис": (3_000, 97_000, 0.8, (0.5, 0.9), 60_000),
    "Тендеры": (1_000, 59_000, 0.25, (1.0, 0.3), 2_500_000),
    "Партнёры": (500, 39_500, 0.5, (0.8, 0.5), 500_000),
}
OPT_DEFAULT_OPEN = 20_000
OPT = "Опт"
# Rules of the stages of «Опт», by position: required fields and actions (created through
# ``clean_action_config``). Every stage a deal moves into from another open stage creates a
# task; most also notify.
OPT_RULES: dict[int, tuple[list[str], list[tuple[str, dict]]]] = {
    1: (
        [],
        [
            (
                "create_task",
                {
                    "title": "Провести встречу: выявить потребности",
                    "type": "meeting",
                    "due_in": 2,
                    "due_unit": "work_days",
                    "assignee": "responsible",
                },
            )
        ],
    ),
    2: (
        ["client"],
        [
            (
                "create_task",
                {
                    "title": "Выехать на замер",
                    "type": "meeting",
                    "due_in": 3,
                    "due_unit": "work_days",
                    "assignee": "responsible",
                },
            ),
            ("notify", {"recipients": ["responsible"], "message": "Назначьте дату замера."}),
        ],
    ),
    3: (
        ["amount"],
        [
            (
                "create_task",
                {
                    "title": "Подготовить смету",
                    "type": "todo",
                    "due_in": 8,
                    "due_unit": "work_hours",
                    "assignee": "responsible",
                },
            ),
            ("notify", {"recipients": ["responsible", "head"], "message": "Смета в работе."}),
        ],
    ),
    4: (
        ["amount", "client", "expected_close"],
        [
            (
                "create_task",
                {
                    "title": "Позвонить клиенту по КП",
                    "type": "call",
                    "due_in": 2,
                    "due_unit": "work_days",
                    "assignee": "responsible",
                },
            ),
            (
                "notify",
                {"recipients": ["responsible", "head"], "message": "КП отправлено клиенту."},
            ),
        ],
    ),
    5: (
        ["amount", "company", "contract_number"],
        [
            (
                "create_task",
                {
                    "title": "Подписать договор",
                    "type": "todo",
                    "due_in": 3,
                    "due_unit": "work_days",
                    "assignee": "responsible",
                },
            ),
            (
                "notify",
                {"recipients": ["responsible", "head"], "message": "Договор на согласовании."},
            ),
        ],
    ),
    6: (
        ["contract_number", "invoice_number"],
        [
            (
                "create_task",
                {
                    "title": "Проверить поступление предоплаты",
                    "type": "todo",
                    "due_in": 1,
                    "due_unit": "work_days",
                    "assignee": "responsible",
                },
            ),
            ("notify", {"recipients": ["responsible", "head"], "message": "Ждём предоплату."}),
        ],
    ),
    7: (
        ["contract_number", "invoice_number"],
        [
            (
                "create_task",
                {
                    "title": "Запустить заказ в производство",
                    "type": "todo",
                    "due_in": 4,
                    "due_unit": "work_hours",
                    "assignee": "responsible",
                },
            ),
            ("notify", {"recipients": ["responsible"], "message": "Заказ в производстве."}),
        ],
    ),
    8: (
        [],
        [
            (
                "create_task",
                {
                    "title": "Согласовать доставку с клиентом",
                    "type": "call",
                    "due_in": 1,
                    "due_unit": "work_days",
                    "assignee": "responsible",
                },
            )
        ],
    ),
    9: (  # «Закрыта» (won)
        [],
        [("notify", {"recipients": ["responsible", "head"], "message": "Сделка закрыта."})],
    ),
}
STALE_DAYS = 14
OPT_PRODUCTS = [
    "Керамогранит",
    "Плитка настенная",
    "Ламинат",
    "Паркетная доска",
    "Сухие смеси",
    "Гипсокартон",
    "Утеплитель",
    "Кровля металлочерепица",
    "Профнастил",
    "Окна ПВХ",
    "Двери межкомнатные",
    "Сантехника",
    "Радиаторы отопления",
    "Трубы ПП",
    "Кабель ВВГ",
    "Светильники LED",
    "Фасадные панели",
    "Тротуарная плитка",
    "Бетон М300",
    "Арматура А500",
    "Кирпич облицовочный",
    "Газобетонные блоки",
    "Краска фасадная",
    "Линолеум коммерческий",
]
RETAIL_PRODUCTS = [
    "Кухонный гарнитур",
    "Шкаф-купе",
    "Диван угловой",
    "Кровать",
    "Матрас",
    "Стол обеденный",
    "Стулья",
    "Комод",
    "Прихожая",
    "Детская мебель",
    "Душевая кабина",
    "Смеситель",
]
SERVICE_PRODUCTS = ["Монтаж", "Гарантийный ремонт", "Сервисное обслуживание", "Замер", "Доставка"]
TENDER_PRODUCTS = ["Поставка материалов", "Ремонт помещений", "Благоустройство", "Поставка мебели"]
PARTNER_PRODUCTS = ["Дилерский договор", "Агентский договор", "Совместный проект"]
PRODUCTS = {
    "Опт": OPT_PRODUCTS,
    "Розница": RETAIL_PRODUCTS,
    "Сервис": SERVICE_PRODUCTS,
    "Тендеры": TENDER_PRODUCTS,
    "Партнёры": PARTNER_PRODUCTS,
}
SOURCES = ["website", "phone", "email", "referral", "exhibition", "advertising", "cold"]
CURRENCIES = [("RUB", 0.94), ("USD", 0.03), ("EUR", 0.02), ("CNY", 0.01)]
LOST_COMMENTS = ["", "", "", "", "Ушли к конкуренту по цене", "Проект заморожен"]
BULK_TABLES = [
    "sales_deal",
    "sales_stagevisit",
    "sales_deal_tags",
    "sales_deal_shared_with",
    "activities_timelineentry",
]
COLUMNS = {
    "sales_deal": (
        "id created_at updated_at title status amount currency amount_from_lines expected_close "
        "source invoice_number contract_number notes custom stage_entered_at last_activity_at "
        "closed_at lost_comment stale_notified_at stale_escalated_at company_id contact_id "
        "created_by_id owner_id lost_reason_id pipeline_id stage_id search_text stale_due_at"
    ),
    "sales_stagevisit": (
        "id entered_at left_at deal_id entered_by_id stage_id owner_id decided_at won_at "
        "prior_entered_at"
    ),
    "sales_deal_tags": "id deal_id tag_id",
    "sales_deal_shared_with": "id deal_id user_id",
    "activities_timelineentry": (
        "id subject_type_id subject_id kind title body data direction duration_seconds "
        "attachment_id author_id occurred_at created_at"
    ),
}


def log(message: str) -> None:
    print(message, flush=True)


# --- pipelines and rules -------------------------------------------------------------------


def setup_pipelines() -> None:
    """The extra pipelines, the rules of «Опт» and the users' e-mail addresses (idempotent)."""
    with transaction.atomic():
        position = Pipeline.objects.count()
        for name, stages in EXTRA_PIPELINES:
            if Pipeline.objects.filter(name=name).exists():
                continue
            pipeline = Pipeline.objects.create(name=name, position=position)
            position += 1
            Stage.objects.bulk_create(
                Stage(pipeline=pipeline, name=n, kind=k, probability=p, position=i)
                for i, (n, k, p) in enumerate(stages)
            )
        opt = Pipeline.objects.get(name=OPT)
        stages = list(opt.stages.order_by("position", "id"))
        StageAction.objects.filter(stage__pipeline=opt).delete()
        for stage in stages:
            required, actions = OPT_RULES.get(stage.position, ([], []))
            stage.required_fields = required
            stage.stale_after_days = STALE_DAYS if stage.kind == StageKind.OPEN else None
            stage.save(update_fields=["required_fields", "stale_after_days"])
            for index, (kind, config) in enumerate(actions):
                errors = Errors()
                clean = clean_action_config(errors, kind, config)
                errors.raise_if_any()
                StageAction.objects.create(stage=stage, kind=kind, config=clean, position=index)
        for user in User.objects.filter(email=""):
            user.email = f"{user.username}@bench.example"
            user.save(update_fields=["email"])


# --- the plan: which deal is in which pipeline and stage -------------------------------------


class Plan:
    """Each deal's category (pipeline, stage, status) as one byte per deal, decided before
    the workers fork: exact counts per stage, open deals among the last year's ids."""

    def __init__(self, *, deals: int, opt_open: int, seed: int) -> None:
        rng = random.Random(f"{seed}:plan")
        scale = deals / 1_000_000
        pipelines = {p.name: p for p in Pipeline.objects.filter(name__in=PLAN)}
        missing = set(PLAN) - set(pipelines)
        if missing:
            raise SystemExit(f"Pipelines missing: {', '.join(sorted(missing))}")
        self.categories: list[tuple] = []  # (pipeline name, pipeline id, stage, first stage)
        open_codes: list[int] = []
        closed_weights: list[tuple[int, int]] = []
        for name, (open_n, closed_n, won_share, _client, _median) in PLAN.items():
            pipeline = pipelines[name]
            stages = list(pipeline.stages.filter(archived=False).order_by("position", "id"))
            open_stages = [s for s in stages if s.kind == StageKind.OPEN]
            won = next(s for s in stages if s.kind == StageKind.WON)
            lost = next(s for s in stages if s.kind == StageKind.LOST)
            count = opt_open if open_n is None else round(open_n * scale)
            # A funnel: each later stage holds fewer deals.
            weights = [1 / (1 + 0.22 * k) for k in range(len(open_stages))]
            for stage, n in zip(open_stages, _split(count, weights), strict=True):
                code = self._add(name, pipeline, stage, open_stages[0])
                open_codes += [code] * n
            closed = round(closed_n * scale)
            won_n = round(closed * won_share)
            closed_weights.append((self._add(name, pipeline, won, open_stages[0]), won_n))
            closed_weights.append((self._add(name, pipeline, lost, open_stages[0]), closed - won_n))
        if len(self.categories) > 255:
            raise AssertionError("too many categories for a byte")
        total_closed = deals - len(open_codes)
        if total_closed < 0:
            raise SystemExit("--deals is smaller than the open deals")
        self.codes = bytearray(deals)
        closed_pool = [code for code, n in closed_weights for _ in range(n)]
        # Rounding: pad or cut the closed deals to the total.
        while len(closed_pool) < total_closed:
            closed_pool.append(closed_weights[0][0])
        del closed_pool[total_closed:]
        rng.shuffle(closed_pool)
        # Open deals sit among the ids of the last year (the newest third), more of them
        # among the newest.
        recent = max(1, deals // YEARS)
        chosen: set[int] = set()
        while len(chosen) < len(open_codes):
            chosen.add(deals - 1 - int(recent * rng.random() ** 1.4))
        rng.shuffle(open_codes)
        is_open = bytearray(deals)
        for index, code in zip(sorted(chosen), open_codes, strict=True):
            self.codes[index] = code
            is_open[index] = 1
        closed_iter = iter(closed_pool)
        for index in range(deals):
            if not is_open[index]:
                self.codes[index] = next(closed_iter)
        self.open_total = len(open_codes)

    def _add(self, name: str, pipeline: Pipeline, stage: Stage, first: Stage) -> int:
        self.categories.append((name, pipeline.pk, stage, first))
        return len(self.categories) - 1


def _split(total: int, weights: list[float]) -> list[int]:
    """``total`` in parts proportional to ``weights`` (largest remainder)."""
    raw = [total * w / sum(weights) for w in weights]
    parts = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


# --- the rows ------------------------------------------------------------------------------


class Generator:
    def __init__(self, *, deals: int, opt_open: int, seed: int, timeline: bool) -> None:
        self.n = deals
        self.seed = seed
        self.timeline = timeline
        self.plan = Plan(deals=deals, opt_open=opt_open, seed=seed)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        self.now = int((now - epoch).total_seconds())
        self.start = self.now - YEARS * 365 * DAY
        self.first_day = self.start // DAY
        last_day = self.now // DAY + 200
        self.days = [
            (epoch + dt.timedelta(days=day)).date().isoformat()
            for day in range(self.first_day, last_day + 1)
        ]
        self.clock = [f"{h:02d}:{m:02d}:{s:02d}+00" for h in range(24) for m in range(60)
                      for s in range(60)]  # fmt: skip
        heads = list(User.objects.filter(role=Role.HEAD).values_list("pk", flat=True))
        managers = list(User.objects.filter(role=Role.MANAGER).values_list("pk", flat=True))
        if not managers:
            raise SystemExit("No managers: run bench/generate.py on this database first.")
        self.heads, self.managers = heads, managers
        self.colleagues: dict[int, list[int]] = {}
        for team in Team.objects.prefetch_related("members"):
            ids = [u.pk for u in team.members.all() if u.role in (Role.MANAGER, Role.HEAD)]
            for pk in ids:
                self.colleagues[pk] = [other for other in ids if other != pk]
        self.companies = list(
            Company.objects.filter(merged_into__isnull=True)
            .order_by("pk")
            .values_list("pk", "short_name", "legal_name", "legal_form")
        )
        self.contacts = list(
            Contact.objects.filter(merged_into__isnull=True)
            .order_by("pk")
            .values_list("pk", "last_name", "first_name")
        )
        if not self.contacts:
            raise SystemExit("No contacts: run bench/generate.py on this database first.")
        self.company_names = [self._company_name(row) for row in self.companies]
        self.lost_reasons = list(LostReason.objects.values_list("pk", flat=True))
        self.tags = list(Tag.objects.values_list("pk", flat=True))
        self.deal_type = ContentType.objects.get_for_model(Deal).pk
        with connection.cursor() as cursor:
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM activities_timelineentry")
            self.timeline_base = cursor.fetchone()[0]
        self.rows = 0

    @staticmethod
    def _company_name(row: tuple) -> str:
        _pk, short, legal, form = row
        name = short or legal
        # ``Company.display_name``
        return f"{form} «{name}»" if form and form not in (LegalForm.OTHER, LegalForm.GOV) else name

    def ts(self, seconds: int) -> str:
        day, second = divmod(seconds, DAY)
        return f"{self.days[day - self.first_day]} {self.clock[second]}"

    def date(self, seconds: int) -> str:
        return self.days[seconds // DAY - self.first_day]

    def chunk(self, index: int) -> tuple[dict[str, bytes], int, int]:
        """Deals ``index * CHUNK + 1`` … with their visits, tags, sharing and entries."""
        rng = random.Random(f"{self.seed}:deals:{index}")
        r = rng.random
        n, now, start = self.n, self.now, self.start
        span = now - start
        codes, categories = self.plan.codes, self.plan.categories
        managers, heads = self.managers, self.heads
        companies, company_names = self.companies, self.company_names
        contacts = self.contacts
        n_companies, n_contacts, n_managers = len(companies), len(contacts), len(managers)
        folded: dict[str, str] = {}

        def fold_cached(text: str) -> str:
            value = folded.get(text)
            if value is None:
                value = folded[text] = fold(text)
            return value

        deals: list[str] = []
        visits: list[str] = []
        tags: list[str] = []
        shared: list[str] = []
        entries: list[str] = []
        checked = 0
        first = index * CHUNK
        for i in range(first, min(first + CHUNK, n)):
            pk = i + 1
            name, pipeline_id, stage, first_stage = categories[codes[i]]
            _open_n, _closed_n, _won, (company_share, contact_share), median = PLAN[name]
            kind = stage.kind
            created = start + int(span * (i + r() * 0.9) / n)
            if kind == StageKind.OPEN:
                status = "open"
                entered = (
                    created + int((now - created) * r() ** 0.7) if stage != first_stage else created
                )
                activity = entered + int((now - entered) * r())
                closed_at = "\\N"
            else:
                status = "won" if kind == StageKind.WON else "lost"
                entered = min(now - 60, created + int(rng.expovariate(1 / (25 * DAY))))
                activity = entered
                closed_at = self.ts(entered)
            position = stage.position
            is_opt = name == OPT
            # The client: «Опт» deals from «Замер» on always have one (the stage requires it).
            company_id = contact_id = "\\N"
            client = ""
            if r() < company_share or (is_opt and (position >= 2 or status != "open")):
                c = int(r() * n_companies)
                company_id, client = str(companies[c][0]), company_names[c]
            if r() < contact_share or (not client and (not is_opt or r() < 0.5)):
                c = int(r() * n_contacts)
                contact_id = str(contacts[c][0])
                if not client:
                    client = f"{contacts[c][1]} {contacts[c][2]}"
            products = PRODUCTS[name]
            product = products[int(r() * len(products))]
            title = f"{product} — {client}" if client else product
            text = (
                f"{fold_cached(product)} {fold_cached(client)}" if client else fold_cached(product)
            )[:200]
            if i % CHECK_EVERY == 0:
                checked += 1
                if fold(title)[:200] != text:
                    raise AssertionError(f"search_text differs: {text!r} != {fold(title)!r}")
            amount = "\\N"
            if not (is_opt and status == "open" and position < 3 and r() < 0.15):
                value = median * math.exp(rng.gauss(0, 0.9))
                amount = f"{max(100, round(value, -2)):.2f}"
            roll, currency = r(), "RUB"
            for code, share in CURRENCIES:
                if roll < share:
                    currency = code
                    break
                roll -= share
            expected = "\\N"
            if status != "open":
                expected = self.date(entered)
            elif (is_opt and position >= 4) or r() < 0.8:
                expected = self.date(entered + int((7 + r() * 83) * DAY))
            invoice = contract = ""
            if status == "won" or (is_opt and position >= 6):
                invoice = f"С-{pk}"
            if status == "won" or (is_opt and position >= 5):
                contract = f"Д-{pk}"
            owner = heads[int(r() * len(heads))] if r() < 0.05 else managers[int(r() * n_managers)]
            lost_reason, lost_comment = "\\N", ""
            if status == "lost":
                lost_reason = str(self.lost_reasons[int(r() * len(self.lost_reasons))])
                lost_comment = LOST_COMMENTS[int(r() * len(LOST_COMMENTS))]
            created_ts = self.ts(created)
            entered_ts = self.ts(entered)
            activity_ts = self.ts(activity)
            deals.append(
                f"{pk}\t{created_ts}\t{activity_ts}\t{title}\t{status}\t{amount}\t{currency}\tf\t"
                f"{expected}\t{SOURCES[pk % 7]}\t{invoice}\t{contract}\t\t{{}}\t{entered_ts}\t"
                f"{activity_ts}\t{closed_at}\t{lost_comment}\t\\N\t\\N\t{company_id}\t{contact_id}\t"
                f"{owner}\t{owner}\t{lost_reason}\t{pipeline_id}\t{stage.pk}\t{text}\t\\N\n"
            )
            # The copies the services keep (crm.sales.services.visits): the owner, and for
            # the first stage's visit the moment the deal was decided and won by the second.
            if stage.pk == first_stage.pk:
                visits.append(
                    f"{2 * pk - 1}\t{created_ts}\t\\N\t{pk}\t{owner}\t{stage.pk}\t{owner}"
                    "\t\\N\t\\N\t\\N\n"
                )
            else:
                decided = entered_ts if stage.kind != "open" else "\\N"
                won = entered_ts if stage.kind == "won" else "\\N"
                visits.append(
                    f"{2 * pk - 1}\t{created_ts}\t{entered_ts}\t{pk}\t{owner}\t{first_stage.pk}"
                    f"\t{owner}\t{decided}\t{won}\t\\N\n"
                )
                visits.append(
                    f"{2 * pk}\t{entered_ts}\t\\N\t{pk}\t{owner}\t{stage.pk}\t{owner}"
                    "\t\\N\t\\N\t\\N\n"
                )
            if self.tags and r() < 0.04:
                tags.append(f"{pk}\t{pk}\t{self.tags[int(r() * len(self.tags))]}\n")
            if status == "open" and r() < 0.01:
                others = self.colleagues.get(owner) or []
                if others:
                    shared.append(f"{pk}\t{pk}\t{others[int(r() * len(others))]}\n")
            if self.timeline:
                data = json.dumps({"stage": first_stage.name}, ensure_ascii=False)
                entries.append(
                    f"{self.timeline_base + pk}\t{self.deal_type}\t{pk}\tcreated\t\t\t{data}\t\t"
                    f"\\N\t\\N\t{owner}\t{created_ts}\t{created_ts}\n"
                )
        tables = {
            "sales_deal": "".join(deals).encode(),
            "sales_stagevisit": "".join(visits).encode(),
            "sales_deal_tags": "".join(tags).encode(),
            "sales_deal_shared_with": "".join(shared).encode(),
            "activities_timelineentry": "".join(entries).encode(),
        }
        rows = len(deals) + len(visits) + len(tags) + len(shared) + len(entries)
        return tables, rows, checked


_GENERATOR: Generator | None = None


def _chunk(index: int) -> tuple[dict[str, bytes], int, int]:
    assert _GENERATOR is not None
    return _GENERATOR.chunk(index)


def main(argv: list[str] | None = None) -> None:
    global _GENERATOR
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=OPT_DEFAULT_OPEN, help="open deals in «Опт»")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-timeline", action="store_true", help="no 'created' entries")
    parser.add_argument(
        "--rules-only", action="store_true", help="only (re)create the pipelines and rules"
    )
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        raise SystemExit("PostgreSQL only (DATABASE_URL=postgres://…)")
    translation.activate("ru")
    log(f"database {connection.settings_dict['NAME']}; {os.cpu_count()} CPUs; load {_load()}")
    setup_pipelines()
    log("pipelines and the rules of «Опт» set")
    if args.rules_only:
        return
    if Deal.objects.exists():
        raise SystemExit("There are deals already; use a fresh database (see bench/README.md).")
    started = time.perf_counter()
    generator = Generator(
        deals=args.deals, opt_open=args.open, seed=args.seed, timeline=not args.no_timeline
    )
    log(
        f"plan: {args.deals:,} deals, {generator.plan.open_total:,} open "
        f"({args.open:,} in «Опт»), {len(generator.contacts):,} contacts and "
        f"{len(generator.companies):,} companies as clients "
        f"({time.perf_counter() - started:.1f} s)"
    )
    loader = PostgresBulk(BULK_TABLES, COLUMNS, log)  # bench/generate.py
    loader.prepare()
    _GENERATOR = generator
    pool = (
        multiprocessing.get_context("fork").Pool(args.workers, initializer=gc.disable)
        if args.workers
        else None
    )
    load_started = time.perf_counter()
    cpu_started = (time.process_time(), _database_cpu_seconds())
    chunks = range(-(-args.deals // CHUNK))
    results: Callable | object
    results = (
        map(_chunk, chunks)
        if pool is None
        else _in_order(pool, _chunk, chunks, 2 * args.workers + 1)
    )
    rows = checked = 0
    try:
        for number, (tables, chunk_rows, chunk_checked) in enumerate(results, start=1):
            loader.write(tables)
            rows += chunk_rows
            checked += chunk_checked
            if number % 10 == 0:
                seconds = time.perf_counter() - load_started
                log(
                    f"  {min(number * CHUNK, args.deals):,} deals, {rows:,} rows "
                    f"({rows / seconds:,.0f} rows/s, load {_load()})"
                )
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    load_seconds = time.perf_counter() - load_started
    children = os.times()
    database_cpu = _database_cpu_seconds()
    cpu = {
        "main": time.process_time() - cpu_started[0],
        "workers": children.children_user + children.children_system,
    }
    if database_cpu is not None and cpu_started[1] is not None:
        cpu["PostgreSQL backend"] = database_cpu - cpu_started[1]
    log(
        f"loaded {args.deals:,} deals, {rows:,} rows in {load_seconds:.1f} s "
        f"({args.deals / load_seconds:,.0f} deals/s, {rows / load_seconds:,.0f} rows/s; "
        f"search_text checked on {checked:,} deals; load {_load()})"
    )
    log(
        "CPU of the load: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in cpu.items())
        + f"; total {sum(cpu.values()):.1f} s"
    )
    finish_started = time.perf_counter()
    log("indexes, constraints, statistics:")
    loader.reset_sequences()
    loader.finish()
    log(f"done in {time.perf_counter() - started:.1f} s "
        f"(indexes {time.perf_counter() - finish_started:.1f} s); load {_load()}")  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.name, d.status, count(*) FROM sales_deal d "
            "JOIN sales_pipeline p ON p.id = d.pipeline_id GROUP BY 1, 2 ORDER BY 1, 2"
        )
        for name, status, count in cursor.fetchall():
            log(f"  {name:<10} {status:<5} {count:>9,}")


if __name__ == "__main__":
    main()

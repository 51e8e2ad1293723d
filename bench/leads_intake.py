"""Measure web-form lead intake: the public endpoint under gunicorn, and the processing job.

On a database with a customer base made by ``bench/generate.py`` (PostgreSQL through
``DATABASE_URL``, or SQLite under ``CRM_VAR_DIR``)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_crm .venv/bin/python bench/leads_intake.py
    CRM_VAR_DIR=/tmp/bench-leads-sqlite .venv/bin/python bench/leads_intake.py
    … --cache redis      # the rate limit's cache in Redis (CRM_REDIS_URL) instead of the database

What it does:

1. Creates a web form «Bench: оптовая заявка» (``webform_save``: name, phone, e-mail,
   company required, message) and a routing rule for it (team «Москва», round robin, pipeline
   «Опт»; the company field makes every lead a business one, so this rule and not the
   default ones routes it).
2. Makes the submissions: 30% from people already in the base (the phone of an existing
   contact), 5% repeating an earlier submission of the run (they attach to the open lead),
   the rest new people with new phone numbers (the duplicate check by name runs for them);
   60% give an e-mail; ``_ts`` is ten seconds old, ``_hp`` empty.
3. Starts gunicorn (``--workers``, 2 by default, sync workers) on ``crm.config.wsgi`` with
   ``CRM_DEBUG=0``, a fixed ``CRM_SECRET_KEY`` and ``CRM_LEADS_FORM_RATE_LIMIT=1000000``,
   and ``--clients`` threads (4) post as fast as they can, each over its own connection
   (``http.client``; gunicorn's sync workers close it after each answer). Scenarios:

   - ``intake``: the database job backend and no job worker: the answer is validation, the
     raw ``Inbound`` row and the job row. Accepted/s and latency.
   - ``drain1``, ``drain2``: what ``intake`` left queued is processed by 1 or 2
     ``manage.py db_worker --batch`` processes (matching against the base, routing,
     assignment, lead, timeline entries, notification). Leads/s from the first to the last
     ``processed_at``, and the wall time with the workers' start-up.
   - ``steady``: 2 ``db_worker`` processes run (default 1 s poll interval) while the clients
     post at ``--steady-rate`` per second (default: 70% of what ``drain2`` managed): the
     end-to-end delay from ``received_at`` to ``processed_at``, and the intake latency
     with the workers busy on the same cores.
   - ``immediate``: gunicorn with ``CRM_TASKS_BACKEND=…ImmediateBackend``: the whole
     processing inside the request.

   The CPU seconds of the gunicorn workers, of their PostgreSQL backends and of this
   process (the load generator) are read from ``/proc`` over each window: CPU per
   accepted submission says what the machine could do with its two cores to itself.
4. ``--explain`` first lists the queries of one submission (with both cache backends) and of
   one processing job, in this process through Django's test ``Client``.
5. Deletes everything it wrote (leads, arrivals, their timeline entries and notifications,
   the job rows, the rule, the round-robin state, the form and the rate-limit cache rows) and
   VACUUMs the touched tables on PostgreSQL, so the customer base is as it was; ``--keep``
   leaves the rows.

Numbers only: nothing is asserted. The machine is shared; read them with the load average
printed next to each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

# Run as ``python bench/<script>.py``, this folder comes first on the path, where another
# benchmark's ``calendar.py`` would shadow the standard library's (``email`` imports it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import http.client  # noqa: E402 - after the path is fixed (it imports calendar)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")
os.environ.setdefault("CRM_DEBUG", "0")
os.environ.setdefault("CRM_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("CRM_LEADS_FORM_RATE_LIMIT", "1000000")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, Max  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tasks_db.models import DBTaskResult  # noqa: E402

from crm.accounts.models import Team, User  # noqa: E402
from crm.activities.models import TimelineEntry  # noqa: E402
from crm.customers.management.commands import demo_data as words  # noqa: E402
from crm.customers.models import Contact, ContactPoint  # noqa: E402
from crm.leads.models import Inbound, Lead, RoundRobinState, RoutingRule, WebForm  # noqa: E402
from crm.leads.services.webforms import webform_save  # noqa: E402
from crm.notifications.models import Notification  # noqa: E402
from crm.sales.models import Pipeline  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
FORM_NAME = "Bench: оптовая заявка"
RULE_NAME = "Bench: оптовая заявка → Москва"
APPLICATION_NAME = "crm-bench-intake"
IMMEDIATE = "django_tasks.backends.immediate.ImmediateBackend"
JOB_PATHS = ("crm.leads.jobs.inbound_process_job", "crm.notifications.jobs.notification_email_job")
FIELDS = [
    {"name": "name", "label": "Имя", "type": "text", "required": True},
    {"name": "phone", "label": "Телефон", "type": "tel", "required": True},
    {"name": "email", "label": "E-mail", "type": "email"},
    {"name": "company", "label": "Компания", "type": "text", "required": True},
    {"name": "message", "label": "Что нужно", "type": "textarea"},
]
PRODUCTS = ["керамогранит", "ламинат", "сухие смеси", "профнастил", "кабель ВВГ", "окна ПВХ"]
TARGET_RATE, TARGET_P95 = 200, 50


def log(message: str) -> None:
    print(message, flush=True)


def load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


# --- CPU accounting ----------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def backend_pids() -> list[int]:
    """The PostgreSQL backends of the processes this script started (by application name)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [APPLICATION_NAME]
        )
        return [row[0] for row in cursor.fetchall()]


class CpuMeter:
    """CPU seconds of the gunicorn workers, the job workers, their PostgreSQL backends and
    this process (the load generator) over a window. Counted per process id, keeping the
    last value seen of a process that has exited since (``observe`` while it runs)."""

    def __init__(self, server: Server | None, workers: list[subprocess.Popen]) -> None:
        self.server, self.workers = server, workers
        self.first: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}

    def _sample(self) -> dict[tuple[str, int], float]:
        pids = [("web", pid) for pid in (children(self.server.process.pid) if self.server else [])]
        pids += [("jobs", worker.pid) for worker in self.workers]
        pids += [("database", pid) for pid in backend_pids()]
        sample = {key: cpu_seconds(key[1]) for key in pids}
        sample["client", os.getpid()] = time.process_time()
        return sample

    def start(self) -> None:
        self.first = self._sample()
        self.last = dict(self.first)

    def observe(self) -> None:
        self.last.update({key: value for key, value in self._sample().items() if value})

    def spent(self) -> dict[str, float]:
        self.observe()
        totals = {"web": 0.0, "jobs": 0.0, "database": 0.0, "client": 0.0}
        for key, value in self.last.items():
            totals[key[0]] += value - self.first.get(key, 0.0)
        return totals


# --- the processes ---------------------------------------------------------------------------


def child_env(args: argparse.Namespace, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CRM_DEBUG="0",
        CRM_SECRET_KEY="bench-intake-secret-key-not-for-production-0123456789abcdef",  # noqa: S106
        CRM_ALLOWED_HOSTS="127.0.0.1,localhost",
        CRM_LEADS_FORM_RATE_LIMIT="1000000",
        PYTHONUNBUFFERED="1",
    )
    if env.get("DATABASE_URL"):
        url = env["DATABASE_URL"]
        sep = "&" if "?" in url else "?"
        url = f"{url}{sep}application_name={APPLICATION_NAME}"
        if args.pg_setting:
            options = " ".join(f"-c {setting}" for setting in args.pg_setting)
            url += "&" + urllib.parse.urlencode({"options": options})
        env["DATABASE_URL"] = url
    if args.cache == "redis":
        env["CRM_REDIS_URL"] = args.redis_url
    else:
        env.pop("CRM_REDIS_URL", None)
    env.update(extra)
    return env


class Server:
    def __init__(self, args: argparse.Namespace, *, backend: str | None = None) -> None:
        extra = {"CRM_TASKS_BACKEND": backend} if backend else {}
        self.port = args.port
        command = [
            GUNICORN,
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--log-level",
            "warning",
            "--timeout",
            "120",
        ]
        if args.threads:
            command += ["--threads", str(args.threads)]
        if args.one_commit and not backend:
            # The experiment below, loaded from this file by gunicorn.
            command += [
                "--pythonpath",
                str(ROOT / "bench"),
                "leads_intake:one_commit_application()",
            ]
        else:
            command.append("crm.config.wsgi")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=child_env(args, **extra), start_new_session=True
        )

    def wait_ready(self, key: str) -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", f"/f/{key}")
                if conn.getresponse().status == 200:
                    # Every worker answers once before the clock starts.
                    for _ in range(20):
                        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                        conn.request("GET", f"/f/{key}")
                        conn.getresponse().read()
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise SystemExit("gunicorn exited; see its output above")
            time.sleep(0.3)
        raise SystemExit("gunicorn did not answer in 60 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_workers(args: argparse.Namespace, count: int, *, batch: bool) -> list[subprocess.Popen]:
    command = [PYTHON, "manage.py", "db_worker", "--no-startup-delay", "-v", "0"]
    if batch:
        command.append("--batch")
    return [
        subprocess.Popen(command, cwd=ROOT, env=child_env(args), start_new_session=True)
        for _ in range(count)
    ]


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()


def one_commit_application():
    """An experiment (``--one-commit``), not a change to the CRM: ``inbound_store`` enqueues
    the processing job inside the transaction that stores the arrival, so the raw row and the
    job row are committed (and flushed to disk) once instead of twice. With the database job
    backend that is safe: no worker sees the job before the arrival is committed."""
    from django.core.wsgi import get_wsgi_application

    from crm.leads.services import intake

    class EnqueueInTransaction:
        atomic = staticmethod(transaction.atomic)

        @staticmethod
        def on_commit(func, using=None, robust=False):
            func()

    intake.transaction = EnqueueInTransaction  # type: ignore[assignment]
    return get_wsgi_application()


# --- the submissions -----------------------------------------------------------------------------


def submissions(count: int, seed: int) -> list[bytes]:
    """URL-encoded bodies: 30% existing people (their phone), 5% repeats, the rest new."""
    rng = random.Random(seed)
    top = ContactPoint.objects.aggregate(top=Max("id"))["top"] or 0
    known: list[tuple[str, str]] = []
    while len(known) < 3000 and top:
        ids = [rng.randrange(1, top + 1) for _ in range(2000)]
        known += [
            (f"{point.contact.last_name} {point.contact.first_name}", point.value)
            for point in ContactPoint.objects.filter(
                pk__in=ids, kind="phone", contact__isnull=False
            ).select_related("contact")
        ]
    started = str(int((time.time() - 10) * 1000))
    base = rng.randrange(10**6)
    bodies: list[bytes] = []
    sent: list[dict[str, str]] = []
    for index in range(count):
        roll = rng.random()
        if roll < 0.05 and sent:
            data = dict(rng.choice(sent))
        else:
            if roll < 0.35 and known:
                name, phone = rng.choice(known)
                written = words.written_phone(phone, index)
            else:
                male = rng.random() < 0.5
                last = rng.choice(words.SURNAMES)[0 if male else 1]
                first = rng.choice(words.MALE_NAMES if male else words.FEMALE_NAMES)
                name = f"{last} {first}"
                number = (base + index * 7_919) % 10**7
                written = (
                    f"+7 (958) {number // 10**4:03d}-{number // 100 % 100:02d}-{number % 100:02d}"
                )
            company = (
                f"ООО «{rng.choice(words.NAME_PREFIXES)}{rng.choice(words.NAME_SUFFIXES).lower()}»"
            )
            data = {
                "name": name,
                "phone": written,
                "company": company,
                "message": f"Нужен {rng.choice(PRODUCTS)}, {rng.randrange(50, 5000)} ед. Пришлите КП.",
                "utm_source": rng.choice(["yandex", "google", "vk", ""]),
                "page_url": "https://shop.example.ru/opt",
            }
            if rng.random() < 0.6:
                data["email"] = f"bench{base}.{index}@example.ru"
            sent.append(data)
        bodies.append(urllib.parse.urlencode({**data, "_ts": started, "_hp": ""}).encode())
    return bodies


# --- the load generator ------------------------------------------------------------------------


@dataclass
class LoadResult:
    seconds: float
    accepted: int = 0
    other: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds

    def percentile(self, share: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))]

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    def cpu_per_request(self) -> str:
        if not self.accepted:
            return ""
        parts = [
            f"{name} {seconds * 1000 / self.accepted:.1f}"
            for name, seconds in self.cpu.items()
            if seconds > 0.0005
        ]
        return ", ".join(parts) + " ms CPU per accepted"


def run_load(
    *,
    port: int,
    key: str,
    bodies: list[bytes],
    counter: itertools.count,
    clients: int,
    warmup: float,
    seconds: float,
    rate: float | None = None,
    meter: CpuMeter | None = None,
) -> LoadResult:
    """``clients`` threads post ``bodies`` in turn for ``warmup`` + ``seconds`` (as fast as
    the server answers, or ``rate`` per second in all); only the last ``seconds`` count."""
    lock = threading.Lock()
    result = LoadResult(seconds=seconds)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "Origin": "https://shop.example.ru",
    }
    begin = time.perf_counter()
    record_from, stop_at = begin + warmup, begin + warmup + seconds

    def client(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        next_at = begin + (number / rate if rate else 0)
        while True:
            if rate:
                pause = next_at - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                next_at += clients / rate
            now = time.perf_counter()
            if now >= stop_at:
                break
            with lock:
                body = bodies[next(counter) % len(bodies)]
            try:
                conn.request("POST", f"/f/{key}", body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status, payload = 0, b""
            elapsed = (time.perf_counter() - now) * 1000
            if now >= record_from:
                with lock:
                    if status == 200 and b'"ok": true' in payload:
                        result.accepted += 1
                        result.latencies.append(elapsed)
                    else:
                        result.other[status] = result.other.get(status, 0) + 1

    def start_meter() -> None:
        time.sleep(max(0.0, record_from - time.perf_counter()))
        if meter:
            meter.start()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    timer = threading.Thread(target=start_meter)
    timer.start()
    for thread in threads:
        thread.start()
    timer.join()
    for thread in threads:
        thread.join()
    if meter and meter.first:
        result.cpu = meter.spent()
    return result


# --- processing measurements ---------------------------------------------------------------------


@dataclass
class Processing:
    label: str
    leads: int
    failed: int
    pending: int
    rate: float
    wall: float
    delays: list[float]
    cpu: dict[str, float]
    load: str

    def delay(self, share: float) -> float:
        ordered = sorted(self.delays)
        return (
            ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")
        )


def processing_of(first_id: int, last_id: int | None = None) -> tuple[list, int, int]:
    rows = Inbound.objects.filter(pk__gt=first_id, form__name=FORM_NAME)
    if last_id is not None:
        rows = rows.filter(pk__lte=last_id)
    done = list(
        rows.filter(status="processed").values_list("received_at", "processed_at", "lead_id")
    )
    failed = rows.filter(status="failed").count()
    pending = rows.filter(status="pending").count()
    return done, failed, pending


def last_inbound_id() -> int:
    return Inbound.objects.aggregate(top=Max("id"))["top"] or 0


def drain(args: argparse.Namespace, count: int, first_id: int) -> Processing:
    """Start ``count`` batch workers on the queued jobs and wait until they exit."""
    last_id = last_inbound_id()
    queued = Inbound.objects.filter(pk__gt=first_id, status="pending").count()
    log(f"  draining {queued:,} queued arrivals with {count} db_worker (load {load()})")
    started = time.perf_counter()
    workers = start_workers(args, count, batch=True)
    meter = CpuMeter(None, workers)
    meter.start()
    while any(worker.poll() is None for worker in workers):
        time.sleep(0.2)
        meter.observe()  # an exited worker keeps the last CPU figure read while it ran
    wall = time.perf_counter() - started
    done, failed, pending = processing_of(first_id, last_id)
    moments = [processed for _received, processed, _lead in done]
    span = (max(moments) - min(moments)).total_seconds() if len(moments) > 1 else wall
    delays = [(p - r).total_seconds() for r, p, _lead in done]
    return Processing(
        label=f"{count} db_worker",
        leads=len(done),
        failed=failed,
        pending=pending,
        rate=len(done) / span if span else float("nan"),
        wall=wall,
        delays=delays,
        cpu=meter.spent(),
        load=load(),
    )


# --- explain: the queries of one submission and of one job ---------------------------------------


def explain(form: WebForm, bodies: list[bytes]) -> None:
    from django.core.cache import caches
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    from crm.leads.services.intake import inbound_process

    def show(title: str, captured: CaptureQueriesContext) -> None:
        total = sum(float(q["time"]) for q in captured.captured_queries) * 1000
        log(f"  {title}: {len(captured.captured_queries)} queries, {total:.1f} ms in SQL")
        for query in captured.captured_queries:
            log(f"    {float(query['time']) * 1000:5.1f}  {query['sql'][:150]}")

    variants = [("database cache", settings.CACHES)]
    redis_caches = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": ARGS.redis_url,
        },
    }
    variants.append(("Redis cache", redis_caches))
    client = Client()
    for title, caches_setting in variants:
        with override_settings(CACHES=caches_setting):
            caches["default"].get("warm")
            for body in bodies[:3]:  # warm
                client.post(f"/f/{form.key}", body, content_type="application/x-www-form-urlencoded",
                            HTTP_ACCEPT="application/json")  # fmt: skip
            with CaptureQueriesContext(connection) as captured:
                response = client.post(
                    f"/f/{form.key}",
                    bodies[3],
                    content_type="application/x-www-form-urlencoded",
                    HTTP_ACCEPT="application/json",
                )
            show(f"one submission, {title} (HTTP {response.status_code})", captured)
    # One processing job of each outcome: a new person, a known client, a repeated request.
    pending = list(
        Inbound.objects.filter(form=form, status="pending")
        .order_by("id")
        .values_list("id", flat=True)
    )
    shown: set[str] = set()
    for inbound_id in pending:
        with CaptureQueriesContext(connection) as captured:
            lead = inbound_process(inbound_id)
        outcome = (
            "repeated request"
            if lead and lead.inbounds.count() > 1
            else (lead.kind if lead else "none")
        )
        if outcome not in shown:
            shown.add(outcome)
            show(f"one processing job: {outcome}", captured)


# --- setup and cleanup ------------------------------------------------------------------------------


@dataclass
class Setup:
    form: WebForm
    rule: RoutingRule
    made_state: bool
    started: dt.datetime


def setup() -> Setup:
    admin = User.objects.filter(username="admin").first()
    if admin is None:
        raise SystemExit("No admin: fill the database with bench/generate.py first.")
    if WebForm.objects.filter(name=FORM_NAME).exists():
        raise SystemExit(f"«{FORM_NAME}» exists: a run did not clean up; run with --cleanup.")
    started = timezone.now()
    team = Team.objects.get(name="Москва")
    form = webform_save(actor=admin, name=FORM_NAME, fields=FIELDS, min_fill_seconds=3,
                        allowed_origins=["https://shop.example.ru"])  # fmt: skip
    # Rules are tried by position, then id: the default «private» rule (position 0) would come
    # first for private clients, so the form asks for a company and the rule takes business.
    rule = RoutingRule.objects.create(
        name=RULE_NAME,
        position=0,
        conditions={"forms": [form.pk], "client_types": ["business", "government"]},
        pipeline=Pipeline.objects.get(name="Опт"),
        team=team,
        response_minutes=60,
    )
    made_state = not RoundRobinState.objects.filter(team=team).exists()
    return Setup(form, rule, made_state, started)


def counts() -> dict[str, int]:
    return {
        "leads": Lead.objects.count(),
        "inbound": Inbound.objects.count(),
        "timeline": TimelineEntry.objects.count(),
        "notifications": Notification.objects.count(),
        "jobs": DBTaskResult.objects.count(),
        "rules": RoutingRule.objects.count(),
        "round robin": RoundRobinState.objects.count(),
        "forms": WebForm.objects.count(),
    }


def cleanup(state: Setup | None) -> None:
    """Delete every row the run wrote (and only those)."""
    forms = list(WebForm.objects.filter(name=FORM_NAME))
    if not forms:
        return
    form_ids = [form.pk for form in forms]
    with transaction.atomic():
        lead_ids = list(Lead.objects.filter(form_id__in=form_ids).values_list("id", flat=True))
        inbound_ids = list(
            Inbound.objects.filter(form_id__in=form_ids).values_list("id", flat=True)
        )
        lead_type = ContentType.objects.get_for_model(Lead)
        lead_urls = [reverse("leads:lead_detail", args=[pk]) for pk in lead_ids]
        since = state.started if state else min(form.created_at for form in forms)
        removed = {}
        for start in range(0, max(len(lead_ids), 1), 5000):
            chunk = lead_ids[start : start + 5000]
            for name, rows in (
                ("timeline (leads)", TimelineEntry.objects.filter(
                    subject_type=lead_type, subject_id__in=chunk)),
                # "Incoming request" on the matched clients' timelines
                ("timeline (clients)", TimelineEntry.objects.filter(
                    kind="system", data__lead_id__in=chunk, occurred_at__gte=since)),
                ("notifications", Notification.objects.filter(
                    kind="lead", url__in=lead_urls[start : start + 5000])),
            ):  # fmt: skip
                removed[name] = removed.get(name, 0) + rows.delete()[0]
        removed["jobs"] = DBTaskResult.objects.filter(
            task_path__in=JOB_PATHS, enqueued_at__gte=since
        ).delete()[0]
        removed["inbound"] = Inbound.objects.filter(pk__in=inbound_ids).delete()[0]
        removed["leads"] = Lead.objects.filter(pk__in=lead_ids).delete()[0]
        removed["rules"] = RoutingRule.objects.filter(name=RULE_NAME).delete()[0]
        if state is not None and state.made_state:
            removed["round robin"] = RoundRobinState.objects.filter(
                team=state.rule.team_id
            ).delete()[0]
        removed["forms"] = WebForm.objects.filter(pk__in=form_ids).delete()[0]
    if "crm_cache" in connection.introspection.table_names():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM crm_cache WHERE cache_key LIKE %s", [":1:webform-rate:%"])
            removed["cache rows"] = cursor.rowcount
    log(f"cleanup: {removed}")
    if connection.vendor == "postgresql":
        # Autovacuum is off on the bench server: without this the deleted rows would stay
        # as dead tuples and the visibility map of the timeline would stay cleared.
        with connection.cursor() as cursor:
            for table in (
                "leads_lead",
                "leads_inbound",
                "leads_roundrobinstate",
                "activities_timelineentry",
                "notifications_notification",
                "django_tasks_database_dbtaskresult",
                "crm_cache",
            ):
                cursor.execute(f"VACUUM {table}")
        log("  VACUUM of the touched tables done")


# --- the report ------------------------------------------------------------------------------------


def intake_line(title: str, result: LoadResult) -> str:
    errors = ", ".join(f"HTTP {status}: {n}" for status, n in sorted(result.other.items()))
    return (
        f"  {title:<36} {result.rate:7.1f} accepted/s  median {result.median:6.1f} ms  "
        f"p95 {result.percentile(0.95):6.1f} ms  p99 {result.percentile(0.99):6.1f} ms  "
        f"({result.accepted:,} in {result.seconds:.0f} s{'; ' + errors if errors else ''}; "
        f"{result.cpu_per_request()}; load {load()})"
    )


ARGS: argparse.Namespace


def main() -> None:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="intake,drain1,drain2,steady,immediate")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds per load run")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds before")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=0, help="gunicorn threads (gthread)")
    parser.add_argument(
        "--one-commit",
        action="store_true",
        help="experiment: enqueue the job in the arrival's transaction (one commit, not two)",
    )
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--cache", choices=["db", "redis"], default="db")
    parser.add_argument(
        "--pg-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a PostgreSQL setting for the server's and workers' connections (a diagnostic, "
        "e.g. synchronous_commit=off to see what the commits' disk flushes cost)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--steady-rate", type=float, default=0, help="0: 70%% of drain2")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--keep", action="store_true", help="leave the rows (no cleanup)")
    parser.add_argument("--cleanup", action="store_true", help="only delete a previous run's rows")
    args = ARGS = parser.parse_args()
    vendor = connection.vendor
    name = settings.DATABASES["default"]["NAME"]
    if args.cleanup:
        cleanup(None)
        return
    contacts = Contact.objects.count()
    log(
        f"{vendor} {name}: {contacts:,} contacts, {ContactPoint.objects.count():,} contact points; "
        f"cache {args.cache}; {os.cpu_count()} CPUs; load {load()}"
    )
    before = counts()
    state = setup()
    scenarios = args.scenarios.split(",")
    results: dict[str, object] = {}
    bodies = submissions(200_000, args.seed + int(time.time()))
    counter = itertools.count()
    try:
        if args.explain:
            explain(state.form, bodies[-40:])
        run_scenarios(args, state, scenarios, bodies, counter, results)
        summary = lead_summary(state)
        log(f"  leads of the run: {summary}")
    finally:
        if not args.keep:
            cleanup(state)
            after = counts()
            if after != before:
                log(f"  counts before {before}\n  counts after  {after}")
            else:
                log(f"  counts as before the run: {after}")
    print()
    print(markdown(args, results, vendor=vendor, contacts=contacts, summary=summary))


def lead_summary(state: Setup) -> str:
    inbound = Inbound.objects.filter(form=state.form)
    leads = Lead.objects.filter(form=state.form)
    kinds = dict(leads.values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    processed = inbound.filter(status="processed").count()
    return (
        f"{inbound.count():,} arrivals, {processed:,} processed into {leads.count():,} leads "
        f"({', '.join(f'{k} {n:,}' for k, n in sorted(kinds.items()))}; "
        f"{processed - leads.count():,} repeats attached to an open lead), "
        f"{leads.filter(owner__isnull=False).count():,} assigned, "
        f"{Notification.objects.filter(kind='lead').count():,} lead notifications"
    )


def run_scenarios(
    args: argparse.Namespace,
    state: Setup,
    scenarios: list[str],
    bodies: list[bytes],
    counter: itertools.count,
    results: dict[str, object],
) -> None:
    key = state.form.key

    def load_run(title: str, server: Server, *, rate: float | None = None,
                 workers: list[subprocess.Popen] | None = None) -> LoadResult:  # fmt: skip
        result = run_load(
            port=server.port,
            key=key,
            bodies=bodies,
            counter=counter,
            clients=args.clients,
            warmup=args.warmup,
            seconds=args.seconds,
            rate=rate,
            meter=CpuMeter(server, workers or []),
        )
        log(intake_line(title, result))
        return result

    runs = []
    if "drain1" in scenarios or "intake" in scenarios:
        runs.append(("drain1", 1))
    if "drain2" in scenarios:
        runs.append(("drain2", 2))
    if runs or "steady" in scenarios:
        server = Server(args)
        try:
            server.wait_ready(key)
            for label, count in runs:
                first = last_inbound_id()
                results[f"intake/{label}"] = load_run(
                    f"intake, {args.workers} gunicorn workers", server
                )
                if label in scenarios:
                    time.sleep(0.5)
                    processing = drain(args, count, first)
                    results[label] = processing
                    cpu = ", ".join(
                        f"{k} {v * 1000 / max(1, processing.leads):.1f}"
                        for k, v in processing.cpu.items()
                        if v > 0.0005
                    )
                    log(
                        f"  processing, {processing.label:<22} {processing.rate:7.1f} leads/s "
                        f"({processing.leads:,} processed, {processing.failed} failed, "
                        f"{processing.pending} left; {processing.wall:.1f} s with start-up; "
                        f"{cpu} ms CPU per lead; load {processing.load})"
                    )
            if "steady" in scenarios:
                drained = results.get("drain2") or results.get("drain1")
                rate = args.steady_rate or (
                    0.7 * drained.rate if isinstance(drained, Processing) else 20
                )
                first = last_inbound_id()
                workers = start_workers(args, 2, batch=False)
                time.sleep(3)  # their start-up
                try:
                    results["steady/intake"] = load_run(
                        f"intake at {rate:.0f}/s, 2 db_worker busy", server, rate=rate,
                        workers=workers,
                    )  # fmt: skip
                    deadline = time.time() + 120
                    while time.time() < deadline:
                        if not Inbound.objects.filter(pk__gt=first, status="pending").exists():
                            break
                        time.sleep(0.5)
                finally:
                    stop_workers(workers)
                done, failed, pending = processing_of(first)
                delays = [(p - r).total_seconds() for r, p, _lead in done]
                processing = Processing(
                    "steady", len(done), failed, pending, rate, 0, delays, {}, load()
                )
                results["steady"] = processing
                median = statistics.median(delays) * 1000 if delays else float("nan")
                log(
                    f"  end-to-end at {rate:.0f}/s: received → processed median {median:.0f} ms, "
                    f"p95 {processing.delay(0.95) * 1000:.0f} ms, max "
                    f"{max(delays, default=float('nan')) * 1000:.0f} ms ({len(done):,} processed, "
                    f"{failed} failed, {pending} left; load {load()})"
                )
        finally:
            server.stop()
    if "immediate" in scenarios:
        first = last_inbound_id()
        server = Server(args, backend=IMMEDIATE)
        try:
            server.wait_ready(key)
            results["immediate"] = load_run("intake + processing in the request", server)
        finally:
            server.stop()
        done, failed, pending = processing_of(first)
        log(f"  (immediate: {len(done):,} processed, {failed} failed, {pending} pending)")


def markdown(
    args: argparse.Namespace, results: dict, *, vendor: str, contacts: int, summary: str
) -> str:
    title = "PostgreSQL" if vendor == "postgresql" else "SQLite"
    env = (
        f"DATABASE_URL={os.environ.get('DATABASE_URL', '')}"
        if vendor == "postgresql"
        else f"CRM_VAR_DIR={os.environ.get('CRM_VAR_DIR', 'var')}"
    )
    lines = [
        f"### Lead intake, {title}, {contacts:,} contacts, cache: {args.cache}"
        + (", one commit (experiment)" if args.one_commit else "")
        + "".join(f", {setting}" for setting in args.pg_setting),
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores; "
        f"load average at the end {load()} (other jobs share the machine)",
        f"- command: `{env} .venv/bin/python bench/leads_intake.py {' '.join(sys.argv[1:])}`",
        f"- gunicorn {args.workers} {'sync' if not args.threads else f'gthread ×{args.threads}'} "
        f"workers{' with the one-commit experiment' if args.one_commit else ''}"
        f"{''.join(f', PostgreSQL {setting}' for setting in args.pg_setting)}, "
        f"{args.clients} client threads on the same machine; accepted = HTTP 200 with `ok`",
        f"- {summary}",
        "",
        "| scenario | accepted/s | median, ms | p95, ms | p99, ms | CPU per submission, ms |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for key, label in (
        ("intake/drain1", "intake (DB job backend, no worker)"),
        ("intake/drain2", "intake again (before the 2-worker drain)"),
        ("steady/intake", "intake while 2 db_worker process"),
        ("immediate", "intake + processing in the request (immediate backend)"),
    ):
        result = results.get(key)
        if isinstance(result, LoadResult):
            lines.append(
                f"| {label} | {result.rate:.0f} | {result.median:.1f} | "
                f"{result.percentile(0.95):.1f} | {result.percentile(0.99):.1f} | "
                f"{result.cpu_per_request().removesuffix(' ms CPU per accepted')} |"
            )
    lines += [
        "",
        "| processing | leads/s | arrivals | received → processed, median ms | p95, ms "
        "| CPU per lead, ms |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for key in ("drain1", "drain2", "steady"):
        p = results.get(key)
        if not isinstance(p, Processing):
            continue
        cpu = ", ".join(
            f"{k} {v * 1000 / max(1, p.leads):.1f}" for k, v in p.cpu.items() if v > 0.0005
        )
        if key == "steady":
            median = statistics.median(p.delays) * 1000 if p.delays else float("nan")
            lines.append(
                f"| steady: {p.rate:.0f} submissions/s, 2 db_worker (poll 1 s) | | {p.leads:,} "
                f"| {median:.0f} | {p.delay(0.95) * 1000:.0f} | |"
            )
        else:
            workers = 1 if key == "drain1" else 2
            lines.append(
                f"| drain of the queue, {workers} db_worker | {p.rate:.1f} | {p.leads:,} "
                f"| (queued first) | | {cpu} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

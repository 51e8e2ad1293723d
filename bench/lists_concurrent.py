"""The contact list under concurrent use, side by side with the bare-Django floor (issue 20,
part 4).

On a database with a customer base (``bench/generate.py``: PostgreSQL through
``DATABASE_URL``, or SQLite under ``CRM_VAR_DIR``)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_crm .venv/bin/python bench/lists_concurrent.py
    … --user head --workers 2 --clients 4 --seconds 20 --rounds 3

Two servers under gunicorn with ``--workers`` sync workers and the gunicorn settings of
``docs/operations.md`` (``CRM_DEBUG=0``, ``CRM_DB_CONN_MAX_AGE=60``):

- the floor, ``bench/floor.py``: one Django view without middleware, sessions or apps that
  reads the newest 50 contacts and their owner's name in one query and renders a table;
- the CRM: ``GET /customers/contacts/`` signed in as ``--user`` (a session made here), the
  page a browser gets.

Then, ``--rounds`` times, for each server in turn: ``--clients`` threads request the page as
fast as they can for ``--seconds`` (each request on a new connection, as gunicorn's sync
workers close it): requests per second, median and 95th percentile latency; and the CRM's
rate as a share of the floor's in the same round. The load average is printed with each
round: the figures are only comparable on a quiet machine. Numbers only: nothing asserted.

``--cpu N`` instead measures the CPU time of N requests of the CRM's page in this process
(Django's test ``Client``): median and 95th percentile in ms, and the queries of one request.
The CPU time of one process is little disturbed by other processes' load, unlike a
concurrent run; the database's own time is not in it.

``--profile N`` instead profiles N requests of the CRM's page in this process (Django's test
``Client``, the same middleware, session and template) and prints where the time goes by
layer: middleware, the view's queries, template rendering.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")
os.environ.setdefault("CRM_DEBUG", "0")
os.environ.setdefault("CRM_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("CRM_DB_CONN_MAX_AGE", "60")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from crm.accounts.models import User  # noqa: E402
from crm.customers.models import Contact  # noqa: E402

GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
PATH = "/customers/contacts/"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Server:
    """gunicorn serving ``app`` on ``port`` with the CRM's environment."""

    def __init__(self, app: list[str], port: int, workers: int) -> None:
        self.port = port
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        command = [GUNICORN, "--workers", str(workers), "--bind", f"127.0.0.1:{port}"]
        command += ["--log-level", "warning", "--timeout", "120", *app]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)

    def wait_ready(self, cookie: str) -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if get(self.port, cookie)[0] == 200:
                    for _ in range(20):  # every worker answers before the clock starts
                        get(self.port, cookie)
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise SystemExit("gunicorn exited; see its output above")
            time.sleep(0.3)
        raise SystemExit("gunicorn did not answer in 60 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)


def get(port: int, cookie: str) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", PATH, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        conn.close()


def hammer(port: int, cookie: str, clients: int, seconds: float) -> dict[str, float]:
    """``clients`` threads for ``seconds``: rate, median and p95 latency (ms)."""
    latencies: list[float] = []
    failures: list[int] = []
    stop = time.perf_counter() + seconds

    def run() -> None:
        mine: list[float] = []
        while time.perf_counter() < stop:
            status, took = get(port, cookie)
            if status != 200:
                failures.append(status)
            mine.append(took)
        latencies.extend(mine)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} answers were not 200: {sorted(set(failures))}")
    latencies.sort()
    return {
        "rate": len(latencies) / wall,
        "median": statistics.median(latencies) * 1000,
        "p95": latencies[int(0.95 * (len(latencies) - 1))] * 1000,
    }


def session_cookie(username: str) -> str:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def profile(username: str, count: int) -> None:
    import cProfile
    import pstats

    client = Client()
    client.force_login(User.objects.get(username=username))
    for _ in range(10):
        assert client.get(PATH).status_code == 200
    started = time.perf_counter()
    for _ in range(count):
        client.get(PATH)
    print(f"{(time.perf_counter() - started) / count * 1000:.1f} ms per request (test Client)")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        client.get(PATH)
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(r"crm/|template/base|db/backends/utils|sessions", 40)


def cpu(username: str, count: int, path: str) -> None:
    from django.db import connection as db

    client = Client()
    client.force_login(User.objects.get(username=username))
    for _ in range(20):
        assert client.get(path).status_code == 200
    queries: list[str] = []

    def record(execute: Any, sql: str, *args: Any) -> Any:
        queries.append(sql)
        return execute(sql, *args)

    with db.execute_wrapper(record):
        client.get(path)
    spent, walls = [], []
    for _ in range(count):
        started, clock = time.process_time(), time.perf_counter()
        client.get(path)
        spent.append((time.process_time() - started) * 1000)
        walls.append((time.perf_counter() - clock) * 1000)
    spent.sort()
    print(
        f"{path} as {username}, {count} requests, {len(queries)} queries, load {load()}: "
        f"CPU median {statistics.median(spent):.2f} ms, p95 {spent[int(0.95 * (count - 1))]:.2f}"
        f" ms; wall median {statistics.median(walls):.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--user", default="head")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8931)
    parser.add_argument("--profile", type=int, default=0, help="profile N requests instead")
    parser.add_argument("--cpu", type=int, default=0, help="CPU time of N requests instead")
    parser.add_argument("--path", default=PATH, help="the page of --cpu (a list)")
    options = parser.parse_args()
    if options.cpu:
        cpu(options.user, options.cpu, options.path)
        return
    if options.profile:
        profile(options.user, options.profile)
        return
    cookie = session_cookie(options.user)
    contacts = Contact.objects.count()
    floor = Server(
        ["--pythonpath", str(ROOT / "bench"), "floor:application"], options.port, options.workers
    )
    crm = Server(["crm.config.wsgi"], options.port + 1, options.workers)
    try:
        floor.wait_ready("")
        crm.wait_ready(cookie)
        print(
            f"{connection.vendor}, {contacts:,} contacts, {options.workers} workers, "
            f"{options.clients} clients, {options.seconds:.0f} s per run, as {options.user}"
        )
        print(
            "| round | load before | floor req/s | floor p50 / p95, ms | CRM req/s | "
            "CRM p50 / p95, ms | CRM / floor |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|")
        for number in range(1, options.rounds + 1):
            before = load()
            bare = hammer(floor.port, "", options.clients, options.seconds)
            page = hammer(crm.port, cookie, options.clients, options.seconds)
            print(
                f"| {number} | {before} | {bare['rate']:.1f} | {bare['median']:.1f} / "
                f"{bare['p95']:.1f} | {page['rate']:.1f} | {page['median']:.1f} / "
                f"{page['p95']:.1f} | {page['rate'] / bare['rate']:.2f} |",
                flush=True,
            )
    finally:
        floor.stop()
        crm.stop()


if __name__ == "__main__":
    main()

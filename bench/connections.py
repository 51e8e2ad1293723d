"""Count PostgreSQL connections while each documented way of serving the CRM is under load.

::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_connections \\
        .venv/bin/python bench/connections.py [--requests 3000] [--clients 8] [--port 8102]

What it does:

1. Creates the database when it is missing, migrates it and makes one administrator
   (``bench-connections``).
2. For each scenario starts the server on ``--port`` with the environment that way of serving
   gets, signs in, then ``--clients`` threads send ``--requests`` GETs of the contact list in
   all, each on a new TCP connection (as browsers open several; the development server starts
   a thread per connection). A monitor samples ``pg_stat_activity`` for the database every
   0.1 s. Reported: connections before the load, the peak during it, and the count (and how
   many idle) 2 s after the last answer, while the server still runs; the answers that were
   not 200.

   - ``runserver``: ``make run``'s way (``scripts/dev_env.sh``: ``CRM_DB_CONN_MAX_AGE=0``,
     debug on, ``runserver --noreload``).
   - ``runserver, max age 60``: the same with ``CRM_DB_CONN_MAX_AGE=60``, what the settings
     did before (``conn_max_age=60`` for every server): the connections a thread opened stay.
   - ``gunicorn sync``: ``docs/operations.md``'s command line, 4 sync workers,
     ``CRM_DB_CONN_MAX_AGE=60``.
   - ``gunicorn gthread``: 2 workers x 4 threads, ``CRM_DB_CONN_MAX_AGE=60``.

Numbers only: nothing is asserted. This process keeps no connection to the database it
measures (the monitor connects to ``postgres``).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
USERNAME = "bench-connections"
PASSWORD = "bench-connections-2026"  # noqa: S105 - a throwaway account of the bench database
PAGE = "/customers/contacts/"


@dataclass
class Scenario:
    name: str
    command: list[str]
    env: dict[str, str]


@dataclass
class Result:
    scenario: str
    before: int
    peak: int = 0
    after: int = 0
    after_idle: int = 0
    answers: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0


def scenarios(port: int) -> list[Scenario]:
    bind = f"127.0.0.1:{port}"
    runserver = [PYTHON, "manage.py", "runserver", bind, "--noreload", "--skip-checks"]
    gunicorn = [GUNICORN, "crm.config.wsgi", "-b", bind, "--forwarded-allow-ips=127.0.0.1"]
    return [
        Scenario("runserver (make run)", runserver, {"CRM_DEBUG": "1", "CRM_DB_CONN_MAX_AGE": "0"}),
        Scenario(
            "runserver, max age 60 (before; --before)",
            runserver,
            {"CRM_DEBUG": "1", "CRM_DB_CONN_MAX_AGE": "60"},
        ),
        Scenario("gunicorn sync -w 4", [*gunicorn, "-w", "4"], {"CRM_DB_CONN_MAX_AGE": "60"}),
        Scenario(
            "gunicorn gthread -w 2 --threads 4",
            [*gunicorn, "-w", "2", "-k", "gthread", "--threads", "4"],
            {"CRM_DB_CONN_MAX_AGE": "60"},
        ),
    ]


def admin_dsn(url: str) -> tuple[str, str]:
    """The DSN of the ``postgres`` database on the same server, and the measured database."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def connections(monitor: psycopg.Connection, database: str) -> tuple[int, int]:
    row = monitor.execute(
        "SELECT count(*), count(*) FILTER (WHERE state = 'idle') FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        [database],
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def prepare(url: str, env: dict[str, str]) -> None:
    dsn, database = admin_dsn(url)
    with psycopg.connect(dsn, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            admin.execute(f'CREATE DATABASE "{database}"')
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    subprocess.run([PYTHON, "manage.py", "createcachetable"], cwd=ROOT, env=env, check=True)
    script = (
        "from crm.accounts.models import User; from crm.core.permissions import Role\n"
        f"user, _ = User.objects.get_or_create(username={USERNAME!r}, defaults={{'role': Role.ADMIN}})\n"
        f"user.set_password({PASSWORD!r}); user.is_active = True; user.save()\n"
    )
    subprocess.run([PYTHON, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True)


def request(
    port: int, method: str, path: str, *, body: str = "", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        cookies = {}
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                cookies[key] = rest.split(";", 1)[0]
        return response.status, cookies, text
    finally:
        conn.close()


def sign_in(port: int) -> str:
    """The ``Cookie`` header of a signed-in session."""
    _, cookies, html = request(port, "GET", "/accounts/login/")
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token on the sign-in page"
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": match.group(1), "username": USERNAME, "password": PASSWORD}
    )
    status, signed_in, _ = request(
        port,
        "POST",
        "/accounts/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookies['csrftoken']}",
            "Referer": f"http://127.0.0.1:{port}/accounts/login/",
        },
    )
    assert status == 302 and "sessionid" in signed_in, f"sign-in answered {status}"
    return f"csrftoken={cookies['csrftoken']}; sessionid={signed_in['sessionid']}"


def wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            request(port, "GET", "/accounts/login/")
        except OSError:
            time.sleep(0.1)
        else:
            return
    raise RuntimeError("the server did not answer in 30 s")


def measure(
    scenario: Scenario, *, url: str, base_env: dict[str, str], port: int, total: int, clients: int
) -> Result:
    dsn, database = admin_dsn(url)
    env = {**base_env, **scenario.env}
    process = subprocess.Popen(
        scenario.command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_ready(port, process)
        cookie = sign_in(port)
        request(port, "GET", PAGE, headers={"Cookie": cookie})
        with psycopg.connect(dsn, autocommit=True) as monitor:
            result = Result(scenario.name, before=connections(monitor, database)[0])
            done = threading.Event()
            lock = threading.Lock()

            def sample() -> None:
                with psycopg.connect(dsn, autocommit=True) as own:
                    while not done.is_set():
                        result.peak = max(result.peak, connections(own, database)[0])
                        time.sleep(0.1)

            def client(count: int) -> None:
                for _ in range(count):
                    try:
                        status, _, _ = request(port, "GET", PAGE, headers={"Cookie": cookie})
                    except OSError:
                        status = 0
                    with lock:
                        result.answers[status] += 1

            sampler = threading.Thread(target=sample)
            sampler.start()
            started = time.monotonic()
            threads = [
                threading.Thread(target=client, args=(total // clients,)) for _ in range(clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            result.seconds = time.monotonic() - started
            done.set()
            sampler.join()
            time.sleep(2)
            result.after, result.after_idle = connections(monitor, database)
        return result
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--port", type=int, default=8102)
    parser.add_argument("--only", help="run the scenarios whose name contains this text")
    parser.add_argument(
        "--before", action="store_true", help="also the leaking set-up of before (see above)"
    )
    options = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        print("Set DATABASE_URL to a PostgreSQL database.", file=sys.stderr)
        return 2
    base_env = {name: value for name, value in os.environ.items() if not name.startswith("CRM_")}
    base_env |= {
        "DJANGO_SETTINGS_MODULE": "crm.config.settings",
        "CRM_SECRET_KEY": "bench-connections-" + "k" * 40,
        "CRM_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CRM_LOGIN_THROTTLE_ADDRESS_LIMIT": "1000",
    }
    prepare(url, base_env)
    print(
        f"load average {os.getloadavg()[0]:.1f}; {options.requests} requests, {options.clients} clients"
    )
    print("| server | before | peak under load | after (idle) | answers | requests/s |")
    print("|---|---:|---:|---:|---|---:|")
    for scenario in scenarios(options.port):
        if options.only and options.only not in scenario.name:
            continue
        if "--before" in scenario.name and not options.before:
            continue
        result = measure(
            scenario,
            url=url,
            base_env=base_env,
            port=options.port,
            total=options.requests,
            clients=options.clients,
        )
        answers = ", ".join(
            f"{count} x {status}" for status, count in sorted(result.answers.items())
        )
        rate = sum(result.answers.values()) / result.seconds
        print(
            f"| {result.scenario} | {result.before} | {result.peak} | "
            f"{result.after} ({result.after_idle}) | {answers} | {rate:.0f} |",
            flush=True,
        )
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

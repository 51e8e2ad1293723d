"""Fire concurrent wrong-password sign-ins at one account under gunicorn and count how many
passwords the server actually checked.

::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_throttle_bench \
        .venv/bin/python bench/login_throttle.py
    CRM_VAR_DIR=/tmp/bench-throttle-sqlite .venv/bin/python bench/login_throttle.py

What it does:

1. Migrates the database (and makes the cache table), creates the account ``bench-victim``
   with the production password hasher, and deletes the security log rows and login
   throttle counters of earlier runs.
2. Starts gunicorn (``--workers`` sync workers, 4 by default) on ``--port`` (8201) with
   ``CRM_LOGIN_THROTTLE_ACCOUNT_LIMIT=--limit`` (5) and the database cache (no Redis).
3. ``--clients`` threads (40) each open the sign-in page (own cookies and CSRF token), wait
   at a barrier and post a wrong password for ``bench-victim`` at the same moment.
   Scenarios:

   - ``one-address``: every client from 127.0.0.1 (the per account-and-address counter);
   - ``spread``: gunicorn trusts 127.0.0.1 as a proxy (``CRM_TRUSTED_PROXIES``) and each
     client sends its own ``X-Forwarded-For`` address (the per-account counter across
     addresses, ``CRM_LOGIN_THROTTLE_ACCOUNT_WIDE_LIMIT``, also ``--limit``). On code
     without trusted proxies the header is ignored and this is the same as ``one-address``.

4. Counts the answers by status and the security log rows: every ``login_failed`` row is a
   password the server checked (the backend writes it after the hash comparison), every
   ``login_throttled`` row an attempt refused before it. ``--rounds`` repeats each scenario
   from clean counters.

Nothing is asserted; the "checked" column must be at most the limit.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
USERNAME = "bench-victim"
PASSWORD = "Bench-right-password-7"  # noqa: S105 - a throwaway account of the benchmark
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def base_env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CRM_REDIS_URL", None)
    env.update(
        CRM_DEBUG="0",
        CRM_SECRET_KEY="bench-throttle-secret-key-not-for-production-0123456789abcdef",  # noqa: S106
        CRM_ALLOWED_HOSTS="127.0.0.1,localhost",
        CRM_LOGIN_THROTTLE_ACCOUNT_LIMIT=str(args.limit),
        CRM_LOGIN_THROTTLE_ACCOUNT_WIDE_LIMIT=str(args.limit),
        CRM_LOGIN_THROTTLE_ADDRESS_LIMIT="1000",
        PYTHONUNBUFFERED="1",
    )
    if not env.get("DATABASE_URL") and not env.get("CRM_VAR_DIR"):
        env["CRM_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-throttle-")
    return env


def manage(env: dict[str, str], *command: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return result.stdout.decode()


PREPARE = f"""
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from crm.accounts.models import SecurityEvent, User
user, _ = User.objects.get_or_create(username={USERNAME!r})
user.password = make_password({PASSWORD!r})
user.is_active = True
user.save()
SecurityEvent.objects.filter(username={USERNAME!r}).delete()
cache.clear()
try:
    from crm.core.models import Counter
except ImportError:
    pass
else:
    Counter.objects.all().delete()
print(user.password.split("$")[0])
"""

COUNT = f"""
import collections
from crm.accounts.models import SecurityEvent
rows = SecurityEvent.objects.filter(username={USERNAME!r})
kinds = dict(collections.Counter(rows.values_list("kind", flat=True)))
addresses = rows.order_by().values_list("ip_address", flat=True).distinct().count()
print(f"{{kinds}} from {{addresses}} address(es)")
"""


class Server:
    def __init__(self, args: argparse.Namespace, env: dict[str, str]) -> None:
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
            "crm.config.wsgi",
        ]
        # The server's log (a line per attempt in the security log) goes to a file.
        self.output = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="bench-throttle-gunicorn-", suffix=".log"
        )
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(self.url("/accounts/login/"), timeout=5).status_code == 200:
                    for _ in range(3 * args.workers):
                        requests.get(self.url("/accounts/login/"), timeout=5)
                    return
            except requests.RequestException:
                pass
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited: {Path(self.output.name).read_text()}")
            time.sleep(0.3)
        self.stop()
        raise SystemExit("gunicorn did not answer in 60 s")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.output.close()


def attack(server: Server, clients: int, *, spread: bool) -> collections.Counter[int]:
    """Post ``clients`` wrong passwords at once; the answers' status codes."""
    barrier = threading.Barrier(clients)
    statuses: collections.Counter[int] = collections.Counter()
    lock = threading.Lock()

    def client(number: int) -> None:
        session = requests.Session()
        headers = {"X-Forwarded-For": f"198.51.100.{number + 1}"} if spread else {}
        page = session.get(server.url("/accounts/login/"), headers=headers, timeout=30)
        match = CSRF_RE.search(page.text)
        token = match.group(1) if match else ""
        barrier.wait(timeout=60)
        response = session.post(
            server.url("/accounts/login/"),
            data={
                "username": USERNAME,
                "password": f"wrong-{number}",
                "csrfmiddlewaretoken": token,
            },
            headers=headers,
            allow_redirects=False,
            timeout=120,
        )
        with lock:
            statuses[response.status_code] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8201)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--scenario", choices=["one-address", "spread"], action="append", default=None
    )
    args = parser.parse_args()
    scenarios = args.scenario or ["one-address", "spread"]
    env = base_env(args)
    database = env.get("DATABASE_URL") or f"SQLite in {env['CRM_VAR_DIR']}"
    log(f"database: {database}; load average {os.getloadavg()}")
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "createcachetable")
    for scenario in scenarios:
        server_env = dict(env)
        if scenario == "spread":
            server_env["CRM_TRUSTED_PROXIES"] = "127.0.0.1"
        for number in range(1, args.rounds + 1):
            hasher = manage(env, "shell", "-v", "0", "-c", PREPARE).strip()
            server = Server(args, server_env)
            try:
                started = time.monotonic()
                statuses = attack(server, args.clients, spread=scenario == "spread")
                elapsed = time.monotonic() - started
            finally:
                server.stop()
            kinds = manage(env, "shell", "-v", "0", "-c", COUNT).strip()
            log(
                f"{scenario} round {number}: {args.clients} clients, limit {args.limit}, "
                f"{args.workers} workers, hasher {hasher}: answers {dict(statuses)}, "
                f"security log {kinds}, {elapsed:.1f} s, load {os.getloadavg()[0]:.1f}"
            )


if __name__ == "__main__":
    main()

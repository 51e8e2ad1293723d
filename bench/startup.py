"""Measure the start-up cost: CPU of ``manage.py check`` and the memory of a web and a job worker.

On SQLite in a scratch directory (``--var``, filled by ``manage.py demo`` on the first run):

- ``manage.py check``: CPU (user + sys) of the whole process, the median of ``--runs`` after one
  warm run. Run it without ``PYTHONDONTWRITEBYTECODE`` so the bytecode cache is used, as on a
  deployed server (with the variable set every run compiles all sources, about 0.3 s more).
- A gunicorn worker (``--workers 1``): resident memory (VmRSS) after it signs in
  and serves a few pages (home, contacts, deals, tasks, plans, the OpenAPI document) as the demo head of sales.
- ``manage.py db_worker``: resident memory after it has started and stays idle.

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python bench/startup.py
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import resource
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
PAGES = [
    "/",
    "/customers/contacts/",
    "/sales/deals/",
    "/tasks/",
    "/reports/plans/",
    "/api/v1/openapi.json",
]
PASSWORD = "demo-password-2026"  # noqa: S105 - the published demo password


def child_cpu(cmd: list[str], env: dict[str, str]) -> float:
    """CPU seconds (user + sys) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def children(pid: int) -> list[int]:
    """Ids of the direct children of ``pid``."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()]


def serve_pages(base: str) -> None:
    """Sign in as the demo head of sales and fetch PAGES once each."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(f"{base}/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token, "no CSRF token on the sign-in page"
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token.group(1), "username": "head", "password": PASSWORD}
    ).encode()
    login = f"{base}/accounts/login/"
    request = urllib.request.Request(login, data=data, headers={"Referer": base})  # noqa: S310
    opener.open(request).read()
    for page in PAGES:
        with opener.open(f"{base}{page}") as response:
            response.read()
            assert response.status == 200, (page, response.status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--var", default=str(Path(tempfile.gettempdir()) / "crm-startup-bench"))
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    env = dict(
        os.environ,
        CRM_VAR_DIR=args.var,
        CRM_DEBUG="0",
        DJANGO_SETTINGS_MODULE="crm.config.settings",
    )
    env.pop("DATABASE_URL", None)
    manage = [PY, "manage.py"]
    if not (Path(args.var) / "crm.sqlite3").exists():
        subprocess.run([*manage, "demo"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)

    child_cpu([*manage, "check"], env)  # warm: the bytecode cache, the page cache
    times = [child_cpu([*manage, "check"], env) for _ in range(args.runs)]
    median, least = statistics.median(times), min(times)
    print(f"manage.py check CPU: median {median:.2f} s, least {least:.2f} s of {len(times)} runs")

    bind = f"127.0.0.1:{args.port}"
    gunicorn = [str(ROOT / ".venv" / "bin" / "gunicorn"), "--workers", "1", "--bind", bind]
    server = subprocess.Popen([*gunicorn, "crm.config.wsgi:application"], env=env, cwd=ROOT)
    try:
        for _ in range(100):
            time.sleep(0.2)
            try:
                urllib.request.urlopen(f"http://{bind}/accounts/login/").read()
                break
            except OSError:
                continue
        print(f"gunicorn worker RSS after start: {rss_mb(children(server.pid)[0]):.0f} MB")
        serve_pages(f"http://{bind}")
        serve_pages(f"http://{bind}")
        print(f"gunicorn worker RSS after pages: {rss_mb(children(server.pid)[0]):.0f} MB")
    finally:
        server.terminate()
        server.wait()

    worker = subprocess.Popen(
        [*manage, "db_worker", "--interval", "1", "--no-reload"], env=env, cwd=ROOT
    )
    try:
        time.sleep(8)
        print(f"db_worker RSS idle: {rss_mb(worker.pid):.0f} MB")
    finally:
        worker.terminate()
        worker.wait()


if __name__ == "__main__":
    main()

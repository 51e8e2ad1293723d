"""Kill -9 the API server under writes, restart it, retry every write with its
Idempotency-Key: no duplicate, and every write committed before the kill answered from its
stored answer (issue 11, finding 9).

Needs a migrated, empty database in ``DATABASE_URL`` (PostgreSQL) and a free port::

    createdb -h 127.0.0.1 -U postgres bench_idem
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_idem .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_idem \\
        .venv/bin/python bench/idempotency_kill.py --port 8401 --requests 400 --kill-after 3

It starts gunicorn (4 workers, 2 threads), sends ``--requests`` contact creations at once,
each with its own key, kills the server (SIGKILL to the master and its workers) after
``--kill-after`` seconds, restarts it and sends every request again with the same key.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")


def _django():
    import django

    django.setup()


def _token() -> str:
    from crm.accounts.models import User
    from crm.accounts.services import api_token_create

    user, _created = User.objects.get_or_create(username="bench-idempotency")
    return api_token_create(user=user, name="bench")[1]


def _serve(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "crm.config.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            "--workers=4",
            "--threads=2",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(60):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=10)
            return server
        except OSError:  # not listening yet, or still starting
            time.sleep(0.5)
    server.terminate()
    server.wait()
    raise SystemExit("the server did not start")


def _kill(server: subprocess.Popen[bytes]) -> None:
    children = subprocess.run(
        ["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    for pid in [*children, str(server.pid)]:
        os.kill(int(pid), signal.SIGKILL)
    server.wait()


def _send(port: int, token: str, keys: list[str]) -> dict[str, tuple[object, str | None]]:
    answers: dict[str, tuple[object, str | None]] = {}

    def one(key: str) -> None:
        body = {
            "last_name": f"Bench{key[:8]}",
            "first_name": "Иван",
            "phones": [{"value": f"+7913{int(key[:7], 16) % 10**7:07d}"}],
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/contacts",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                answers[key] = (response.status, response.headers.get("Idempotent-Replayed"))
        except urllib.error.HTTPError as error:
            answers[key] = (error.code, error.headers.get("Idempotent-Replayed"))
        except Exception:  # the server was killed under this request
            answers[key] = ("lost", None)

    threads = [threading.Thread(target=one, args=(key,)) for key in keys]
    for index, thread in enumerate(threads):
        thread.start()
        if index % 16 == 15:
            time.sleep(0.01)
    for thread in threads:
        thread.join()
    return answers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8401)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--kill-after", type=float, default=3.0)
    args = parser.parse_args()
    _django()
    from crm.api.models import IdempotentRequest
    from crm.customers.models import Contact

    token = _token()
    keys = [uuid.uuid4().hex for _ in range(args.requests)]
    server = _serve(args.port)
    first: dict[str, tuple[object, str | None]] = {}
    sender = threading.Thread(target=lambda: first.update(_send(args.port, token, keys)))
    sender.start()
    time.sleep(args.kill_after)
    _kill(server)
    sender.join()
    contacts = Contact.objects.filter(last_name__in=[f"Bench{key[:8]}" for key in keys])
    committed = contacts.count()
    stored = IdempotentRequest.objects.filter(key__in=keys).count()
    answered = sum(1 for status, _replayed in first.values() if status == 201)
    print(f"before the kill: {answered} answered 201, {committed} committed, {stored} stored")
    print(f"  committed but never answered: {committed - answered}")

    server = _serve(args.port)
    try:
        retry = _send(args.port, token, keys)
    finally:
        server.terminate()
        server.wait()
    statuses = Counter(status for status, _replayed in retry.values())
    replayed = sum(1 for _status, replayed in retry.values() if replayed == "true")
    total = contacts.count()
    distinct = contacts.values("last_name").distinct().count()
    print(f"retry: {dict(statuses)}, {replayed} answered from the stored answer")
    print(f"contacts: {total} for {len(keys)} keys, {distinct} distinct")
    if total != len(keys) or distinct != len(keys) or replayed != committed:
        raise SystemExit("FAILED: duplicates or lost writes")


if __name__ == "__main__":
    main()

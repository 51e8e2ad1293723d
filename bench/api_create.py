"""Measure creating contacts through the REST API: ``POST /api/v1/contacts`` with a personal
API token, in this process through Django's test client (every middleware, the token's
check, the schema, the service with its duplicate check, the timeline entry and the
commit; not the network or gunicorn).

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_crm   # bench/generate.py
    .venv/bin/python bench/api_create.py --count 300 --user m01
    .venv/bin/python bench/api_create.py --count 200 --profile      # where the time goes

Each contact has a surname and a first name taken from two different contacts of the base
(namesakes happen, so the duplicate check has candidates), a patronymic, a new phone and a
new e-mail; 10% also have a birthday. The contacts made are deleted at the end
(``--keep`` to leave them). Prints the median, p95 and maximum milliseconds and the queries
per request.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from crm.accounts.models import APIToken, User  # noqa: E402
from crm.accounts.services import api_token_create  # noqa: E402
from crm.customers.models import Contact  # noqa: E402


def _payloads(count: int, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    top = Contact.objects.order_by("-id").values_list("id", flat=True).first() or 0
    names = list(
        Contact.objects.filter(id__in=[rng.randint(1, top) for _ in range(count * 3)])
        .exclude(first_name="")
        .values_list("last_name", "first_name", "middle_name")[: count * 2]
    )
    payloads = []
    for number in range(count):
        last, _first, middle = names[(2 * number) % len(names)]
        first = names[(2 * number + 1) % len(names)][1]
        payload: dict[str, object] = {
            "last_name": last,
            "first_name": first,
            "middle_name": middle,
            "phones": [{"value": f"+7998{seed % 1000:03d}{number:04d}"}],
            "emails": [{"value": f"api{seed}.{number}@example.org"}],
        }
        if number % 10 == 0:
            payload["birthday"] = f"19{60 + number % 40}-0{1 + number % 9}-1{number % 9}"
        payloads.append(payload)
    return payloads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--user", default="admin")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--queries", action="store_true", help="print the statements of the last request, timed"
    )
    args = parser.parse_args()
    user = User.objects.get(username=args.user)
    token, secret = api_token_create(user=user, name="bench api_create")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_HOST="localhost")
    payloads = _payloads(args.count, args.seed)
    # one request first: imports, the URL resolver and the first connection are not measured
    client.post("/api/v1/contacts", data=json.dumps(payloads[0]), content_type="application/json")
    made, times, queries, duplicates = [], [], [], 0
    profiler = cProfile.Profile() if args.profile else None
    for payload in payloads[1:]:
        with CaptureQueriesContext(connection) as captured:
            if profiler:
                profiler.enable()
            started = time.perf_counter()
            response = client.post(
                "/api/v1/contacts", data=json.dumps(payload), content_type="application/json"
            )
            times.append((time.perf_counter() - started) * 1000)
            if profiler:
                profiler.disable()
        queries.append(len(captured))
        if response.status_code == 201:
            made.append(response.json()["id"])
        elif response.status_code == 409:
            duplicates += 1
        else:
            raise SystemExit(f"{response.status_code}: {response.content[:300]!r}")
    times.sort()
    print(
        f"{len(times)} requests as {args.user}: median {statistics.median(times):.1f} ms, "
        f"p95 {times[int(len(times) * 0.95) - 1]:.1f} ms, max {times[-1]:.1f} ms; "
        f"queries median {statistics.median(queries):.0f} (max {max(queries)}); "
        f"{len(made)} created, {duplicates} refused as exact duplicates; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    if args.queries:
        for query in captured.captured_queries:
            print(f"{float(query['time']) * 1000:6.1f} ms  {query['sql'][:150]}")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(
            int(os.environ.get("BENCH_PROFILE_LINES", "35"))
        )
        print(out.getvalue())
    if not args.keep:
        Contact.objects.filter(pk__in=made).delete()
    APIToken.objects.filter(pk=token.pk).delete()


if __name__ == "__main__":
    main()

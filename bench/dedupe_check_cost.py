"""What the duplicate check on create costs: queries and milliseconds per check.

Run against a database already loaded by ``bench/dedupe_eval.py`` (it keeps the contacts):
each sample is an existing contact's name, birthday, phones, e-mails, addresses and
employers, checked as a new contact would be (``contact_duplicates_find`` as the create
service calls it, its own record excluded), as the administrator.

    CRM_VAR_DIR=/tmp/dedupe-ru .venv/bin/python bench/dedupe_check_cost.py --samples 500

or against the base of ``bench/generate.py`` (1,000,000 contacts) as one of its users::

    DATABASE_URL=…/bench_crm .venv/bin/python bench/dedupe_check_cost.py --user admin
"""

from __future__ import annotations

import argparse
import os
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
from django.test.utils import CaptureQueriesContext  # noqa: E402

from crm.accounts.models import User  # noqa: E402
from crm.customers.models import Contact  # noqa: E402
from crm.customers.services import contact_duplicates_find  # noqa: E402
from crm.customers.services.duplicates import contact_details  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument(
        "--user", default="dedupe-admin", help="who checks (bench/generate.py: admin, head, m01)"
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also print each query's median and p95 (its SQL time as the cursor saw it)",
    )
    args = parser.parse_args()
    actor = User.objects.get(username=args.user)
    ids = list(Contact.objects.live().values_list("pk", flat=True))
    chosen = random.Random(7).sample(ids, min(args.samples, len(ids)))
    rows = Contact.objects.filter(pk__in=chosen).values_list(
        "pk", "last_name", "first_name", "middle_name", "birthday"
    )
    details = contact_details(chosen)
    times, queries, found = [], [], []
    by_query: dict[int, list[float]] = {}
    for pk, last, first, middle, birthday in rows:
        points, addresses, companies = details.get(pk, ([], [], []))
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            candidates = contact_duplicates_find(
                actor=actor,
                last_name=last,
                first_name=first,
                middle_name=middle,
                birthday=birthday,
                points=points,
                addresses=addresses,
                company_ids=companies,
                exclude_id=pk,
            )
            times.append((time.perf_counter() - started) * 1000)
        queries.append(len(captured))
        for index, query in enumerate(captured.captured_queries):
            by_query.setdefault(index, []).append(float(query["time"]) * 1000)
        found.append(len(candidates))
    times.sort()
    print(
        f"{len(ids)} contacts, {len(times)} checks on {connection.vendor}: median "
        f"{statistics.median(times):.1f} ms, p95 {times[int(len(times) * 0.95)]:.1f} ms, max "
        f"{times[-1]:.1f} ms; queries {min(queries)}-{max(queries)}; candidates returned "
        f"median {statistics.median(found):.0f}, max {max(found)}"
    )
    if args.breakdown:
        for index, spent in sorted(by_query.items()):
            spent.sort()
            print(
                f"  query {index + 1} ({len(spent)} checks): median {statistics.median(spent):.1f}"
                f" ms, p95 {spent[int(len(spent) * 0.95)]:.1f} ms"
            )


if __name__ == "__main__":
    main()

"""The contacts offered first when a lead is converted (issue 14): time and recall.

On a database filled by ``bench/generate.py``, takes a sample of live contacts and, for
each, a lead as a web form gives it — the name as one string, first name first («Пётр
Иванов»), a phone the base does not have — and runs ``leads.selectors
.lead_contact_candidates`` (the lead card and the conversion run it once for a lead without
a contact). Prints the time per call (p50, p95, max) for an administrator (sees the whole
base) and a manager (sees a share), and how often the contact the lead was made from is
among those offered: with the name split by ``core.names.split_full_name`` and, for
comparison, by the positional rule it replaced. Reads only; the leads are never saved::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_crm \\
        .venv/bin/python bench/lead_offer.py --sample 300
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")

import django

django.setup()

from django.db import connection  # noqa: E402

from crm.accounts.models import User  # noqa: E402
from crm.core.names import PersonName  # noqa: E402
from crm.customers.models import Contact  # noqa: E402
from crm.leads import selectors  # noqa: E402
from crm.leads.models import Lead  # noqa: E402


def positional(text: str) -> PersonName:
    """The rule ``leads`` used before: by position, surname first."""
    words = text.split()
    if len(words) >= 3:
        return PersonName(words[0], words[1], " ".join(words[2:]))
    if len(words) == 2:
        return PersonName(words[0], words[1], "")
    return PersonName("", text, "")


def _sample(size: int, seed: int) -> list[tuple[int, str]]:
    """(id, «First Last») of ``size`` random live contacts with both parts."""
    rng = random.Random(seed)
    top = Contact.objects.order_by("-id").values_list("id", flat=True).first() or 0
    ids = rng.sample(range(1, top + 1), min(top, size * 3))
    rows = (
        Contact.objects.live()
        .filter(pk__in=ids)
        .exclude(first_name="")
        .exclude(last_name="")
        .values_list("id", "first_name", "last_name")
    )
    return [(pk, f"{first} {last}") for pk, first, last in rows][:size]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _run(user: User, sample: list[tuple[int, str]]) -> tuple[list[float], float, float, float]:
    """Times (ms) of the check for each lead, the share whose contact was offered, the share
    offered a contact of that name (a namesake of a common name counts: by name alone the
    two are one) and the mean number offered."""
    times, found, named, offered = [], 0, 0, 0
    for index, (pk, name) in enumerate(sample):
        lead = Lead(name=name, phone=f"+7999{index:07d}", status="new")
        started = time.perf_counter()
        candidates = selectors.lead_contact_candidates(actor=user, lead=lead)
        times.append((time.perf_counter() - started) * 1000)
        found += any(candidate.record_id == pk for candidate in candidates)
        words = set(name.split())
        named += any(words <= set(candidate.name.split()) for candidate in candidates)
        offered += len(candidates)
    size = len(sample)
    return times, found / size, named / size, offered / size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    sample = _sample(args.sample, args.seed)
    contacts = Contact.objects.count()
    print(f"{connection.vendor}, {contacts} contacts, {len(sample)} leads «First Last»")
    print(
        "| viewer | split | p50 ms | p95 ms | max ms | the contact offered "
        "| one of its name offered | offered a lead |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for username in ("admin", "m01"):
        user = User.objects.get(username=username)
        _run(user, sample[:20])  # warm the caches and the connection
        rows = [("recognised", None), ("positional", positional)]
        for label, splitter in rows:
            if splitter is None:
                times, recall, named, offered = _run(user, sample)
            else:
                with mock.patch.object(selectors, "split_full_name", splitter):
                    times, recall, named, offered = _run(user, sample)
            print(
                f"| {username} | {label} | {statistics.median(times):.2f} | "
                f"{_percentile(times, 0.95):.2f} | {max(times):.2f} | {recall:.3f} | "
                f"{named:.3f} | {offered:.2f} |"
            )


if __name__ == "__main__":
    main()

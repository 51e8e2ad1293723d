"""Where a lead's processing time goes: phase by phase, in this process, no job worker.

On a database filled by ``bench/generate.py``::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_intake \\
        .venv/bin/python bench/leads_profile.py --count 400 [--batch 50]

Stores ``--count`` web-form arrivals of the intake bench's mix (``leads_intake.submissions``:
30% known phones, 5% repeats, the rest new people, 60% with an e-mail), then processes them
with ``inbound_process`` one by one (or ``inbound_process_batch`` in batches of ``--batch``)
while timing each phase — parsing and locking, matching, classification (the partner code),
routing, assignment, the lead row, timeline entries, the notification (with its e-mail job)
— in wall time, SQL time and queries. ``--cprofile`` prints the top functions as well. Rows
are deleted afterwards (``leads_intake.cleanup``). Numbers only; the machine is shared.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import functools
import os
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.append(str(Path(__file__).resolve().parent))

import leads_intake as intake_bench  # noqa: E402 - sets Django up
from django.db import connection  # noqa: E402

from crm.leads.models import Inbound  # noqa: E402
from crm.leads.services import intake, leads  # noqa: E402
from crm.leads.services.webforms import submission_validate  # noqa: E402

PHASES: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0])
_stack: list[str] = []


class _SqlTimer:
    """Counts queries and their time for the phase on top of the stack."""

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool,
                 context: Any) -> Any:  # fmt: skip
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            phase = PHASES[_stack[-1] if _stack else "other"]
            phase[1] += time.perf_counter() - started
            phase[2] += 1


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _stack.append(name)
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            _stack.pop()
            PHASES[name][0] += elapsed
            if _stack:  # the caller's own time excludes this phase
                PHASES[_stack[-1]][0] -= elapsed

    return wrapper


def instrument() -> None:
    leads.match_lead = timed("matching", leads.match_lead)
    leads._partner = timed("classification (partner code)", leads._partner)
    leads.rule_for = timed("routing (rule)", leads.rule_for)
    leads.assignee_for = timed("assignment", leads.assignee_for)
    leads.timeline_record = timed("timeline entries", leads.timeline_record)
    leads._notify_assigned = timed("notification (+ e-mail job)", leads._notify_assigned)
    leads._deadline = timed("response deadline", leads._deadline)
    manager = leads.Lead.objects
    manager.create = timed("lead row", manager.create)  # type: ignore[method-assign]


def store(form: Any, bodies: list[bytes]) -> list[int]:
    from urllib.parse import parse_qsl

    ids = []
    for body in bodies:
        values = dict(parse_qsl(body.decode()))
        lead_input = submission_validate(form, values)
        payload = {key: value for key, value in values.items() if not key.startswith("_")}
        del lead_input
        inbound, _created = intake.inbound_store(
            channel="web_form", payload=payload, form=form, process=False
        )
        ids.append(inbound.pk)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--batch", type=int, default=0, help="0: one arrival per call")
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = intake_bench.ARGS = parser.parse_args()
    log = intake_bench.log
    log(f"{connection.vendor}: {intake_bench.Contact.objects.count():,} contacts; load "
        f"{intake_bench.load()}")  # fmt: skip
    state = intake_bench.setup()
    try:
        bodies = intake_bench.submissions(args.count, args.seed + int(time.time()))
        ids = store(state.form, bodies)
        instrument()
        connection.execute_wrappers.append(_SqlTimer())
        profiler = cProfile.Profile() if args.cprofile else None
        cpu_started, started = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        _stack.append("locking, parsing, arrival row")
        if args.batch:
            process_batch = timed("batch", intake.inbound_process_batch)  # type: ignore[attr-defined]
            for start in range(0, len(ids), args.batch):
                process_batch(first_id=ids[start], size=args.batch)
        else:
            for inbound_id in ids:
                intake.inbound_process(inbound_id)
        _stack.pop()
        if profiler:
            profiler.disable()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        PHASES["locking, parsing, arrival row"][0] += wall  # what the phases left
        connection.execute_wrappers.pop()
        processed = Inbound.objects.filter(pk__in=ids, status="processed").count()
        log(
            f"{processed} of {len(ids)} processed in {wall:.2f} s: {len(ids) / wall:.1f} "
            f"leads/s in one process, {wall * 1000 / len(ids):.2f} ms wall and "
            f"{cpu * 1000 / len(ids):.2f} ms CPU of this process per arrival; load "
            f"{intake_bench.load()}"
        )
        total_queries = sum(int(values[2]) for values in PHASES.values())
        log(f"{total_queries / len(ids):.1f} queries per arrival")
        log("| phase | wall, ms per arrival | of it SQL, ms | queries per arrival |")
        log("|---|---:|---:|---:|")
        for name, (seconds, sql, queries) in sorted(PHASES.items(), key=lambda kv: -kv[1][0]):
            log(f"| {name} | {seconds * 1000 / len(ids):.2f} | {sql * 1000 / len(ids):.2f} "
                f"| {queries / len(ids):.1f} |")  # fmt: skip
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    finally:
        intake_bench.cleanup(state)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")
    main()

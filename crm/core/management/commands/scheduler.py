"""Run the sweeps of the registry (``crm.core.records``) forever (or once with ``--once``)."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from crm.core.records import registry

logger = logging.getLogger("crm.scheduler")


class Command(BaseCommand):
    help = "Run periodic sweeps: stale deals, reminders, deadlines."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Run every sweep once and exit.")
        parser.add_argument("--tick", type=float, default=1.0, help="Seconds between checks.")

    def handle(self, *args: Any, **options: Any) -> None:
        last_run: dict[str, float] = {}
        while True:
            now = time.monotonic()
            for sweep in list(registry.sweeps.values()):
                if not options["once"] and now - last_run.get(sweep.name, -1e9) < sweep.every:
                    continue
                last_run[sweep.name] = now
                close_old_connections()
                try:
                    result = sweep.run()
                except Exception:  # one failing sweep must not stop the others
                    logger.exception("sweep %s failed", sweep.name)
                else:
                    if result:
                        logger.info("sweep %s: %s", sweep.name, result)
            if options["once"]:
                return
            time.sleep(options["tick"])

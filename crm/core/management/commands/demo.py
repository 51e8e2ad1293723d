"""``manage.py demo``: make the development database ready for ``make run`` in one process.

Applies the migrations only when some are pending (``migrate`` with nothing to apply still
re-creates content types and permissions for every model), creates the cache table, then runs
the apps' demo commands (``demo_data``, ``demo_sales``, ``demo_leads``, ``demo_mail``), each
of which loads its data only into a database without it. So a second ``make run`` spends about one Django start
here, not one per step. The demo commands are called by name: the kernel imports no app.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

DEMO_COMMANDS = ("demo_data", "demo_sales", "demo_leads", "demo_mail")


def pending_migrations(*, database: str = DEFAULT_DB_ALIAS) -> int:
    """How many migrations the database lacks (0: up to date)."""
    executor = MigrationExecutor(connections[database])
    targets = executor.loader.graph.leaf_nodes()
    return len(executor.migration_plan(targets))


class Command(BaseCommand):
    help = "Migrate when needed, then load the demo data unless it is already there."

    def handle(self, *args: Any, **options: Any) -> None:
        pending = pending_migrations()
        if pending:
            self.stdout.write(f"Applying {pending} migrations.")
            call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        for name in DEMO_COMMANDS:
            call_command(name, skip_checks=True, stdout=self.stdout, stderr=self.stderr)

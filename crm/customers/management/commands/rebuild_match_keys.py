"""``manage.py rebuild_match_keys``: write the name blocking keys of every record again.

Run it after a change to ``crm.core.matching`` so the duplicate check and the scan find
records saved under the old keys. Safe on a live base: each batch is its own transaction.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from crm.customers.services.records import match_keys_rebuild


class Command(BaseCommand):
    help = "Rebuild the duplicate-check name keys (MatchKey) of all contacts and companies."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=2000, help="Records per transaction (default 2000)."
        )

    def handle(self, *args: object, batch_size: int, **options: object) -> None:
        done = match_keys_rebuild(batch_size=batch_size)
        self.stdout.write(
            f"Rebuilt keys of {done['contact']} contacts and {done['company']} companies."
        )

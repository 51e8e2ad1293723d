"""``manage.py scan_duplicates``: find possible duplicates across the whole base.

Run it from cron (e.g. nightly) so the "Possible duplicates" page stays current; the page's
"Scan now" button runs the same scan as a background job.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from crm.customers.choices import Entity
from crm.customers.services.scan import duplicates_scan


class Command(BaseCommand):
    help = "Scan contacts and companies for possible duplicates and store the scored pairs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--entity",
            choices=[*Entity.values, "all"],
            default="all",
            help="Which records to scan (default: all).",
        )

    def handle(self, *args: object, entity: str, **options: object) -> None:
        entities = Entity.values if entity == "all" else [entity]
        for name in entities:
            result = duplicates_scan(entity=name)
            self.stdout.write(
                f"{name}: {result.candidates} candidate pairs, {result.found} possible duplicates "
                f"({result.created} new, {result.updated} updated, {result.removed} removed)"
            )

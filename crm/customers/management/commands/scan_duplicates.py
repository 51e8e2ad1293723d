"""``manage.py scan_duplicates``: find possible duplicates across the whole base.

Run it from cron (e.g. nightly) so the "Possible duplicates" page stays current; the page's
"Scan now" button runs the same scan as a background job. Contacts are scanned
incrementally (those created or changed since the last scan) unless ``--full`` is given or
the last scan's watermarks are unknown.
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
        parser.add_argument(
            "--full",
            action="store_true",
            help="Scan every contact, not only those changed since the last scan.",
        )

    def handle(self, *args: object, entity: str, full: bool, **options: object) -> None:
        entities = Entity.values if entity == "all" else [entity]
        for name in entities:
            result = duplicates_scan(entity=name, full=full)
            scope = (
                "all"
                if result.looked_at is None
                else f"{result.looked_at} changed since the last scan"
            )
            self.stdout.write(
                f"{name} ({scope}): {result.candidates} candidate pairs, {result.found} possible "
                f"duplicates ({result.created} new, {result.updated} updated, "
                f"{result.merged} merged, {result.removed} removed)"
            )

"""Read the sales mailbox once (what the scheduler does every minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from crm.leads.services.email_channel import (
    POLL_BATCH,
    MailboxError,
    mailbox_config,
    mailbox_poll,
)


class Command(BaseCommand):
    help = "Store new messages of the sales mailbox (CRM_LEADS_IMAP_*) as e-mail leads."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--limit", type=int, default=POLL_BATCH, help="At most this many messages."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if mailbox_config() is None:
                raise CommandError("No mailbox: set CRM_LEADS_IMAP_HOST and the other settings.")
            result = mailbox_poll(limit=max(1, options["limit"]))
        except MailboxError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"fetched {result['fetched']}, stored {result['stored']}, "
            f"skipped {result['skipped']} (over 10 MB)"
        )

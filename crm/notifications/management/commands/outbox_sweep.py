"""``manage.py outbox_sweep``: enqueue again the e-mails and webhooks whose job was lost.

``manage.py scheduler`` already runs the sweep every two minutes; this command is for a
deployment that prefers cron (``*/5 * * * *``). It only enqueues: the worker sends.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from crm.notifications.services import outbox_sweep


class Command(BaseCommand):
    help = "Enqueue again the notification e-mails and webhooks that are overdue."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = outbox_sweep()
        self.stdout.write(f"emails={counts['emails']} webhooks={counts['webhooks']}")

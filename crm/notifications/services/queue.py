"""Enqueueing the delivery jobs. A failure to enqueue is logged, never raised: the row keeps
its schedule and ``outbox_sweep`` enqueues it again."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django_tasks.base import Task

logger = logging.getLogger("crm.notifications")


def enqueue_emails(ids: list[int], run_after: datetime | None = None) -> None:
    from crm.notifications.jobs import notification_email_job  # the jobs import this module

    _enqueue(notification_email_job, ids, run_after)


def enqueue_webhooks(ids: list[int], run_after: datetime | None = None) -> None:
    from crm.notifications.jobs import webhook_delivery_job

    _enqueue(webhook_delivery_job, ids, run_after)


def _enqueue(job: Task[Any, Any], ids: list[int], run_after: datetime | None) -> None:
    """Enqueue ``job`` once per id. A failure is logged, not raised: the row keeps its
    schedule and ``outbox_sweep`` enqueues it again."""
    if run_after is not None:
        if not job.get_backend().supports_defer:
            return  # a backend that cannot wait (the immediate one): left to the sweep
        job = job.using(run_after=run_after)
    for object_id in ids:
        try:
            job.enqueue(object_id)
        except Exception:
            logger.exception("enqueue_failed job=%s id=%s", job.name, object_id)

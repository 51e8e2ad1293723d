"""Background jobs of the planner. They take no instances, only what identifies the work,
and are idempotent: the services they call claim rows before writing, so a retry or a
second worker never doubles a notification."""

from __future__ import annotations

from django_tasks import task

from crm.planner import services


@task
def reminders_deliver_job() -> dict[str, int]:
    """Deliver the reminders due now (the same work as the scheduler's sweep)."""
    return services.reminders_deliver()


@task
def overdue_digests_job() -> dict[str, int]:
    """Send the overdue digests whose time has come today."""
    return services.digests_send()


@task
def escalations_job() -> dict[str, int]:
    """Escalate the tasks overdue for longer than the configured hours."""
    return services.escalations_run()

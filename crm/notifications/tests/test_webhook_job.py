"""Webhooks against a real HTTP receiver: signed, sent once, retried with back-off on
failures, never sent again after a 2xx, failed after eight attempts."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from crm.notifications.jobs import webhook_delivery_job
from crm.notifications.models import WebhookDelivery
from crm.notifications.services import (
    SWEEP_GRACE,
    WEBHOOK_MAX_ATTEMPTS,
    outbox_sweep,
    webhook_enqueue,
    webhook_retry_delay,
)
from crm.notifications.tests.conftest import free_port

pytestmark = pytest.mark.django_db

PAYLOAD = {"deal": {"id": 42, "name": "Поставка труб", "amount": "150000.00"}}


def _enqueue(capture, url, **fields):
    values = {"url": url, "event": "deal.won", "payload": PAYLOAD, "secret": "s3cret", **fields}
    with capture(execute=True):
        return webhook_enqueue(**values)


def _make_due(delivery):
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )


def _verifies(received, secret):
    signed = received.headers["X-CRM-Timestamp"].encode() + b"." + received.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(received.headers["X-CRM-Signature"], f"sha256={expected}")


def test_the_delivery_is_signed_and_sent_once(http_receiver, django_capture_on_commit_callbacks):
    delivery = _enqueue(django_capture_on_commit_callbacks, http_receiver.url)

    assert len(http_receiver.requests) == 1
    received = http_receiver.requests[0]
    assert received.path == "/hooks/crm"
    assert received.json() == PAYLOAD
    assert received.headers["Content-Type"] == "application/json; charset=utf-8"
    assert received.headers["X-CRM-Event"] == "deal.won"
    assert received.headers["X-CRM-Delivery"] == str(delivery.pk)
    assert abs(int(received.headers["X-CRM-Timestamp"]) - timezone.now().timestamp()) < 60
    assert _verifies(received, "s3cret")
    assert not _verifies(received, "wrong secret")
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SENT
    assert (delivery.attempts, delivery.last_status_code) == (1, 200)
    assert delivery.sent_at is not None

    # a sent delivery is never sent again: not by the job, not when due, not by the sweep
    assert webhook_delivery_job.call(delivery.pk) == "skipped"
    _make_due(delivery)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - SWEEP_GRACE * 2
    )
    assert webhook_delivery_job.call(delivery.pk) == "skipped"
    assert outbox_sweep()["webhooks"] == 0
    assert len(http_receiver.requests) == 1


def test_a_500_is_retried_later_and_the_retry_stops_after_success(
    http_receiver, django_capture_on_commit_callbacks
):
    http_receiver.statuses = [500]
    before = timezone.now()
    delivery = _enqueue(django_capture_on_commit_callbacks, http_receiver.url)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert (delivery.attempts, delivery.last_status_code) == (1, 500)
    assert delivery.next_attempt_at >= before + webhook_retry_delay(1)
    assert webhook_delivery_job.call(delivery.pk) == "skipped"  # not due yet
    assert len(http_receiver.requests) == 1

    _make_due(delivery)
    assert webhook_delivery_job.call(delivery.pk) == "sent"
    assert webhook_delivery_job.call(delivery.pk) == "skipped"

    assert len(http_receiver.requests) == 2
    first, second = http_receiver.requests
    assert second.headers["X-CRM-Delivery"] == first.headers["X-CRM-Delivery"]
    assert _verifies(second, "s3cret")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, "")


def test_back_off_doubles_and_the_delivery_fails_after_eight_attempts(
    http_receiver, django_capture_on_commit_callbacks, caplog
):
    http_receiver.statuses = [503] * 20
    delivery = _enqueue(django_capture_on_commit_callbacks, http_receiver.url)  # attempt 1

    waits = []
    outcomes = []
    for _attempt in range(WEBHOOK_MAX_ATTEMPTS):
        delivery.refresh_from_db()
        waits.append(delivery.next_attempt_at - timezone.now())
        _make_due(delivery)
        with caplog.at_level(logging.WARNING, logger="crm.notifications"):
            outcomes.append(webhook_delivery_job.call(delivery.pk))

    assert outcomes == ["retry"] * (WEBHOOK_MAX_ATTEMPTS - 2) + ["failed", "skipped"]
    assert len(http_receiver.requests) == WEBHOOK_MAX_ATTEMPTS
    assert [round(wait.total_seconds() / 30) for wait in waits[:7]] == [1, 2, 4, 8, 16, 32, 64]
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert (delivery.attempts, delivery.last_status_code) == (WEBHOOK_MAX_ATTEMPTS, 503)
    assert any("webhook_gave_up" in record.message for record in caplog.records)
    assert outbox_sweep()["webhooks"] == 0


def test_a_redirect_is_not_followed_but_retried(http_receiver, django_capture_on_commit_callbacks):
    http_receiver.statuses = [302]
    delivery = _enqueue(django_capture_on_commit_callbacks, http_receiver.url)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)
    assert [request.path for request in http_receiver.requests] == ["/hooks/crm"]


def test_an_unreachable_receiver_is_retried(django_capture_on_commit_callbacks, db):
    delivery = _enqueue(django_capture_on_commit_callbacks, f"http://127.0.0.1:{free_port()}/hooks")

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_status_code is None
    assert "Connection refused" in delivery.last_error or "Errno" in delivery.last_error


def test_the_retry_waits_in_the_queue_on_a_backend_that_can_defer(
    http_receiver, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    http_receiver.statuses = [500]
    delivery = _enqueue(django_capture_on_commit_callbacks, http_receiver.url)

    assert webhook_delivery_job.call(delivery.pk) == "retry"

    delivery.refresh_from_db()
    retry = DBTaskResult.objects.get(run_after=delivery.next_attempt_at)
    assert retry.task_path.endswith("webhook_delivery_job")
    assert retry.args_kwargs["args"] == [delivery.pk]
    assert DBTaskResult.objects.count() == 2  # the first job and the retry


def test_the_sweep_sends_a_delivery_whose_job_was_lost(
    http_receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        lost = webhook_enqueue(url=http_receiver.url, event="deal.won", payload={}, secret="s")
    WebhookDelivery.objects.filter(pk=lost.pk).update(
        next_attempt_at=timezone.now() - SWEEP_GRACE - dt.timedelta(seconds=1)
    )

    assert outbox_sweep() == {"emails": 0, "webhooks": 1}
    assert len(http_receiver.requests) == 1
    lost.refresh_from_db()
    assert lost.status == WebhookDelivery.Status.SENT

"""notify, notify_many, marking read and enqueueing webhooks: rows written inside the
caller's transaction, e-mails and POSTs enqueued only once it commits."""

from __future__ import annotations

import contextlib

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils.translation import gettext

from crm.accounts.tests.factories import UserFactory
from crm.core.errors import NotFound, ValidationFailed
from crm.notifications.models import Notification, WebhookDelivery
from crm.notifications.services import (
    in_language,
    notification_mark_read,
    notification_open,
    notify,
    notify_many,
    webhook_enqueue,
)
from crm.notifications.tests.factories import make_many, make_notification

pytestmark = pytest.mark.django_db

KIND = Notification.Kind.TASK


# --- notify -----------------------------------------------------------------------------------


def test_notify_writes_the_row_as_given(org):
    notification = notify(
        recipient=org.manager,
        kind=KIND,
        title="Call Ivanov",
        body="Today <b>before</b> noon",
        url="/customers/contacts/7/",
    )

    notification.refresh_from_db()
    assert notification.recipient == org.manager
    assert (notification.title, notification.body) == ("Call Ivanov", "Today <b>before</b> noon")
    assert notification.url == "/customers/contacts/7/"
    assert notification.read_at is None
    assert notification.email_wanted is True
    assert notification.emailed_at is None


def test_a_duplicate_dedupe_key_is_a_silent_no_op_and_the_transaction_goes_on(org):
    with transaction.atomic():
        first = notify(recipient=org.manager, kind=KIND, title="Due", dedupe_key="task:1:due")
        second = notify(recipient=org.manager, kind=KIND, title="Due", dedupe_key="task:1:due")
        # the caller's transaction is still usable after the swallowed IntegrityError
        other = notify(recipient=org.colleague, kind=KIND, title="Due", dedupe_key="task:1:due")

    assert first is not None and other is not None
    assert second is None
    assert Notification.objects.filter(dedupe_key="task:1:due").count() == 2


def test_empty_dedupe_keys_never_collide(org):
    notify(recipient=org.manager, kind=KIND, title="One")
    notify(recipient=org.manager, kind=KIND, title="Two")

    assert Notification.objects.filter(recipient=org.manager).count() == 2


def test_an_inactive_recipient_gets_nothing(org, django_capture_on_commit_callbacks):
    org.manager.is_active = False
    org.manager.save()

    with django_capture_on_commit_callbacks() as callbacks:
        result = notify(recipient=org.manager, kind=KIND, title="Hello")

    assert result is None
    assert not Notification.objects.exists()
    assert callbacks == []


def test_the_email_is_enqueued_on_commit_and_sent(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        notification = notify(recipient=org.manager, kind=KIND, title="Hello")
        assert mail.outbox == []  # nothing leaves before the commit

    assert len(callbacks) == 1
    callbacks[0]()  # the commit: the immediate backend runs the job
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [org.manager.email]
    notification.refresh_from_db()
    assert notification.emailed_at is not None


def test_nothing_is_enqueued_when_the_transaction_rolls_back(
    org, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        contextlib.suppress(RuntimeError),
        transaction.atomic(),
    ):
        notify(recipient=org.manager, kind=KIND, title="Hello")
        raise RuntimeError

    assert callbacks == []
    assert not Notification.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("case", ["email=False", "no address"])
def test_no_email_is_enqueued_when_not_wanted_or_no_address(
    org, case, django_capture_on_commit_callbacks
):
    if case == "no address":
        org.manager.email = ""
        org.manager.save()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification = notify(
            recipient=org.manager, kind=KIND, title="Hello", email=case != "email=False"
        )

    assert notification.email_wanted is False
    assert callbacks == []
    assert mail.outbox == []


def test_long_texts_are_cut(org):
    notification = notify(recipient=org.manager, kind=KIND, title="x" * 400, body="y" * 6000)

    assert len(notification.title) == 300 and notification.title.endswith("…")
    assert len(notification.body) == 5000


@pytest.mark.parametrize(
    "arguments",
    [
        {"kind": "nonsense"},
        {"url": "https://evil.example/"},
        {"url": "//evil.example/"},
        {"url": "/\\evil.example/"},
        {"url": "javascript:alert(1)"},
        {"url": "/a b"},
        {"dedupe_key": "k" * 201},
    ],
)
def test_programming_errors_are_refused_and_write_nothing(org, arguments):
    with pytest.raises(ValueError):
        notify(**{"recipient": org.manager, "kind": KIND, "title": "Hello", **arguments})

    assert not Notification.objects.exists()


def test_in_language_uses_the_users_language_or_the_sites(org, settings):
    settings.LANGUAGE_CODE = "ru"
    org.manager.language = "en"
    org.colleague.language = ""

    with in_language(org.manager):
        english = gettext("Yes")
    with in_language(org.colleague):
        russian = gettext("Yes")

    assert (english, russian) == ("Yes", "Да")


# --- notify_many ------------------------------------------------------------------------------


def test_notify_many_writes_each_recipient_in_their_language(
    org, django_capture_on_commit_callbacks
):
    org.manager.language = "en"
    org.colleague.language = "ru"

    with django_capture_on_commit_callbacks(execute=True):
        rows = notify_many(
            recipients=[org.manager, org.colleague],
            kind=KIND,
            title=lambda user: gettext("Yes"),
            body="Same for all",
        )

    titles = {row.recipient_id: row.title for row in rows}
    assert titles == {org.manager.pk: "Yes", org.colleague.pk: "Да"}
    assert all(row.pk for row in rows)
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [org.manager.email, org.colleague.email]
    )


def test_notify_many_skips_inactive_repeated_and_already_notified(
    org, django_capture_on_commit_callbacks
):
    org.viewer.is_active = False
    make_notification(org.head, dedupe_key="stale:5", email_wanted=True)

    with django_capture_on_commit_callbacks(execute=True):
        rows = notify_many(
            recipients=[org.manager, org.manager, org.head, org.viewer, org.colleague],
            kind=Notification.Kind.STALE,
            title="No activity for 14 days",
            dedupe_key="stale:5",
        )

    assert sorted(row.recipient_id for row in rows) == sorted([org.manager.pk, org.colleague.pk])
    assert Notification.objects.filter(dedupe_key="stale:5").count() == 3
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [org.manager.email, org.colleague.email]
    )


def test_notify_many_costs_the_same_queries_for_one_and_for_many(django_assert_num_queries, db):
    few, many = [UserFactory()], [UserFactory() for _ in range(10)]

    with CaptureQueriesContext(connection) as one:
        notify_many(recipients=few, kind=KIND, title="Hello", dedupe_key="k", email=False)
    with django_assert_num_queries(len(one.captured_queries)):
        rows = notify_many(recipients=many, kind=KIND, title="Hello", dedupe_key="k", email=False)
    assert len(rows) == 10


# --- marking read -----------------------------------------------------------------------------


def test_mark_read_by_ids(org):
    first, second, third = make_many(org.manager, 3)

    marked = notification_mark_read(actor=org.manager, ids=[first.pk, second.pk])

    assert marked == 2
    assert set(Notification.objects.filter(read_at__isnull=True).values_list("pk", flat=True)) == {
        third.pk
    }


def test_mark_read_of_another_users_notification_is_not_found_and_changes_nothing(org):
    mine = make_notification(org.manager)
    theirs = make_notification(org.colleague)

    with pytest.raises(NotFound):
        notification_mark_read(actor=org.manager, ids=[mine.pk, theirs.pk])

    assert Notification.objects.filter(read_at__isnull=False).count() == 0


def test_mark_all_read_touches_only_the_actors(org):
    make_many(org.manager, 3)
    theirs = make_notification(org.colleague)

    assert notification_mark_read(actor=org.manager, all=True) == 3
    assert notification_mark_read(actor=org.manager, all=True) == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize("ids", [None, [], list(range(1, 502))])
def test_mark_read_needs_some_ids_or_all(org, ids):
    with pytest.raises(ValidationFailed):
        notification_mark_read(actor=org.manager, ids=ids)


def test_open_marks_read_and_keeps_the_first_read_time(org):
    notification = make_notification(org.manager)

    first = notification_open(actor=org.manager, pk=notification.pk).read_at
    again = notification_open(actor=org.manager, pk=notification.pk).read_at

    assert first is not None and again == first
    with pytest.raises(NotFound):
        notification_open(actor=org.colleague, pk=notification.pk)


# --- webhooks ---------------------------------------------------------------------------------


def test_webhook_enqueue_writes_the_row_and_enqueues_on_commit(
    django_capture_on_commit_callbacks, db
):
    with django_capture_on_commit_callbacks() as callbacks:
        delivery = webhook_enqueue(
            url="https://hooks.example/crm", event="deal.won", payload={"id": 1}, secret="s"
        )

    assert delivery.status == WebhookDelivery.Status.PENDING
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"url": "ftp://hooks.example/"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://hooks.example/" + "a" * 500}, "url"),
        ({"event": ""}, "event"),
        ({"event": "сделка"}, "event"),
        ({"event": "deal\nwon"}, "event"),
        ({"secret": "s" * 201}, "secret"),
    ],
)
def test_webhook_enqueue_refuses_bad_input(arguments, field, db):
    values = {"url": "https://hooks.example/", "event": "deal.won", "payload": {}, "secret": ""}

    with pytest.raises(ValidationFailed) as refused:
        webhook_enqueue(**{**values, **arguments})

    assert set(refused.value.field_errors) == {field}
    assert not WebhookDelivery.objects.exists()

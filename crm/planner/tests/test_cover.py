"""While someone is away, what reaches them about their clients reaches their substitute at
once: an incoming e-mail from a client (through the real mail webhook), a notice of another
app, a new task (a missed call's call-back); once each, only during the absence."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

import pytest
from django.test import Client
from django.utils import timezone

from conftest import client_for
from crm.customers.tests.factories import make_company
from crm.notifications.models import Notification
from crm.notifications.services import notify, notify_many
from crm.planner import services
from crm.planner.tests.factories import make_absence, make_task

pytestmark = pytest.mark.django_db

SECRET = "mail-hook-secret"


def _titles(user, kind=None):
    rows = Notification.objects.filter(recipient=user)
    if kind:
        rows = rows.filter(kind=kind)
    return list(rows.order_by("id").values_list("title", flat=True))


def _client_mail(sender: str, subject: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "sales@example.ru"
    mail["Subject"] = subject
    mail["Message-ID"] = "<cover-test-1@client.ru>"
    mail.set_content("Пришлите, пожалуйста, акт сверки.")
    return mail.as_bytes()


def test_a_clients_email_to_an_absent_manager_reaches_the_substitute_once(
    org, settings, django_capture_on_commit_callbacks
):
    settings.CRM_LEADS_INBOUND_EMAIL_SECRET = SECRET
    company = make_company(org.manager, emails=[{"value": "office@romashka.ru"}])
    make_absence(org.manager, substitute=org.colleague)
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            "/leads/inbound/email/",
            _client_mail("Офис <office@romashka.ru>", "Акт сверки"),
            content_type="message/rfc822",
            HTTP_X_CRM_SECRET=SECRET,
        )
    assert response.status_code == 202
    (original,) = Notification.objects.filter(recipient=org.manager)
    (copy,) = Notification.objects.filter(recipient=org.colleague, kind="lead")
    assert str(org.manager) in copy.title and str(company) in copy.title
    assert copy.url == original.url == f"/customers/companies/{company.pk}/"
    assert copy.dedupe_key == f"cover:{original.pk}"
    assert copy.email_wanted == bool(org.colleague.email)
    # The substitute may open it: the absence gave them access to the manager's clients.
    assert client_for(org.colleague).get(copy.url).status_code == 200


def test_only_client_notices_received_during_the_absence_are_copied(org):
    today = timezone.localdate()
    before = notify(recipient=org.manager, kind="stage", title="Сделка на этапе «Счёт»")
    Notification.objects.filter(pk=before.pk).update(
        created_at=timezone.now() - dt.timedelta(days=3)
    )
    make_absence(org.manager, starts_on=today - dt.timedelta(days=1), substitute=org.colleague)
    notify(recipient=org.manager, kind="stale", title="Сделка без движения")
    notify(recipient=org.manager, kind="system", title="Системное")
    notify(recipient=org.manager, kind="reminder", title="Напоминание")  # the planner's own
    notify(recipient=org.outsider, kind="lead", title="Чужая заявка")  # nobody covers them
    (title,) = _titles(org.colleague)
    assert "Сделка без движения" in title
    assert str(org.manager) in title


def test_a_notice_to_several_copies_once_per_absent_recipient(org):
    make_absence(org.manager, substitute=org.colleague)
    make_absence(org.outsider, substitute=org.colleague)
    rows = notify_many(
        recipients=[org.manager, org.outsider, org.head],
        kind="stage",
        title=lambda user: f"Сделка на этапе «Счёт» для {user}",
        dedupe_key="deal:7:stage:3",
    )
    assert len(rows) == 3
    titles = _titles(org.colleague, "stage")
    assert len(titles) == 2
    assert any(str(org.manager) in title for title in titles)
    assert any(str(org.outsider) in title for title in titles)
    # The same notice again (a retried job) is deduplicated, and so are its copies.
    notify_many(recipients=[org.manager], kind="stage", title="x", dedupe_key="deal:7:stage:3")
    assert len(_titles(org.colleague, "stage")) == 2


def test_a_substitute_among_the_recipients_gets_no_copy(org):
    make_absence(org.manager, substitute=org.head)
    notify_many(recipients=[org.manager, org.head], kind="stale", title="Сделка без движения")
    assert _titles(org.head, "stale") == ["Сделка без движения"]


def test_copies_stop_when_the_absence_is_cancelled(org):
    absence = services.absence_create(
        actor=org.manager, user=org.manager, kind="trip", starts_on=timezone.localdate(),
        ends_on=timezone.localdate(), substitute=org.colleague,
    )  # fmt: skip
    services.absence_cancel(actor=org.manager, pk=absence.pk)
    notify(recipient=org.manager, kind="lead", title="Новая заявка")
    assert _titles(org.colleague, "lead") == []


def test_a_new_task_for_an_absent_user_tells_the_substitute(org, contact):
    make_absence(org.manager, substitute=org.colleague)
    # As a missed call's rule does: on the system's behalf, for the client's responsible.
    task = make_task(org.manager, title="Перезвонить +7 900 000-00-00", subject=contact)
    (title,) = _titles(org.colleague, "task")
    assert str(org.manager) in title and task.title in title
    # And a task reassigned to them while away.
    other = make_task(org.head, title="Передать акт", subject=contact)
    services.task_reassign(actor=org.head, pk=other.pk, owner_id=org.manager.pk)
    assert any("Передать акт" in title for title in _titles(org.colleague, "task"))


def test_no_cover_notice_when_nobody_is_away(org):
    make_task(org.manager, title="Обычная задача")
    notify(recipient=org.manager, kind="lead", title="Новая заявка")
    assert _titles(org.colleague) == []

"""Sending a mailing by the job queue, one batch per job, and the sweep.

``mailing_send_batch`` (the job ``mailing_send_job``):

1. claims up to ``CRM_MAILING_BATCH`` due recipients in one conditional UPDATE (a fresh
   ``claim`` and a lease, only on rows still queued and unleased; on PostgreSQL the ids are
   picked ``FOR UPDATE SKIP LOCKED``, on SQLite writes are serialised), so two workers never
   take one row and a dead worker's rows are taken again when the lease runs out;
2. enqueues the next batch at once, due when the rate allows (so a second worker may send
   it while this one sends), before sending;
3. skips the addresses unsubscribed or undeliverable *now* (on any card), and contacts
   without consent when the segment asked for it;
4. renders each message with its contact's placeholders, adds the one-click
   ``List-Unsubscribe`` headers and a link in the text, and hands the batch to the SMTP
   server over one connection, marking each row sent as soon as the server took it (so a
   killed worker re-sends at most the one message in flight, not its whole batch);
5. writes the batch's timeline entries in one bulk insert.

A worker killed between 4 and 5 leaves sent rows without their entry (``logged`` false);
the next batch writes them. The sweep starts scheduled mailings when due and enqueues a job
for a sending mailing whose chain of jobs was lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.activities.choices import CallDirection, EntryKind
from crm.activities.services import timeline_bulk_record, timeline_entry_build
from crm.core.errors import ValidationFailed
from crm.correspondence.rendering import render_text, with_blanks
from crm.correspondence.services.placeholders import client_values, manager_values, seller_values
from crm.correspondence.services.sending import (
    SMTP_TIMEOUT_SECONDS,
    from_header,
    message_of,
    retry_delay,
)
from crm.customers.choices import ContactPointKind
from crm.customers.models import Contact, ContactPoint
from crm.mailings.choices import MailingState, RecipientState, SkipReason
from crm.mailings.models import Mailing, MailingRecipient
from crm.mailings.unsubscribe import unsubscribe_headers, unsubscribe_url

logger = logging.getLogger("crm.mailings")

MAX_ATTEMPTS = 5
SWEEP_GRACE = dt.timedelta(minutes=1)
SUBJECT_MAX = 300


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.CRM_MAILING_LEASE_SECONDS)


def enqueue_batch(mailing_id: int, run_after: dt.datetime | None = None) -> None:
    """Enqueue ``mailing_send_job`` (at ``run_after``). A failure is logged, not raised,
    and a backend that cannot run a job later gets nothing: the sweep enqueues it."""
    from crm.mailings.jobs import mailing_send_job  # the job imports this module

    job = mailing_send_job
    if run_after is not None:
        if not job.get_backend().supports_defer:
            return
        job = job.using(run_after=run_after)
    try:
        job.enqueue(mailing_id)
    except Exception:
        logger.exception("enqueue_failed job=mailing_send id=%s", mailing_id)


# --- claiming ------------------------------------------------------------------------------


def _due(mailing: Mailing, now: dt.datetime) -> Any:
    return MailingRecipient.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        mailing_id=mailing.pk,
        state=RecipientState.QUEUED,
        attempts__lt=MAX_ATTEMPTS,
    )


def _claim(mailing: Mailing, now: dt.datetime) -> tuple[uuid.UUID, list[MailingRecipient]]:
    """Take up to ``CRM_MAILING_BATCH`` due rows (see the module docstring, step 1)."""
    token = uuid.uuid4()
    due = _due(mailing, now)
    with transaction.atomic():
        ids = list(
            due.order_by("id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[: settings.CRM_MAILING_BATCH]
        )
        if not ids:
            return token, []
        # The conditions again: a row another worker claimed meanwhile no longer matches.
        due.filter(pk__in=ids).update(
            claim=token, claimed_until=now + lease(), attempts=F("attempts") + 1
        )
    rows = list(MailingRecipient.objects.filter(pk__in=ids, claim=token).order_by("id"))
    return token, rows


def _give_up_exhausted(mailing: Mailing, now: dt.datetime) -> None:
    """Rows whose every attempt failed are ``failed`` (their last error kept)."""
    MailingRecipient.objects.filter(
        mailing_id=mailing.pk,
        state=RecipientState.QUEUED,
        attempts__gte=MAX_ATTEMPTS,
        claimed_until__lt=now,
    ).update(state=RecipientState.FAILED)


# --- rendering -----------------------------------------------------------------------------


class _Renderer:
    """Renders a mailing's subject and text for one contact: the manager's and seller's
    values read once per batch, the contact's from its prefetched points and jobs."""

    def __init__(self, mailing: Mailing) -> None:
        self.mailing = mailing
        self.language = mailing.language or settings.LANGUAGE_CODE
        self.manager = manager_values(mailing.created_by)
        self.seller = seller_values()

    def render(self, contact: Contact, address: str) -> tuple[str, str]:
        """Subject and text (with the unsubscribe link) for ``contact`` at ``address``;
        ``ValidationFailed`` when a filter of the template fails on its values. Empty
        placeholders print nothing (the preview listed them before the start)."""
        point = ContactPoint(contact_id=contact.pk, kind=ContactPointKind.EMAIL, value=address)
        with translation.override(self.language):
            context, blanks = with_blanks(
                {"client": client_values(contact), "manager": self.manager, "company": self.seller}
            )
            subject = render_text(self.mailing.subject, context, blanks, field_name="subject")
            body = render_text(self.mailing.body, context, blanks, field_name="body")
            footer = _("To unsubscribe from these mailings, open %(url)s") % {
                "url": unsubscribe_url(point)
            }
        return " ".join(subject.text.split())[:SUBJECT_MAX], f"{body.text}\n\n-- \n{footer}\n"


def _contacts(rows: Iterable[MailingRecipient]) -> dict[int, Contact]:
    ids = {row.contact_id for row in rows if row.contact_id is not None}
    return {
        contact.pk: contact
        for contact in Contact.objects.filter(pk__in=ids).prefetch_related(
            "points", "employments__company"
        )
    }


# --- sending -------------------------------------------------------------------------------


def _excluded(
    mailing: Mailing, rows: list[MailingRecipient], contacts: dict[int, Contact]
) -> dict[str, list[int]]:
    """The rows to skip now, by reason: an address unsubscribed or undeliverable on any
    card, a contact without consent when the segment asked for it, a contact gone."""
    marks = list(
        ContactPoint.objects.filter(
            Q(unsubscribed_at__isnull=False) | Q(undeliverable_at__isnull=False),
            kind=ContactPointKind.EMAIL,
            value__in=[row.address for row in rows],
        ).values_list("value", "unsubscribed_at")
    )
    unsubscribed = {value for value, moment in marks if moment is not None}
    undeliverable = {value for value, _moment in marks} - unsubscribed
    skipped: dict[str, list[int]] = {}
    for row in rows:
        contact = contacts.get(row.contact_id or 0)
        if row.address in unsubscribed:
            reason = SkipReason.UNSUBSCRIBED
        elif row.address in undeliverable or contact is None:
            reason = SkipReason.UNDELIVERABLE
        elif mailing.requires_consent and contact.consent_at is None:
            reason = SkipReason.NO_CONSENT
        else:
            continue
        skipped.setdefault(reason, []).append(row.pk)
    return skipped


def _error_text(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def _relaxed_commits(on: bool) -> bool:
    """On PostgreSQL, let the per-message "sent" marks commit without waiting for the WAL
    flush (``synchronous_commit``, this session only, for the batch). A committed mark is
    visible to every other worker at once, so a killed *worker* still re-sends nothing; only
    a crash of the database server itself may lose the last marks (and re-send those
    messages). Answers whether it applies."""
    if db_connection.vendor != "postgresql" or db_connection.in_atomic_block:
        return False
    with db_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO " + ("OFF" if on else "DEFAULT"))
    return True


def _send(
    mailing: Mailing,
    token: uuid.UUID,
    rows: list[MailingRecipient],
    contacts: dict[int, Contact],
    connection: Any,
) -> dict[int, tuple[str, str]]:
    """Hand ``rows`` to the SMTP server over one connection (step 4); answers the sent
    rows' subject and text by id. A refused recipient is ``failed``; a broken connection
    leaves the rest queued for a retry after ``retry_delay``."""
    renderer = _Renderer(mailing)
    sent: dict[int, tuple[str, str]] = {}
    connection = connection or get_connection(timeout=SMTP_TIMEOUT_SECONDS)
    mine = MailingRecipient.objects.filter(claim=token)
    relaxed = _relaxed_commits(True)
    try:
        connection.open()
        for index, row in enumerate(rows):
            contact = contacts[row.contact_id or 0]
            try:
                subject, body = renderer.render(contact, row.address)
            except ValidationFailed as error:
                message = "; ".join(m for ms in error.field_errors.values() for m in ms)
                mine.filter(pk=row.pk).update(state=RecipientState.FAILED, error=message[:500])
                continue
            point = ContactPoint(
                contact_id=contact.pk, kind=ContactPointKind.EMAIL, value=row.address
            )
            email = message_of(
                subject=subject,
                body=body,
                from_name=mailing.from_name,
                from_address=mailing.from_address,
                to=[row.address],
                reply_to=mailing.reply_to,
                message_id=row.message_id,
                headers=unsubscribe_headers(point),
                connection=connection,
            )
            try:
                email.send()
            except smtplib.SMTPRecipientsRefused as error:
                mine.filter(pk=row.pk).update(state=RecipientState.FAILED, error=_error_text(error))
                continue
            except (smtplib.SMTPException, OSError) as error:
                rest = [later.pk for later in rows[index:]]
                mine.filter(pk__in=rest).update(
                    claimed_until=timezone.now() + retry_delay(row.attempts),
                    error=_error_text(error),
                )
                logger.warning("mailing_retry id=%s error=%s", mailing.pk, _error_text(error))
                break
            mine.filter(pk=row.pk).update(state=RecipientState.SENT, sent_at=timezone.now())
            sent[row.pk] = (subject, body)
    except (smtplib.SMTPException, OSError) as error:  # the connection could not open
        mine.filter(state=RecipientState.QUEUED).update(
            claimed_until=timezone.now() + retry_delay(rows[0].attempts),
            error=_error_text(error),
        )
        logger.warning("mailing_retry id=%s error=%s", mailing.pk, _error_text(error))
    finally:
        if relaxed:
            _relaxed_commits(False)
        try:
            connection.close()
        except Exception:  # closing a broken connection: nothing left to do
            logger.debug("mailing_close_failed id=%s", mailing.pk, exc_info=True)
    return sent


def _log(mailing: Mailing, rows: list[MailingRecipient], texts: dict[int, tuple[str, str]]) -> None:
    """The sent rows' "email" entries on their contacts' timelines, in one bulk insert,
    and the rows marked ``logged`` in the same transaction (step 5)."""
    logged = [row for row in rows if row.pk in texts and row.contact_id is not None]
    if not logged:
        return
    sender = from_header(mailing.from_name, mailing.from_address)
    entries = []
    for row in logged:
        subject, body = texts[row.pk]
        entry = timeline_entry_build(
            subject_model=Contact,
            subject_id=row.contact_id or 0,
            kind=EntryKind.EMAIL,
            author=mailing.created_by,
            title=subject,
            body=body,
            data={
                "direction": CallDirection.OUTGOING,
                "from": sender,
                "to": [row.address],
                "mailing_id": mailing.pk,
                "message_id": row.message_id,
                "delivery": RecipientState.SENT,
            },
        )
        entry.direction = CallDirection.OUTGOING
        entries.append(entry)
    with transaction.atomic():
        timeline_bulk_record(entries=entries)
        MailingRecipient.objects.filter(pk__in=[row.pk for row in logged]).update(logged=True)


def _log_orphans(mailing: Mailing, now: dt.datetime) -> None:
    """Write the entries a killed worker left unwritten (sent, not logged, lease over)."""
    rows = list(
        MailingRecipient.objects.filter(
            mailing_id=mailing.pk,
            state=RecipientState.SENT,
            logged=False,
            claimed_until__lt=now,
        ).order_by("id")[: settings.CRM_MAILING_BATCH]
    )
    if not rows:
        return
    contacts = _contacts(rows)
    renderer = _Renderer(mailing)
    texts: dict[int, tuple[str, str]] = {}
    for row in rows:
        contact = contacts.get(row.contact_id or 0)
        if contact is not None:
            try:
                texts[row.pk] = renderer.render(contact, row.address)
            except ValidationFailed:
                texts[row.pk] = (mailing.subject, "")
    _log(mailing, rows, texts)
    MailingRecipient.objects.filter(pk__in=[row.pk for row in rows]).update(logged=True)


def _finish_or_wait(mailing: Mailing, now: dt.datetime) -> str:
    """No row to claim: the mailing is done when none is queued; else rows are leased (by
    a live worker, or a dead one's): come back when the first lease runs out."""
    waiting = MailingRecipient.objects.filter(
        mailing_id=mailing.pk, state=RecipientState.QUEUED
    ).aggregate(first=Min("claimed_until"))["first"]
    if (
        waiting is None
        and not MailingRecipient.objects.filter(
            mailing_id=mailing.pk, state=RecipientState.QUEUED
        ).exists()
    ):
        if MailingRecipient.objects.filter(
            mailing_id=mailing.pk, state=RecipientState.SENT, logged=False
        ).exists():
            return "logging"  # a live worker writes its entries; the next run finishes
        Mailing.objects.filter(pk=mailing.pk, state=MailingState.SENDING).update(
            state=MailingState.DONE, finished_at=now, next_batch_at=None
        )
        return "done"
    retry_at = max(waiting or now, now) + dt.timedelta(seconds=1)
    Mailing.objects.filter(pk=mailing.pk).update(next_batch_at=retry_at)
    enqueue_batch(mailing.pk, run_after=retry_at)
    return "waiting"


def mailing_send_batch(*, mailing_id: int, connection: Any = None) -> str:
    """Send the next batch of a sending mailing (see the module docstring). Idempotent: a
    run for a mailing that is not sending, or with nothing due, sends nothing. Answers
    "idle", "done", "waiting", "logging" or "sent <n>"."""
    mailing = Mailing.objects.select_related("created_by").filter(pk=mailing_id).first()
    if mailing is None or mailing.state != MailingState.SENDING:
        return "idle"
    now = timezone.now()
    _give_up_exhausted(mailing, now)
    _log_orphans(mailing, now)
    token, rows = _claim(mailing, now)
    if not rows:
        return _finish_or_wait(mailing, now)
    next_at = now + dt.timedelta(seconds=len(rows) * 60 / mailing.rate_per_minute)
    Mailing.objects.filter(pk=mailing.pk).update(next_batch_at=next_at)
    enqueue_batch(mailing.pk, run_after=next_at)
    contacts = _contacts(rows)
    excluded = _excluded(mailing, rows, contacts)
    for reason, ids in excluded.items():
        MailingRecipient.objects.filter(pk__in=ids, claim=token).update(
            state=RecipientState.SKIPPED, reason=reason
        )
    skipped = {pk for ids in excluded.values() for pk in ids}
    to_send = [row for row in rows if row.pk not in skipped]
    texts = _send(mailing, token, to_send, contacts, connection)
    _log(mailing, rows, texts)
    if not MailingRecipient.objects.filter(
        mailing_id=mailing.pk, state=RecipientState.QUEUED
    ).exists():
        _finish_or_wait(mailing, timezone.now())
    return f"sent {len(texts)}"


def mailing_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Start the scheduled mailings that are due, and enqueue a job for every sending
    mailing whose next batch is more than ``SWEEP_GRACE`` overdue (its worker died, or the
    queue cannot run jobs later). Safe in two schedulers: the job's claim makes a second
    run harmless."""
    now = now or timezone.now()
    started = 0
    for mailing_id in Mailing.objects.filter(
        state=MailingState.SCHEDULED, send_at__lte=now
    ).values_list("pk", flat=True):
        if Mailing.objects.filter(pk=mailing_id, state=MailingState.SCHEDULED).update(
            state=MailingState.SENDING, next_batch_at=now
        ):
            enqueue_batch(mailing_id)
            started += 1
    stalled = list(
        Mailing.objects.filter(
            Q(next_batch_at__isnull=True) | Q(next_batch_at__lt=now - SWEEP_GRACE),
            state=MailingState.SENDING,
        ).values_list("pk", flat=True)
    )
    for mailing_id in stalled:
        Mailing.objects.filter(pk=mailing_id).update(next_batch_at=now)
        enqueue_batch(mailing_id)
    return {name: n for name, n in (("started", started), ("resumed", len(stalled))) if n}

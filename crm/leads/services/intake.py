"""Intake: every channel stores what arrived (``inbound_store``), then a job turns it into
a lead (``inbound_process``).

Storing is its own short transaction that only writes the raw row, so an accepted request
is never lost even if processing fails; processing locks the row, skips it if it is no
longer pending, and writes the lead, its timeline and its notification in one
transaction, so a retry or a second worker never makes a second lead.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import TaskResultStatus
from django_tasks.exceptions import TaskResultDoesNotExist

from crm.accounts.models import User
from crm.core.errors import ValidationFailed
from crm.core.normalize import normalize_email, normalize_inn, normalize_phone, phone_digits_key
from crm.core.permissions import ScopedUser
from crm.customers.choices import ClientType
from crm.customers.services.cleaning import Errors, clean_text
from crm.leads.choices import Channel, InboundStatus
from crm.leads.models import Inbound, Lead

logger = logging.getLogger("crm.leads")

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
MAX_ATTEMPTS = 5
BATCH_SIZE = 50
WAITING_JOB_KEY = "leads:inbound-job-waiting"
WAITING_JOB_SECONDS = 600


@dataclass
class LeadInput:
    """A lead's data after cleaning, whatever the channel.

    ``phone`` is E.164; a number that is not a valid phone but has a phone's digits is kept:
    ``phone_unchecked`` holds it as it was sent and ``phone`` its digits key
    (``core.normalize.phone_digits_key``), which matching compares."""

    name: str = ""
    phone: str = ""
    phone_unchecked: str = ""
    email: str = ""
    company_name: str = ""
    inn: str = ""
    message: str = ""
    client_type: str = ""
    title: str = ""
    utm: dict[str, str] = field(default_factory=dict)
    referrer: str = ""
    page_url: str = ""
    partner_code: str = ""
    thread_key: str = ""
    data: dict[str, str] = field(default_factory=dict)
    body_points: list[tuple[str, str]] = field(default_factory=list)
    """Normalised (kind, value) phones and e-mails of an e-mail's own text (its signature):
    matched like ``phone`` and ``email``, kept as ``Lead.body_points``."""

    @property
    def has_contact(self) -> bool:
        return bool(self.phone or self.email)


def _normalized(
    errors: Errors,
    raw: dict[str, Any],
    name: str,
    max_length: int,
    normalize: Callable[[str], str],
) -> str:
    """The field ``name`` of ``raw`` cleaned and normalised ("" when empty, or refused into
    ``errors`` with the normaliser's message)."""
    text = clean_text(errors, name, raw.get(name), max_length=max_length)
    if not text:
        return ""
    try:
        return normalize(text)
    except ValueError as error:
        errors.add(name, str(error))
        return ""


def clean_lead_phone(errors: Errors, value: Any, *, name: str = "phone") -> tuple[str, str]:
    """``(phone, phone_unchecked)`` of a lead: the E.164 number, or for a number that is not
    valid (a foreign or mistyped one) its digits key and the text as sent, so the lead is
    kept and the manager sees it unchecked. Text with too few digits to be a phone is
    refused into ``errors``."""
    text = clean_text(errors, name, value, max_length=40)
    if not text:
        return "", ""
    try:
        return normalize_phone(text), ""
    except ValueError as error:
        key = phone_digits_key(text)
        if not key:
            errors.add(name, str(error))
            return "", ""
        return key, text


def clean_lead_input(raw: dict[str, Any], *, extra_fields: tuple[str, ...] = ()) -> LeadInput:
    """Validate the common lead fields (names as in the API and the form snippet).

    A lead needs a way to reach the person: a phone or an e-mail. Fields named in
    ``extra_fields`` (a form's own fields) go to ``data`` as trimmed text.
    """
    errors = Errors()
    out = LeadInput()
    out.name = clean_text(errors, "name", raw.get("name"), max_length=200)
    out.company_name = clean_text(errors, "company", raw.get("company"), max_length=300)
    out.message = clean_text(
        errors, "message", raw.get("message"), max_length=10000, multiline=True
    )
    out.title = clean_text(errors, "title", raw.get("title"), max_length=200)
    out.referrer = clean_text(errors, "referrer", raw.get("referrer"), max_length=500)
    out.page_url = clean_text(errors, "page_url", raw.get("page_url"), max_length=500)
    out.partner_code = clean_text(errors, "partner", raw.get("partner"), max_length=100)
    out.phone, out.phone_unchecked = clean_lead_phone(errors, raw.get("phone"))
    out.email = _normalized(errors, raw, "email", 254, normalize_email)
    out.inn = _normalized(errors, raw, "inn", 20, normalize_inn)
    client_type = raw.get("client_type") or ""
    if client_type and client_type not in ClientType.values:
        errors.add("client_type", _("Choose private, business or government."))
    out.client_type = client_type
    for key in UTM_KEYS:
        value = clean_text(errors, key, raw.get(key), max_length=200)
        if value:
            out.utm[key.removeprefix("utm_")] = value
    for name in extra_fields:
        value = clean_text(errors, name, raw.get(name), max_length=2000, multiline=True)
        if value:
            out.data[name] = value
    if not out.has_contact and "phone" not in errors.fields and "email" not in errors.fields:
        errors.add("phone", _("Give a phone or an e-mail."))
    errors.raise_if_any()
    if not out.client_type:
        out.client_type = ClientType.BUSINESS if (out.company_name or out.inn) else ""
    return out


def inbound_store(
    *,
    channel: str,
    payload: dict[str, Any] | None = None,
    raw: str = "",
    meta: dict[str, Any] | None = None,
    form: Any = None,
    idempotency_key: str = "",
    actor: ScopedUser | None = None,
    process: bool = True,
) -> tuple[Inbound, bool]:
    """Store one arrival; returns ``(row, created)``. A repeated idempotency key returns the
    first row and stores nothing. Processing is enqueued when the row is committed."""
    if channel not in Channel.values:
        raise ValueError(channel)
    key = (idempotency_key or "")[:200]
    if key:
        existing = Inbound.objects.filter(channel=channel, idempotency_key=key).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            inbound = Inbound.objects.create(
                channel=channel,
                payload=payload or {},
                raw=raw,
                meta=meta or {},
                form=form,
                idempotency_key=key,
                client_key=client_key_of(payload or {}, meta or {}),
                created_by=actor if isinstance(actor, User) and actor.pk else None,
            )
            if process:
                transaction.on_commit(lambda: _enqueue(inbound.pk))
    except IntegrityError:
        # Two retries raced: the other one stored it.
        return Inbound.objects.get(channel=channel, idempotency_key=key), False
    return inbound, True


def client_key_of(payload: dict[str, Any], meta: dict[str, Any]) -> str:
    """Who sent an arrival, as far as it says before it is parsed: ``p:`` and the last ten
    digits of its phone (``phone``, or a call's ``client_phone``), else ``e:`` and its
    e-mail address (``email``, or an e-mail's ``From``) lower-cased; "" when it names
    neither. Cheap on purpose (no phone parsing in the request that stores it): two
    clients sharing a key are only processed one after the other, and a client who writes
    once by phone and once by e-mail has two keys."""
    phone = phone_digits_key(str(payload.get("phone") or payload.get("client_phone") or ""))
    if phone:  # "+" and the digits, or "" when too few to be a phone
        return f"p:{phone[-10:]}"
    address = payload.get("email") or parseaddr(str(meta.get("from") or ""))[1]
    address = str(address or "").strip().lower()
    return f"e:{address}"[:200] if "@" in address else ""


def _enqueue(inbound_id: int) -> None:
    """Enqueue the processing job of a committed arrival, unless a processing job is queued
    and has not started: its batch is read when it starts, after this commit, so it takes
    this row too (or, behind a backlog of a full batch, the jobs it enqueues do). So one job
    serves a burst of arrivals, instead of one job per arrival that mostly finds its row
    done. The sweep catches any row this misses."""

    try:
        if _processing_job_waiting():
            return
        inbound_processing_enqueue(inbound_id)
    except Exception:  # the sweep picks the row up later; the arrival is stored
        logger.exception("could not enqueue inbound %s", inbound_id)


def inbound_processing_enqueue(inbound_id: int = 0) -> None:
    """Enqueue a processing job (``inbound_id`` 0: just a batch of pending arrivals) and
    remember it as the one waiting, where the backend can tell its state."""
    from crm.leads.jobs import inbound_process_job

    result = inbound_process_job.enqueue(inbound_id)
    if inbound_process_job.get_backend().supports_get_result:
        cache.set(WAITING_JOB_KEY, result.id, timeout=WAITING_JOB_SECONDS)


def _processing_job_waiting() -> bool:
    from crm.leads.jobs import inbound_process_job

    job_id = cache.get(WAITING_JOB_KEY)
    if not job_id:
        return False
    try:
        return inbound_process_job.get_result(job_id).status == TaskResultStatus.READY
    except TaskResultDoesNotExist:
        return False


def inbound_process(inbound_id: int) -> Lead | None:
    """Turn a stored arrival into a lead (or attach it to one). Idempotent."""
    with transaction.atomic():
        inbound = Inbound.objects.select_for_update().filter(pk=inbound_id).first()
        if inbound is None or inbound.status != InboundStatus.PENDING:
            return inbound.lead if inbound else None
        return _process_locked(inbound, batch=None)


def inbound_process_batch(*, first_id: int | None = None, size: int = 0) -> list[int]:
    """Process up to ``size`` (``BATCH_SIZE``) pending arrivals in one transaction; returns
    the ids handled.

    Takes ``first_id``'s arrival (the job's own) and the oldest other arrivals never tried
    (``attempts`` 0), each locked with SKIP LOCKED, so two workers take different rows; the
    jobs of rows handled here find them done and return. A client's arrivals are handled one
    after another in the order they came: the batch takes only the earliest pending arrival
    of each client (``client_key``) and then, after it in the same batch, that client's
    later ones, so a later arrival never runs beside an earlier one locked by another
    worker, and finds the lead the earlier one made. Each row is processed in its own
    savepoint as ``inbound_process`` does (a failure there is counted on that row only);
    what the batch shares — routing reads, the round-robin lock, timeline entries written
    in one INSERT, one commit — is in ``LeadBatch``. A crash before the commit leaves every
    row of the batch pending, to be processed by its job or the sweep.
    """
    from crm.leads.services.leads import LeadBatch

    size = size or BATCH_SIZE
    with transaction.atomic():
        locking = Inbound.objects.select_for_update(skip_locked=True, of=("self",))
        earliest = locking.filter(~Exists(_earlier_of_the_client()))
        rows: list[Inbound] = []
        if first_id is not None:
            own = earliest.filter(pk=first_id, status=InboundStatus.PENDING).first()
            rows += [own] if own is not None else []
        others = (
            earliest.filter(status=InboundStatus.PENDING, attempts=0)
            .exclude(pk=first_id or 0)
            .order_by("received_at", "id")[: max(0, size - len(rows))]
        )
        rows += list(others)
        rows += _later_of_the_clients(locking, rows, room=size - len(rows))
        rows.sort(key=lambda row: (row.received_at, row.pk))
        batch = LeadBatch()
        for inbound in rows:
            _process_locked(inbound, batch=batch)
        batch.flush()
    return [row.pk for row in rows]


def _later_of_the_clients(
    locking: QuerySet[Inbound], rows: list[Inbound], *, room: int
) -> list[Inbound]:
    """The later pending arrivals of the clients whose earliest pending ones are ``rows``,
    oldest first, up to ``room``: no other worker takes them while ``rows`` are pending."""
    keys = sorted({row.client_key for row in rows if row.client_key})
    if not keys or room <= 0:
        return []
    later = locking.filter(status=InboundStatus.PENDING, attempts=0, client_key__in=keys)
    return list(later.exclude(pk__in=[row.pk for row in rows]).order_by("received_at", "id")[:room])


def _earlier_of_the_client() -> QuerySet[Inbound]:
    """For ``Exists``: an earlier pending arrival of the same client as the outer row."""
    return Inbound.objects.filter(
        Q(received_at__lt=OuterRef("received_at"))
        | Q(received_at=OuterRef("received_at"), pk__lt=OuterRef("pk")),
        status=InboundStatus.PENDING,
        client_key=OuterRef("client_key"),
    ).exclude(client_key="")


def _process_locked(inbound: Inbound, *, batch: Any) -> Lead | None:
    """Process one pending arrival whose row the caller has locked, in a savepoint."""
    from crm.leads.services.leads import lead_from_input
    from crm.leads.services.parsers import parser_for

    checkpoint = batch.checkpoint() if batch is not None else None
    try:
        with transaction.atomic():
            lead_input = parser_for(inbound.channel)(inbound)
            if lead_input is None:
                # The parser dealt with it (a known client's e-mail went on their
                # timeline) or refused it, saying why in ``error`` (spam, auto-reply).
                inbound.status = InboundStatus.REJECTED if inbound.error else InboundStatus.HANDLED
                lead = inbound.lead
            else:
                lead = lead_from_input(lead_input, inbound=inbound, batch=batch)
                inbound.status = InboundStatus.PROCESSED
                inbound.lead = lead
    except ValidationFailed as error:
        if batch is not None:
            batch.rollback(checkpoint)
        inbound.status = InboundStatus.FAILED
        inbound.error = str(error.field_errors or error.message)[:500]
        lead = None
    except Exception as error:
        if batch is not None:
            batch.rollback(checkpoint)
        inbound.attempts += 1
        inbound.error = f"{type(error).__name__}: {error}"[:500]
        if inbound.attempts >= MAX_ATTEMPTS:
            inbound.status = InboundStatus.FAILED
        logger.exception("processing inbound %s failed", inbound.pk)
        inbound.save(update_fields=["attempts", "error", "status"])
        return None
    inbound.processed_at = timezone.now()
    inbound.save(update_fields=["status", "lead", "error", "processed_at"])
    return lead


def inbound_sweep(*, older_than_seconds: int = 60, batch: int = 200) -> dict[str, int]:
    """Process arrivals whose job was lost (the worker was down when they came)."""
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    ids = list(
        Inbound.objects.filter(status=InboundStatus.PENDING, received_at__lte=cutoff)
        .order_by("received_at")
        .values_list("id", flat=True)[:batch]
    )
    for inbound_id in ids:
        inbound_process(inbound_id)
    return {"processed": len(ids)}

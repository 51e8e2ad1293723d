"""Leads by phone: call events from a PBX or a cloud telephony provider.

Each event (``incoming``, ``answered``, ``missed``, ``finished``) is checked
(``call_event_clean``, or ``zadarma_event`` for Zadarma's notifications), then stored as an
arrival on the ``phone`` channel under ``<call_id>:<event>``, so a repeated webhook stores
nothing. Processing has two steps:

1. the ``phone`` parser (in ``inbound_process``) decides about the lead: an unknown caller's
   incoming call becomes a lead (thread key ``call:<call_id>``, so every event of the call
   finds the same lead); later events of that call are linked to it without another
   "repeated request"; a known caller (a contact or company with that phone), an outgoing
   call and a hidden number make no lead;
2. ``call_event_apply``, run after that commit (and by a sweep if it was lost), puts the
   call on the timeline of the call's lead or the known client once the call is over
   (``finished`` or ``missed``; direction, duration, recording link) and, for a missed
   incoming call, creates one call-back task for the client's responsible user or the
   lead's owner. Both happen once per call, whichever of the call's events arrive.
   An answered outgoing call to an open lead's number counts as its first response.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.activities.choices import CallDirection, EntryKind
from crm.activities.models import TimelineEntry
from crm.activities.services import timeline_record
from crm.core.errors import ValidationFailed
from crm.core.normalize import format_phone, normalize_phone, phone_digits_key
from crm.customers.choices import ContactPointKind
from crm.customers.models import Company, Contact
from crm.customers.services.cleaning import Errors
from crm.leads.choices import OPEN_STATUSES, Channel, InboundStatus
from crm.leads.models import Inbound, Lead
from crm.leads.services.email_channel import known_client
from crm.leads.services.intake import LeadInput, inbound_store
from crm.leads.services.leads import lead_mark_responded
from crm.notifications.services import in_language
from crm.planner.models import Task
from crm.planner.services import task_create

logger = logging.getLogger("crm.leads")

EVENTS = ("incoming", "answered", "missed", "finished")
FINAL_EVENTS = ("missed", "finished")
DIRECTIONS = ("in", "out")
HIDDEN_NUMBERS = {"", "anonymous", "unknown", "private", "restricted", "hidden", "unavailable"}
MAX_BODY_BYTES = 64 * 1024
MAX_CALL_ID = 100
MAX_DURATION = 86400
CALLBACK_AFTER = dt.timedelta(minutes=15)
APPLY_ATTEMPTS = 5


@dataclass(frozen=True)
class CallEvent:
    """One call event after checking, in the generic format. ``client_phone`` is the other
    party's number in E.164 ("" when hidden): the caller of an incoming call, the callee of
    an outgoing one. A number that is not valid (a foreign or odd caller id) is kept:
    ``client_phone_unchecked`` holds it as sent and ``client_phone`` its digits key."""

    event: str
    call_id: str
    direction: str
    from_number: str
    to_number: str
    client_phone: str
    client_phone_unchecked: str = ""
    started_at: dt.datetime | None = None
    duration: int = 0
    recording_url: str = ""
    user_extension: str = ""
    provider: str = "generic"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        return event_key(self.call_id, self.event)

    @property
    def client_phone_shown(self) -> str:
        return self.client_phone_unchecked or format_phone(self.client_phone)

    @property
    def thread_key(self) -> str:
        return f"call:{self.call_id}"

    @property
    def is_final(self) -> bool:
        return self.event in FINAL_EVENTS

    @property
    def is_missed(self) -> bool:
        """Nobody talked to the caller: a ``missed`` event, or an incoming call that
        finished after 0 seconds of talk."""
        return self.direction == "in" and (
            self.event == "missed" or (self.event == "finished" and self.duration == 0)
        )

    def as_payload(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "call_id": self.call_id,
            "direction": self.direction,
            "from": self.from_number,
            "to": self.to_number,
            "client_phone": self.client_phone,
            "client_phone_unchecked": self.client_phone_unchecked,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "duration": self.duration,
            "recording_url": self.recording_url,
            "user_extension": self.user_extension,
            "provider": self.provider,
            "extra": self.extra,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> CallEvent:
        started = payload.get("started_at")
        return cls(
            event=payload["event"],
            call_id=payload["call_id"],
            direction=payload["direction"],
            from_number=payload.get("from", ""),
            to_number=payload.get("to", ""),
            client_phone=payload.get("client_phone", ""),
            client_phone_unchecked=payload.get("client_phone_unchecked", ""),
            started_at=dt.datetime.fromisoformat(started) if started else None,
            duration=int(payload.get("duration") or 0),
            recording_url=payload.get("recording_url", ""),
            user_extension=payload.get("user_extension", ""),
            provider=payload.get("provider", "generic"),
            extra=dict(payload.get("extra") or {}),
        )


def event_key(call_id: str, event: str) -> str:
    return f"{call_id}:{event}"


# --- checking ---------------------------------------------------------------------------------


def _short_text(errors: Errors, name: str, value: Any, *, limit: int, required: bool) -> str:
    if value is None or value == "":
        if required:
            errors.add(name, _("This field is required."))
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        errors.add(name, _("Expected text."))
        return ""
    text = str(value).strip()
    if len(text) > limit or not text.isprintable():
        errors.add(name, _("At most %(n)d printable characters.") % {"n": limit})
        return ""
    if required and not text:
        errors.add(name, _("This field is required."))
    return text


def _phone(errors: Errors, name: str, raw: str) -> tuple[str, str]:
    """``(E.164, "")`` of a party's number; ``("", "")`` for a hidden one. Digits without
    "+" that are not a national number are read as international (providers send
    380501234567). A number that is still not valid but has a phone's digits is kept as
    ``(digits key, raw)``; text with too few digits is refused."""
    digits = "".join(ch for ch in raw if ch.isdigit())
    if raw.strip().lower() in HIDDEN_NUMBERS or (digits and set(digits) == {"0"}):
        return "", ""
    try:
        return normalize_phone(raw), ""
    except ValueError as error:
        if digits == raw.strip() and len(digits) >= 11:
            try:
                return normalize_phone("+" + digits), ""
            except ValueError:
                pass
        key = phone_digits_key(raw)
        if key:
            return key, raw.strip()
        errors.add(name, str(error))
        return "", ""


def _moment(errors: Errors, name: str, value: Any) -> dt.datetime | None:
    """ISO 8601 or Unix seconds; a time without a zone is in the site's zone."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, (int, float)):
            moment = dt.datetime.fromtimestamp(value, tz=dt.UTC)
        elif isinstance(value, str):
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        else:
            raise ValueError
    except (ValueError, OverflowError, OSError):
        errors.add(name, _("Give a date and time in ISO 8601 or Unix seconds."))
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _duration(errors: Errors, name: str, value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DURATION:
        errors.add(name, _("Whole seconds from 0 to %(n)d.") % {"n": MAX_DURATION})
        return 0
    return value


def call_event_clean(
    data: dict[str, Any], *, provider: str = "generic", extra: dict[str, str] | None = None
) -> CallEvent:
    """Check one event of the generic format; raises ``ValidationFailed`` naming every bad
    field. Fields not in the format are ignored."""
    errors = Errors()
    event = data.get("event")
    if event not in EVENTS:
        errors.add("event", _("One of: incoming, answered, missed, finished."))
    call_id = _short_text(errors, "call_id", data.get("call_id"), limit=MAX_CALL_ID, required=True)
    direction = data.get("direction") or "in"
    if direction not in DIRECTIONS:
        errors.add("direction", _("“in” or “out”."))
    from_number = _short_text(errors, "from", data.get("from"), limit=40, required=True)
    to_number = _short_text(errors, "to", data.get("to"), limit=40, required=direction == "out")
    client_field = "to" if direction == "out" else "from"
    client_raw = to_number if direction == "out" else from_number
    client_phone, client_phone_unchecked = (
        _phone(errors, client_field, client_raw) if client_raw else ("", "")
    )
    started_at = _moment(errors, "started_at", data.get("started_at"))
    duration = _duration(errors, "duration", data.get("duration"))
    recording_url = _short_text(
        errors, "recording_url", data.get("recording_url"), limit=500, required=False
    )
    if recording_url and not recording_url.lower().startswith(("https://", "http://")):
        errors.add("recording_url", _("Enter an http(s) address."))
    user_extension = _short_text(
        errors, "user_extension", data.get("user_extension"), limit=20, required=False
    )
    errors.raise_if_any()
    return CallEvent(
        event=str(event),
        call_id=call_id,
        direction=str(direction),
        from_number=from_number,
        to_number=to_number,
        client_phone=client_phone,
        client_phone_unchecked=client_phone_unchecked,
        started_at=started_at,
        duration=duration,
        recording_url=recording_url,
        user_extension=user_extension,
        provider=provider,
        extra=extra or {},
    )


def call_event_store(
    *, event: CallEvent, raw: str, meta: dict[str, Any] | None = None
) -> tuple[Inbound, bool]:
    """Store a checked event; a repeated one (same call and event) returns the first row."""
    return inbound_store(
        channel=Channel.PHONE,
        payload=event.as_payload(),
        raw=raw,
        meta={**(meta or {}), "provider": event.provider},
        idempotency_key=event.idempotency_key,
    )


def signature_valid(*, body: bytes, given: str, secret: str) -> bool:
    """``X-CRM-Signature``: ``sha256=`` and the hex HMAC-SHA256 of the body (the prefix is
    optional), compared in constant time."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    value = given.strip()
    if value.lower().startswith("sha256="):
        value = value[len("sha256=") :]
    return hmac.compare_digest(expected.encode(), value.lower().encode("utf-8", "replace"))


def secret_valid(*, given: str, secret: str) -> bool:
    return hmac.compare_digest(secret.encode(), given.encode("utf-8", "replace"))


# --- the Zadarma adapter ----------------------------------------------------------------------

# Zadarma posts a form for each call event, signed in the ``Signature`` header with
# base64(hex(HMAC-SHA1(API secret, these fields' values joined))). Other events
# (NOTIFY_INTERNAL, NOTIFY_OUT_START, NOTIFY_RECORD, NOTIFY_IVR …) are acknowledged and
# ignored.
ZADARMA_SIGNED = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
}
# Where a generic field comes from, per event, to name Zadarma's field in an error.
ZADARMA_FIELDS = {
    "NOTIFY_START": {"from": "caller_id", "to": "called_did"},
    "NOTIFY_ANSWER": {"from": "caller_id", "to": "destination", "user_extension": "internal"},
    "NOTIFY_END": {"from": "caller_id", "to": "called_did", "user_extension": "internal"},
    "NOTIFY_OUT_END": {"from": "caller_id", "to": "destination", "user_extension": "internal"},
}
ZADARMA_COMMON_FIELDS = {"call_id": "pbx_call_id", "started_at": "call_start"}


def zadarma_signature(fields: dict[str, str], secret: str) -> str:
    names = ZADARMA_SIGNED.get(fields.get("event", ""), ())
    text = "".join(fields.get(name, "") for name in names)
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def zadarma_signature_valid(fields: dict[str, str], given: str, secret: str) -> bool:
    if fields.get("event") not in ZADARMA_SIGNED:
        return False
    expected = zadarma_signature(fields, secret)
    return hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace"))


def zadarma_event(fields: dict[str, str]) -> CallEvent | None:
    """A Zadarma notification as a generic event; None for events that carry no call
    state. Raises ``ValidationFailed`` naming Zadarma's fields."""
    name = fields.get("event", "")
    if name not in ZADARMA_SIGNED:
        return None
    data: dict[str, Any] = {
        "call_id": fields.get("pbx_call_id"),
        "started_at": fields.get("call_start"),
        "from": fields.get("caller_id"),
        "user_extension": fields.get("internal"),
    }
    extra: dict[str, str] = {}
    if name == "NOTIFY_START":
        data |= {"event": "incoming", "direction": "in", "to": fields.get("called_did")}
    elif name == "NOTIFY_ANSWER":
        data |= {"event": "answered", "direction": "in", "to": fields.get("destination")}
    else:
        disposition = fields.get("disposition", "")
        extra = {"disposition": disposition[:40], "status_code": fields.get("status_code", "")[:10]}
        if fields.get("is_recorded") == "1" and fields.get("call_id_with_rec"):
            extra["recording_id"] = fields["call_id_with_rec"][:100]
        data["duration"] = fields.get("duration")
        if name == "NOTIFY_END":
            answered = disposition == "answered"
            data |= {
                "event": "finished" if answered else "missed",
                "direction": "in",
                "to": fields.get("called_did"),
            }
            if not answered:
                data["duration"] = 0
        else:
            data |= {
                "event": "finished",
                "direction": "out",
                "to": fields.get("destination"),
                "from": fields.get("caller_id") or fields.get("internal"),
            }
    try:
        return call_event_clean(data, provider="zadarma", extra=extra)
    except ValidationFailed as error:
        names = {**ZADARMA_COMMON_FIELDS, **ZADARMA_FIELDS[name]}
        raise ValidationFailed(
            error.message,
            field_errors={names.get(key, key): value for key, value in error.field_errors.items()},
        ) from None


# --- processing -------------------------------------------------------------------------------


def _call_lead(call: CallEvent) -> Lead | None:
    """The lead an earlier event of this call made or was attached to."""
    earlier = (
        Inbound.objects.filter(
            channel=Channel.PHONE,
            idempotency_key__in=[event_key(call.call_id, event) for event in EVENTS],
            lead__isnull=False,
        )
        .select_related("lead")
        .order_by("id")
        .first()
    )
    if earlier is not None:
        return earlier.lead
    return Lead.objects.filter(thread_key=call.thread_key).order_by("id").first()


def call_lead_input(inbound: Inbound) -> LeadInput | None:
    """The ``phone`` parser: a lead's data for an unknown caller's incoming call, else None
    (see the module docstring). Schedules ``call_event_apply`` for after the commit."""
    call = CallEvent.from_payload(inbound.payload)
    transaction.on_commit(partial(call_event_apply, inbound.pk), robust=True)
    if not call.client_phone:
        inbound.error = "hidden number"
        return None
    lead = _call_lead(call)
    if lead is not None:
        inbound.lead = lead
        return None
    if call.direction == "out":
        return None
    if known_client(kind=ContactPointKind.PHONE, value=call.client_phone) is not None:
        return None
    return LeadInput(
        phone=call.client_phone,
        phone_unchecked=call.client_phone_unchecked,
        thread_key=call.thread_key,
        data={
            key: value
            for key, value in {"call_id": call.call_id, "line": call.to_number}.items()
            if value
        },
    )


def _user_of(extension: str) -> Any:
    """The active user whose phone field is this PBX extension, if any."""
    if not extension:
        return None
    return get_user_model().objects.filter(is_active=True, phone=extension).order_by("id").first()


def _locked(subject: models.Model) -> models.Model:
    """The subject's row, locked: events of one call applied at once wait for each other,
    so "once per call" holds (SQLite serialises writers anyway)."""
    return type(subject)._default_manager.select_for_update().get(pk=subject.pk)


def _record_call(subject: models.Model, call: CallEvent, author: Any) -> TimelineEntry | None:
    subject_type = ContentType.objects.get_for_model(subject)
    if TimelineEntry.objects.filter(
        subject_type=subject_type,
        subject_id=subject.pk,
        kind=EntryKind.CALL,
        data__call_id=call.call_id,
    ).exists():
        return None
    if call.is_missed:
        direction = CallDirection.MISSED
    else:
        direction = CallDirection.OUTGOING if call.direction == "out" else CallDirection.INCOMING
    data = {
        "call_id": call.call_id,
        "from": call.from_number,
        "to": call.to_number,
        "phone": call.client_phone,
        "provider": call.provider,
    }
    if call.recording_url:
        data["recording_url"] = call.recording_url
    if call.user_extension:
        data["user_extension"] = call.user_extension
    data.update(call.extra)
    return timeline_record(
        subject=subject,
        kind=EntryKind.CALL,
        author=author,
        title=call.client_phone_shown,
        body=call.recording_url,
        data=data,
        direction=direction,
        duration_seconds=call.duration,
        occurred_at=call.started_at,
    )


def _callback_origin(call: CallEvent) -> str:
    key = (
        call.call_id
        if len(call.call_id) <= 80
        else hashlib.sha256(call.call_id.encode()).hexdigest()
    )
    return f"missed-call:{key}"


def _callback_task(subject: models.Model, call: CallEvent) -> Task | None:
    """One "call back" task per missed call, for the client's responsible user or the
    lead's owner; none when there is nobody to give it to."""
    origin = _callback_origin(call)
    if Task.objects.filter(
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=subject.pk,
        origin=origin,
    ).exists():
        return None
    owner = subject.owner if isinstance(subject, (Contact, Company, Lead)) else None
    if owner is None:
        return None
    with in_language(owner):
        title = _("Call back %(phone)s") % {"phone": call.client_phone_shown}
    try:
        return task_create(
            actor=None,
            check_actor=False,
            type_code="call",
            subject=subject,
            owner=owner,
            title=title,
            due_at=timezone.now() + CALLBACK_AFTER,
            origin=origin,
        )
    except ValidationFailed as error:  # an inactive or read-only responsible user
        logger.warning("no call-back task for call %s: %s", call.call_id, error)
        return None


def _subject_for(inbound: Inbound, call: CallEvent) -> models.Model | None:
    if not call.client_phone:
        return None
    lead = inbound.lead or _call_lead(call)
    if lead is not None:
        return lead
    if call.direction == "out":
        open_lead: Lead | None = (
            Lead.objects.filter(status__in=OPEN_STATUSES, phone=call.client_phone)
            .order_by("-created_at", "-id")
            .first()
        )
        if open_lead is not None:
            return open_lead
    return known_client(kind=ContactPointKind.PHONE, value=call.client_phone)


def call_event_apply(inbound_id: int) -> None:
    """Put a processed call event's effects on the timeline and the planner (see the module
    docstring). Idempotent: the row is locked and marked ``meta["applied"]``."""
    with transaction.atomic():
        inbound = (
            Inbound.objects.select_for_update(of=("self",))
            .select_related("lead")
            .filter(pk=inbound_id, channel=Channel.PHONE)
            .first()
        )
        if (
            inbound is None
            or inbound.status
            not in (InboundStatus.PROCESSED, InboundStatus.HANDLED, InboundStatus.REJECTED)
            or "applied" in inbound.meta
        ):
            return
        call = CallEvent.from_payload(inbound.payload)
        applied: dict[str, Any] = {}
        subject = _subject_for(inbound, call)
        if subject is not None and (call.is_final or call.is_missed):
            subject = _locked(subject)
            applied["subject"] = f"{subject._meta.model_name}:{subject.pk}"
            author = _user_of(call.user_extension)
            entry = _record_call(subject, call, author) if call.is_final else None
            if entry is not None:
                applied["entry_id"] = entry.pk
            task = _callback_task(subject, call) if call.is_missed else None
            if task is not None:
                applied["task_id"] = task.pk
            if (
                isinstance(subject, Lead)
                and call.direction == "out"
                and call.duration > 0
                and subject.status in OPEN_STATUSES
            ):
                lead_mark_responded(lead=subject, actor=author, how="call")
        inbound.meta = {**inbound.meta, "applied": applied or True}
        inbound.save(update_fields=["meta"])


def call_event_sweep(*, hours: int = 24, batch: int = 200) -> dict[str, int]:
    """Apply processed call events whose after-commit step was lost (a crash, an error);
    an event that fails ``APPLY_ATTEMPTS`` times is given up and logged."""
    now = timezone.now()
    rows = list(
        Inbound.objects.filter(
            channel=Channel.PHONE,
            status__in=(InboundStatus.PROCESSED, InboundStatus.HANDLED, InboundStatus.REJECTED),
            received_at__gte=now - dt.timedelta(hours=hours),
            received_at__lte=now - dt.timedelta(seconds=60),
        )
        .exclude(meta__has_key="applied")
        .order_by("received_at")
        .values_list("id", "meta")[:batch]
    )
    applied = failed = 0
    for inbound_id, meta in rows:
        try:
            call_event_apply(inbound_id)
            applied += 1
        except Exception:  # one bad event must not stop the others
            logger.exception("applying call event %s failed", inbound_id)
            failed += 1
            attempts = int((meta or {}).get("apply_attempts", 0)) + 1
            update = {**(meta or {}), "apply_attempts": attempts}
            if attempts >= APPLY_ATTEMPTS:
                update["applied"] = "gave up"
            Inbound.objects.filter(pk=inbound_id).update(meta=update)
    return {"applied": applied, "failed": failed} if rows else {}

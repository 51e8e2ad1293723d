"""Notifications to users: writing them (``notify``, ``notify_many``), marking them read,
and sending their e-mail copy exactly once (``notification_email_send``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.core.errors import NotFound, ValidationFailed
from crm.core.records import registry
from crm.notifications.models import Notification
from crm.notifications.selectors import notification_get
from crm.notifications.services.queue import enqueue_emails

logger = logging.getLogger("crm.notifications")

TITLE_MAX = 300
BODY_MAX = 5000
URL_MAX = 500
DEDUPE_KEY_MAX = 200
MARK_READ_IDS_MAX = 500

EMAIL_MAX_ATTEMPTS = 5
EMAIL_LEASE = timedelta(minutes=10)  # far longer than one SMTP conversation may take
EMAIL_TIMEOUT_SECONDS = 30

Text = str | Callable[[User], str]
"""A title or body: the text, or a function of the recipient called in their language."""

COVERED_KINDS = frozenset(
    {
        Notification.Kind.LEAD,
        Notification.Kind.ASSIGNED,
        Notification.Kind.STAGE,
        Notification.Kind.STALE,
    }
)
"""Notices about a recipient's clients, which their substitute must see too while they are
away (reminders and tasks are not here: the planner sends the substitute its own version)."""

COVER_KEY_PREFIX = "cover:"


@contextmanager
def in_language(user: User) -> Iterator[None]:
    """Translate into ``user``'s language (the site's default if they chose none).

    Callers build a notification's text inside it, so it is stored in the words the
    recipient reads::

        with in_language(deal.owner):
            notify(recipient=deal.owner, kind=Notification.Kind.STAGE,
                   title=_("Deal %(name)s moved to %(stage)s") % {...}, url=deal_url)
    """
    with translation.override(user.language or settings.LANGUAGE_CODE):
        yield


def absolute_url(path: str) -> str:
    """``path`` on this site as a full address, from the ``CRM_BASE_URL`` setting."""
    return f"{settings.CRM_BASE_URL.rstrip('/')}{path}"


def _check(*, kind: str, url: str, dedupe_key: str) -> None:
    """Refuse what only a programming error produces (callers are code, not users)."""
    if kind not in Notification.Kind.values:
        raise ValueError(f"Unknown notification kind {kind!r}.")
    if len(dedupe_key) > DEDUPE_KEY_MAX:
        raise ValueError(f"dedupe_key is longer than {DEDUPE_KEY_MAX} characters.")
    if url and not _is_local_path(url):
        raise ValueError(f"A notification links to a path on this site, not {url!r}.")


def _is_local_path(url: str) -> bool:
    """``/customers/contacts/7/``: no scheme, no host (``//host``, ``/\\host``), no spaces."""
    return (
        url.startswith("/")
        and not url.startswith(("//", "/\\"))
        and len(url) <= URL_MAX
        and url.isprintable()
        and not any(char.isspace() for char in url)
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: Text, recipient: User) -> str:
    if callable(value):
        with in_language(recipient):
            return str(value(recipient))
    return str(value)


def _build(
    recipient: User,
    *,
    kind: str,
    title: str,
    body: str,
    url: str,
    dedupe_key: str,
    email: bool,
    now: datetime,
    email_text: str = "",
    email_html: str = "",
) -> Notification:
    return Notification(
        recipient=recipient,
        kind=kind,
        title=_clip(title, TITLE_MAX),
        body=_clip(body, BODY_MAX),
        url=url,
        dedupe_key=dedupe_key,
        created_at=now,
        email_wanted=bool(email and recipient.email),
        email_next_attempt_at=now,
        email_text=email_text,
        email_html=email_html,
    )


def notify(
    *,
    recipient: User,
    kind: str,
    title: Text,
    body: Text = "",
    url: str = "",
    dedupe_key: str = "",
    email: bool = True,
    email_text: str = "",
    email_html: str = "",
) -> Notification | None:
    """Write a notification for ``recipient``; after commit, e-mail them a copy.

    Returns the new row, or None when nothing was written: the recipient is inactive, or
    already has a notification with this ``dedupe_key``. The duplicate is caught by the
    unique constraint inside a savepoint, so the caller's transaction goes on.

    ``title`` and ``body`` are stored as given (build them inside ``in_language``) or, when
    they are functions of the recipient, as they return inside ``in_language(recipient)``;
    cut to 300 and 5000 characters. ``url`` is a path on this site. The e-mail is enqueued on commit
    only when ``email`` is true and the recipient has an address. ``email_text`` (and
    ``email_html``, its HTML alternative), already in the recipient's language, replace the
    title, body and link as the e-mail's body, for a message longer than the notice.

    Raises ``ValueError`` for an unknown ``kind``, a ``url`` that is not a local path or a
    ``dedupe_key`` over 200 characters.
    """
    _check(kind=kind, url=url, dedupe_key=dedupe_key)
    if not recipient.is_active:
        return None
    row = _build(
        recipient,
        kind=kind,
        title=_text(title, recipient),
        body=_text(body, recipient),
        url=url,
        dedupe_key=dedupe_key,
        email=email,
        now=timezone.now(),
        email_text=email_text,
        email_html=email_html,
    )
    if dedupe_key:
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            if Notification.objects.filter(recipient=recipient, dedupe_key=dedupe_key).exists():
                return None
            raise
    else:
        row.save(force_insert=True)
    if row.email_wanted:
        transaction.on_commit(lambda: enqueue_emails([row.pk]), robust=True)
    _cover([row], kind=kind, url=url, email=email, now=row.created_at)
    return row


def notify_many(
    *,
    recipients: Iterable[User],
    kind: str,
    title: Text,
    body: Text = "",
    url: str = "",
    dedupe_key: str = "",
    email: bool = True,
) -> list[Notification]:
    """``notify`` for several recipients in one INSERT (two with a ``dedupe_key``).

    ``title`` and ``body`` may be functions of the recipient: each is called inside
    ``in_language(recipient)``, so everyone reads their own language. Inactive recipients,
    repeated ones and those who already have ``dedupe_key`` are skipped (the INSERT ignores
    the conflicts). Returns the rows written, with ids; their e-mails are enqueued on commit.
    Raises ``ValueError`` like ``notify``.
    """
    _check(kind=kind, url=url, dedupe_key=dedupe_key)
    people = {user.pk: user for user in recipients if user.is_active}
    if not people:
        return []
    now = timezone.now()
    rows = [
        _build(
            user,
            kind=kind,
            title=_text(title, user),
            body=_text(body, user),
            url=url,
            dedupe_key=dedupe_key,
            email=email,
            now=now,
        )
        for user in people.values()
    ]
    if dedupe_key:
        # Rows that conflicted come back without ids: read back the ones this call wrote
        # (those who had the key already have an older ``created_at``).
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        rows = list(
            Notification.objects.filter(
                recipient_id__in=people, dedupe_key=dedupe_key, created_at=now
            ).order_by("pk")
        )
        for row in rows:
            row.recipient = people[row.recipient_id]
    else:
        rows = Notification.objects.bulk_create(rows)
    wanted = [row.pk for row in rows if row.email_wanted]
    if wanted:
        transaction.on_commit(lambda: enqueue_emails(wanted), robust=True)
    _cover(rows, kind=kind, url=url, email=email, now=now)
    return rows


def _cover(
    originals: list[Notification], *, kind: str, url: str, email: bool, now: datetime
) -> None:
    """Copy client notices of recipients who are away to their substitutes, at once.

    One query for the substitutes (none for other kinds), one INSERT for the copies. Each copy
    has the ``dedupe_key`` ``cover:<original id>`` and names whom it is for; a substitute who
    got the notice directly gets no copy.
    """
    lookups = registry.cover_lookups.values()
    if kind not in COVERED_KINDS or not originals or not lookups:
        return
    recipients = {row.recipient_id for row in originals}
    substitutes: dict[int, User] = {}
    for cover in lookups:
        substitutes.update(cover.lookup(recipients))
    copies = [
        _build(
            substitute,
            kind=kind,
            title=_text(_cover_title(row), substitute),
            body=row.body,
            url=url,
            dedupe_key=f"{COVER_KEY_PREFIX}{row.pk}",
            email=email,
            now=now,
        )
        for row in originals
        if (substitute := substitutes.get(row.recipient_id)) is not None
        and substitute.is_active
        and substitute.pk not in recipients
    ]
    if not copies:
        return
    copies = Notification.objects.bulk_create(copies)
    wanted = [row.pk for row in copies if row.email_wanted]
    if wanted:
        transaction.on_commit(lambda: enqueue_emails(wanted), robust=True)


def _cover_title(original: Notification) -> Callable[[User], str]:
    def title(_substitute: User) -> str:
        return _("For %(user)s, whom you cover: %(title)s") % {
            "user": original.recipient,
            "title": original.title,
        }

    return title


def notification_mark_read(
    *, actor: User, ids: Collection[int] | None = None, all: bool = False
) -> int:
    """Mark ``actor``'s notifications read: those in ``ids``, or every unread one (``all``).

    Returns how many were unread and are now read. An id that is not the actor's (another
    user's, or none at all) raises ``NotFound`` and marks nothing; neither ``ids`` nor
    ``all``, or more than 500 ids, raises ``ValidationFailed``.
    """
    mine = Notification.objects.filter(recipient=actor)
    now = timezone.now()
    if all:
        return mine.filter(read_at__isnull=True).update(read_at=now)
    if not ids:
        raise ValidationFailed(field_errors={"ids": [_("List the notifications, or ask for all.")]})
    wanted = set(ids)
    if len(wanted) > MARK_READ_IDS_MAX:
        raise ValidationFailed(
            field_errors={"ids": [_("At most %(max)d at once.") % {"max": MARK_READ_IDS_MAX}]}
        )
    with transaction.atomic():
        found = set(mine.filter(pk__in=wanted).values_list("pk", flat=True))
        if found != wanted:
            raise NotFound(_("Notification not found."))
        return mine.filter(pk__in=wanted, read_at__isnull=True).update(read_at=now)


def notification_open(*, actor: User, pk: int) -> Notification:
    """Return ``actor``'s notification ``pk``, marked read; ``NotFound`` if not theirs."""
    notification = notification_get(actor=actor, pk=pk)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def email_retry_delay(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failure: 1, 5, 25 and 125 minutes."""
    return timedelta(minutes=5 ** (attempts - 1))


def _email_message(notification: Notification) -> tuple[str, str, str | None]:
    """Subject, plain-text body and HTML body (``None``: plain text only) in the recipient's
    language, with absolute links. A notification with its own ``email_text`` sends that
    (and its ``email_html``) instead of the title, body and link."""
    with in_language(notification.recipient):
        if notification.email_text:
            lines = [notification.email_text.rstrip("\n")]
        else:
            lines = [notification.title]
            if notification.body:
                lines += ["", notification.body]
            if notification.url:
                link = reverse("notifications:notification_open", args=[notification.pk])
                lines += ["", absolute_url(link)]
        everything = absolute_url(reverse("notifications:notification_list"))
        lines += ["", "-- ", _("All your notifications: %(url)s") % {"url": everything}]
    subject = " ".join(notification.title.split())[:200]  # a header: one line
    return subject, "\n".join(lines) + "\n", notification.email_html or None


def notification_email_send(*, notification_id: int) -> str:
    """Send the e-mail copy of one notification, unless it is sent, being sent or not due.

    The claim is one conditional UPDATE: it counts the attempt and moves
    ``email_next_attempt_at`` a lease ahead, only where the copy is unsent and due. Of two
    workers running the same job only one matches, so the message goes out once; one that
    dies mid-send leaves a lease that runs out, and the sweep enqueues it again. A failure
    schedules the next attempt with back-off (``email_retry_delay``); after
    ``EMAIL_MAX_ATTEMPTS`` the copy is given up, the error stays on the row and in the log.

    Returns "sent", "retry", "failed" (given up), "dropped" (the recipient is now inactive
    or has no address) or "skipped" (nothing to do).
    """
    now = timezone.now()
    claimed = Notification.objects.filter(
        pk=notification_id,
        emailed_at__isnull=True,
        email_wanted=True,
        email_attempts__lt=EMAIL_MAX_ATTEMPTS,
        email_next_attempt_at__lte=now,
    ).update(email_attempts=F("email_attempts") + 1, email_next_attempt_at=now + EMAIL_LEASE)
    if not claimed:
        return "skipped"
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    rows = Notification.objects.filter(pk=notification_id)
    recipient = notification.recipient
    if not (recipient.is_active and recipient.email):
        rows.update(email_wanted=False, email_error="The recipient is inactive or has no e-mail.")
        return "dropped"
    subject, text, html = _email_message(notification)
    try:
        connection = get_connection(timeout=EMAIL_TIMEOUT_SECONDS)
        send_mail(
            subject,
            text,
            settings.DEFAULT_FROM_EMAIL,
            [recipient.email],
            connection=connection,
            html_message=html,
        )
    except Exception as error:  # any failure of the transport is retried, none is fatal
        return _email_failed(notification, error)
    rows.update(emailed_at=timezone.now(), email_error="")
    return "sent"


def _email_failed(notification: Notification, error: Exception) -> str:
    attempts = notification.email_attempts
    message = f"{type(error).__name__}: {error}"[:500]
    rows = Notification.objects.filter(pk=notification.pk)
    if attempts >= EMAIL_MAX_ATTEMPTS:
        rows.update(email_error=message)
        logger.error(
            "notification_email_gave_up id=%s attempts=%s error=%s",
            notification.pk,
            attempts,
            message,
        )
        return "failed"
    retry_at = timezone.now() + email_retry_delay(attempts)
    rows.update(email_error=message, email_next_attempt_at=retry_at)
    logger.warning(
        "notification_email_retry id=%s attempts=%s at=%s error=%s",
        notification.pk,
        attempts,
        retry_at.isoformat(),
        message,
    )
    enqueue_emails([notification.pk], run_after=retry_at)
    return "retry"

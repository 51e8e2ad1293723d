"""Leads by e-mail: messages to the sales mailbox, read by the IMAP poller or posted raw to
``/leads/inbound/email/``, become leads or go on the known sender's timeline.

Storing (``email_store``) keeps the message exactly as it came (``Inbound.raw``, with
``meta["raw_encoding"]`` saying how the bytes were kept as text) under its Message-ID as the
idempotency key, so a message fetched or posted twice is stored once. Processing (the
``email`` parser, run by ``inbound_process``) reads it with the stdlib ``email`` package:

- first, the registry's thread finders (``crm.core.records.ThreadFinder``) may claim it: a
  reply to a message the CRM sent goes on that message's record, a delivery report about
  one marks the address (``crm.correspondence``);
- an auto-reply or a bounce (``Auto-Submitted``, ``X-Autoreply``, ``Precedence: bulk``, a
  delivery report, ``mailer-daemon``, an empty return path) is rejected;
- a message of a thread that already has a lead attaches to it: the thread key is the root
  Message-ID (``References``, else ``In-Reply-To``, else its own), or the lead of a message it
  answers;
- a sender whose address belongs to a contact (or else a company) makes no lead: the message
  is an "email" entry on the client's timeline, or on the client's open lead if there is one,
  and the responsible user is notified;
- a message from a user of the CRM (a forward, a copy) outside a lead's thread is rejected;
- anyone else's message is a new lead (or a repeated request on their open lead); the
  phones and e-mails of its own text (the signature, not the quoted part) count for
  matching the sender and stay on the lead (``body_points``).

Attachments are not stored as files: their names, types and sizes are listed in the entry's
data (and the lead's ``data``); the files stay in the stored raw message.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.activities.choices import EntryKind
from crm.activities.services import timeline_record
from crm.core.errors import ValidationFailed
from crm.core.normalize import normalize_email
from crm.core.records import registry
from crm.customers.choices import ContactPointKind
from crm.customers.models import Company, Contact, ContactPoint
from crm.leads.choices import OPEN_STATUSES, Channel
from crm.leads.models import Inbound, Lead, MailboxCursor
from crm.leads.services.body_points import body_points
from crm.leads.services.intake import LeadInput, inbound_store
from crm.leads.services.leads import lead_url
from crm.notifications.models import Notification
from crm.notifications.services import in_language, notify

logger = logging.getLogger("crm.leads")

MAX_MESSAGE_BYTES = 10 * 1024 * 1024
MAX_TEXT = 10000
MAX_ATTACHMENTS_LISTED = 50
POLL_BATCH = 100
IMAP_TIMEOUT_SECONDS = 30
AUTOMATIC_SENDERS = {"mailer-daemon", "postmaster"}
AUTOMATIC_PRECEDENCE = {"auto_reply", "bulk", "junk"}
MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


class MalformedMessage(ValidationFailed):
    """Bytes that are not an e-mail message one could make a lead of."""

    status_code = 400


class MailboxError(Exception):
    """The mailbox could not be read (connection, TLS, login, folder)."""


# --- reading a message ----------------------------------------------------------------------


def message_parse(raw: bytes, *, headers_only: bool = False) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=headers_only)
    assert isinstance(message, EmailMessage)  # what policy.default builds
    return message


def _repair(text: str) -> str:
    """Header text as Unicode: 8-bit bytes a sender put in a header unencoded come out of
    the parser as surrogates; read them as UTF-8, else Windows-1251."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1251", "replace")


def _raw_8bit(message: Message, name: str) -> str | None:
    """The header as its 8-bit bytes read by ``_repair``, when the sender put unencoded
    non-ASCII bytes in it (the parsed value then holds only replacement characters)."""
    for key, value in message.raw_items():
        if key.lower() == name.lower() and isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return " ".join(_repair(value).split())
            return None
    return None


def _header(message: Message, name: str) -> str:
    """A header's decoded text, "" when absent or unreadable."""
    try:
        value = message.get(name)
        if value is None:
            return ""
        text = _repair(str(value))
        return (_raw_8bit(message, name) or text) if "\ufffd" in text else text
    # The header parser works on untrusted input and has crashed on odd headers before;
    # an unreadable header is treated as a missing one.
    except Exception:
        logger.warning("unreadable %s header", name, exc_info=True)
        return ""


def _line(text: str, limit: int) -> str:
    """One line of printable text (NUL and control characters dropped), cut to ``limit``."""
    text = " ".join(text.split())
    return "".join(ch for ch in text if ch.isprintable())[:limit]


def _message_ids(value: str) -> list[str]:
    return [f"<{found}>" for found in MESSAGE_ID.findall(value)]


def message_id_of(message: Message) -> str:
    ids = _message_ids(_header(message, "Message-ID"))
    return ids[0][:500] if ids else ""


def _key(value: str, limit: int) -> str:
    return value if len(value) <= limit else "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def idempotency_key(message_id: str, raw: bytes) -> str:
    """The Message-ID; a message without one is known by the hash of its bytes."""
    if message_id:
        return _key(message_id, 200)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _sender(message: Message) -> tuple[str, str]:
    """The From header's display name and address as written (not yet checked)."""
    try:
        raw = _raw_8bit(message, "From")
        if raw is not None:
            name, address = parseaddr(raw)
            return _line(name, 200), address
        addresses = getattr(message.get("From"), "addresses", ()) or ()
        if addresses:
            first = addresses[0]
            return _line(_repair(first.display_name or ""), 200), _repair(first.addr_spec or "")
    except Exception:  # see ``_header``
        logger.warning("unreadable From header", exc_info=True)
    return "", ""


RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To")


def _recipients(message: Message) -> set[str]:
    """The addresses the message was sent to, lower-case: ours (the sales mailbox, whatever
    its name) and anyone copied, never the sender's own phone book."""
    values = [_header(message, name) for name in RECIPIENT_HEADERS]
    return {address.lower() for _name, address in getaddresses(values) if "@" in address}


def automatic_reason(message: Message) -> str:
    """Why the message was sent by a machine (an auto-reply, a bounce), or ""."""
    submitted = _header(message, "Auto-Submitted").strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted[:50]}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponse"):
        if _header(message, name):
            return name
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in AUTOMATIC_PRECEDENCE:
        return f"Precedence: {precedence}"
    if message.get_content_type() == "multipart/report":
        return "delivery report"
    if _header(message, "Return-Path").strip() == "<>":
        return "empty return path"
    _name, address = _sender(message)
    if address.split("@", 1)[0].lower() in AUTOMATIC_SENDERS:
        return f"sender {address[:100]}"
    return ""


def _decoded(part: Message) -> str:
    """A text part's content in its declared charset (koi8-r, cp1251 …); when the label is
    wrong or unknown, UTF-8, then Windows-1251."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    declared = part.get_content_charset() or "us-ascii"
    for encoding in (declared, "utf-8", "cp1251"):
        try:
            return payload.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", "replace")


class _HtmlText(HTMLParser):
    """Text of an HTML body: scripts and styles dropped, blocks on their own lines."""

    SKIPPED = {"script", "style", "head", "title", "template"}
    BLOCKS = {
        "p", "div", "br", "li", "tr", "table", "ul", "ol", "blockquote", "section", "article",
        "header", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre",
    }  # fmt: skip

    def __init__(self, *, quotes: bool = True) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.skipped = self.SKIPPED if quotes else self.SKIPPED | {"blockquote"}

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.skipped:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n- " if tag == "li" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.skipped:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS and tag != "li":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str, *, quotes: bool = True) -> str:
    """The text of an HTML body; without ``quotes``, what ``<blockquote>`` holds is left out."""
    parser = _HtmlText(quotes=quotes)
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def _tidy(text: str) -> str:
    """Keep line breaks, drop control characters, squeeze blank lines, cut to MAX_TEXT."""
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        lines.append("".join(ch for ch in " ".join(line.split()) if ch.isprintable()))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text[:MAX_TEXT]


def message_text(message: EmailMessage, *, quotes: bool = True) -> str:
    """The text/plain body, else the text/html one as text; "" when there is neither.
    Without ``quotes``, an HTML body's ``<blockquote>`` is left out (a plain body's quoted
    lines are left to ``body_points.own_text``)."""
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    text = _decoded(body)
    if body.get_content_subtype() == "html":
        text = html_to_text(text, quotes=quotes)
    return _tidy(text)


def attachments_of(message: EmailMessage) -> list[dict[str, Any]]:
    """Name, type and size of each attached file (the first MAX_ATTACHMENTS_LISTED)."""
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if not filename and part.get_content_disposition() != "attachment":
            continue
        payload = part.get_payload(decode=True)
        found.append(
            {
                "name": _line(_repair(filename or ""), 200) or "attachment",
                "content_type": part.get_content_type(),
                "size": len(payload) if isinstance(payload, bytes) else 0,
            }
        )
        if len(found) >= MAX_ATTACHMENTS_LISTED:
            break
    return found


@dataclass
class ParsedEmail:
    """What processing needs of a message."""

    name: str
    address: str
    subject: str
    text: str
    own_text: str
    """The body without an HTML body's quoted blocks: where ``body_points`` are read."""
    recipients: set[str]
    """The To, Cc, Delivered-To and X-Original-To addresses (``_recipients``)."""
    message_id: str
    reply_to_ids: list[str]
    attachments: list[dict[str, Any]]

    @property
    def entry_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"from": self.address, "message_id": self.message_id}
        if self.name:
            data["name"] = self.name
        if self.attachments:
            data["attachments"] = self.attachments
        return data


def email_read(raw: bytes) -> ParsedEmail:
    """Parse a message; raises ``MalformedMessage`` naming ``body`` or ``from``."""
    if not raw.strip():
        raise MalformedMessage(_("The message is empty."), field_errors={"body": [_("Empty.")]})
    message = message_parse(raw)
    if not any(_header(message, name) for name in ("From", "Message-ID", "Date", "Subject")):
        raise MalformedMessage(
            _("This is not an e-mail message."),
            field_errors={"body": [_("No message headers found.")]},
        )
    name, address = _sender(message)
    try:
        address = normalize_email(address)
    except ValueError:
        raise MalformedMessage(
            _("The sender's address is missing or invalid."),
            field_errors={"from": [_("Give the sender's e-mail address.")]},
        ) from None
    references = _message_ids(_header(message, "References"))
    in_reply_to = _message_ids(_header(message, "In-Reply-To"))
    return ParsedEmail(
        name=name if name.lower() != address else "",
        address=address,
        subject=_line(_header(message, "Subject"), 300),
        text=message_text(message),
        own_text=message_text(message, quotes=False),
        recipients=_recipients(message),
        message_id=message_id_of(message),
        reply_to_ids=references + [found for found in in_reply_to if found not in references],
        attachments=attachments_of(message),
    )


def email_check(raw: bytes) -> ParsedEmail:
    """Refuse, before storing, what is not an e-mail (for the raw-message endpoint)."""
    try:
        return email_read(raw)
    except MalformedMessage:
        raise
    # Same reason as in ``_header``: garbage must answer 400, never 500.
    except Exception:
        logger.warning("unreadable message posted", exc_info=True)
        raise MalformedMessage(
            _("This is not an e-mail message."), field_errors={"body": [_("Malformed.")]}
        ) from None


# --- storing ----------------------------------------------------------------------------------


def _raw_as_text(raw: bytes) -> tuple[str, str]:
    """Bytes as text that gives the same bytes back: UTF-8 when they are (most mail is
    ASCII), else Latin-1 (one character per byte); base64 when they hold NUL, which a
    PostgreSQL text column refuses."""
    if b"\x00" in raw:
        return base64.b64encode(raw).decode("ascii"), "base64"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def raw_bytes(inbound: Inbound) -> bytes:
    """The stored message's original bytes."""
    encoding = inbound.meta.get("raw_encoding", "utf-8")
    if encoding == "base64":
        return base64.b64decode(inbound.raw)
    return inbound.raw.encode(encoding)


def email_store(
    *, raw: bytes, source: str, meta: dict[str, Any] | None = None
) -> tuple[Inbound, bool]:
    """Store a raw message as an arrival on the e-mail channel; returns ``(row, created)``.
    A message already stored (same Message-ID) is not stored again."""
    headers = message_parse(raw, headers_only=True)
    message_id = message_id_of(headers)
    text, encoding = _raw_as_text(raw)
    return inbound_store(
        channel=Channel.EMAIL,
        raw=text,
        meta={
            **(meta or {}),
            "source": source,
            "raw_encoding": encoding,
            "size": len(raw),
            "message_id": message_id,
            "from": _line(_header(headers, "From"), 300),
            "subject": _line(_header(headers, "Subject"), 300),
        },
        idempotency_key=idempotency_key(message_id, raw),
    )


# --- processing -------------------------------------------------------------------------------


def known_client(*, kind: str, value: str) -> Contact | Company | None:
    """The live contact (else company) that has this normalised phone or e-mail."""
    points = (
        ContactPoint.objects.filter(kind=kind, value=value)
        .select_related("contact", "company")
        .order_by("id")[:20]
    )
    companies = []
    for point in points:
        if point.contact is not None and point.contact.merged_into_id is None:
            return point.contact
        if point.company is not None and point.company.merged_into_id is None:
            companies.append(point.company)
    return companies[0] if companies else None


def _thread_key(parsed: ParsedEmail) -> str:
    """The lead of a message this one answers gives its thread; else the thread is named by
    its root Message-ID."""
    if parsed.reply_to_ids:
        answered = (
            Inbound.objects.filter(
                channel=Channel.EMAIL,
                idempotency_key__in=[_key(found, 200) for found in parsed.reply_to_ids],
                lead__isnull=False,
            )
            .exclude(lead__thread_key="")
            .select_related("lead")
            .order_by("id")
            .first()
        )
        if answered is not None and answered.lead is not None:
            return answered.lead.thread_key
    root = parsed.reply_to_ids[0] if parsed.reply_to_ids else parsed.message_id
    return _key(f"email:{root}", 300) if root else ""


def _attachment_names(parsed: ParsedEmail) -> str:
    return ", ".join(item["name"] for item in parsed.attachments)[:2000]


def own_addresses() -> set[str]:
    """Our own mailboxes (the sales mailbox read for leads, the sender of our mail), which a
    client's message quotes or names but which are never the client's."""
    addresses = {
        settings.CRM_LEADS_IMAP_USER,
        settings.EMAIL_HOST_USER,
        parseaddr(settings.DEFAULT_FROM_EMAIL)[1],
    }
    return {address.lower() for address in addresses if "@" in (address or "")}


def _sender_points(parsed: ParsedEmail) -> list[tuple[str, str]]:
    """The phones and e-mails of the message's own text (``body_points``) but the sender's
    address, its recipients (our mailbox among them, whatever it is called), our configured
    mailboxes and the addresses of the CRM's users (one query, when there are addresses)."""
    excluded = {parsed.address, *parsed.recipients, *own_addresses()}
    points = body_points(parsed.own_text, excluded=excluded)
    emails = [value for kind, value in points if kind == ContactPointKind.EMAIL]
    if not emails:
        return points
    users = set(
        get_user_model()
        .objects.annotate(lower_email=Lower("email"))
        .filter(lower_email__in=emails)
        .values_list("lower_email", flat=True)
    )
    return [(kind, value) for kind, value in points if value not in users]


def _lead_input(parsed: ParsedEmail, thread_key: str) -> LeadInput:
    data = {"subject": parsed.subject, "message_id": parsed.message_id}
    if parsed.attachments:
        data["attachments"] = _attachment_names(parsed)
    return LeadInput(
        name=parsed.name,
        email=parsed.address,
        title=parsed.subject[:200],
        message=parsed.text,
        thread_key=thread_key,
        data={key: value for key, value in data.items() if value},
        body_points=_sender_points(parsed),
    )


def _open_lead_of(client: Contact | Company, address: str) -> Lead | None:
    owned = Q(contact=client) if isinstance(client, Contact) else Q(company=client)
    return (
        Lead.objects.filter(status__in=OPEN_STATUSES)
        .filter(owned | Q(email=address))
        .select_related("owner")
        .order_by("-created_at", "-id")
        .first()
    )


def _set_outcome(inbound: Inbound, **outcome: Any) -> None:
    """Say what became of an arrival that made no lead (``inbound_process`` saves only the
    status, the lead and the error)."""
    inbound.meta = {**inbound.meta, "outcome": outcome}
    Inbound.objects.filter(pk=inbound.pk).update(meta=inbound.meta)


def _to_client(inbound: Inbound, parsed: ParsedEmail, client: Contact | Company) -> None:
    """A known sender's message: on their open lead if they have one, else on their card."""
    data = {**parsed.entry_data, "inbound_id": inbound.pk}
    lead = _open_lead_of(client, parsed.address)
    if lead is not None:
        entry = timeline_record(
            subject=lead, kind=EntryKind.EMAIL, title=parsed.subject, body=parsed.text, data=data
        )
        inbound.lead = lead
        _set_outcome(inbound, attached_to="lead", lead_id=lead.pk, entry_id=entry.pk)
        if lead.owner is not None:
            with in_language(lead.owner):
                title = _("New e-mail on the lead “%(title)s”") % {"title": lead.title}
            notify(
                recipient=lead.owner,
                kind=Notification.Kind.LEAD,
                title=title,
                body=parsed.subject,
                url=lead_url(lead),
                dedupe_key=f"lead:{lead.pk}:email:{inbound.pk}",
            )
        return
    entry = timeline_record(
        subject=client, kind=EntryKind.EMAIL, title=parsed.subject, body=parsed.text, data=data
    )
    entity = "contact" if isinstance(client, Contact) else "company"
    _set_outcome(inbound, attached_to=entity, client_id=client.pk, entry_id=entry.pk)
    with in_language(client.owner):
        title = _("%(client)s wrote to the sales mailbox") % {"client": str(client)}
    notify(
        recipient=client.owner,
        kind=Notification.Kind.LEAD,
        title=title,
        body=parsed.subject,
        url=reverse(f"customers:{entity}_detail", args=[client.pk]),
        dedupe_key=f"email:{inbound.pk}",
    )


def _claimed_by_thread(inbound: Inbound, raw: bytes) -> bool:
    """Whether a registered ``ThreadFinder`` took the message (a reply to, or a delivery
    report about, a message the CRM sent: ``crm.correspondence``); its answer is kept as
    the arrival's outcome."""
    for finder in registry.thread_finders.values():
        outcome = finder.claim(raw, inbound.pk)
        if outcome is not None:
            _set_outcome(inbound, finder=finder.name, **outcome)
            return True
    return False


def email_lead_input(inbound: Inbound) -> LeadInput | None:
    """The ``email`` parser: a lead's data, or None when the message makes no lead (a
    registered thread finder took it, a machine sent it, or it went on a known client's
    timeline; see the module docstring)."""
    raw = raw_bytes(inbound)
    if _claimed_by_thread(inbound, raw):
        return None
    reason = automatic_reason(message_parse(raw, headers_only=True))
    if reason:
        inbound.error = f"automatic message ({reason})"[:500]
        return None
    parsed = email_read(raw)
    thread_key = _thread_key(parsed)
    lead_input = _lead_input(parsed, thread_key)
    if thread_key and Lead.objects.filter(thread_key=thread_key).exists():
        return lead_input
    if get_user_model().objects.filter(is_active=True, email__iexact=parsed.address).exists():
        # A colleague's mail (a forward, a copy) is not a lead of that colleague.
        inbound.error = "sent by a user of the CRM"
        return None
    client = known_client(kind=ContactPointKind.EMAIL, value=parsed.address)
    if client is None:
        return lead_input
    _to_client(inbound, parsed, client)
    return None


# --- the IMAP poller --------------------------------------------------------------------------


@dataclass(frozen=True)
class MailboxConfig:
    host: str
    port: int
    user: str
    password: str
    folder: str
    tls: str  # "on", "starttls" or "off"
    cafile: str

    @property
    def key(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"[:300]


def mailbox_config() -> MailboxConfig | None:
    """The sales mailbox from the ``CRM_LEADS_IMAP_*`` settings; None when no host is set."""
    if not settings.CRM_LEADS_IMAP_HOST:
        return None
    tls = {"1": "on", "true": "on", "yes": "on", "0": "off", "false": "off", "no": "off"}.get(
        settings.CRM_LEADS_IMAP_SSL, settings.CRM_LEADS_IMAP_SSL
    )
    if tls not in ("on", "starttls", "off"):
        raise MailboxError(f"CRM_LEADS_IMAP_SSL must be on, starttls or off, not {tls!r}")
    return MailboxConfig(
        host=settings.CRM_LEADS_IMAP_HOST,
        port=settings.CRM_LEADS_IMAP_PORT,
        user=settings.CRM_LEADS_IMAP_USER,
        password=settings.CRM_LEADS_IMAP_PASSWORD,
        folder=settings.CRM_LEADS_IMAP_FOLDER or "INBOX",
        tls=tls,
        cafile=settings.CRM_LEADS_IMAP_CAFILE,
    )


def _connect(config: MailboxConfig) -> imaplib.IMAP4:
    context = ssl.create_default_context(cafile=config.cafile or None)
    if config.tls == "on":
        return imaplib.IMAP4_SSL(
            config.host, config.port, ssl_context=context, timeout=IMAP_TIMEOUT_SECONDS
        )
    imap = imaplib.IMAP4(config.host, config.port, timeout=IMAP_TIMEOUT_SECONDS)
    if config.tls == "starttls":
        imap.starttls(ssl_context=context)
    return imap


def _check(response: tuple[str, Any], what: str) -> list[Any]:
    status, data = response
    if status != "OK":
        raise MailboxError(f"{what}: {data!r}"[:300])
    return list(data or [])


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sizes(imap: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    if not uids:
        return {}
    sizes = {}
    data = _check(imap.uid("FETCH", ",".join(map(str, uids)), "(RFC822.SIZE)"), "FETCH SIZE")
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes):
            continue
        uid, size = re.search(rb"UID (\d+)", line), re.search(rb"RFC822\.SIZE (\d+)", line)
        if uid and size:
            sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _fetch(imap: imaplib.IMAP4, uid: int) -> bytes | None:
    """The message's bytes, without setting \\Seen (that is done once it is stored)."""
    for item in _check(imap.uid("FETCH", str(uid), "(BODY.PEEK[])"), "FETCH"):
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _poll_folder(imap: imaplib.IMAP4, config: MailboxConfig, limit: int) -> dict[str, int]:
    _check(imap.select(_quoted(config.folder)), f"SELECT {config.folder}")
    _status, validity_data = imap.response("UIDVALIDITY")
    validity = int(validity_data[0]) if validity_data and validity_data[0] else 0
    cursor, _created = MailboxCursor.objects.get_or_create(mailbox=config.key)
    if cursor.uid_validity != validity:
        MailboxCursor.objects.filter(pk=cursor.pk).update(uid_validity=validity, last_uid=0)
        cursor.uid_validity, cursor.last_uid = validity, 0
    # The first time (or after the server renumbered the folder) only unread mail is taken,
    # so connecting an old mailbox does not turn its history into leads.
    criteria = ["UNSEEN"] if cursor.last_uid == 0 else ["UID", f"{cursor.last_uid + 1}:*"]
    found = _check(imap.uid("SEARCH", *criteria), "SEARCH")
    # "n:*" always answers the highest UID, even one below n.
    uids = sorted(
        uid for uid in (int(x) for x in b" ".join(found).split()) if uid > cursor.last_uid
    )[:limit]
    sizes = _sizes(imap, uids)
    stored = skipped = 0
    for uid in uids:
        if sizes.get(uid, 0) > MAX_MESSAGE_BYTES:
            logger.warning("mailbox %s: message %s is over 10 MB; left unread", config.key, uid)
            skipped += 1
        else:
            raw = _fetch(imap, uid)
            if raw is not None:
                _inbound, created = email_store(
                    raw=raw, source="imap", meta={"mailbox": config.key, "uid": uid}
                )
                stored += created
                _check(imap.uid("STORE", str(uid), "+FLAGS", "(\\Seen)"), "STORE")
        MailboxCursor.objects.filter(pk=cursor.pk, uid_validity=validity, last_uid__lt=uid).update(
            last_uid=uid
        )
    MailboxCursor.objects.filter(pk=cursor.pk).update(polled_at=timezone.now())
    return {"fetched": len(uids), "stored": stored, "skipped": skipped}


def mailbox_poll(*, limit: int = POLL_BATCH) -> dict[str, int]:
    """Store new messages of the sales mailbox as e-mail arrivals (each is processed by its
    job) and mark them read. Does nothing when no mailbox is configured.

    New means a UID above the last one stored (``MailboxCursor``); the first time, the
    unread messages. Each message is stored before it is marked read and before the cursor
    moves, so a crash in between fetches it again, and the Message-ID makes that harmless.
    Messages over 10 MB are left unread and logged. Raises ``MailboxError``.
    """
    config = mailbox_config()
    if config is None:
        return {}
    try:
        imap = _connect(config)
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxError(f"cannot connect to {config.host}:{config.port}: {error}") from error
    try:
        _check(imap.login(config.user, config.password), "LOGIN")
        return _poll_folder(imap, config, limit)
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxError(f"{config.key}: {error}") from error
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            imap.logout()

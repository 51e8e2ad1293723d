"""The IMAP poller against real servers on 127.0.0.1: messages are sent with smtplib to an
SMTP server (aiosmtpd) that delivers into a small IMAP4rev1 server written here (threads and
sockets; LOGIN, SELECT, UID SEARCH/FETCH/STORE, STARTTLS and implicit TLS), which imaplib
reads as it would read a real mailbox."""

from __future__ import annotations

import re
import smtplib
import socketserver
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage
from email.utils import make_msgid
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.core.management import CommandError, call_command

from crm.accounts.models import Team
from crm.activities.models import TimelineEntry
from crm.customers.tests.factories import make_contact
from crm.leads.choices import InboundStatus
from crm.leads.models import Inbound, Lead, MailboxCursor, RoutingRule
from crm.leads.services import email_channel
from crm.leads.services.email_channel import MailboxError, mailbox_poll
from crm.notifications.models import Notification
from crm.notifications.tests.conftest import free_port

pytestmark = pytest.mark.django_db

USER, PASSWORD = "sales@example.ru", "s3cret pass"


# --- a small IMAP server ----------------------------------------------------------------------


@dataclass
class Stored:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


@dataclass
class Mailbox:
    """One folder, INBOX. ``uid_validity`` changes when a test "renumbers" it."""

    uid_validity: int = 1
    next_uid: int = 1
    messages: list[Stored] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    logins: list[str] = field(default_factory=list)

    def deliver(self, raw: bytes) -> int:
        with self.lock:
            uid = self.next_uid
            self.next_uid += 1
            self.messages.append(Stored(uid, raw))
            return uid

    def flags(self, uid: int) -> set[str]:
        return next(message.flags for message in self.messages if message.uid == uid)


def _uid_set(text: str, highest: int) -> set[int]:
    """RFC 3501 sequence sets over UIDs: "3", "1,4", "2:5", "7:*" (with * the highest,
    and "n:*" taking the highest even when it is below n)."""
    found: set[int] = set()
    for part in text.split(","):
        if ":" in part:
            low, high = (highest if end == "*" else int(end) for end in part.split(":"))
            found.update(range(min(low, high), max(low, high) + 1))
        else:
            found.add(highest if part == "*" else int(part))
    return found


def _words(line: str) -> list[str]:
    """Atoms and quoted strings (unquoted) of a command line."""
    return [
        re.sub(r"\\(.)", r"\1", quoted) if quoted or atom == "" else atom
        for quoted, atom in re.findall(r'"((?:[^"\\]|\\.)*)"|(\S+)', line)
    ]


class ImapHandler(socketserver.StreamRequestHandler):
    """Just enough IMAP4rev1 for imaplib: one connection, tagged commands, literals out."""

    server: ImapServer

    def setup(self) -> None:
        if self.server.implicit_tls:
            self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()
        self.is_tls = self.server.implicit_tls
        self.selected = False

    def send(self, line: str | bytes) -> None:
        self.wfile.write((line.encode() if isinstance(line, str) else line) + b"\r\n")
        self.wfile.flush()

    def capabilities(self) -> str:
        offers_tls = self.server.tls is not None and not self.is_tls
        return "IMAP4rev1" + (" STARTTLS" if offers_tls else "")

    def handle(self) -> None:
        try:
            self.serve()
        except OSError:  # the client hung up, or its TLS handshake failed
            return

    def serve(self) -> None:
        self.send("* OK test IMAP server ready")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            words = _words(line.decode("utf-8", "replace"))
            if len(words) < 2:
                self.send("* BAD expected a tagged command")
                continue
            tag, command, args = words[0], words[1].upper(), words[2:]
            if command == "UID":
                command, args = "UID " + args[0].upper(), args[1:]
            answer = getattr(self, "do_" + command.replace(" ", "_"), None)
            if answer is None:
                self.send(f"{tag} BAD unknown command")
            elif answer(tag, args) == "close":
                return

    def do_CAPABILITY(self, tag: str, args: list[str]) -> None:
        self.send(f"* CAPABILITY {self.capabilities()}")
        self.send(f"{tag} OK CAPABILITY completed")

    def do_NOOP(self, tag: str, args: list[str]) -> None:
        self.send(f"{tag} OK NOOP completed")

    def do_STARTTLS(self, tag: str, args: list[str]) -> None:
        self.send(f"{tag} OK begin TLS")
        self.connection = self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        self.rfile = self.connection.makefile("rb")
        self.wfile = self.connection.makefile("wb")
        self.is_tls = True

    def do_LOGIN(self, tag: str, args: list[str]) -> None:
        if args == [USER, PASSWORD]:
            self.server.mailbox.logins.append("tls" if self.is_tls else "plain")
            self.send(f"{tag} OK LOGIN completed")
        else:
            self.send(f"{tag} NO [AUTHENTICATIONFAILED] invalid credentials")

    def do_SELECT(self, tag: str, args: list[str]) -> None:
        box = self.server.mailbox
        if args[0].upper() != "INBOX":
            self.send(f"{tag} NO no such mailbox")
            return
        self.selected = True
        self.send(f"* {len(box.messages)} EXISTS")
        self.send("* 0 RECENT")
        self.send("* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)")
        self.send(f"* OK [UIDVALIDITY {box.uid_validity}] UIDs valid")
        self.send(f"* OK [UIDNEXT {box.next_uid}] predicted next UID")
        self.send(f"{tag} OK [READ-WRITE] SELECT completed")

    def _matching(self, uid_text: str) -> list[tuple[int, Stored]]:
        box = self.server.mailbox
        highest = box.messages[-1].uid if box.messages else 0
        wanted = _uid_set(uid_text, highest) if box.messages else set()
        return [(n, m) for n, m in enumerate(box.messages, 1) if m.uid in wanted]

    def do_UID_SEARCH(self, tag: str, args: list[str]) -> None:
        box = self.server.mailbox
        keys = [arg.upper() for arg in args]
        if keys == ["UNSEEN"]:
            found = [m.uid for m in box.messages if "\\Seen" not in m.flags]
        elif keys == ["ALL"]:
            found = [m.uid for m in box.messages]
        elif keys[:1] == ["UID"]:
            found = [m.uid for _n, m in self._matching(args[1])]
        else:
            self.send(f"{tag} BAD unsupported search")
            return
        self.send("* SEARCH" + "".join(f" {uid}" for uid in found))
        self.send(f"{tag} OK SEARCH completed")

    def do_UID_FETCH(self, tag: str, args: list[str]) -> None:
        items = " ".join(args[1:]).upper().strip("()").split()
        for number, message in self._matching(args[0]):
            if "BODY.PEEK[]" in items or "RFC822" in items:
                name = "BODY[]" if "BODY.PEEK[]" in items else "RFC822"
                if name == "RFC822":
                    message.flags.add("\\Seen")
                head = f"* {number} FETCH (UID {message.uid} {name} {{{len(message.raw)}}}"
                self.wfile.write(head.encode() + b"\r\n" + message.raw + b")\r\n")
                self.wfile.flush()
            else:
                self.send(f"* {number} FETCH (UID {message.uid} RFC822.SIZE {len(message.raw)})")
        self.send(f"{tag} OK FETCH completed")

    def do_UID_STORE(self, tag: str, args: list[str]) -> None:
        if args[1].upper() != "+FLAGS":
            self.send(f"{tag} BAD only +FLAGS")
            return
        flags = set(re.findall(r"\\\w+", " ".join(args[2:])))
        for number, message in self._matching(args[0]):
            message.flags |= flags
            self.send(
                f"* {number} FETCH (UID {message.uid} FLAGS ({' '.join(sorted(message.flags))}))"
            )
        self.send(f"{tag} OK STORE completed")

    def do_LOGOUT(self, tag: str, args: list[str]) -> str:
        self.send("* BYE logging out")
        self.send(f"{tag} OK LOGOUT completed")
        return "close"


class ImapServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mailbox: Mailbox, tls: ssl.SSLContext | None, implicit_tls: bool):
        super().__init__(("127.0.0.1", 0), ImapHandler)
        self.mailbox, self.tls, self.implicit_tls = mailbox, tls, implicit_tls


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the client trusts it as its CA file)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class Servers:
    mailbox: Mailbox
    smtp_port: int

    def send(self, message: EmailMessage | bytes, to: str = USER) -> None:
        """Deliver through the SMTP server, as a customer's mail server would."""
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as smtp:
            if isinstance(message, EmailMessage):
                smtp.send_message(message, to_addrs=[to])
            else:
                smtp.sendmail("client@example.org", [to], message)


class Deliver:
    """aiosmtpd handler: every accepted message lands in the IMAP mailbox."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mailbox.deliver(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def _start(settings, certificate, mode: str):
    mailbox = Mailbox()
    tls = None
    if mode != "off":
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(*certificate)
    imap = ImapServer(mailbox, tls, implicit_tls=mode == "on")
    threading.Thread(target=imap.serve_forever, daemon=True).start()
    smtp = Controller(Deliver(mailbox), hostname="127.0.0.1", port=free_port())
    smtp.start()
    settings.CRM_LEADS_IMAP_HOST = "127.0.0.1"
    settings.CRM_LEADS_IMAP_PORT = imap.server_address[1]
    settings.CRM_LEADS_IMAP_USER, settings.CRM_LEADS_IMAP_PASSWORD = USER, PASSWORD
    settings.CRM_LEADS_IMAP_FOLDER = "INBOX"
    settings.CRM_LEADS_IMAP_SSL = mode
    settings.CRM_LEADS_IMAP_CAFILE = str(certificate[0]) if mode != "off" else ""
    return imap, smtp, Servers(mailbox, smtp.port)


@pytest.fixture
def servers(settings, certificate):
    imap, smtp, servers = _start(settings, certificate, "off")
    yield servers
    smtp.stop()
    imap.shutdown()
    imap.server_close()


@pytest.fixture
def routed(org):
    RoutingRule.objects.update(team=Team.objects.get(name="Москва"), strategy="round_robin")


def mail(subject="Нужен прайс", body="Здравствуйте! Пришлите прайс.", sender="anna@client.ru",
         name="Анна Смирнова", **headers: str) -> EmailMessage:  # fmt: skip
    message = EmailMessage()
    message["From"] = f"{name} <{sender}>"
    message["To"] = USER
    message["Subject"] = subject
    message["Message-ID"] = headers.pop("message_id", None) or make_msgid(domain="client.ru")
    for key, value in headers.items():
        message[key.replace("_", "-")] = value
    message.set_content(body)
    return message


def poll(capture) -> dict[str, int]:
    """One poll, with the processing jobs its stored rows enqueue on commit."""
    with capture(execute=True):
        return mailbox_poll()


# --- tests ------------------------------------------------------------------------------------


def test_a_new_sender_becomes_a_lead_and_the_message_is_marked_read(
    org, routed, servers, django_capture_on_commit_callbacks
):
    servers.send(mail())
    assert poll(django_capture_on_commit_callbacks) == {"fetched": 1, "stored": 1, "skipped": 0}
    lead = Lead.objects.get()
    assert (
        lead.channel == "email" and lead.email == "anna@client.ru" and lead.name == "Анна Смирнова"
    )
    assert lead.title == "Нужен прайс" and "Пришлите прайс" in lead.message
    assert lead.owner is not None and lead.pipeline is not None
    assert Notification.objects.filter(recipient=lead.owner, kind="lead").count() == 1
    assert servers.mailbox.flags(1) == {"\\Seen"}
    inbound = Inbound.objects.get()
    assert inbound.status == InboundStatus.PROCESSED and inbound.meta["source"] == "imap"
    assert MailboxCursor.objects.get().last_uid == 1
    # Nothing new: nothing fetched.
    assert poll(django_capture_on_commit_callbacks) == {"fetched": 0, "stored": 0, "skipped": 0}


def test_a_known_contacts_mail_goes_on_the_contacts_timeline_and_makes_no_lead(
    org, routed, servers, django_capture_on_commit_callbacks
):
    contact = make_contact(org.manager, emails=[{"value": "Boris@Client.ru"}])
    servers.send(mail(subject="Счёт оплачен", body="Оплатили счёт №12.", sender="boris@client.ru"))
    poll(django_capture_on_commit_callbacks)
    assert not Lead.objects.exists()
    entry = TimelineEntry.objects.get(subject_id=contact.pk, kind="email")
    assert entry.title == "Счёт оплачен" and entry.body == "Оплатили счёт №12."
    assert entry.data["from"] == "boris@client.ru" and entry.data["message_id"].startswith("<")
    assert Notification.objects.filter(recipient=org.manager, kind="lead").exists()
    assert Inbound.objects.get().meta["outcome"]["attached_to"] == "contact"


def test_a_reply_in_the_thread_attaches_to_the_same_lead(
    org, routed, servers, django_capture_on_commit_callbacks
):
    first = mail(message_id="<first.1@client.ru>")
    servers.send(first)
    poll(django_capture_on_commit_callbacks)
    lead = Lead.objects.get()
    reply = mail(
        subject="Re: Нужен прайс",
        body="И ещё доставку посчитайте.",
        sender="boss@other-client.ru",  # a colleague answers from another address
        name="Начальник",
        message_id="<second.2@other-client.ru>",
        In_Reply_To="<first.1@client.ru>",
        References="<first.1@client.ru>",
    )
    servers.send(reply)
    poll(django_capture_on_commit_callbacks)
    assert Lead.objects.count() == 1
    assert lead.thread_key == "email:<first.1@client.ru>"
    entry = TimelineEntry.objects.filter(subject_id=lead.pk, kind="email").get()
    assert "доставку" in entry.body
    assert list(Inbound.objects.values_list("lead_id", flat=True)) == [lead.pk, lead.pk]


def test_the_same_message_fetched_twice_is_stored_once(
    org, routed, servers, django_capture_on_commit_callbacks
):
    message = mail(message_id="<same@client.ru>")
    servers.send(message)
    servers.send(message, to="info@example.ru")  # a copy to a second address of the box
    assert poll(django_capture_on_commit_callbacks) == {"fetched": 2, "stored": 1, "skipped": 0}
    # The cursor is lost and the messages are unread again: fetched again, stored nothing.
    MailboxCursor.objects.all().delete()
    for stored in servers.mailbox.messages:
        stored.flags.clear()
    assert poll(django_capture_on_commit_callbacks) == {"fetched": 2, "stored": 0, "skipped": 0}
    assert Inbound.objects.count() == 1 and Lead.objects.count() == 1


def test_cp1251_and_koi8r_mail_is_decoded(org, routed, servers, django_capture_on_commit_callbacks):
    name, subject = Header("Петров", "koi8-r").encode(), Header("заказ профиль", "koi8-r").encode()
    cp1251 = (
        f"From: {name} <petrov@client.ru>\r\n"
        "To: sales@example.ru\r\n"
        f"Subject: {subject}\r\n"
        "Message-ID: <cp1251@client.ru>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=windows-1251\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
    ).encode() + "Добрый день! Нужна кухня, бюджет 300 000 ₽.".encode("cp1251", "replace")
    servers.send(cp1251)
    poll(django_capture_on_commit_callbacks)
    lead = Lead.objects.get()
    assert lead.name == "Петров" and lead.title == "заказ профиль"
    assert lead.message.startswith("Добрый день! Нужна кухня, бюджет 300 000")
    # Stored byte for byte.
    inbound = Inbound.objects.get()
    assert inbound.meta["raw_encoding"] == "latin-1"
    assert email_channel.raw_bytes(inbound) == servers.mailbox.messages[0].raw


def test_auto_replies_and_bounces_make_no_lead(
    org, routed, servers, django_capture_on_commit_callbacks
):
    servers.send(mail(subject="Out of office", Auto_Submitted="auto-replied"))
    servers.send(mail(subject="Undelivered", sender="MAILER-DAEMON@client.ru", name="Mail"))
    poll(django_capture_on_commit_callbacks)
    assert not Lead.objects.exists()
    assert set(Inbound.objects.values_list("status", flat=True)) == {InboundStatus.REJECTED}


@pytest.mark.parametrize("mode", ["on", "starttls"])
def test_tls_from_the_start_and_starttls(
    org, routed, settings, certificate, mode, django_capture_on_commit_callbacks
):
    imap, smtp, servers = _start(settings, certificate, mode)
    try:
        servers.send(mail())
        assert poll(django_capture_on_commit_callbacks)["stored"] == 1
        assert servers.mailbox.logins == ["tls"]
    finally:
        smtp.stop()
        imap.shutdown()
        imap.server_close()
    assert Lead.objects.count() == 1


def test_a_wrong_password_or_a_failed_handshake_is_an_error(org, settings, servers):
    settings.CRM_LEADS_IMAP_PASSWORD = "wrong"
    with pytest.raises(MailboxError, match="credentials"):
        mailbox_poll()
    settings.CRM_LEADS_IMAP_SSL = "on"  # the server speaks plain IMAP: the handshake fails
    with pytest.raises(MailboxError, match="connect"):
        mailbox_poll()


def test_oversized_messages_are_left_unread(
    org, routed, servers, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(email_channel, "MAX_MESSAGE_BYTES", 2000)
    servers.send(mail(body="слишком длинно " * 300))
    servers.send(mail(subject="Короткое"))
    assert poll(django_capture_on_commit_callbacks) == {"fetched": 2, "stored": 1, "skipped": 1}
    assert servers.mailbox.flags(1) == set() and servers.mailbox.flags(2) == {"\\Seen"}
    assert Lead.objects.get().title == "Короткое"


def test_read_mail_is_left_alone_the_first_time_and_a_renumbered_folder_restarts(
    org, routed, servers, django_capture_on_commit_callbacks
):
    servers.send(mail(subject="Старое письмо", sender="a@client.ru"))
    servers.mailbox.messages[0].flags.add("\\Seen")  # read by someone before the CRM came
    servers.send(mail(subject="Новое письмо", sender="b@client.ru"))
    assert poll(django_capture_on_commit_callbacks)["stored"] == 1
    # A message read in a mail client after the CRM started is still taken (UID above).
    servers.send(mail(subject="Прочитано человеком", sender="c@client.ru"))
    servers.mailbox.messages[-1].flags.add("\\Seen")
    assert poll(django_capture_on_commit_callbacks)["stored"] == 1
    servers.mailbox.uid_validity = 2
    servers.send(mail(subject="После переноса", sender="d@client.ru"))
    assert poll(django_capture_on_commit_callbacks)["stored"] == 1
    assert sorted(Lead.objects.values_list("title", flat=True)) == [
        "Новое письмо",
        "После переноса",
        "Прочитано человеком",
    ]


def test_the_poll_mailbox_command(
    org, routed, servers, settings, django_capture_on_commit_callbacks
):
    servers.send(mail())
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("poll_mailbox", stdout=out)
    assert "fetched 1, stored 1" in out.getvalue() and Lead.objects.count() == 1
    settings.CRM_LEADS_IMAP_HOST = ""
    with pytest.raises(CommandError, match="CRM_LEADS_IMAP_HOST"):
        call_command("poll_mailbox")

"""Mail servers for tests, on 127.0.0.1: an SMTP server (aiosmtpd) that delivers into a small
IMAP4rev1 server written here (threads and sockets; LOGIN, SELECT, UID SEARCH/FETCH/STORE,
STARTTLS and implicit TLS), which imaplib reads as it would read a real mailbox. Used by the
leads poller's tests and by correspondence's (replies and bounces come back through it).

``start_servers(settings, certificate, mode)`` starts both and points the
``CRM_LEADS_IMAP_*`` settings at the IMAP server; the ``servers`` fixture does it without TLS.
"""

from __future__ import annotations

import re
import smtplib
import socket
import socketserver
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def start_servers(settings, certificate, mode: str):
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
    imap, smtp, servers = start_servers(settings, certificate, "off")
    yield servers
    smtp.stop()
    imap.shutdown()
    imap.server_close()

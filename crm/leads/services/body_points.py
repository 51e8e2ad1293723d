"""Phones and e-mail addresses written in a message's own text: its signature, as a rule.

A client who writes from a new address often signs with the phone the base already knows;
those numbers and addresses count for matching the sender (``leads.match_lead``) and go onto
a contact created from the lead (``Lead.body_points``).

Only the sender's own words are read: quoted lines (starting with ">"), an HTML
``<blockquote>`` (dropped before this module sees the text) and everything from a reply or
forward header on («On … wrote:», «… пишет:», «-----Original Message-----», «From:»/«От:»
at the start of a line) are left out. A number counts as a phone only when it is written
like one: with a "+", as eleven digits starting with 7 or 8, or with spaces, dashes or
brackets between its digits — a bare run of ten or twelve digits is an ИНН or an account,
not a phone. Every value is normalised by ``core.normalize``; what does not normalise is
skipped. At most ``MAX_PHONES`` phones and ``MAX_EMAILS`` addresses are taken, in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from crm.core.normalize import normalize_email, normalize_phone
from crm.customers.choices import ContactPointKind

MAX_PHONES = 3
MAX_EMAILS = 3
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 10, 15

# A "+" or a digit, then digits with spaces, dashes or brackets between them, ending on a
# digit; never across lines, never glued to a letter, a digit or another "+".
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d \t\-\u2010-\u2015()\u00a0]{7,24}\d(?![\w])")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
_REPLY_HEADER = re.compile(
    r"^(on\s.+\swrote:"
    r"|.+\s(пишет|написал|написала|написал\(а\))\s*:"
    r"|-{2,}\s*(original message|forwarded message|исходное сообщение|пересылаемое сообщение)"
    r"|(from|от|sent|отправлено)\s*:\s.+)",
    re.IGNORECASE,
)


def own_text(text: str) -> str:
    """``text`` without quoted lines and without what follows a reply or forward header."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if _REPLY_HEADER.match(stripped):
            break
        if not stripped.startswith(">"):
            lines.append(line)
    return "\n".join(lines)


def _looks_like_phone(written: str) -> bool:
    digits = "".join(ch for ch in written if ch.isdigit())
    if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
        return False
    formatted = any(not ch.isdigit() for ch in written.lstrip("+"))
    russian = len(digits) == 11 and digits[0] in "78"
    return written.startswith("+") or russian or formatted


def phones_in(text: str) -> list[str]:
    """The E.164 phones written in ``text``, in order, without repeats."""
    found: list[str] = []
    for match in _PHONE.finditer(text):
        written = match.group().strip()
        if not _looks_like_phone(written):
            continue
        try:
            phone = normalize_phone(written)
        except ValueError:
            continue
        if phone not in found:
            found.append(phone)
    return found


def emails_in(text: str) -> list[str]:
    """The normalised e-mail addresses written in ``text``, in order, without repeats."""
    found: list[str] = []
    for match in _EMAIL.finditer(text):
        try:
            email = normalize_email(match.group().strip("."))
        except ValueError:
            continue
        if email not in found:
            found.append(email)
    return found


def body_points(text: str, *, excluded: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(kind, value) of the phones and e-mails of ``text``'s own part (see the module),
    without the ``excluded`` values (the sender's address, our own mailboxes), bounded."""
    own = own_text(text)
    skip = {value.lower() for value in excluded if value}
    phones = [phone for phone in phones_in(own) if phone not in skip][:MAX_PHONES]
    emails = [email for email in emails_in(own) if email not in skip][:MAX_EMAILS]
    return [
        *((ContactPointKind.PHONE, phone) for phone in phones),
        *((ContactPointKind.EMAIL, email) for email in emails),
    ]

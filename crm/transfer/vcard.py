"""Contact cards (vCard 2.1, 3.0 and 4.0) read as a table of contact fields.

Our own small parser, because the cards that phones and mail programs write bend the
standards in known ways and the libraries that exist either keep whole photos in memory or
give up on 2.1. What it understands:

- folded lines (a line starting with a space or a tab continues the previous one) and the
  soft line breaks of quoted-printable values (a line ending in ``=``);
- ``ENCODING=QUOTED-PRINTABLE`` (or the bare 2.1 parameter) with ``CHARSET=...``: Outlook
  and Android write Cyrillic names so;
- binary values (``PHOTO``, ``LOGO``, ``SOUND``, ``KEY``, anything base64) are skipped as
  they are read, never kept, including 2.1's unindented base64 blocks ended by a blank line;
- groups (``item1.TEL`` with ``item1.X-ABLabel``, as the iPhone writes) and several cards
  per file; a card inside a card (2.1 ``AGENT``) is skipped.

Each card becomes one row whose columns are the contact kind's import keys, so the mapping
needs no guessing: ``full_name`` (FN), ``last_name``/``first_name``/``middle_name`` (N),
``phone`` (TEL, the preferred first), ``email``, ``messenger`` (IMPP, X-SOCIALPROFILE and
the X-SKYPE/X-TELEGRAM kind), ``company`` (the first part of ORG), ``position`` (TITLE),
``birthday`` (BDAY as ``YYYY-MM-DD``; a date without a year, ``--MMDD`` or Apple's
omitted year, gives none), ``address`` (ADR, its parts joined with commas), ``tags``
(CATEGORIES, without the "myContacts" and "starred" groups Gmail puts everyone in) and
``notes`` (NOTE). A card may have several phones, e-mails, messengers and addresses: the
table has as many such columns as the fullest card (a first pass counts them), at most
``MAX_VALUES`` each. URL, photos and other properties are left out.
"""

from __future__ import annotations

import codecs
import datetime
import quopri
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.utils.translation import gettext as _

from .readers_base import MAX_CELL_CHARS, SourceRow, Table, join_problems, limit_text
from .readers_text import Encoding, decoded_chunks

#: At most this many phones (e-mails, messengers, addresses) of a card are read.
MAX_VALUES = 10
#: A physical line longer than this is cut (an unfolded photo can be megabytes long).
MAX_LINE_CHARS = 4 * MAX_CELL_CHARS

_BINARY = frozenset({"PHOTO", "LOGO", "SOUND", "KEY"})
_MESSENGERS = frozenset(
    {
        "IMPP",
        "X-SOCIALPROFILE",
        "X-SKYPE",
        "X-SKYPE-USERNAME",
        "X-TELEGRAM",
        "X-JABBER",
        "X-ICQ",
        "X-WHATSAPP",
        "X-VIBER",
        "X-VK",
    }
)
# Parameters whose values are names from a list, compared in upper case.
_ENUMERATED = frozenset({"TYPE", "ENCODING", "VALUE", "PREF"})
_MULTIPLE = ("phone", "email", "messenger", "address")


@dataclass
class Card:
    """What one card says, in contact import keys."""

    full_name: str = ""
    last_name: str = ""
    first_name: str = ""
    middle_name: str = ""
    company: str = ""
    position: str = ""
    birthday: str = ""
    notes: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    values: dict[str, list[tuple[bool, str]]] = field(
        default_factory=lambda: {key: [] for key in _MULTIPLE}
    )
    problems: list[str] = field(default_factory=list)

    def add(self, key: str, value: str, preferred: bool = False) -> None:
        if value:
            self.values[key].append((preferred, value))

    def listed(self, key: str) -> list[str]:
        """The card's values of ``key``, the preferred first, at most ``MAX_VALUES``."""
        ordered = sorted(self.values[key], key=lambda item: not item[0])
        return [value for _preferred, value in ordered][:MAX_VALUES]

    def is_blank(self) -> bool:
        return not (
            self.full_name
            or self.last_name
            or self.first_name
            or self.middle_name
            or self.company
            or self.position
            or self.birthday
            or self.notes
            or self.tags
            or any(self.values.values())
        )


@dataclass
class _Property:
    group: str
    name: str
    params: dict[str, list[str]]
    parts: list[str]
    length: int = 0
    cut: bool = False

    @property
    def quoted_printable(self) -> bool:
        return "QUOTED-PRINTABLE" in self.params.get("ENCODING", [])

    @property
    def soft_break(self) -> bool:
        """A quoted-printable value whose line ends in ``=`` goes on on the next line."""
        return self.quoted_printable and bool(self.parts) and self.parts[-1].endswith("=")

    @property
    def binary(self) -> bool:
        encoding = self.params.get("ENCODING", [])
        return self.name in _BINARY or "B" in encoding or "BASE64" in encoding

    def append(self, text: str) -> None:
        # room for a value of MAX_CELL_CHARS written as quoted-printable (=D0=96: 6 per letter)
        room = MAX_CELL_CHARS * 6 - self.length
        if len(text) > room:
            text, self.cut = text[:room], True
        self.parts.append(text)
        self.length += len(text)

    @property
    def value(self) -> str:
        return "".join(self.parts)


def looks_like_vcard(text_start: str) -> bool:
    return text_start.lstrip("\ufeff \t\r\n").upper().startswith("BEGIN:VCARD")


def read_vcard(file: BinaryIO, encoding: Encoding) -> Table:
    """The contact cards in ``file`` as a table of contact import keys."""
    counts = dict.fromkeys(_MULTIPLE, 0)
    for card in cards(decoded_chunks(file, encoding.codec)):
        for key in _MULTIPLE:
            counts[key] = max(counts[key], len(card.listed(key)))
    columns = ["full_name", "last_name", "first_name", "middle_name"]
    columns += ["phone"] * counts["phone"] + ["email"] * counts["email"]
    columns += ["messenger"] * counts["messenger"]
    columns += ["company", "position", "birthday"]
    columns += ["address"] * counts["address"] + ["tags", "notes"]

    def rows() -> Iterator[SourceRow]:
        for number, card in enumerate(cards(decoded_chunks(file, encoding.codec)), start=1):
            if card.is_blank():
                continue
            cells = [card.full_name, card.last_name, card.first_name, card.middle_name]
            for key in ("phone", "email", "messenger"):
                cells += _padded(card.listed(key), counts[key])
            cells += [card.company, card.position, card.birthday]
            cells += _padded(card.listed("address"), counts["address"])
            cells += [", ".join(dict.fromkeys(card.tags)), "\n".join(card.notes)]
            problems = list(card.problems)
            if any("\ufffd" in cell for cell in cells):
                problems.append(
                    _("The card has characters that are not in the file's encoding (%(encoding)s).")
                    % {"encoding": encoding.name}
                )
            for key in _MULTIPLE:
                if len(card.values[key]) > MAX_VALUES:
                    problems.append(too_many_values(key))
            if any(len(cell) > MAX_CELL_CHARS for cell in cells):
                problems.append(value_too_long())
                cells = [cell[:MAX_CELL_CHARS] for cell in cells]
            yield SourceRow(number, cells, join_problems(list(dict.fromkeys(problems))))

    return Table(columns=columns, rows=rows(), format="vcard", encoding=encoding.name)


def value_too_long() -> str:
    return _("A value of the card is longer than %(limit)s characters.") % {
        "limit": limit_text(MAX_CELL_CHARS)
    }


def too_many_values(key: str) -> str:
    """The problem of a card with more than ``MAX_VALUES`` values of ``key``."""
    messages = {
        "phone": _("The card has more than %(limit)s phones; the rest were left out."),
        "email": _("The card has more than %(limit)s e-mails; the rest were left out."),
        "messenger": _("The card has more than %(limit)s messengers; the rest were left out."),
        "address": _("The card has more than %(limit)s addresses; the rest were left out."),
    }
    return messages[key] % {"limit": MAX_VALUES}


def _padded(values: list[str], width: int) -> list[str]:
    return values + [""] * (width - len(values))


def _physical_lines(chunks: Iterable[str]) -> Iterator[str]:
    """Lines without their ends; a line over ``MAX_LINE_CHARS`` is cut there, and the rest
    of it is read past without being kept."""
    rest = ""  # the start of a line not ended yet
    skipping = False  # inside a line already cut
    for chunk in chunks:
        text = rest + chunk if rest else chunk
        start = 0
        while (end := text.find("\n", start)) >= 0:
            if not skipping:
                yield text[start : min(end, start + MAX_LINE_CHARS)].rstrip("\r")
            skipping = False
            start = end + 1
        rest = text[start:]
        if len(rest) > MAX_LINE_CHARS:
            if not skipping:
                yield rest[:MAX_LINE_CHARS].rstrip("\r")
            skipping, rest = True, ""
        elif skipping:
            rest = ""
    if rest and not skipping:
        yield rest.rstrip("\r")


def _properties(lines: Iterable[str]) -> Iterator[_Property]:
    """Logical properties: folds and soft line breaks joined, binary values dropped."""
    current: _Property | None = None
    base64_block = False  # a 2.1 base64 value runs until a blank line
    for line in lines:
        if current is not None and current.soft_break:
            current.parts[-1] = current.parts[-1][:-1]
            current.append(line)
            continue
        if current is not None and line[:1] in (" ", "\t"):
            if not current.binary:
                current.append(line[1:])
            continue
        if base64_block:
            if line.strip() and ":" not in line:
                continue
            base64_block = False
        if current is not None:
            yield current
            current = None
        if not line.strip():
            continue
        current = _parse_line(line)
        if current is not None and current.binary:
            current.parts = []
            base64_block = True
    if current is not None:
        yield current


def _parse_line(line: str) -> _Property | None:
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            head, value = line[:index], line[index + 1 :]
            break
    else:
        return None
    name, *raw_params = head.split(";")
    group, _dot, name = name.rpartition(".")
    params: dict[str, list[str]] = {}
    for raw in raw_params:
        key, equals, values = raw.partition("=")
        if equals:
            key = key.strip().upper()
            items = [item.strip().strip('"') for item in values.split(",")]
            if key in _ENUMERATED:
                items = [item.upper() for item in items]
            params.setdefault(key, []).extend(items)
        elif key.strip().upper() in ("QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT"):
            params.setdefault("ENCODING", []).append(key.strip().upper())
        else:
            params.setdefault("TYPE", []).append(key.strip().upper())
    result = _Property(group, name.strip().upper(), params, [])
    result.append(value)
    return result


def cards(chunks: Iterable[str]) -> Iterator[Card]:
    """The cards of a vCard text, in order; a card not closed at the end still counts."""
    card: Card | None = None
    depth = 0
    agent_opened = False  # 2.1 writes an agent's card right after an empty AGENT property
    for prop in _properties(_physical_lines(chunks)):
        value = prop.value
        if prop.name == "BEGIN" and value.strip().upper() == "VCARD":
            if depth == 0 or agent_opened or depth > 1:
                depth += 1
            elif card is not None:  # END:VCARD is missing: the card ends where the next begins
                yield card
            if depth == 1:
                card = Card()
            agent_opened = False
            continue
        agent_opened = prop.name == "AGENT" and not value.strip()
        if prop.name == "END" and value.strip().upper() == "VCARD":
            depth = max(depth - 1, 0)
            if depth == 0 and card is not None:
                yield card
                card = None
            continue
        if card is None or depth != 1:
            continue
        if prop.cut:
            card.problems.append(value_too_long())
        _apply(card, prop, _decoded(prop, value).replace("\r\n", "\n"))
    if card is not None:
        yield card


def _decoded(prop: _Property, value: str) -> str:
    if not prop.quoted_printable:
        return value
    raw = quopri.decodestring(value.encode("utf-8", errors="replace"))
    charset = (prop.params.get("CHARSET") or ["UTF-8"])[0]
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    try:
        return raw.decode(charset)
    except UnicodeDecodeError:
        return raw.decode(
            "cp1251" if charset.lower().replace("-", "") == "utf8" else "utf-8", errors="replace"
        )


_ESCAPED_COMMA_SPLIT = re.compile(r"(?<!\\),")
# Groups Gmail puts every contact in; they say nothing about the contact.
_SYSTEM_GROUPS = frozenset({"mycontacts", "starred", "* mycontacts", "* starred"})
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda found: "\n" if found.group(1) in "nN" else found.group(1), text)


def _components(text: str) -> list[str]:
    """A structured value split at its unescaped semicolons, each part unescaped."""
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ";":
            parts.append(_unescape("".join(current)).strip())
            current = []
        else:
            current.append(char)
    parts.append(_unescape("".join(current)).strip())
    return parts


def _apply(card: Card, prop: _Property, value: str) -> None:
    name = prop.name
    types = prop.params.get("TYPE", [])
    preferred = "PREF" in types or bool(prop.params.get("PREF"))
    if name == "FN":
        card.full_name = _unescape(value).strip()
    elif name == "N":
        parts = _components(value) + [""] * 3
        card.last_name, card.first_name, card.middle_name = parts[0], parts[1], parts[2]
    elif name == "ORG":
        card.company = _components(value)[0]
    elif name == "TITLE":
        card.position = _unescape(value).strip()
    elif name == "TEL":
        number = _unescape(value).strip()
        card.add("phone", number.removeprefix("tel:").strip(), preferred)
    elif name == "EMAIL":
        address = _unescape(value).strip()
        card.add("email", address.removeprefix("mailto:").strip(), preferred)
    elif name in _MESSENGERS:
        card.add("messenger", _messenger(prop, _unescape(value).strip()), preferred)
    elif name == "ADR":
        pobox, extended, street, city, region, postcode, country = (_components(value) + [""] * 7)[
            :7
        ]
        parts = [street, extended, pobox, city, region, postcode, country]
        card.add("address", ", ".join(part for part in parts if part), preferred)
    elif name == "BDAY":
        omitted_year = (prop.params.get("X-APPLE-OMIT-YEAR") or [""])[0]
        card.birthday = birthday(_unescape(value).strip(), omitted_year)
    elif name == "NOTE" and (note := _unescape(value).strip()):
        card.notes.append(note)
    elif name == "CATEGORIES":
        for category in _ESCAPED_COMMA_SPLIT.split(value):
            tag = _unescape(category).strip()
            if tag and tag.casefold() not in _SYSTEM_GROUPS:
                card.tags.append(tag)


def _messenger(prop: _Property, value: str) -> str:
    """A handle as a URI-like ``service:handle`` (IMPP's own form: ``skype:echo123``);
    a link as it is. The iPhone writes ``x-apple:<user>`` with the user in ``X-USER``."""
    user = (prop.params.get("X-USER") or [""])[0]
    service = next((item.lower() for item in prop.params.get("TYPE", []) if item != "PREF"), "")
    if user and (not value or value.startswith("x-apple:")):
        return f"{service}:{user}" if service else user
    if prop.name.startswith("X-") and prop.name != "X-SOCIALPROFILE" and ":" not in value:
        return f"{prop.name[2:].split('-')[0].lower()}:{value}" if value else ""
    return value


_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:$|T)")
_DOTTED_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def birthday(value: str, omitted_year: str = "") -> str:
    """A BDAY value as ``YYYY-MM-DD``; ``""`` for a date without a year; other text as it
    is (the import reports it as a date it cannot read)."""
    if not value or value.startswith("--"):
        return ""
    found = _DATE.match(value)
    if found:
        year, month, day = found.groups()
    elif found := _DOTTED_DATE.match(value):
        day, month, year = found.groups()
    else:
        return value
    if omitted_year and year == omitted_year:
        return ""
    try:
        return datetime.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return value

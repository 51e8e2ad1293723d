"""How many parts an SMS text takes.

A text written in the GSM 03.38 alphabet (7-bit) fits 160 characters in one message and 153
in each part of a long one; the characters of its extension table (``^{}[]~|\\€`` and the
form feed) take two places. Any other character (Cyrillic, emoji) sends the whole text in
UCS-2: 70 in one message, 67 a part, and a character beyond the Basic Multilingual Plane
(an emoji) takes two places. The browser's counter (``static/js/sms_counter.js``) does the
same arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class Length:
    """A text's encoding (``gsm`` or ``ucs2``), its length in that encoding's units, and the
    parts it is sent in (0 for an empty text)."""

    encoding: str
    units: int
    parts: int


def sms_length(text: str) -> Length:
    """The encoding, units and parts of ``text`` (see the module)."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text):
        units = sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
        single, part, encoding = GSM_SINGLE, GSM_PART, "gsm"
    else:
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
        single, part, encoding = UCS2_SINGLE, UCS2_PART, "ucs2"
    if units == 0:
        return Length(encoding, 0, 0)
    parts = 1 if units <= single else -(-units // part)
    return Length(encoding, units, parts)

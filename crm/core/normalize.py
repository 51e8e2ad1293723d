"""Normalisation of the values the duplicate check compares: phones, e-mails, ИНН/КПП/ОГРН.

Each ``normalize_*`` returns the canonical stored form or raises ``ValueError`` with a
message fit to show next to the field.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.ru import inn as stdnum_inn
from stdnum.ru import ogrn as stdnum_ogrn

MAX_EMAIL_LENGTH = 254


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """Return the E.164 form of ``raw`` (``8 912 345-67-89`` → ``+79123456789``)."""
    text = (raw or "").strip()
    if not text:
        raise ValueError(_("Enter a phone number."))
    if len(text) > 40:
        raise ValueError(_("The phone number is too long."))
    region = region or settings.PHONE_DEFAULT_REGION
    digits = "".join(ch for ch in text if ch.isdigit())
    # Russians write 11-digit numbers with a leading 7 or 8 without the plus sign.
    if region == "RU" and not text.startswith("+") and len(digits) == 11 and digits[0] in "78":
        text = "+7" + digits[1:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(_("“%(value)s” is not a phone number.") % {"value": raw}) from exc
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValueError(_("“%(value)s” is not a valid phone number.") % {"value": raw})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


MIN_UNCHECKED_PHONE_DIGITS = 5
MAX_PHONE_KEY_DIGITS = 19


def phone_digits_key(raw: str) -> str:
    """``+`` and the digits of a number that is not a valid phone (a foreign or mistyped one
    kept as it was sent), compared where an E.164 number would be: ``+44 20 7946 0958``
    typed without its plus still finds ``+442079460958``. "" when it has too few digits to
    be a phone at all."""
    digits = "".join(ch for ch in (raw or "") if ch.isdigit() and ch.isascii())
    if len(digits) < MIN_UNCHECKED_PHONE_DIGITS:
        return ""
    return "+" + digits[:MAX_PHONE_KEY_DIGITS]


@lru_cache(maxsize=8192)
def format_phone(e164: str) -> str:
    """Return a stored E.164 number in the international human form (``+7 912 345-67-89``).

    Remembered for the last 8,192 numbers (about 1 MB): a parse and a format cost 20 µs,
    a list page shows fifty, and the same pages are read over and over."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_digits_reversed(e164: str) -> str:
    """The digits of a number reversed, so "ends with 4567" becomes an indexable prefix."""
    return "".join(ch for ch in e164 if ch.isdigit())[::-1]


def normalize_email(raw: str) -> str:
    """Return a syntactically valid address with the domain and local part lower-cased."""
    text = (raw or "").strip()
    if not text:
        raise ValueError(_("Enter an e-mail address."))
    if len(text) > MAX_EMAIL_LENGTH:
        raise ValueError(_("The e-mail address is too long."))
    # 14 ms to import (its Unicode tables): loaded by the first address checked, not at start-up.
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(_("“%(value)s” is not a valid e-mail address.") % {"value": raw}) from exc
    return result.normalized.lower()


def _digits(raw: str) -> str:
    return "".join(ch for ch in (raw or "") if not ch.isspace() and ch not in "-")


def normalize_inn(raw: str) -> str:
    """Return a 10-digit (organisation) or 12-digit (person) ИНН with a valid checksum."""
    value = _digits(raw)
    if not value.isdigit() or len(value) not in (10, 12):
        raise ValueError(_("An ИНН has 10 or 12 digits."))
    try:
        return str(stdnum_inn.validate(value))
    except StdnumError as exc:
        raise ValueError(_("The ИНН checksum is wrong.")) from exc


def normalize_kpp(raw: str) -> str:
    """Return a 9-character КПП (digits, with letters allowed in positions 5-6)."""
    value = _digits(raw).upper()
    if len(value) != 9 or not (
        value[:4].isdigit() and value[4:6].isalnum() and value[6:].isdigit()
    ):
        raise ValueError(_("A КПП has 9 characters: 4 digits, 2 digits or letters, 3 digits."))
    return value


def normalize_ogrn(raw: str) -> str:
    """Return a 13-digit ОГРН or 15-digit ОГРНИП with a valid checksum."""
    value = _digits(raw)
    if not value.isdigit() or len(value) not in (13, 15):
        raise ValueError(_("An ОГРН has 13 digits (15 for an ОГРНИП)."))
    try:
        return str(stdnum_ogrn.validate(value))
    except StdnumError as exc:
        raise ValueError(_("The ОГРН checksum is wrong.")) from exc

"""Reading the text cells of an imported file as dates, numbers and yes/no.

Spreadsheets write a date in many ways (31.12.2024, 2024-12-31, 12/31/2024, 31 декабря
2024, an Excel serial number); each function answers the value or raises ``ValueError``
with a message for the user, so the import fails the row with that reason.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

_MONTHS = {
    # Russian genitive and nominative stems, English names: the first letters are enough
    "янв": 1, "фев": 2, "мар": 3, "апр": 4, "мая": 5, "май": 5, "июн": 6, "июл": 7,
    "авг": 8, "сен": 9, "окт": 10, "ноя": 11, "дек": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_NUMERIC = re.compile(r"^(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})$")
_WORDS = re.compile(r"^(\d{1,2})\s+([^\W\d_]+)\.?\s+(\d{4})(?:\s*(?:г\.?|года))?$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_YES = {"yes", "y", "true", "1", "да", "д", "+", "on", "x", "✓"}
_NO = {"no", "n", "false", "0", "нет", "н", "-", "off", ""}


def _date_error(text: str) -> ValueError:
    return ValueError(_("“%(value)s” is not a date.") % {"value": text[:40]})


def parse_date_cell(text: str) -> dt.date:
    """The date written in ``text``: ISO, day.month.year (Russian order first), month/day/
    year when the day cannot be a month, "31 декабря 2024", or an Excel serial number."""
    text = " ".join(text.split()).casefold()
    date_part = text.split(" ")[0] if text[:1].isdigit() and ":" in text else text
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}(t.*)?", date_part):
            return dt.date.fromisoformat(date_part[:10])
        if re.fullmatch(r"\d{1,6}(\.0+)?", date_part) and len(date_part.split(".")[0]) <= 5:
            serial = int(date_part.split(".")[0])
            if 1 <= serial <= 80000:
                return _EXCEL_EPOCH + dt.timedelta(days=serial)
        numeric = _NUMERIC.match(date_part)
        if numeric:
            first, second, third = (int(part) for part in numeric.groups())
            if len(numeric.group(1)) == 4:
                return dt.date(first, second, third)
            year = third + (2000 if third < 50 else 1900) if third < 100 else third
            if "/" in date_part and second > 12 >= first:
                return dt.date(year, first, second)
            return dt.date(year, second, first)
        words = _WORDS.match(text)
        if words:
            day_text, month_name, year_text = words.groups()
            month = _MONTHS.get(month_name[:3])
            if month:
                return dt.date(int(year_text), month, int(day_text))
    except ValueError:
        raise _date_error(text) from None
    raise _date_error(text)


def parse_bool_cell(text: str) -> bool:
    """Yes or no in Russian or English ("да", "Нет", "TRUE", "1", "x")."""
    folded = text.strip().casefold()
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    raise ValueError(_("“%(value)s” is not yes or no.") % {"value": text[:40]})


def parse_decimal_cell(text: str) -> Decimal:
    """An amount written with spaces, a comma or a dot as the decimal mark and currency
    signs ("1 234 567,89 ₽", "$1,234.50")."""
    cleaned = re.sub(r"[^\d,.\-]", "", text.replace("\u00a0", " "))
    if "," in cleaned and "." in cleaned:
        thousands = "," if cleaned.rfind(",") < cleaned.rfind(".") else "."
        cleaned = cleaned.replace(thousands, "")
    if cleaned.count(",") == 1:
        cleaned = cleaned.replace(",", ".")
    elif cleaned.count(",") > 1:
        cleaned = cleaned.replace(",", "")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(_("“%(value)s” is not a number.") % {"value": text[:40]}) from None
    if not number.is_finite():
        raise ValueError(_("“%(value)s” is not a number.") % {"value": text[:40]})
    return number

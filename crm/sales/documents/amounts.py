"""Money and quantities as Russian documents print them, and amounts in words.

``amount_in_words(Decimal("123456.78"))`` gives «Сто двадцать три тысячи четыреста
пятьдесят шесть рублей 78 копеек»: the whole units in words with the currency name agreeing
with the number, the fraction as two digits followed by its own agreeing name, which is the
form accountants write on an invoice («… рублей 01 копейка»). num2words was tried and gives
«…рублей, семьдесят восемь копеек» (lower case, a comma, kopecks in words), hence this module.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

Gender = Literal["m", "f"]

CENT = Decimal("0.01")
NBSP = "\u00a0"

_ONES = {
    "m": ["", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"],
    "f": ["", "одна", "две", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"],
}
_TEENS = [
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
]
_TENS = [
    "",
    "",
    "двадцать",
    "тридцать",
    "сорок",
    "пятьдесят",
    "шестьдесят",
    "семьдесят",
    "восемьдесят",
    "девяносто",
]
_HUNDREDS = [
    "",
    "сто",
    "двести",
    "триста",
    "четыреста",
    "пятьсот",
    "шестьсот",
    "семьсот",
    "восемьсот",
    "девятьсот",
]
# Powers of a thousand, lowest first: the gender of the word and its three forms.
_SCALES: list[tuple[Gender, tuple[str, str, str]]] = [
    ("f", ("тысяча", "тысячи", "тысяч")),
    ("m", ("миллион", "миллиона", "миллионов")),
    ("m", ("миллиард", "миллиарда", "миллиардов")),
    ("m", ("триллион", "триллиона", "триллионов")),
]


class CurrencyWords:
    """How to name one currency: the gender and forms of its unit and of its hundredth."""

    def __init__(
        self,
        major: tuple[str, str, str],
        minor: tuple[str, str, str],
        major_gender: Gender = "m",
        minor_gender: Gender = "m",
    ) -> None:
        self.major, self.minor = major, minor
        self.major_gender, self.minor_gender = major_gender, minor_gender


CURRENCIES: dict[str, CurrencyWords] = {
    "RUB": CurrencyWords(("рубль", "рубля", "рублей"), ("копейка", "копейки", "копеек"), "m", "f"),
    "USD": CurrencyWords(
        ("доллар США", "доллара США", "долларов США"), ("цент", "цента", "центов")
    ),
    "EUR": CurrencyWords(("евро", "евро", "евро"), ("цент", "цента", "центов")),
    "CNY": CurrencyWords(("юань", "юаня", "юаней"), ("фэнь", "фэня", "фэней")),
    "KZT": CurrencyWords(("тенге", "тенге", "тенге"), ("тиын", "тиына", "тиынов")),
    "BYN": CurrencyWords(
        ("белорусский рубль", "белорусских рубля", "белорусских рублей"),
        ("копейка", "копейки", "копеек"),
        "m",
        "f",
    ),
    "UZS": CurrencyWords(("сум", "сума", "сумов"), ("тийин", "тийина", "тийинов")),
    "AMD": CurrencyWords(("драм", "драма", "драмов"), ("лума", "лумы", "лум"), "m", "f"),
    "TRY": CurrencyWords(
        ("турецкая лира", "турецкие лиры", "турецких лир"),
        ("куруш", "куруша", "курушей"),
        "f",
        "m",
    ),
    "AED": CurrencyWords(
        ("дирхам ОАЭ", "дирхама ОАЭ", "дирхамов ОАЭ"), ("филс", "филса", "филсов")
    ),
}


def plural(number: int, forms: tuple[str, str, str]) -> str:
    """The Russian form agreeing with ``number``: (1 рубль, 2 рубля, 5 рублей)."""
    number = abs(number)
    if 11 <= number % 100 <= 14:
        return forms[2]
    last = number % 10
    if last == 1:
        return forms[0]
    if 2 <= last <= 4:
        return forms[1]
    return forms[2]


def _triple(number: int, gender: Gender) -> list[str]:
    hundreds, rest = divmod(number, 100)
    words = [_HUNDREDS[hundreds]]
    if 10 <= rest <= 19:
        words.append(_TEENS[rest - 10])
    else:
        tens, ones = divmod(rest, 10)
        words += [_TENS[tens], _ONES[gender][ones]]
    return [word for word in words if word]


def integer_in_words(number: int, gender: Gender = "m") -> str:
    """A whole number in Russian words, e.g. 2001 → «две тысячи один»."""
    if number < 0:
        return f"минус {integer_in_words(-number, gender)}"
    if number == 0:
        return "ноль"
    if number >= 1000 ** (len(_SCALES) + 1):
        raise ValueError("The number is too large to write in words.")
    groups: list[int] = []
    while number:
        number, group = divmod(number, 1000)
        groups.append(group)
    words: list[str] = []
    for power in range(len(groups) - 1, -1, -1):
        group = groups[power]
        if not group:
            continue
        if power == 0:
            words += _triple(group, gender)
        else:
            scale_gender, forms = _SCALES[power - 1]
            words += [*_triple(group, scale_gender), plural(group, forms)]
    return " ".join(words)


def to_cents(amount: Decimal | int | str) -> Decimal:
    """The amount rounded to hundredths, half up, as money is everywhere."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def amount_in_words(amount: Decimal | int | str, currency: str = "RUB") -> str:
    """The sum as accountants write it: «Двадцать один рубль 05 копеек».

    Whole units in words, capitalised; hundredths in two digits. A currency without words
    here keeps its code («Сто USD 00»).
    """
    value = to_cents(amount)
    sign = "минус " if value < 0 else ""
    whole, hundredths = divmod(int(abs(value) * 100), 100)
    names = CURRENCIES.get(currency)
    if names is None:
        text = f"{sign}{integer_in_words(whole)} {currency} {hundredths:02d}"
    else:
        text = (
            f"{sign}{integer_in_words(whole, names.major_gender)} {plural(whole, names.major)} "
            f"{hundredths:02d} {plural(hundredths, names.minor)}"
        )
    return text[:1].upper() + text[1:]


def format_money(amount: Decimal | int | str) -> str:
    """«1 234 567,80»: groups of three split by a no-break space, a decimal comma."""
    value = to_cents(amount)
    whole, fraction = f"{abs(value):.2f}".split(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{'-' if value < 0 else ''}{NBSP.join(groups)},{fraction}"


def format_quantity(quantity: Decimal | int | str) -> str:
    """A quantity without trailing zeros and with a decimal comma: 2.500 → «2,5»."""
    text = f"{Decimal(quantity):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    whole, _, fraction = text.partition(".")
    groups: list[str] = []
    digits = whole.lstrip("-")
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    result = ("-" if whole.startswith("-") else "") + NBSP.join(groups or ["0"])
    return f"{result},{fraction}" if fraction else result


def format_percent(value: Decimal | int | str) -> str:
    """«10%», «12,5%»."""
    return f"{format_quantity(value)}%"

"""Text folding for search and matching: case, ё/е, Cyrillic→Latin, quotes and legal forms.

Everything the duplicate check and the search box compare goes through these functions, so
that ``ООО «Ромашка»``, ``Romashka LLC`` and ``ромашка`` meet on the same key.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CYRILLIC_TO_LATIN = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "e",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ъ": "",
    "ы": "y",
    "ь": "",
    "э": "e",
    "ю": "iu",
    "я": "ia",
    "і": "i",
    "ї": "i",
    "є": "e",
    "ґ": "g",
}

# Latin spellings that differ between transliteration standards (and passports) are folded
# to one form, so ``Yuri``/``Iurii``, ``Khodorov``/``Hodorov`` compare equal.
_LATIN_VARIANTS = [
    ("shch", "sch"),
    ("yu", "iu"),
    ("ju", "iu"),
    ("ya", "ia"),
    ("ja", "ia"),
    ("yo", "e"),
    ("kh", "h"),
    ("ts", "c"),
    ("tz", "c"),
    ("ck", "k"),
    ("ks", "x"),
    ("iy", "i"),
    ("ii", "i"),
    ("yi", "i"),
    ("y", "i"),
    ("j", "i"),
    ("w", "v"),
    ("ph", "f"),
    ("q", "k"),
]

LEGAL_FORMS = [
    "общество с ограниченной ответственностью",
    "публичное акционерное общество",
    "закрытое акционерное общество",
    "открытое акционерное общество",
    "акционерное общество",
    "индивидуальный предприниматель",
    "некоммерческая организация",
    "автономная некоммерческая организация",
    "государственное унитарное предприятие",
    "муниципальное унитарное предприятие",
    "федеральное государственное бюджетное учреждение",
    "государственное бюджетное учреждение",
    "муниципальное бюджетное учреждение",
    "ооо",
    "оао",
    "зао",
    "пао",
    "ао",
    "ип",
    "нко",
    "ано",
    "гуп",
    "муп",
    "фгуп",
    "фгбу",
    "гбу",
    "мбу",
    "гку",
    "мку",
    "тоо",
    "чп",
    "llc",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "jsc",
    "ojsc",
    "cjsc",
    "pjsc",
    "gmbh",
    "ag",
    "plc",
    "sa",
    "bv",
    "oy",
    "ab",
    "llp",
    "lp",
    "ooo",
    "zao",
    "oao",
    "pao",
    "ao",
    "ip",
]
_LEGAL_FORM_WORDS = {form for form in LEGAL_FORMS if " " not in form}
_LEGAL_FORM_PHRASES = sorted((form for form in LEGAL_FORMS if " " in form), key=len, reverse=True)
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_SPACES = re.compile(r"\s+")


# Names repeat (Иван, Петров …): the duplicate check and the scan fold the same strings many
# times, so the pure functions below that take a name remember their recent answers.
_CACHED_STRINGS = 50_000


@lru_cache(maxsize=_CACHED_STRINGS)
def fold(text: str) -> str:
    """Lower-case, ё→е, accents dropped, punctuation and quotes turned into single spaces."""
    text = unicodedata.normalize("NFKC", text or "").casefold().replace("ё", "е")
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    # NFKD splits й into и + breve; the breve is dropped above, which is what we want for
    # matching (й and и are near-interchangeable in transliteration) but not for display.
    text = _NON_WORD.sub(" ", text).replace("_", " ")
    return _SPACES.sub(" ", text).strip()


def transliterate(text: str) -> str:
    """Cyrillic → Latin on already folded text; other characters pass through."""
    return "".join(_CYRILLIC_TO_LATIN.get(ch, ch) for ch in text)


@lru_cache(maxsize=_CACHED_STRINGS)
def latin_key(text: str) -> str:
    """Fold, transliterate and unify Latin spelling variants: the matching form of a word."""
    result = transliterate(fold(text))
    for variant, canonical in _LATIN_VARIANTS:
        result = result.replace(variant, canonical)
    return result


@lru_cache(maxsize=_CACHED_STRINGS)
def strip_legal_form(text: str) -> str:
    """Drop legal-form words and phrases (ООО, АО, LLC, «общество с …») from a folded name."""
    folded = f" {fold(text)} "
    for phrase in _FOLDED_LEGAL_FORM_PHRASES:
        folded = folded.replace(f" {phrase} ", " ")
    words = [word for word in folded.split() if word not in _LEGAL_FORM_WORDS]
    return " ".join(words)


# ``fold`` turns «й» into «и», so the phrases are compared in their folded form too.
_FOLDED_LEGAL_FORM_PHRASES = [fold(phrase) for phrase in _LEGAL_FORM_PHRASES]


def search_text(*parts: str | None) -> str:
    """The text a search fragment is matched against: folded parts plus their Latin spelling.

    Holding both alphabets lets ``ivanov`` find ``Иванов`` and ``Иван`` find ``Ivan``.
    """
    folded = fold(" ".join(part for part in parts if part))
    latin = transliterate(folded)
    return folded if latin == folded else f"{folded} {latin}"


def search_query(fragment: str) -> str:
    """Fold a typed fragment the same way ``search_text`` folds the stored text."""
    return fold(fragment)


SHARED_PREFIX_MARK = "ǁ"
"""Starts the tokens of ``name_words`` for two name words sharing a prefix: a letter to the
trigram index (``pg_trgm`` splits words at punctuation), never typed in a name."""
SHARED_PREFIX_MIN = 3


def name_words(*parts: str | None) -> str:
    """The words of a name, folded, then in Latin letters, each with a space on both sides.

    ``" петров иван petrov ivan "`` (a name in Latin letters only once: ``" john smith "``):
    what a search of several words in any order matches word by word
    (``core.search.filter_by_words``). A typed word is folded, not transliterated, so «И»
    starts «Иван» but not «Юрий» (``iurii``). Folding leaves only letters and digits in a
    word, so a word never holds a ``LIKE`` wildcard.

    Two words of the name with a common prefix of three letters or more add a token of it
    after the words (``ǁиван`` for Иван Иванович): «Иван Иванович» needs two name words
    starting with ``иван``, which the trigram index cannot tell from one, but it can find
    the token.
    """
    folded = fold(" ".join(part for part in parts if part)).replace(SHARED_PREFIX_MARK, "")
    latin = transliterate(folded)
    segments = [folded.split()] if latin == folded else [folded.split(), latin.split()]
    words = [word for segment in segments for word in segment]
    if not words:
        return ""
    shared = sorted({token for segment in segments for token in _shared_prefixes(segment)})
    return f" {' '.join([*words, *shared])} "


def _shared_prefixes(words: list[str]) -> set[str]:
    tokens = set()
    for index, word in enumerate(words):
        for other in words[index + 1 :]:
            prefix = _common_prefix(word, other)
            if len(prefix) >= SHARED_PREFIX_MIN:
                tokens.add(SHARED_PREFIX_MARK + prefix)
    return tokens


def _common_prefix(first: str, second: str) -> str:
    length = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        length += 1
    return first[:length]


def name_query_words(fragment: str) -> list[str]:
    """The words of a typed name, folded as ``name_words`` stores them."""
    return fold(fragment).replace(SHARED_PREFIX_MARK, "").split()


# C0 controls (and DEL) other than tab, line feed and carriage return: never typed by a
# person, and NUL is refused by PostgreSQL in text and jsonb.
_STRAY_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def without_controls(text: str) -> str:
    """``text`` without NUL and the other stray C0 controls (tab, LF and CR stay) and with
    any lone surrogate replaced by U+FFFD: what every database stores.

    For values of public submissions, which are kept (not refused) when a stray control
    character slipped in.
    """
    return _SURROGATES.sub("\ufffd", _STRAY_CONTROLS.sub("", text))


def raw_as_storable(body: bytes) -> str:
    """A request body as text a ``TextField`` stores on every database: UTF-8 (invalid
    bytes become U+FFFD) with NUL bytes as U+FFFD. A JSON or URL-encoded body holds its NUL
    escaped (``\\u0000``, ``%00``), so what was sent stays readable as sent."""
    return body.decode("utf-8", "replace").replace("\x00", "\ufffd")

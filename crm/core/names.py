"""Splitting a person's name written in one string into last name, first name and patronymic.

Web forms, e-mails and lead sources give a name as one string, in either order: «Пётр
Иванов», «Иванов Пётр Сергеевич», «John Smith», «Smith, John». Which word is the first name
is decided by recognising it, not by its position:

1. A comma followed by a (nearly) known first name means "last name, first name(s)":
   «Smith, John», «Иванов, Пётр Сергеевич»; any other comma ends the name
   («Иванов Пётр, менеджер»). What is in brackets is never part of the name.
2. A patronymic is a Cyrillic word ending in -ович/-евич/-ич/-овна/-евна/-ична/-инична (or
   its Latin spelling -ovich/-evich/-ich/-ovna/-evna/-ichna) placed after the first name:
   right after it, or at the end of the string.
3. The first name is the word found in ``FIRST_NAMES`` (common Russian names with their
   diminutives, common English and international names; compared in ``latin_key`` form, so
   «Пётр», «Petr» and «Pyotr» are one); when several words are names, the one next to the
   patronymic wins, else the first that is not also a common surname (``SURNAMES_TOO``:
   «Scott Jacqueline»), else the first such word.
4. When no word is a known first name (the fallback rule): a patronymic's left neighbour is
   the first name; else the only word one typo away from a known name («Aelx White»); else,
   of two words of which exactly one has a Russian surname ending
   (-ов, -ева, -ин, -ский, -ич, -ко, -ук …), the other; else the order of the script: a
   Cyrillic name is written «Фамилия Имя» (the Russian document order), a Latin one «First
   Last». A single unknown word is a last name if it has a surname ending, else a first name.
5. Without a patronymic, in three words or more, a (nearly) known given name right after
   the first name is the middle name («Lucy Patricia Cooper», «Cooper Lucy Patricia»,
   «Анна Мария Смирнова»); two given names first make the first of them the first name.
6. Every word not taken as the first name or middle name belongs to the last name, in
   order («Мария Иванова-Петрова», «Anna van der Berg»).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from crm.core.name_variants import all_forms, name_groups
from crm.core.text import latin_key

# Common English and international first names and short forms, beyond the groups of
# ``crm.core.name_variants`` (Russian names with their diminutives and Latin equivalents).
_INTERNATIONAL = """
aaron adam alan albert alex alexander alice amanda amber amy andrew angela anna anne anthony
arthur ashley barbara ben benjamin betty beverly bill bob brandon brenda brian bruce carl
carol caroline catherine charles charlotte chris christian christine christopher cynthia
daniel david deborah dennis diana donald donna dorothy douglas edward elizabeth emily emma
eric ethan eugene evelyn frank gary george gerald grace gregory hannah harold harry heather
helen henry isabella jack jacob james jane janet jason jean jeffrey jennifer jeremy jerry
jessica joan joe john jonathan jordan joseph joshua joyce judith julia julie justin karen
katherine kathleen keith kelly kenneth kevin kimberly kyle larry laura lauren lawrence linda
lisa louis lucas luke margaret maria marie mark martha martin mary matthew megan melissa
michael michelle mike nancy natalie nathan nicholas nicole noah oliver olivia pamela patricia
patrick paul peter philip rachel ralph raymond rebecca richard robert roger ronald rose ruth
ryan samantha samuel sandra sarah scott sean sharon shirley sophia stephanie stephen steven
susan teresa thomas timothy tom tyler victoria vincent virginia walter wayne william zachary
hans klaus jurgen wolfgang pierre jean jacques francois luca marco giuseppe carlos jose juan
luis miguel pablo ahmed ali mohammed omar fatima kateryna olena oleksandr mykola taras
abigail amelia ava chloe christina claire ella ellie frederick harriet isla jacqueline lily
lucy mia sophie zoe alfie archie freddie leo oscar theo toby
bob bobby rob robbie bill billy will willie jim jimmy mike mikey dave davy tommy dan danny
joey matt nick tony steve andy drew benny sam sammy jake ed eddie ted teddy ned rick ricky
dick ron ronnie don donnie greg jeff pete phil ray charlie chuck hank fred frankie gene walt
al abby kate katie kathy cathy kat liz beth betsy lizzie libby eliza jenny jen jess jessie
sue susie suzy peggy maggie meg patty pat trish becky becca vicky tori debbie deb sandy
cindy mandy pam chrissy tina sally molly polly annie nan ginny jackie
"""


def _words(block: str) -> frozenset[str]:
    return frozenset(latin_key(word) for word in re.split(r"[\s;]+", block) if word)


FIRST_NAMES: frozenset[str] = all_forms() | _words(_INTERNATIONAL)
"""Known first names and diminutives, in ``latin_key`` form."""

# English first names that are as often surnames («Scott Jacqueline», «Thomas Lucy»): when
# another word is a first name too, that other word is the first name.
SURNAMES_TOO: frozenset[str] = _words(
    """
    alexander allen bruce clark craig dean douglas francis george gordon graham grant
    harvey henry howard james jordan kelly lawrence lee lewis martin mitchell morgan murray
    nelson owen patrick paul ray russell ryan scott stewart taylor thomas wallace warren wayne
    """
)
_NEAR_NAME_MIN_LENGTH = 4

_NAME_LIST = sorted(FIRST_NAMES)
_PATRONYMIC = re.compile(r"(ович|евич|ич|овна|евна|ична|инична|ovich|evich|ich|ovna|evna|ichna)$")
_RUSSIAN_SURNAME = re.compile(
    r"(ов|ова|ев|ева|ёв|ёва|ин|ина|ын|ына|ский|ская|цкий|цкая|ых|их|ич|ко|ук|юк"
    r"|ov|ova|ev|eva|sky|skiy|skii|skaya|ich|enko)$"
)
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)


@dataclass(frozen=True)
class PersonName:
    """A person's name in the contact's three parts (any may be empty)."""

    last_name: str = ""
    first_name: str = ""
    middle_name: str = ""


def is_first_name(word: str) -> bool:
    """Whether ``word`` is a known first name or diminutive, in any alphabet or spelling."""
    return latin_key(word) in FIRST_NAMES


def is_patronymic(word: str) -> bool:
    """Whether ``word`` has a patronymic's ending (Сергеевич, Ивановна, Ilyinichna)."""
    lowered = word.lower()
    return len(lowered) > 4 and bool(_PATRONYMIC.search(lowered))


@lru_cache(maxsize=10_000)
def is_near_first_name(word: str) -> bool:
    """Whether ``word`` is one typo (a letter added, dropped, changed, or two swapped) from
    a known first name; words of fewer than four letters and words with a surname ending
    never are."""
    from rapidfuzz.distance import DamerauLevenshtein  # loaded by the first unknown name
    from rapidfuzz.process import extractOne

    key = latin_key(word)
    if len(key) < _NEAR_NAME_MIN_LENGTH or _looks_like_surname(word):
        return False
    return (
        extractOne(key, _NAME_LIST, scorer=DamerauLevenshtein.distance, score_cutoff=1) is not None
    )


@lru_cache(maxsize=50_000)
def first_name_heads(key: str) -> frozenset[str]:
    """The full names (Latin keys) that the name word ``key`` (a Latin key) stands for when it
    is a known first name or one typo from one, as ``is_near_first_name`` tells (Саша →
    aleksandr, aleksandra; alxeandr → aleksandr; laura → laura); empty for any other word."""
    if key in FIRST_NAMES:
        return name_groups(key)
    if len(key) < _NEAR_NAME_MIN_LENGTH or _looks_like_surname(key):
        return frozenset()
    from rapidfuzz.distance import DamerauLevenshtein
    from rapidfuzz.process import extract

    near = extract(key, _NAME_LIST, scorer=DamerauLevenshtein.distance, score_cutoff=1, limit=None)
    return frozenset(head for form, _distance, _index in near for head in name_groups(form))


def _looks_like_surname(word: str) -> bool:
    return bool(_RUSSIAN_SURNAME.search(word.lower())) and len(word) > 3


def _is_given(word: str) -> bool:
    return is_first_name(word) or is_near_first_name(word)


def _first_index(words: list[str]) -> int:
    """The position of the first name among ``words`` (two or more), by the module's rules."""
    known = [index for index, word in enumerate(words) if is_first_name(word)]
    before_patronymic = [
        index - 1 for index, word in enumerate(words) if index > 0 and is_patronymic(word)
    ]
    for index in before_patronymic:
        if index in known:
            return index
    if before_patronymic and not known:
        return before_patronymic[0]
    if len(words) >= 3 and not before_patronymic and all(map(_is_given, words[:2])):
        return 0  # «Lucy Patricia Cooper»: a first name, a second given name, the last name
    if known:
        only_names = [index for index in known if latin_key(words[index]) not in SURNAMES_TOO]
        return (only_names if len(words) == 2 and only_names else known)[0]
    if before_patronymic:
        return before_patronymic[0]
    near = [index for index, word in enumerate(words) if is_near_first_name(word)]
    if len(near) == 1:
        return near[0]
    not_surnames = [index for index, word in enumerate(words) if not _looks_like_surname(word)]
    if len(words) == 2 and len(not_surnames) == 1:
        return not_surnames[0]
    return 1 if _CYRILLIC.search(" ".join(words)) else 0


def _middle_index(words: list[str], first: int) -> int | None:
    """The patronymic: right after the first name, else at the end of the string; never
    before the first name, where a word ending in -ович is a surname («Абрамович Роман»).
    Without one, in three words or more, a given name right after the first is the second
    given name («Lucy Patricia Cooper», «Cooper Lucy Patricia»)."""
    for index in (first + 1, len(words) - 1):
        if first < index < len(words) and is_patronymic(words[index]):
            return index
    following = first + 1
    if len(words) >= 3 and following < len(words) and _is_given(words[following]):
        return following
    return None


def _split_words(words: list[str]) -> PersonName:
    if len(words) == 1:
        word = words[0]
        if not is_first_name(word) and _looks_like_surname(word):
            return PersonName(last_name=word)
        return PersonName(first_name=word)
    first = _first_index(words)
    middle = _middle_index(words, first)
    rest = [word for index, word in enumerate(words) if index not in {first, middle}]
    return PersonName(
        last_name=" ".join(rest),
        first_name=words[first],
        middle_name=words[middle] if middle is not None else "",
    )


@lru_cache(maxsize=10_000)
def split_full_name(text: str) -> PersonName:
    """The parts of a full name written in one string (see the module's rules); what is in
    brackets («Пётр Иванов (ООО Вектор)») is not part of the name."""
    text = _BRACKETED.sub(" ", text or "")
    before, _comma, after = text.partition(",")
    given = after.split()
    if given and before.split() and _is_given(given[0]):
        return PersonName(
            last_name=" ".join(before.split()),
            first_name=given[0],
            middle_name=" ".join(given[1:]),
        )
    words = before.split()  # after a comma that is no «Last, First»: a title, a company
    return _split_words(words) if words else PersonName()

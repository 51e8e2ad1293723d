"""First names that are one name: diminutives and the Latin equivalents of Russian names.

A compact hand-made table, not a dictionary of every name: the common Russian full names with
their everyday forms (Александр — Саша, Шура, Саня), their usual English equivalents
(Alexander, Alex) and the common English full names with their short forms (Robert — Bob,
Rob). Every spelling goes through ``latin_key``, so any transliteration of a listed form
(Aleksandr, Alexandr) is listed too.

A short form may belong to several full names (Саша: Александр and Александра; Слава:
Вячеслав, Владислав, Ярослав); the male and the female full names stay apart, so
Александр and Александра are different people.
"""

from __future__ import annotations

from functools import lru_cache

from crm.core.text import latin_key

# Each line: the full name first (its Latin key names the group), then its other forms.
_GROUPS = """
Александр Саша Шура Саня Санёк Алекс Alexander Alex Sasha Sanya
Александра Саша Шура Саня Алекс Alexandra Alex Sasha Sandra
Алексей Лёша Алёша Лёха Alexei Alexey Alex Lyosha
Анатолий Толя Толик Tolya
Андрей Андрюша Дрюша Andrew Andy
Антон Тоша Антоша Anthony Tony
Аркадий Аркаша
Артём Тёма Artem Artyom
Борис Боря Boris Borya
Вадим Вадик Dima
Валентин Валя Valentin
Валентина Валя Valya
Валерий Валера Valera
Валерия Лера Lera Valeria
Василий Вася Vasily Vasya
Вера Верочка Vera
Вероника Ника Veronica Nika
Виктор Витя Victor Vitya
Виктория Вика Victoria Vika Vicky
Виталий Виталик Vitaly
Владимир Вова Володя Вовчик Vladimir Vova Volodya
Владислав Влад Слава Vlad Slava
Вячеслав Слава Slava
Галина Галя Galya
Георгий Гоша Жора George Gosha
Григорий Гриша Gregory Greg Grisha
Дарья Даша Daria Dasha
Даниил Данила Даня Daniel Dan Danny
Денис Дениска Denis
Дмитрий Дима Митя Dmitry Dima
Евгений Женя Eugene Zhenya
Евгения Женя Eugenia Zhenya
Екатерина Катя Катерина Катюша Ekaterina Katya Catherine Katherine Kate Kathy Katie
Елена Лена Алёна Helen Helena Elena Lena
Елизавета Лиза Elizabeth Liza Liz Lizzie Beth Betty
Иван Ваня Ivan Vanya
Игорь Игорёк Igor
Илья Илюша Ilya
Ирина Ира Ирочка Irina Ira
Кирилл Киря Kirill
Константин Костя Konstantin Kostya
Ксения Ксюша Ksenia Ksusha
Леонид Лёня Leonid Lenya
Лев Лёва Leo Lev
Любовь Люба Lyuba
Людмила Люда Мила Lyuda Mila
Максим Макс Maxim Max
Маргарита Рита Margaret Margarita Rita Maggie Meg Peggy
Мария Маша Маня Mary Maria Masha
Матвей Мотя Matthew Matt
Михаил Миша Michael Mikhail Mike Misha
Надежда Надя Nadezhda Nadya
Наталья Наталия Наташа Natalia Natalie Natasha
Николай Коля Nicholas Nick Kolya
Ольга Оля Olga Olya
Павел Паша Paul Pasha
Пётр Петя Peter Pete Petya
Полина Поля Polina Polya
Роман Рома Roman Roma
Семён Сеня Semyon Senya сёма
Сергей Серёжа Серёга Sergei Sergey Serezha
Светлана Света Svetlana Sveta
Софья София Соня Sophia Sofia Sonya
Станислав Стас Слава Stanislav Stas
Степан Стёпа Stepan Stephen Steven Steve
Тамара Тома Tamara
Татьяна Таня Tatiana Tanya
Тимофей Тима Timothy Tim
Фёдор Федя Theodore Fyodor Fedya Ted
Юлия Юля Julia Yulia Yulya
Юрий Юра Yuri Yura
Яков Яша Jacob Yakov Yasha
Ярослав Ярик Слава Yaroslav Slava
Эдуард Эдик Edward Eduard Ed Eddie Ted
Анастасия Настя Anastasia Nastya
Анна Аня Нюра Anna Ann Anne Annie Anya
Robert Bob Bobby Rob Robbie
Patrick Pat Paddy
Barbara Barb Babs
William Bill Billy Will Willie
Richard Dick Rick Ricky Rich
James Jim Jimmy Jamie
Thomas Tom Tommy
Christopher Chris Kit
Christine Chris Christina Tina
Jennifer Jen Jenny
Patricia Pat Patty Trish
Joseph Joe Joey
Charles Charlie Chuck
David Dave Davy
Benjamin Ben Benny
Samuel Sam Sammy
Samantha Sam Sammy
Jonathan Jon Jonny
Susan Sue Susie
Deborah Debbie Deb
Rebecca Becky Becca
Jacqueline Jackie
Kimberly Kim
Kenneth Ken Kenny
Joshua Josh
Nathan Nate
Jessica Jess Jessie
Abigail Abby
Dorothy Dot Dottie
Philip Phil
Ronald Ron Ronnie
Donald Don Donnie
Raymond Ray
Gerald Gerry Jerry
Lawrence Larry
Frederick Fred Freddie
Henry Harry Hank
Harold Harry Hal
Albert Al Bert
Zachary Zach Zack
Emily Em Emmy
Olivia Liv Livvy
Victoria Vicky Tori
Matthew Matt Matty
Andrew Andy Drew
Anthony Tony
Daniel Dan Danny
Edward Ed Eddie Ted Ned
Nicholas Nick Nicky
Stephen Steve Stevie
Steven Steve Stevie
Timothy Tim Timmy
Gregory Greg
Peter Pete
Michael Mike Mikey Mick
Margaret Maggie Meg Peggy
Katherine Kate Kathy Katie
Catherine Kate Cathy Katie
Elizabeth Liz Beth Betty Lizzie
Alexander Alex Al Xander
Alexandra Alex Sandra Lexi саша
Арсений Арс Сеня
Всеволод Сева
Геннадий Гена
Герман Гера
Глеб
Егор
Захар
Марк
Назар
Никита
Олег
Ростислав Ростик
Руслан
Святослав
Тимур
Филипп
Эльдар
Рустам
Ринат
Марат
Айдар
Тагир
Азат
Арсен
Артур
Богдан
Вениамин Веня
Ефим
Эмиль
Алина
Алла
Алёна Алена
Алиса
Ангелина Геля
Антонина Тоня
Диана
Ева
Жанна
Зинаида Зина
Зоя
Инна
Карина
Кира
Кристина
Лариса Лара
Лидия Лида
Лилия Лиля
Марина
Милана
Нина
Оксана
Раиса Рая
Регина
Ульяна Уля
Эльвира
Яна
Ярослава
Таисия Тая
Василиса
Злата
Варвара Варя
Снежана
Гульнара
Диляра
Камила
Альбина
Эльмира
Лейла
"""


def _build() -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for line in _GROUPS.strip().splitlines():
        forms = [latin_key(word) for word in line.split()]
        head = forms[0]
        for form in forms:
            groups.setdefault(form, set()).add(head)
    return {form: frozenset(heads) for form, heads in groups.items()}


_FORMS = _build()
_MEMBERS: dict[str, frozenset[str]] = {}
for _form, _heads in _FORMS.items():
    for _head in _heads:
        _MEMBERS[_head] = _MEMBERS.get(_head, frozenset()) | {_form}


def all_forms() -> frozenset[str]:
    """Every listed form of every name (Latin keys): the Russian and English first names and
    their short forms that ``crm.core.names`` recognises in a full name."""
    return frozenset(_FORMS)


def group_forms(word: str) -> frozenset[str]:
    """Every listed form of every full name ``word`` may stand for (``sasha`` → aleksandr,
    alexander, shura, …); empty for a word not in the table."""
    return frozenset(form for head in _FORMS.get(latin_key(word), ()) for form in _MEMBERS[head])


@lru_cache(maxsize=20_000)
def name_groups(word: str) -> frozenset[str]:
    """The full names (as Latin keys) that the first-name ``word`` may stand for.

    ``sasha`` → {``aleksandr``, ``aleksandra``}; a word not in the table stands for itself.
    """
    key = latin_key(word)
    return _FORMS.get(key, frozenset({key}))


def same_first_name(first: str, second: str) -> bool:
    """Whether two first-name words may be one name (Саша and Alexander, Katya and Ekaterina)."""
    return bool(name_groups(first) & name_groups(second))

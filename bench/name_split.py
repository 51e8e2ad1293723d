"""How often a full name written in one string is split back into the right parts (issue 14).

Takes the person records of a labelled set from ``bench/dedupe_sets.py`` (Russian and
English-language people, with typos, diminutives, transliterations, missing patronymics),
writes each name as one string in the orders people type it — «Имя Фамилия», «Фамилия
Имя», «Фамилия Имя Отчество», «Имя Отчество Фамилия» — and counts the records whose three
parts ``core.names.split_full_name`` gives back exactly, beside the positional rule it
replaced (first word the last name, second the first name, the rest the patronymic).
Records whose variant put the first name into the surname field are left out (their truth
is the swap itself). Prints one table row per alphabet and order, then the rows of the
records with a typo in the first name (which no name list recognises)::

    .venv/bin/python bench/name_split.py --preset names
    .venv/bin/python bench/name_split.py --preset ru --seed 7
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")

import django

django.setup()

import dedupe_sets  # noqa: E402

from crm.core.names import PersonName, split_full_name  # noqa: E402

Parts = tuple[str, str, str]

ORDERS: dict[str, Callable[[Parts], str]] = {
    "first last": lambda p: f"{p[1]} {p[0]}",
    "last first": lambda p: f"{p[0]} {p[1]}",
    "last first middle": lambda p: f"{p[0]} {p[1]} {p[2]}",
    "first middle last": lambda p: f"{p[1]} {p[2]} {p[0]}",
}


def positional(text: str) -> PersonName:
    """The rule ``leads`` used before: by position, surname first."""
    words = text.split()
    if len(words) >= 3:
        return PersonName(words[0], words[1], " ".join(words[2:]))
    if len(words) == 2:
        return PersonName(words[0], words[1], "")
    return PersonName("", text, "")


def _cases(records: list[dict[str, object]]) -> list[tuple[str, str, Parts, bool]]:
    """(alphabet, order, truth, typo in the first name) of every name and order that fits."""
    cases = []
    for record in records:
        variants = [str(v) for v in record["variants"]]  # type: ignore[attr-defined]
        if "swapped" in variants:
            continue
        truth = (
            " ".join(str(record["last_name"]).split()),
            " ".join(str(record["first_name"]).split()),
            " ".join(str(record["middle_name"]).split()),
        )
        if not truth[0] or not truth[1] or any(" " in part for part in truth):
            continue
        typo = any(v.endswith(":first-name") or v == "typo:both-words" for v in variants)
        for order in ORDERS:
            if ("middle" in order) == bool(truth[2]):
                cases.append((str(record["alphabet"]), order, truth, typo))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="names", choices=sorted(dedupe_sets.PRESETS))
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    options = dedupe_sets.preset_options(args.preset)
    if args.seed is not None:
        options["seed"] = args.seed
    records = dedupe_sets.generate(**options)
    cases = _cases(records)
    total: Counter[tuple[str, str, bool]] = Counter()
    right: Counter[tuple[str, str, bool, str]] = Counter()
    for alphabet, order, truth, typo in cases:
        text = ORDERS[order](truth)
        key = (alphabet, order, typo)
        total[key] += 1
        right[(*key, "new")] += tuple(vars(split_full_name(text)).values()) == truth
        right[(*key, "old")] += tuple(vars(positional(text)).values()) == truth
    texts = [ORDERS[order](truth) for _alphabet, order, truth, _typo in cases]
    uncached = split_full_name.__wrapped__
    started = time.perf_counter()
    for text in texts:
        uncached(text)
    elapsed = time.perf_counter() - started
    print(f"{len(records)} records, {len(cases)} names written out, options {options}")
    print("| alphabet | order | first-name typo | names | recognised | positional |")
    print("|---|---|---|---|---|---|")
    for key in sorted(total):
        count = total[key]
        new, old = right[(*key, "new")] / count, right[(*key, "old")] / count
        alphabet, order, typo = key
        typo_text = "yes" if typo else "no"
        print(f"| {alphabet} | {order} | {typo_text} | {count} | {new:.3f} | {old:.3f} |")
    print(f"split_full_name without its cache: {elapsed * 1e6 / len(texts):.1f} µs a name")


if __name__ == "__main__":
    main()

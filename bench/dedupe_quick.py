"""The matcher alone on a labelled set, without the database: blocking, scoring and tiers.

A quick check of ``core.matching`` and ``core.person_match`` while changing them (seconds
instead of the minutes ``bench/dedupe_eval.py`` spends loading a set through the product).
It builds the same blocking keys the product stores, groups records by key the way the
scan does (a key held by more than ``MAX_GROUP_MEMBERS`` records is skipped; one-word
names meet the ``w:`` keys of their word), adds pairs sharing a normalised phone or
e-mail, scores every candidate and prints precision and recall per tier. The product's
own figures are those of ``dedupe_eval.py``; this script never replaces them.

    .venv/bin/python bench/dedupe_quick.py ru latin names --seeds 14 21
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")

import django  # noqa: E402

django.setup()

import dedupe_sets  # noqa: E402

from crm.core.matching import person_block_keys  # noqa: E402
from crm.core.normalize import normalize_email, normalize_phone  # noqa: E402
from crm.core.person_match import LIKELY, PersonFacts, score_person_facts, tier_of  # noqa: E402

MAX_GROUP_MEMBERS = 50
ONE_WORD_GROUP = 200
Pair = tuple[int, int]


def _normal(function: Any, raw: str) -> str:
    try:
        return str(function(raw))
    except ValueError:
        return ""


def facts_of(record: dict[str, Any], company_ids: dict[str, int]) -> PersonFacts:
    """The matcher's view of a generated record (phones normalised as the cleaner does)."""
    company = record.get("company")
    return PersonFacts(
        last_name=record.get("last_name", ""),
        first_name=record.get("first_name", ""),
        middle_name=record.get("middle_name", ""),
        birthday=dt.date.fromisoformat(record["birthday"]) if record.get("birthday") else None,
        phones=frozenset(
            value for raw in record.get("phones", []) if (value := _normal(normalize_phone, raw))
        ),
        emails=frozenset(
            value for raw in record.get("emails", []) if (value := _normal(normalize_email, raw))
        ),
        addresses=tuple(record.get("addresses", [])),
        companies=frozenset(
            {company_ids.setdefault(company["legal_name"], len(company_ids))} if company else set()
        ),
    )


def candidates(facts: list[PersonFacts]) -> set[Pair]:
    """Candidate pairs as the scan finds them."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for index, fact in enumerate(facts):
        for key in person_block_keys(*fact.names, fact.birthday):
            by_key[key].append(index)
    pairs: set[Pair] = set()
    for key, members in by_key.items():
        if key.startswith("w:"):
            continue
        if key.startswith("o:"):
            whole = by_key.get(f"w:{key[2:]}", [])
            if len(whole) <= ONE_WORD_GROUP:
                pairs.update((min(a, b), max(a, b)) for a in members for b in whole if a != b)
            continue
        if 2 <= len(members) <= MAX_GROUP_MEMBERS:
            pairs.update(combinations(sorted(members), 2))
    holders: dict[str, list[int]] = defaultdict(list)
    for index, fact in enumerate(facts):
        for value in fact.phones | fact.emails:
            holders[value].append(index)
    for members in holders.values():
        if len(members) <= MAX_GROUP_MEMBERS:
            pairs.update(combinations(sorted(set(members)), 2))
    return pairs


def _prf(predicted: set[Pair], positives: set[Pair]) -> str:
    true = len(predicted & positives)
    precision = true / len(predicted) if predicted else 1.0
    recall = true / len(positives) if positives else 1.0
    return f"{precision:.3f} / {recall:.3f}"


def run(preset: str, seed: int, *, show: int) -> str:
    options = {**dedupe_sets.preset_options(preset), "seed": seed}
    records = dedupe_sets.generate(**options)
    company_ids: dict[str, int] = {}
    facts = [facts_of(record, company_ids) for record in records]
    clusters = [record["cluster"] for record in records]
    positives = {
        (a, b) for a, b in combinations(range(len(records)), 2) if clusters[a] == clusters[b]
    }
    found = candidates(facts)
    tiers: dict[str, set[Pair]] = defaultdict(set)
    for a, b in found:
        match = score_person_facts(facts[a], facts[b])
        tier = tier_of(match)
        if tier:
            tiers[tier].add((a, b))
            if show and tier == LIKELY and clusters[a] != clusters[b]:
                show -= 1
                print("  false likely:", facts[a].names, facts[b].names, match.reasons)
    likely = tiers[LIKELY]
    both = likely | tiers["possible"]
    return (
        f"| {preset} | {seed} | {len(records)} | {len(positives)} | "
        f"{len(found & positives) / len(positives):.3f} | {_prf(likely, positives)} | "
        f"{_prf(both, positives)} | {len(found)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("presets", nargs="+", choices=sorted(dedupe_sets.PRESETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[14, 21])
    parser.add_argument("--show", type=int, default=0, help="print N false likely pairs")
    args = parser.parse_args()
    print(
        "| set | seed | records | true pairs | blocking recall | likely P / R | "
        "likely+possible P / R | candidates |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for preset in args.presets:
        for seed in args.seeds:
            print(run(preset, seed, show=args.show), flush=True)


if __name__ == "__main__":
    main()

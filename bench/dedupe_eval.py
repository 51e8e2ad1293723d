"""Measure duplicate detection on a labelled set (``bench/dedupe_sets.py``) through the
product's own paths, and print precision, recall and F1 as Markdown (issue 14).

What it does, in an empty database:

1. Creates an administrator and, for the set's employers, the companies (``company_create``).
2. Loads every record in the file's order as the API does it: ``contact_create``; when that
   refuses an exact duplicate (``DuplicateFound``: the same phone, e-mail or messenger) it
   counts the refusal, judges it against the labels (were the exact matches the same person?)
   and saves anyway (``allow_duplicate=True``), as a user pressing "save anyway" would. Then
   the create answer's duplicate list (``api._duplicates_of``: exact and near matches of the
   new contact among the earlier ones) is kept as the create-time check's pairs. A record
   the cleaner refuses (``ValidationFailed``) is counted and left out.
3. Runs ``duplicates_scan(entity="contact")`` and reads the open ``DuplicatePair`` rows:
   the duplicates page. These are scored against the labels: a pair of contacts of one
   cluster is a positive, any other pair a negative (pairs, no transitive closure), for the
   "likely" tier alone and for both tiers; a stored pair whose contacts share a phone or
   e-mail is also counted in the "shared point" row and the rest in the "names" row.
4. Unless ``--no-candidates``: scans again with the "possible" threshold set to 0 in this
   process (``settings.CRM_DUPLICATES_POSSIBLE_SCORE``; nothing in ``crm/`` changes), so
   every candidate pair the blocking finds is stored with its score. That gives the table
   over thresholds and splits each missed pair into "never a candidate" (blocking) and
   "scored below the threshold".

Errors are broken down by the generator's labels: missed pairs by the variant kinds of their
two records, wrongly matched pairs by the hard-negative relation between their people
(namesake, family, brother, "unrelated") and by tier.

Usage (SQLite in a fresh ``CRM_VAR_DIR``, migrated first; ``--preset`` generates the set in
memory, a path reads a JSON-lines file)::

    rm -rf /tmp/dedupe-ru && CRM_VAR_DIR=/tmp/dedupe-ru .venv/bin/python manage.py migrate
    CRM_VAR_DIR=/tmp/dedupe-ru .venv/bin/python bench/dedupe_eval.py ru --seed 21

    # PostgreSQL, its own database
    createdb -h 127.0.0.1 -U postgres crm_dedupe
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_dedupe
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/dedupe_eval.py /tmp/dedupe-latin.jsonl --flush

The script creates the cache table the scan's progress needs (``createcachetable``).
``--flush`` empties every table first (``manage.py flush``), so one database serves run
after run; without it the script refuses a database that already holds contacts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")
os.environ.setdefault("CRM_DEBUG", "0")
os.environ.setdefault("CRM_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

import django  # noqa: E402

django.setup()

import dedupe_sets  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from crm.accounts.models import User  # noqa: E402
from crm.core.errors import ValidationFailed  # noqa: E402
from crm.core.permissions import Role  # noqa: E402
from crm.customers import services  # noqa: E402
from crm.customers.api import _duplicates_of  # noqa: E402 (the create answer's own list)
from crm.customers.choices import DuplicateStatus, DuplicateTier, Entity  # noqa: E402
from crm.customers.models import Contact, ContactPoint, DuplicatePair  # noqa: E402

Pair = tuple[int, int]
# Variants of contact details, left out of the examples of missed pairs (names matter there).
DETAIL_VARIANTS = {"phone", "email", "birthday", "address", "company", "no-contact-details"}
THRESHOLDS = [0, 50, 60, 70, 75, 80, 85, 90, 95, 97, 98, 100]


def _pair(a: int, b: int) -> Pair:
    return (a, b) if a < b else (b, a)


@dataclass
class Loaded:
    """What loading the set produced: the contact of each record and the create-time check's
    answers."""

    contact_of: dict[str, int] = field(default_factory=dict)
    record_of: dict[int, dict[str, Any]] = field(default_factory=dict)
    invalid: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    refusals: list[tuple[int, list[int]]] = field(default_factory=list)  # (new pk, exact pks)
    create_pairs: dict[Pair, tuple[int, bool, str]] = field(default_factory=dict)
    seconds: float = 0.0


def records_read(source: str, seed: int | None = None) -> tuple[list[dict[str, Any]], str]:
    """The records of a preset (generated here, with another ``seed`` when given) or of a
    JSON-lines file, and a label."""
    if source in dedupe_sets.PRESETS:
        options = dedupe_sets.preset_options(source)
        if seed is not None:
            options["seed"] = seed
        return dedupe_sets.generate(**options), f"preset {source}, seed {options['seed']}"
    lines = Path(source).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()], Path(source).name


def _admin() -> User:
    return User.objects.create(
        username="dedupe-admin",
        role=Role.ADMIN,
        is_superuser=True,
        is_staff=True,
        first_name="Дедуп",
        last_name="Администратор",
    )


def _companies(actor: User, records: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Create each employer named in the set once; return their ids by (name, form)."""
    ids: dict[tuple[str, str], int] = {}
    for record in records:
        company = record.get("company")
        if not company:
            continue
        key = (company["legal_name"], company.get("legal_form", ""))
        if key not in ids:
            created = services.company_create(
                actor=actor,
                data={"legal_name": key[0], "legal_form": key[1]},
                allow_duplicate=True,
            )
            ids[key] = created.pk
    return ids


def contact_data(record: dict[str, Any], companies: dict[tuple[str, str], int]) -> dict[str, Any]:
    """The create service's input for a record, as the API's ``ContactIn`` passes it."""
    data: dict[str, Any] = {
        "last_name": record.get("last_name", ""),
        "first_name": record.get("first_name", ""),
        "middle_name": record.get("middle_name", ""),
        "client_type": record.get("client_type") or "private",
    }
    for name in ("phones", "emails", "addresses"):
        if record.get(name):
            data[name] = list(record[name])
    if record.get("birthday"):
        data["birthday"] = record["birthday"]
    company = record.get("company")
    if company:
        company_id = companies[(company["legal_name"], company.get("legal_form", ""))]
        data["employments"] = [{"company_id": company_id, "position": ""}]
    return data


def load(records: list[dict[str, Any]], *, progress: bool) -> Loaded:
    """Create every record through ``contact_create`` (see the module docstring)."""
    actor = _admin()
    companies = _companies(actor, records)
    loaded = Loaded()
    started = time.perf_counter()
    for index, record in enumerate(records):
        data = contact_data(record, companies)
        try:
            try:
                contact = services.contact_create(actor=actor, data=data)
            except services.DuplicateFound as refusal:
                exact = [c.record_id for c in refusal.candidates if c.is_exact]
                contact = services.contact_create(actor=actor, data=data, allow_duplicate=True)
                loaded.refusals.append((contact.pk, exact))
        except ValidationFailed as error:
            loaded.invalid.append((record, error.field_errors or {}))
            continue
        loaded.contact_of[record["id"]] = contact.pk
        loaded.record_of[contact.pk] = record
        for candidate in _duplicates_of(actor, contact):
            loaded.create_pairs[_pair(contact.pk, candidate.record_id)] = (
                candidate.score,
                candidate.is_exact,
                candidate.tier,
            )
        if progress and (index + 1) % 500 == 0:
            rate = (index + 1) / (time.perf_counter() - started)
            print(f"  loaded {index + 1}/{len(records)} ({rate:.0f}/s)", file=sys.stderr)
    loaded.seconds = time.perf_counter() - started
    return loaded


def stored_pairs(tier: str | None = None) -> dict[Pair, int]:
    """The open contact pairs on the duplicates page (of one tier when given), with their
    scores."""
    rows = DuplicatePair.objects.filter(entity=Entity.CONTACT, status=DuplicateStatus.OPEN)
    if tier is not None:
        rows = rows.filter(tier=tier)
    triples = rows.values_list("contact_a_id", "contact_b_id", "score")
    return {_pair(a, b): score for a, b, score in triples}


def scan(every_candidate: bool = False) -> tuple[dict[Pair, int], set[Pair], float]:
    """Run the product's scan (with the "possible" threshold at 0 in this process when
    ``every_candidate``) and return the stored pairs, the likely ones and the seconds."""
    saved = settings.CRM_DUPLICATES_POSSIBLE_SCORE
    if every_candidate:
        settings.CRM_DUPLICATES_POSSIBLE_SCORE = 0
    try:
        started = time.perf_counter()
        services.duplicates_scan(entity=Entity.CONTACT)
        seconds = time.perf_counter() - started
    finally:
        settings.CRM_DUPLICATES_POSSIBLE_SCORE = saved
    return stored_pairs(), set(stored_pairs(DuplicateTier.LIKELY)), seconds


def shared_point_pairs(contact_ids: Iterable[int]) -> set[Pair]:
    """Pairs of contacts holding the same normalised phone, e-mail or messenger handle."""
    holders: dict[tuple[str, str], list[int]] = defaultdict(list)
    rows = ContactPoint.objects.filter(contact_id__in=list(contact_ids)).values_list(
        "kind", "value", "contact_id"
    )
    for kind, value, contact_id in rows:
        holders[(kind, value)].append(contact_id)
    return {_pair(a, b) for ids in holders.values() for a, b in combinations(sorted(set(ids)), 2)}


# --- scoring -------------------------------------------------------------------------------------


@dataclass
class Truth:
    """The labels over the loaded contacts."""

    loaded: Loaded
    positives: set[Pair]
    relations: dict[Pair, str]  # related negative pairs: namesake, family, brother
    canonical: dict[str, dict[str, Any]]  # a person's first record (no variants)
    root: dict[str, str]  # the person at the start of a chain of relations

    @classmethod
    def build(cls, loaded: Loaded) -> Truth:
        by_cluster: dict[str, list[int]] = defaultdict(list)
        for pk, record in loaded.record_of.items():
            by_cluster[record["cluster"]].append(pk)
        positives = {
            _pair(a, b) for ids in by_cluster.values() for a, b in combinations(sorted(ids), 2)
        }
        relations: dict[Pair, str] = {}
        canonical: dict[str, dict[str, Any]] = {}
        related_to: dict[str, str] = {}
        for cluster, ids in by_cluster.items():
            records = [loaded.record_of[pk] for pk in ids]
            canonical[cluster] = next((r for r in records if not r.get("variants")), records[0])
            relation = records[0].get("relation")
            if not relation:
                continue
            related_to[cluster] = relation["of"]
            for a in ids:
                for b in by_cluster.get(relation["of"], []):
                    relations[_pair(a, b)] = relation["kind"]
        root = {}
        for cluster in by_cluster:
            top = cluster
            while top in related_to:
                top = related_to[top]
            root[cluster] = top
        return cls(loaded, positives, relations, canonical, root)

    def variants(self, pair: Pair) -> set[str]:
        """The variant labels of a pair: those of both records, grouped for the breakdown."""
        labels: set[str] = set()
        for pk in pair:
            for kind in self.loaded.record_of[pk].get("variants") or []:
                labels.update(_variant_labels(kind))
        return labels or {"copy"}

    def relation(self, pair: Pair) -> str:
        """How the people of a negative pair are related: the generator's relation, a chain
        of them (a namesake's wife), or "unrelated" with the name parts they share."""
        if pair in self.relations:
            return self.relations[pair]
        first, second = (self.loaded.record_of[pk]["cluster"] for pk in pair)
        if self.root.get(first, first) == self.root.get(second, second):
            return "related through another person"
        return f"unrelated: {self.shared_name_parts(first, second)}"

    def shared_name_parts(self, first: str, second: str) -> str:
        """Which parts of two people's real names are alike (case, ё/е and the gender of a
        surname aside): what their records may share besides a typo or a transliteration."""
        one, other = self.canonical[first], self.canonical[second]
        alike = ["surname"] if _surname_pair(one["last_name"], other["last_name"]) else []
        middle = "patronymic" if one.get("alphabet") == "ru" else "middle name"
        for name, label in (("first_name", "first name"), ("middle_name", middle)):
            if one.get(name) and _folded(one[name]) == _folded(other.get(name) or ""):
                alike.append(label)
        return "same " + " + ".join(alike) if alike else "no name part alike"


def _surname_pair(a: str, b: str) -> bool:
    """Whether two surnames are one family name (Иванов and Иванова)."""
    a, b = _folded(a), _folded(b)
    return (
        a == b
        or _folded(dedupe_sets.female_surname(a)) == b
        or _folded(dedupe_sets.female_surname(b)) == a
    )


def _folded(text: str) -> str:
    return text.casefold().replace("ё", "е")


def _variant_labels(kind: str) -> list[str]:
    """``typo:substitute:first:surname`` counts under "typo", "typo substitute", "typo at
    first letter" and "typo in surname"; ``translit:icao`` under "translit" and itself."""
    parts = kind.split(":")
    if parts[0] == "typo" and len(parts) == 4:
        _typo, op, position, word = parts
        where = {"first": "first letter", "inner": "inside", "last": "last letter"}[position]
        return ["typo", f"typo: {op}", f"typo at {where}", f"typo in {word}"]
    if parts[0] == "typo":
        return ["typo", "typo: both words"]
    if parts[0] == "translit":
        return ["translit", kind]
    return [kind]


@dataclass
class Score:
    predicted: int
    true: int
    positives: int

    @property
    def precision(self) -> float:
        return self.true / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true / self.positives if self.positives else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def score(predicted: Iterable[Pair], positives: set[Pair]) -> Score:
    chosen = set(predicted)
    return Score(len(chosen), len(chosen & positives), len(positives))


# --- report --------------------------------------------------------------------------------------


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def _metrics(label: str, result: Score) -> str:
    return _row(
        label,
        result.predicted,
        result.true,
        result.predicted - result.true,
        result.positives - result.true,
        f"{result.precision:.3f}",
        f"{result.recall:.3f}",
        f"{result.f1:.3f}",
    )


METRIC_HEAD = [
    "| what | pairs | true | false | missed | precision | recall | F1 |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
]


def report(
    *,
    label: str,
    records: list[dict[str, Any]],
    loaded: Loaded,
    page: dict[Pair, int],
    likely: set[Pair],
    scan_seconds: float,
    candidates: dict[Pair, int] | None,
    examples: int = 0,
) -> str:
    """The Markdown report of one set (with ``examples`` pairs of each kind of error)."""
    truth = Truth.build(loaded)
    positives = truth.positives
    shared = shared_point_pairs(loaded.record_of)
    clusters = {record["cluster"] for record in records}
    lines = [
        f"### {label}",
        "",
        f"{len(records)} records of {len(clusters)} people; {len(loaded.record_of)} loaded, "
        f"{len(loaded.invalid)} refused by the cleaner; {len(positives)} true pairs "
        f"({len(positives & shared)} share a phone or e-mail, {len(positives - shared)} do "
        f"not); {len(truth.relations)} related negative pairs. Load {loaded.seconds:.0f} s "
        f"({len(loaded.record_of) / max(loaded.seconds, 1e-9):.0f} contacts/s), scan "
        f"{scan_seconds:.1f} s. Database: {connection.vendor}.",
        "",
        *METRIC_HEAD,
        _metrics(
            f"page: likely (score ≥ {settings.CRM_DUPLICATES_LIKELY_SCORE})",
            score(likely, positives),
        ),
        _metrics(
            f"page: likely + possible (score ≥ {settings.CRM_DUPLICATES_POSSIBLE_SCORE})",
            score(page, positives),
        ),
    ]
    create = loaded.create_pairs
    create_exact = {pair for pair, (_score, exact, _tier) in create.items() if exact}
    create_likely = {pair for pair, (_score, _exact, tier) in create.items() if tier == "likely"}
    if shared:  # a set with contact details: the pairs sharing a point and the rest apart
        lines += [
            _metrics("page: sharing a phone/e-mail", score(set(page) & shared, positives)),
            _metrics("page: not sharing one", score(set(page) - shared, positives)),
            _metrics(
                "page: likely, true pairs without a shared phone/e-mail",
                score(likely - shared, positives - shared),
            ),
        ]
    lines += [
        _metrics("create-time check: likely", score(create_likely, positives)),
        _metrics("create-time check: likely + possible", score(create, positives)),
        _metrics("create-time check: exact (blocks the save)", score(create_exact, positives)),
    ]
    refusals = loaded.refusals
    cluster_of = {pk: record["cluster"] for pk, record in loaded.record_of.items()}
    verdicts: Counter[str] = Counter()
    for new, exact in refusals:
        hits = [cluster_of.get(pk) == cluster_of[new] for pk in exact]
        verdicts["all the same person" if all(hits) else "some" if any(hits) else "none"] += 1
    lines += [
        "",
        f"Refused as exact duplicates on create (then saved anyway): {len(refusals)} — exact "
        f"matches all the same person: {verdicts['all the same person']}, some: "
        f"{verdicts['some']}, none (a false refusal): {verdicts['none']}.",
    ]
    if candidates is not None:
        lines += ["", *_threshold_table(candidates, shared, positives)]
    likely_page = {pair: page[pair] for pair in likely if pair in page}
    lines += ["", *_missed_table(truth, likely_page, candidates)]
    lines += ["", *_false_table(truth, likely_page, shared)]
    if examples:
        false: dict[str, list[Pair]] = defaultdict(list)
        for pair in likely:
            if pair not in positives:
                tier = "sharing a point" if pair in shared else "names"
                false[f"{truth.relation(pair)} ({tier})"].append(pair)
        lines += [
            "",
            *_examples(truth, "Wrongly likely, examples (score):", false, page, examples),
        ]
        missed: dict[str, list[Pair]] = defaultdict(list)
        for pair in positives - likely:
            for label in truth.variants(pair):
                detail = label.split(":")[0] in DETAIL_VARIANTS
                if not detail and not label.startswith(("typo ", "typo:", "translit:")):
                    missed[label].append(pair)
        scores = candidates or {}
        lines += [
            "",
            *_examples(
                truth, "Not likely, examples (score at threshold 0):", missed, scores, examples
            ),
        ]
    return "\n".join(lines)


def _threshold_table(
    candidates: dict[Pair, int], shared: set[Pair], positives: set[Pair]
) -> list[str]:
    reached = score(candidates, positives)
    lines = [
        f"Over thresholds (scan at threshold 0: {len(candidates)} candidate pairs, holding "
        f"{reached.true} of {reached.positives} true pairs = the blocking's recall "
        f"{reached.recall:.3f}). Exact pairs score 100; the tiers add the rule that a pair "
        "with different first names or surnames is not likely.",
        "",
        "| score ≥ | pairs | precision | recall | F1 | near pairs | near precision |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for threshold in THRESHOLDS:
        chosen = {pair for pair, value in candidates.items() if value >= threshold}
        result = score(chosen, positives)
        near = score(chosen - shared, positives)
        mark = " (likely)" if threshold == settings.CRM_DUPLICATES_LIKELY_SCORE else ""
        lines.append(
            _row(
                f"{threshold}{mark}",
                result.predicted,
                f"{result.precision:.3f}",
                f"{result.recall:.3f}",
                f"{result.f1:.3f}",
                near.predicted,
                f"{near.precision:.3f}",
            )
        )
    return lines


def _missed_table(
    truth: Truth, page: dict[Pair, int], candidates: dict[Pair, int] | None
) -> list[str]:
    totals: Counter[str] = Counter()
    found: Counter[str] = Counter()
    unblocked: Counter[str] = Counter()
    below: Counter[str] = Counter()
    for pair in truth.positives:
        for label in truth.variants(pair):
            totals[label] += 1
            if pair in page:
                found[label] += 1
            elif candidates is not None and pair not in candidates:
                unblocked[label] += 1
            else:
                below[label] += 1
    lines = [
        "Missed true pairs by variant kind (a pair counts under every kind of its two "
        "records, so rows overlap):",
        "",
        "| variant | true pairs | found | recall | missed: never a candidate "
        "| missed: scored below |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label in sorted(totals, key=lambda k: (-(totals[k] - found[k]), k)):
        lines.append(
            _row(
                label,
                totals[label],
                found[label],
                f"{found[label] / totals[label]:.3f}",
                unblocked[label] if candidates is not None else "–",
                below[label] if candidates is not None else totals[label] - found[label],
            )
        )
    return lines


def _name(record: dict[str, Any]) -> str:
    parts = (record.get(part) for part in ("last_name", "first_name", "middle_name"))
    return " ".join(part for part in parts if part)


def _examples(
    truth: Truth,
    title: str,
    groups: dict[str, list[Pair]],
    scores: dict[Pair, int],
    count: int,
) -> list[str]:
    """Up to ``count`` pairs of each group, as the names of both records and the score."""
    lines = [title, ""]
    for group in sorted(groups):
        shown = sorted(groups[group])[:count]
        pairs = "; ".join(
            f"{_name(truth.loaded.record_of[a])} / {_name(truth.loaded.record_of[b])} "
            f"({scores.get((a, b), '–')})"
            for a, b in shown
        )
        lines.append(f"- {group}: {pairs}")
    return lines


def _false_table(truth: Truth, page: dict[Pair, int], shared: set[Pair]) -> list[str]:
    false = [pair for pair in page if pair not in truth.positives]
    by_relation: Counter[tuple[str, str]] = Counter()
    for pair in false:
        tier = "sharing a point" if pair in shared else "names"
        by_relation[(truth.relation(pair), tier)] += 1
    related_totals = Counter(truth.relations.values())
    lines = [
        f"Wrongly likely pairs on the page: {len(false)}, by the relation of the two people "
        "(related pairs in the set: how many such pairs exist):",
        "",
        "| relation | related pairs in the set | false: sharing a point | false: names "
        "| false in all |",
        "|---|---:|---:|---:|---:|",
    ]
    relations = sorted({relation for relation, _tier in by_relation} | set(related_totals))
    for relation in relations:
        exact = by_relation[(relation, "sharing a point")]
        near = by_relation[(relation, "names")]
        lines.append(_row(relation, related_totals.get(relation, "–"), exact, near, exact + near))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "source", help=f"a JSON-lines set or a preset ({', '.join(dedupe_sets.PRESETS)})"
    )
    parser.add_argument("--limit", type=int, help="load only the first N records")
    parser.add_argument("--seed", type=int, help="a preset with another seed")
    parser.add_argument("--flush", action="store_true", help="empty every table first")
    parser.add_argument("--no-candidates", action="store_true", help="skip the scan at threshold 0")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument(
        "--examples", type=int, default=0, help="list N example pairs of each kind of error"
    )
    args = parser.parse_args()
    records, label = records_read(args.source, args.seed)
    if args.limit:
        records = records[: args.limit]
    if args.flush:
        call_command("flush", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)  # the scan's progress lives in the cache
    if Contact.objects.exists() or User.objects.filter(username="dedupe-admin").exists():
        sys.exit("The database holds contacts already: use an empty one or --flush.")
    loaded = load(records, progress=not args.quiet)
    page, likely, scan_seconds = scan()
    candidates = None if args.no_candidates else scan(every_candidate=True)[0]
    print(
        report(
            label=label,
            records=records,
            loaded=loaded,
            page=page,
            likely=likely,
            scan_seconds=scan_seconds,
            candidates=candidates,
            examples=args.examples,
        )
    )
    if loaded.invalid:
        errors = Counter(
            name for _record, fields in loaded.invalid for name in fields or {"?": None}
        )
        print(f"\nRefused by the cleaner, by field: {dict(errors)}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""The background scan for possible duplicates across the whole live base, and its reads.

The scan looks for candidate pairs where they are cheap to find: records sharing a blocking
key (``MatchKey``: name words, typo-tolerant variants, birthday; a one-word name meets the
records holding its word), the same normalised phone, e-mail or messenger handle, phones
ending in the same seven digits, or (for companies) the same ИНН. A key or detail held by more than ``MAX_GROUP_MEMBERS`` records
gives no pairs, so a common name cannot blow the pair count up. Contacts are scored on every
field with ``core.person_match`` and kept as ``DuplicatePair`` rows when they reach a tier
("likely" or "possible", thresholds in the settings); companies by name with
``core.matching`` (the same ИНН is likely, a near name possible). The scan is idempotent: a
second run updates scores, keeps pairs someone dismissed dismissed, marks pairs whose record
was merged away as merged and drops open pairs that no longer look alike.

Progress and the last result live in the cache under ``duplicates-scan:<entity>`` so every
web process shows the same status while a worker runs the job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import combinations, groupby
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.matching import NEAR_MATCH_THRESHOLD, score_company
from crm.core.pagination import Page, keyset_page
from crm.core.permissions import Role, ScopedUser
from crm.customers.choices import ContactPointKind, DuplicateStatus, DuplicateTier, Entity
from crm.customers.models import Company, Contact, ContactPoint, DuplicatePair, Employment, MatchKey
from crm.customers.services.duplicates import _point_reason
from crm.customers.services.records import customer_check_writable
from crm.customers.services.scan_contacts import (
    MAX_GROUP_MEMBERS,
    MAX_ONE_WORD_GROUP,
    PHONE_SUFFIX,
    ContactScan,
    Watermarks,
    contacts_scan,
    scan_watermarks,
)

BATCH = 500
SCAN_CACHE_TIMEOUT = 30 * 24 * 3600
# A scan still "queued" or "running" after this long died with its worker; it may be restarted.
SCAN_STALE_AFTER = dt.timedelta(hours=1)

Model = type[Contact] | type[Company]
PairKey = tuple[int, int]


def _model(entity: str) -> Model:
    if entity == Entity.CONTACT:
        return Contact
    if entity == Entity.COMPANY:
        return Company
    raise ValidationFailed(field_errors={"entity": [_("Unknown kind of record.")]})


def _sides(entity: str) -> tuple[str, str]:
    return ("contact_a", "contact_b") if entity == Entity.CONTACT else ("company_a", "company_b")


def scan_cache_key(entity: str) -> str:
    return f"duplicates-scan:{entity}"


# --- status ------------------------------------------------------------------------------------


def duplicates_scan_status(*, entity: str) -> dict[str, Any]:
    """The state of the last scan of ``entity``: ``status`` is idle, queued, running, done
    or failed, with timestamps (ISO strings) and counts. A queued or running scan older than
    ``SCAN_STALE_AFTER`` is reported as failed (its worker died)."""
    _model(entity)
    state: dict[str, Any] = cache.get(scan_cache_key(entity)) or {"status": "idle"}
    if state.get("status") in {"queued", "running"}:
        since = dt.datetime.fromisoformat(state.get("updated_at") or state["queued_at"])
        if timezone.now() - since > SCAN_STALE_AFTER:
            state = {**state, "status": "failed"}
    state["is_active"] = state.get("status") in {"queued", "running"}
    for name in ("queued_at", "started_at", "finished_at"):
        if state.get(name):
            state[f"{name}_dt"] = dt.datetime.fromisoformat(state[name])
    return state


def _set_status(scanned: str, **values: Any) -> None:
    now = timezone.now().isoformat()
    state = cache.get(scan_cache_key(scanned)) or {}
    state.update(values, updated_at=now)
    cache.set(scan_cache_key(scanned), state, SCAN_CACHE_TIMEOUT)


def duplicates_scan_start(*, actor: ScopedUser, entity: str, full: bool = False) -> dict[str, Any]:
    """Queue a scan of ``entity`` (admins and heads of sales only) and return its status:
    of contacts, an incremental one after a finished scan unless ``full``.

    The job is enqueued after the surrounding transaction commits. A scan already queued or
    running is not queued twice.
    """
    if not (actor.is_active and actor.role in {Role.ADMIN, Role.HEAD}):
        raise PermissionDenied(_("Only an administrator or a head of sales may start a scan."))
    state = duplicates_scan_status(entity=entity)
    if state["is_active"]:
        return state
    return _queue(entity, full=full, state=state, requested_by=actor.pk)


def duplicates_scan_soon(*, entity: str) -> None:
    """Queue a scan of ``entity`` for the system (after an import wrote clients), unless
    one is queued or running: of contacts an incremental one, which looks at the new."""
    state = duplicates_scan_status(entity=entity)
    if not state["is_active"]:
        _queue(entity, full=False, state=state, requested_by=None)


def _queue(
    entity: str, *, full: bool, state: dict[str, Any], requested_by: int | None
) -> dict[str, Any]:
    """Mark a scan of ``entity`` queued (keeping the last scan's watermarks) and enqueue
    its job after the surrounding transaction commits."""
    from crm.customers.jobs import duplicates_scan_job

    now = timezone.now().isoformat()
    cache.set(
        scan_cache_key(entity),
        {
            "status": "queued",
            "queued_at": now,
            "updated_at": now,
            "requested_by": requested_by,
            "watermarks": state.get("watermarks"),
        },
        SCAN_CACHE_TIMEOUT,
    )
    transaction.on_commit(lambda: duplicates_scan_job.enqueue(str(entity), full))
    return duplicates_scan_status(entity=entity)


def duplicates_scan_changes() -> str:
    """Queue an incremental scan of contacts when some were created or changed since the
    last finished scan (the scheduler's sweep, every ``CRM_DUPLICATES_SCAN_EVERY`` seconds).

    Never a full scan: without a finished scan's watermarks (none yet, or the cache lost
    them) it does nothing until someone scans. Claimed through ``cache.add``, so two
    schedulers queue one scan. Answers what it did, for the scheduler's log.
    """
    if not cache.add(f"{scan_cache_key(Entity.CONTACT)}:sweep", 1, timeout=60):
        return ""
    state = duplicates_scan_status(entity=Entity.CONTACT)
    since = _watermarks(Entity.CONTACT)
    if state["is_active"] or state.get("status") != "done" or since is None:
        return ""
    if scan_watermarks() == since:
        return ""
    _queue(Entity.CONTACT, full=False, state=state, requested_by=None)
    return "queued a scan of the contacts changed since the last one"


# --- the scan ----------------------------------------------------------------------------------


@dataclass
class ScanResult(ContactScan):
    """What one scan of ``entity`` found and changed (``looked_at``: contacts only)."""

    entity: str = ""


@dataclass
class _Candidates:
    """Candidate pairs with the exact reasons (same phone, ИНН …) found for each."""

    exact: dict[PairKey, list[str]] = field(default_factory=dict)
    near: set[PairKey] = field(default_factory=set)

    def add_group(self, ids: Iterable[int], reason: str | None = None) -> None:
        members = sorted(set(ids))
        if not 2 <= len(members) <= MAX_GROUP_MEMBERS:
            return
        for pair in combinations(members, 2):
            if reason is None:
                self.near.add(pair)
            else:
                reasons = self.exact.setdefault(pair, [])
                if reason not in reasons:
                    reasons.append(reason)

    def pairs(self) -> set[PairKey]:
        return self.near | set(self.exact)


def _live_keys(entity: str) -> QuerySet[MatchKey]:
    owner = "contact" if entity == Entity.CONTACT else "company"
    return MatchKey.objects.filter(
        **{f"{owner}__isnull": False, f"{owner}__merged_into__isnull": True}
    )


def _key_groups(entity: str) -> Iterator[list[int]]:
    """Records sharing a blocking key, one list per key with 2..MAX members. The keys of
    whole words (``w:``, ``o:``) are left to ``_one_word_pairs``."""
    owner = "contact" if entity == Entity.CONTACT else "company"
    live = _live_keys(entity).exclude(Q(key__startswith="w:") | Q(key__startswith="o:"))
    common = (
        live.order_by()
        .values("key")
        .annotate(members=Count(f"{owner}_id", distinct=True))
        .filter(members__gte=2, members__lte=MAX_GROUP_MEMBERS)
        .values("key")
    )
    rows = (
        live.filter(key__in=Subquery(common))
        .order_by("key", f"{owner}_id")
        .values_list("key", f"{owner}_id")
        .iterator(chunk_size=2000)
    )
    for _key, group in groupby(rows, key=lambda row: row[0]):
        yield [record_id for _k, record_id in group]


def _one_word_pairs(entity: str) -> Iterator[tuple[int, int]]:
    """Each record named by one word with every record holding that word, when those are
    at most ``MAX_ONE_WORD_GROUP``: «Иванов» meets «Иванов Иван»."""
    owner = f"{'contact' if entity == Entity.CONTACT else 'company'}_id"
    live = _live_keys(entity)
    single: dict[str, list[int]] = {}
    for key, record_id in live.filter(key__startswith="o:").values_list("key", owner):
        single.setdefault(f"w:{key[2:]}", []).append(record_id)
    words = sorted(single)
    for start in range(0, len(words), BATCH):
        batch = words[start : start + BATCH]
        holders: dict[str, list[int]] = {}
        for key, record_id in live.filter(key__in=batch).values_list("key", owner):
            holders.setdefault(key, []).append(record_id)
        for key, members in holders.items():
            if len(members) > MAX_ONE_WORD_GROUP:
                continue
            for one in single[key]:
                yield from ((min(one, other), max(one, other)) for other in members if other != one)


def _phone_suffix_groups(entity: str) -> Iterator[list[int]]:
    """Records whose phones end in the same ``PHONE_SUFFIX`` digits (one list per ending,
    2..MAX members): a number typed with another country or area code still meets its
    twin. The ending is the prefix of the indexed ``digits_reversed``."""
    owner = f"{'contact' if entity == Entity.CONTACT else 'company'}_id"
    phones = (
        ContactPoint.objects.filter(
            kind=ContactPointKind.PHONE,
            **{f"{owner}__isnull": False, f"{owner[:-3]}__merged_into__isnull": True},
        )
        .exclude(digits_reversed="")
        .annotate(ending=Substr("digits_reversed", 1, PHONE_SUFFIX))
    )
    shared = (
        phones.order_by()
        .values("ending")
        .annotate(members=Count(owner, distinct=True))
        .filter(members__gte=2, members__lte=MAX_GROUP_MEMBERS)
        .values("ending")
    )
    rows = (
        phones.filter(ending__in=Subquery(shared))
        .order_by("ending", owner)
        .values_list("ending", owner)
        .iterator(chunk_size=2000)
    )
    for _ending, group in groupby(rows, key=lambda row: row[0]):
        yield [record_id for _e, record_id in group]


def _point_groups(entity: str) -> Iterator[tuple[str, str, list[int]]]:
    """Records sharing the same normalised contact detail: (kind, value, ids)."""
    owner = "contact" if entity == Entity.CONTACT else "company"
    live = ContactPoint.objects.filter(
        **{f"{owner}__isnull": False, f"{owner}__merged_into__isnull": True}
    )
    shared = live.filter(
        Exists(
            live.filter(kind=OuterRef("kind"), value=OuterRef("value")).exclude(
                **{f"{owner}_id": OuterRef(f"{owner}_id")}
            )
        )
    )
    rows = (
        shared.order_by("kind", "value", f"{owner}_id")
        .values_list("kind", "value", f"{owner}_id")
        .iterator(chunk_size=2000)
    )
    for (kind, value), group in groupby(rows, key=lambda row: (row[0], row[1])):
        yield kind, value, [record_id for _k, _v, record_id in group]


def _inn_groups() -> Iterator[tuple[str, list[tuple[int, str]]]]:
    """Live companies sharing an ИНН: (inn, [(id, kpp)])."""
    live = Company.objects.live().exclude(inn="")
    shared = live.filter(Exists(live.filter(inn=OuterRef("inn")).exclude(pk=OuterRef("pk"))))
    rows = shared.order_by("inn", "id").values_list("inn", "id", "kpp").iterator(chunk_size=2000)
    for inn, group in groupby(rows, key=lambda row: row[0]):
        yield inn, [(record_id, kpp) for _inn, record_id, kpp in group]


def _collect(entity: str) -> _Candidates:
    candidates = _Candidates()
    for ids in _key_groups(entity):
        candidates.add_group(ids)
    candidates.near.update(_one_word_pairs(entity))
    for ids in _phone_suffix_groups(entity):
        candidates.add_group(ids)
    for kind, value, ids in _point_groups(entity):
        candidates.add_group(ids, _point_reason(kind, value))
    if entity == Entity.COMPANY:
        for inn, members in _inn_groups():
            if len(members) > MAX_GROUP_MEMBERS:
                continue
            for (first, first_kpp), (second, second_kpp) in combinations(members, 2):
                pair = (min(first, second), max(first, second))
                if first_kpp and second_kpp and first_kpp != second_kpp:
                    candidates.near.add(pair)
                    continue
                reasons = candidates.exact.setdefault(pair, [])
                reasons.append(_("Same ИНН %(inn)s") % {"inn": inn})
    return candidates


def _load_in_batches(model: Model, ids: set[int], fields: list[str]) -> dict[int, tuple[Any, ...]]:
    ordered = sorted(ids)
    loaded: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(ordered), BATCH):
        batch = ordered[start : start + BATCH]
        for row in model.objects.filter(pk__in=batch).values_list("pk", *fields):
            loaded[row[0]] = row[1:]
    return loaded


# (score, reasons, tier) of a pair; a contact pair's reasons are stored untranslated
# (``PersonMatch.stored_reasons``), a company pair's as texts.
Scored = dict[PairKey, tuple[int, list[Any], str]]


def _score(candidates: _Candidates) -> Scored:
    """Score every candidate pair of companies; keep those reaching a tier: (score, reasons,
    tier)."""
    pairs = candidates.pairs()
    ids = {record_id for pair in pairs for record_id in pair}
    names = _load_in_batches(Company, ids, ["legal_name", "short_name", "inn", "kpp"])
    scored: Scored = {}
    for pair in pairs:
        first, second = names.get(pair[0]), names.get(pair[1])
        if first is None or second is None:
            continue
        exact = candidates.exact.get(pair, [])
        score, reasons = _score_companies(first, second)
        if exact:
            scored[pair] = (100, [*exact, *reasons], DuplicateTier.LIKELY)
        elif score >= NEAR_MATCH_THRESHOLD:
            scored[pair] = (score, reasons, DuplicateTier.POSSIBLE)
    return scored


def _score_companies(first: tuple[Any, ...], second: tuple[Any, ...]) -> tuple[int, list[str]]:
    legal_a, short_a, inn_a, kpp_a = first
    legal_b, short_b, inn_b, kpp_b = second
    matches = [
        score_company(new, old)
        for new in (legal_a, short_a)
        if new
        for old in (legal_b, short_b)
        if old
    ]
    best = max(matches, key=lambda m: m.score, default=None)
    score, reasons = (best.score, list(best.reasons)) if best else (0, [])
    if inn_a and inn_a == inn_b and kpp_a and kpp_b and kpp_a != kpp_b:
        reasons.insert(0, _("Same ИНН %(inn)s, another КПП (a branch?)") % {"inn": inn_a})
        score = max(score, 85)
    return score, reasons


def _merged_ids(model: Model, ids: set[int]) -> set[int]:
    ordered, gone = sorted(ids), set[int]()
    for start in range(0, len(ordered), BATCH):
        batch = ordered[start : start + BATCH]
        gone.update(
            model.objects.filter(pk__in=batch, merged_into__isnull=False).values_list(
                "pk", flat=True
            )
        )
    return gone


def _write(entity: str, scored: Scored, result: ScanResult) -> None:
    """Upsert the found pairs in bulk; resolve open pairs the scan no longer finds."""
    model = _model(entity)
    side_a, side_b = _sides(entity)
    existing: dict[PairKey, DuplicatePair] = {
        (pair.a, pair.b): pair
        for pair in DuplicatePair.objects.filter(entity=entity)
        .annotate(a=F(f"{side_a}_id"), b=F(f"{side_b}_id"))
        .only("id", "status", "score", "tier", "reasons", f"{side_a}_id", f"{side_b}_id")
        .iterator(chunk_size=2000)
    }
    to_create: list[DuplicatePair] = []
    to_update: list[DuplicatePair] = []
    for key, (score, reasons, tier) in scored.items():
        pair = existing.get(key)
        if pair is None:
            to_create.append(
                DuplicatePair(
                    entity=entity,
                    score=score,
                    tier=tier,
                    reasons=reasons,
                    **{f"{side_a}_id": key[0], f"{side_b}_id": key[1]},
                )
            )
        elif pair.status == DuplicateStatus.DISMISSED:
            continue
        elif pair.status == DuplicateStatus.MERGED or (pair.score, pair.tier, pair.reasons) != (
            score,
            tier,
            reasons,
        ):
            pair.status, pair.score, pair.tier = DuplicateStatus.OPEN, score, tier
            pair.reasons = reasons
            to_update.append(pair)
    stale = {
        key: pair
        for key, pair in existing.items()
        if key not in scored and pair.status == DuplicateStatus.OPEN
    }
    stale_ids = {record_id for key in stale for record_id in key}
    gone = _merged_ids(model, stale_ids)
    merged_pairs = [pair for (a, b), pair in stale.items() if a in gone or b in gone]
    removed_ids = [pair.pk for (a, b), pair in stale.items() if not (a in gone or b in gone)]
    for pair in merged_pairs:
        pair.status = DuplicateStatus.MERGED
    with transaction.atomic():
        DuplicatePair.objects.bulk_create(to_create, batch_size=BATCH, ignore_conflicts=True)
        DuplicatePair.objects.bulk_update(
            to_update + merged_pairs, ["status", "score", "tier", "reasons"], batch_size=BATCH
        )
        for start in range(0, len(removed_ids), BATCH):
            DuplicatePair.objects.filter(pk__in=removed_ids[start : start + BATCH]).delete()
    result.created, result.updated = len(to_create), len(to_update)
    result.merged, result.removed = len(merged_pairs), len(removed_ids)


def duplicates_scan(*, entity: str, full: bool = False) -> ScanResult:
    """Scan the live base of ``entity`` for possible duplicates and store the pairs.

    Contacts are scanned by ``scan_contacts.contacts_scan``: only those created or changed
    since the last finished scan, when its watermarks are known and not ``full``.
    Idempotent; reports its progress in the cache (see ``duplicates_scan_status``). Reads
    records in batches, never one query per pair, and writes the pairs in bulk.
    """
    _model(entity)
    started = timezone.now()
    since = None if full else _watermarks(entity)
    _set_status(
        entity, status="running", started_at=started.isoformat(), stage="collect", done=0, total=0
    )
    marks: Watermarks | None = None
    try:
        if entity == Entity.CONTACT:
            marks = scan_watermarks()  # before reading: what changes meanwhile is seen next time
            result = _contact_result(
                contacts_scan(
                    started=started,
                    since=since,
                    progress=lambda stage, done, total: _set_status(
                        entity, stage=stage, done=done, total=total
                    ),
                )
            )
        else:
            candidates = _collect(entity)
            result = ScanResult(entity=entity, candidates=len(candidates.pairs()))
            _set_status(entity, stage="score", candidates=result.candidates)
            scored = _score(candidates)
            result.found = len(scored)
            _set_status(entity, stage="write", found=result.found)
            _write(entity, scored, result)
    except Exception:
        _set_status(entity, status="failed", finished_at=timezone.now().isoformat())
        raise
    _set_status(
        entity,
        status="done",
        finished_at=timezone.now().isoformat(),
        watermarks=asdict(marks) if marks else None,
        **asdict(result),
    )
    return result


def _watermarks(entity: str) -> Watermarks | None:
    """Where the last finished scan of contacts started, if the cache still knows."""
    state = cache.get(scan_cache_key(entity)) or {}
    marks = state.get("watermarks")
    if entity != Entity.CONTACT or not isinstance(marks, dict):
        return None
    try:
        return Watermarks(key=int(marks["key"]), point=int(marks["point"]))
    except (KeyError, TypeError, ValueError):
        return None


def _contact_result(scan: ContactScan) -> ScanResult:
    return ScanResult(entity=Entity.CONTACT, **asdict(scan))


# --- reads and the "not a duplicate" answer -------------------------------------------------------


def duplicate_pair_queryset(
    *, user: ScopedUser, entity: str, tier: str | None = None
) -> QuerySet[DuplicatePair]:
    """Open pairs of ``entity`` (of one ``tier`` when given) whose both records ``user`` may
    see (no ordering, no joins)."""
    model = _model(entity)
    side_a, side_b = _sides(entity)
    visible = model.objects.visible_to(user).values("pk")
    pairs = DuplicatePair.objects.filter(
        entity=entity,
        status=DuplicateStatus.OPEN,
        **{f"{side_a}__in": visible, f"{side_b}__in": visible},
    )
    return pairs if tier is None else pairs.filter(tier=tier)


def duplicate_pair_list(
    *,
    user: ScopedUser,
    entity: str,
    tier: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[DuplicatePair]:
    """A page of open pairs ``user`` may see (of one ``tier`` when given), highest score
    first, with both records'
    owners, contact details and (for people) places of work loaded in a fixed number of
    queries. Each pair gets ``first``, ``second`` and ``records`` (both) attributes; each
    record gets ``phone_list`` and ``email_list`` for display."""
    side_a, side_b = _sides(entity)
    points = ContactPoint.objects.order_by("position", "id")
    prefetch: list[Any] = []
    for side in (side_a, side_b):
        prefetch.append(Prefetch(f"{side}__points", queryset=points))
        if entity == Entity.CONTACT:
            prefetch.append(
                Prefetch(
                    f"{side}__employments",
                    queryset=Employment.objects.select_related("company"),
                )
            )
    queryset = (
        duplicate_pair_queryset(user=user, entity=entity, tier=tier)
        .select_related(f"{side_a}__owner", f"{side_b}__owner")
        .prefetch_related(*prefetch)
    )
    page = keyset_page(queryset, order=["-score", "id"], cursor=cursor, limit=limit)
    for pair in page.items:
        pair.first = getattr(pair, side_a)
        pair.second = getattr(pair, side_b)
        pair.records = [pair.first, pair.second]
        for record in pair.records:
            shown = list(record.points.all())
            record.phone_list = [p.display for p in shown if p.kind == ContactPointKind.PHONE]
            record.email_list = [p.display for p in shown if p.kind == ContactPointKind.EMAIL]
    return page


@transaction.atomic
def duplicate_pair_dismiss(*, actor: ScopedUser, pair_id: int) -> DuplicatePair:
    """Mark a pair "not a duplicate"; later scans leave it dismissed.

    The actor must see and be allowed to change both records; an invisible pair is
    ``NotFound``.
    """
    pair = (
        DuplicatePair.objects.select_for_update(of=("self",))
        .select_related("contact_a", "contact_b", "company_a", "company_b")
        .filter(pk=pair_id)
        .first()
    )
    if pair is None or pair.status != DuplicateStatus.OPEN:
        raise NotFound(_("Not found."))
    side_a, side_b = _sides(pair.entity)
    records = [getattr(pair, side_a), getattr(pair, side_b)]
    model = _model(pair.entity)
    if model.objects.visible_to(actor).filter(pk__in=[r.pk for r in records]).count() != 2:
        raise NotFound(_("Not found."))
    for record in records:
        customer_check_writable(actor=actor, record=record)
    pair.status = DuplicateStatus.DISMISSED
    pair.resolved_by_id = actor.pk
    pair.save(update_fields=["status", "resolved_by"])
    return pair


__all__ = [
    "MAX_GROUP_MEMBERS",
    "ScanResult",
    "duplicate_pair_dismiss",
    "duplicate_pair_list",
    "duplicate_pair_queryset",
    "duplicates_scan",
    "duplicates_scan_changes",
    "duplicates_scan_start",
    "duplicates_scan_status",
    "scan_cache_key",
]

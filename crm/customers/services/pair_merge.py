"""Merging "likely" duplicate pairs from the duplicates page: one pair or a reviewed batch.

Each pair goes through the ordinary merge (``merge.customer_merge``) with the merge page's
defaults (the older record stays; each field keeps the non-empty value, the survivor's when
both are filled), in its own transaction, so one refusal leaves the other merges done. A
pair the actor may not see, no longer open or not "likely" is refused as not found.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from crm.core.errors import DomainError, NotFound, ValidationFailed
from crm.core.permissions import ScopedUser
from crm.customers.choices import DuplicateTier
from crm.customers.models import MergeRecord
from crm.customers.services.merge import customer_merge, merge_preview
from crm.customers.services.records import customer_check_writable
from crm.customers.services.scan import _sides, duplicate_pair_queryset

MAX_PAIRS_PER_MERGE = 100


@dataclass
class PairMerged:
    """A pair that was merged: the merge (for undo) and the two names as they were."""

    pair_id: int
    merge: MergeRecord
    survivor: str
    merged: str


@dataclass
class PairRefused:
    """A pair that was not merged, and why (in words)."""

    pair_id: int
    reason: str


@dataclass
class PairMergeReport:
    """What a merge of selected pairs did."""

    merged: list[PairMerged] = field(default_factory=list)
    refused: list[PairRefused] = field(default_factory=list)


def duplicate_pairs_merge(
    *, actor: ScopedUser, entity: str, pair_ids: list[int], ip_address: str | None = None
) -> PairMergeReport:
    """Merge each selected "likely" pair of ``entity``, each in its own transaction.

    Pairs are taken in the given order and re-read one by one: merging A with B re-points
    a selected pair B–C at A–C, which is then merged as such. Raises ``ValidationFailed``
    (field ``pair``) for an empty selection or more than ``MAX_PAIRS_PER_MERGE`` pairs;
    every other problem is a refusal in the report. An actor who may change no records is
    ``PermissionDenied`` as a whole.
    """
    customer_check_writable(actor=actor, record=None)
    chosen = list(dict.fromkeys(pair_ids))
    problem = (
        _("Choose at least one pair.")
        if not chosen
        else _("At most %(count)d pairs at once.") % {"count": MAX_PAIRS_PER_MERGE}
        if len(chosen) > MAX_PAIRS_PER_MERGE
        else ""
    )
    if problem:
        raise ValidationFailed(problem, field_errors={"pair": [problem]})
    report = PairMergeReport()
    for pair_id in chosen:
        try:
            report.merged.append(_merge_one(actor, entity, pair_id, ip_address))
        except DomainError as refusal:
            report.refused.append(PairRefused(pair_id, refusal.message or str(refusal)))
    return report


def _merge_one(actor: ScopedUser, entity: str, pair_id: int, ip_address: str | None) -> PairMerged:
    side_a, side_b = _sides(entity)
    ids = (
        duplicate_pair_queryset(user=actor, entity=entity, tier=DuplicateTier.LIKELY)
        .filter(pk=pair_id)
        .values_list(f"{side_a}_id", f"{side_b}_id")
        .first()
    )
    if ids is None:
        raise NotFound(_("The pair is gone: merged, dismissed or not yours to see."))
    preview = merge_preview(user=actor, entity=entity, first_id=ids[0], second_id=ids[1])
    survivor_id = preview.default_survivor_id
    survivor, merged = sorted(preview.records, key=lambda record: record.pk != survivor_id)
    names = (str(survivor), str(merged))
    record = customer_merge(
        actor=actor,
        entity=entity,
        survivor_id=survivor_id,
        merged_id=merged.pk,
        choices=preview.choices(survivor_id),
        ip_address=ip_address,
    )
    return PairMerged(pair_id=pair_id, merge=record, survivor=names[0], merged=names[1])

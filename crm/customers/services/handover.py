"""A leaving manager's handover: what of theirs moves, and to whom.

The handover runs as a ``BulkReassignment`` (see ``customers.services.reassign``: one
transaction, progress, log). This module only plans it, from the record kinds' owner movers
(``crm.core.records.OwnerMover``, one per kind, declared by the app that owns the kind), so
it knows no kind beyond contacts and companies:

* ``handover_counts`` — how many records of each kind a user has to hand over, closed ones
  apart, and how many records are shared with them (the preview);
* ``handover_plan`` — the batches to move: each record of each kind given to one receiver.

Spreading over several receivers is a round robin over *client groups* in a fixed order
(kinds by the movers' ``order``, records by id): a record whose client (its company first,
else its contact) has already been given a receiver goes to that one, any other record opens
a group and takes the next receiver in turn. So a company's contacts, deals and leads stay
with one person, and the split is even by group, not by record.

Shares: a record shared WITH the leaving user is a grant its owner made to that person; the
handover removes it (``shares_remove``) rather than passing it on, so nobody gains access
the owner did not give. The owner may share the record again with the new colleague.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models

from crm.core.records import OwnerMover, RecordKind, registry

SHARES = "shares"
"""The key of the shares' count in ``handover_counts`` (not a record kind)."""

CLOSED_SUFFIX = "_closed"
"""``deal_closed``: the records of a kind that move only on request, in the counts."""


@dataclass(frozen=True)
class Batch:
    """Records ``ids`` of one kind, all going to the receiver ``to_user_id``."""

    mover: OwnerMover
    to_user_id: int
    ids: list[int]

    @property
    def kind(self) -> RecordKind:
        return registry.kind(self.mover.kind)


def handover_kinds() -> list[str]:
    """The keys of the kinds a handover moves, in the order it moves them."""
    return [mover.kind for mover in registry.owner_movers()]


@dataclass(frozen=True)
class KindCount:
    """A line of a preview or a result: a kind's plural label, its count and, for a kind
    with records moved only on request, how many of those (None otherwise)."""

    key: str
    label: str
    count: int
    closed: int | None = None


def counts_by_kind(counts: dict[str, int]) -> list[KindCount]:
    """``handover_counts`` (or a handover's result) as labelled lines, in the handover's
    order, in the active language."""
    return [
        KindCount(
            mover.kind,
            str(registry.kind(mover.kind).plural_label),
            counts.get(mover.kind, 0),
            counts.get(mover.kind + CLOSED_SUFFIX) if mover.closed is not None else None,
        )
        for mover in registry.owner_movers()
    ]


def _selected(mover: OwnerMover, user_id: int, include_closed: bool) -> models.QuerySet[Any]:
    rows = mover.owned(user_id)
    if mover.closed is not None and not include_closed:
        rows = rows.exclude(mover.closed)
    return rows


def _shared_rows(kind: RecordKind, user_id: int) -> models.QuerySet[Any]:
    """The rows of the kind's sharing table that share a record with ``user_id``."""
    field = kind.model._meta.get_field("shared_with")
    assert isinstance(field, models.ManyToManyField)
    through = field.remote_field.through
    assert through is not None
    return through._default_manager.filter(**{f"{field.m2m_reverse_field_name()}_id": user_id})


def handover_counts(user_id: int) -> dict[str, int]:
    """How many records of each kind ``user_id`` has to hand over (closed ones under
    ``<kind>_closed``, for the kinds that have them) and how many records are shared with
    them (``shares``). One COUNT per figure."""
    counts: dict[str, int] = {}
    for mover in registry.owner_movers():
        counts[mover.kind] = _selected(mover, user_id, include_closed=False).count()
        if mover.closed is not None:
            counts[mover.kind + CLOSED_SUFFIX] = mover.owned(user_id).filter(mover.closed).count()
    counts[SHARES] = sum(
        _shared_rows(kind, user_id).count() for kind in registry.kinds() if kind.shareable
    )
    return counts


def shares_remove(user_id: int) -> int:
    """Remove every share of a record with ``user_id``; answers how many were removed."""
    return sum(
        _shared_rows(kind, user_id).delete()[0] for kind in registry.kinds() if kind.shareable
    )


class _RoundRobin:
    """Gives each client group the next receiver in turn, and a group's records one
    receiver (see the module's docstring)."""

    def __init__(self, receiver_ids: Sequence[int]) -> None:
        self.receiver_ids = list(receiver_ids)
        self.given: dict[tuple[str, int], int] = {}
        self.turn = 0

    def receiver(self, group: tuple[str, int]) -> int:
        if group not in self.given:
            self.given[group] = self.receiver_ids[self.turn % len(self.receiver_ids)]
            self.turn += 1
        return self.given[group]


def _rows(mover: OwnerMover, user_id: int, include_closed: bool) -> list[tuple[Any, ...]]:
    """``(pk, *client ids)`` of each record to move, by id. A client field across a
    to-many relation (a contact's companies) gives a row per related record: the first
    (the smallest id) is kept. One query, joins rather than a subquery per record."""
    fields = [field for _group, field in mover.clients]
    rows = _selected(mover, user_id, include_closed).order_by("pk", *fields)
    first: dict[int, tuple[Any, ...]] = {}
    for row in rows.values_list("pk", *fields):
        first.setdefault(row[0], row)
    return list(first.values())


def _group(mover: OwnerMover, row: tuple[Any, ...]) -> tuple[str, int]:
    """The client group of a record: its first non-empty client field, else itself."""
    for (group, _field), value in zip(mover.clients, row[1:], strict=True):
        if value is not None:
            return group, int(value)
    return mover.kind, int(row[0])


def handover_plan(
    *, user_id: int, receiver_ids: Sequence[int], include_closed: bool
) -> list[Batch]:
    """The batches that hand ``user_id``'s records over to ``receiver_ids`` (one or more,
    in the order given), closed ones only with ``include_closed``. Reads each kind's ids
    once; no per-record query."""
    robin = _RoundRobin(receiver_ids)
    batches: list[Batch] = []
    for mover in registry.owner_movers():
        given: dict[int, list[int]] = {pk: [] for pk in receiver_ids}
        for row in _rows(mover, user_id, include_closed):
            given[robin.receiver(_group(mover, row))].append(int(row[0]))
        batches.extend(Batch(mover, pk, ids) for pk, ids in given.items() if ids)
    return batches


def batches_for(kind_ids: Iterable[tuple[str, list[int]]], to_user_id: int) -> list[Batch]:
    """Batches giving the listed records of each kind to one receiver (the plain bulk
    reassignment of a filtered list of contacts and companies)."""
    movers = {mover.kind: mover for mover in registry.owner_movers()}
    return [Batch(movers[kind], to_user_id, ids) for kind, ids in kind_ids if ids]

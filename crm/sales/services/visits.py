"""A deal's stage visits: the row each move writes, and the columns that repeat what the deal
and its other visits say (``StageVisit.owner``, ``decided_at``, ``won_at``,
``prior_entered_at``).

Those columns are derived, never typed: ``visits_settle`` recomputes them for whole deals
from the deals' owners and the visits themselves in one ``UPDATE``, so a writer cannot
leave them half right. Every writer calls it inside the transaction that holds the deal's
row lock (``deal_get(for_update=True)``, or a deal it has just made): after every move (the
new visit's earlier entry into its stage; the earlier visits decided by a won or lost one),
after the deal changes hands (every visit takes the new owner) and after a stage's visits
move to another stage (``stage_delete``). A concurrent move of the same deal waits for the lock, so it
writes its visit with the owner the change committed, and a change waiting for a move's
lock settles the visit the move wrote.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connection

from crm.accounts.models import User
from crm.sales.choices import StageKind
from crm.sales.models import Deal, Stage, StageVisit

CHUNK = 500


def visit_begin(*, deal: Deal, stage: Stage, actor: User, now: dt.datetime) -> StageVisit:
    """The visit of ``deal`` to ``stage`` beginning ``now`` (the deal is locked), with the
    deal's owner; a move settles the deal's visits after it (``visits_settle``), a deal's
    first visit has nothing to settle."""
    return StageVisit.objects.create(
        deal=deal, stage=stage, entered_at=now, entered_by=actor, owner_id=deal.owner_id
    )


def _settle_sql(count: int) -> str:
    """The ``UPDATE`` of ``visits_settle`` for ``count`` deals: correlated subqueries both
    databases run, written once here instead of compiled by the ORM on every move (its
    compilation of four subqueries cost several times the statement's own 0.8 ms)."""
    visit, deal, stage = (model._meta.db_table for model in (StageVisit, Deal, Stage))
    later = (  # names from the models, values as parameters
        f"SELECT MIN(later.entered_at) FROM {visit} later JOIN {stage} stage"  # noqa: S608
        f" ON stage.id = later.stage_id WHERE later.deal_id = {visit}.deal_id"
        f" AND later.entered_at > {visit}.entered_at"
    )
    return (
        f"UPDATE {visit} SET"  # noqa: S608 (names from the models, values as parameters)
        f" owner_id = (SELECT owner_id FROM {deal} WHERE {deal}.id = {visit}.deal_id),"
        f" decided_at = ({later} AND stage.kind IN (%s, %s)),"
        f" won_at = ({later} AND stage.kind = %s),"
        f" prior_entered_at = (SELECT MAX(earlier.entered_at) FROM {visit} earlier"
        f" WHERE earlier.deal_id = {visit}.deal_id AND earlier.stage_id = {visit}.stage_id"
        f" AND earlier.entered_at < {visit}.entered_at)"
        f" WHERE deal_id IN ({', '.join(['%s'] * count)})"
    )


def visits_settle(deal_ids: Iterable[int]) -> int:
    """Recompute the owner, ``decided_at``, ``won_at`` and ``prior_entered_at`` of every
    visit of ``deal_ids`` (see the module's docstring); one query per ``CHUNK`` deals.
    Returns the number of visits written."""
    ids, written = sorted(set(deal_ids)), 0
    kinds = [StageKind.WON.value, StageKind.LOST.value, StageKind.WON.value]
    with connection.cursor() as cursor:
        for start in range(0, len(ids), CHUNK):  # one query for a move; chunks for a stage's
            chunk = ids[start : start + CHUNK]
            cursor.execute(_settle_sql(len(chunk)), [*kinds, *chunk])
            written += cursor.rowcount
    return written

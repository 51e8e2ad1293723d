"""A client's stored last touch (``Customer.last_touch_at``): the latest of its creation,
its last timeline entry and the last activity (``Deal.last_activity_at``) on any of its
deals — what the clients report's "no touch for N days" reads from an index.

Every write that can move it keeps it in the same transaction, with one SQL ``UPDATE``
(never a read-modify-write in Python, so concurrent writers cannot lose a touch):

- a new touch only moves it forward (``clients_touch``: ``… WHERE last_touch_at IS NULL
  OR last_touch_at < new``): timeline entries of the client (``activities`` does it for
  any subject with the column, being below this app), activity on a deal (``sales``);
- a write that can take a touch away (a deal moved to another client, a merge and its
  undo) recomputes it from the definition (``clients_touch_recompute``), set-based.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Greatest

from crm.activities.models import TimelineEntry
from crm.customers.models import Company, Contact


def last_touch_expression(model: Any, entries: Any, subject_type: Any) -> Any:
    """The definition of the last touch of a ``model`` row, as an SQL expression:
    ``entries`` is the timeline entries' model and ``subject_type`` the content type id of
    ``model`` (parameters, so the data migration builds it from its historical models)."""
    last_entry = (
        entries.objects.filter(subject_type_id=subject_type, subject_id=OuterRef("pk"))
        .order_by()
        .values("subject_id")
        .annotate(last=Max("occurred_at"))
        .values("last")
    )
    last_deal = (
        model.objects.filter(pk=OuterRef("pk"))
        .order_by()
        .values("pk")
        .annotate(last=Max("deals__last_activity_at"))
        .values("last")
    )
    return Greatest(
        "created_at",
        Coalesce(Subquery(last_entry), "created_at"),
        Coalesce(Subquery(last_deal), "created_at"),
    )


def clients_touch(
    *, at: dt.datetime, contact_id: int | None = None, company_id: int | None = None
) -> None:
    """A touch at ``at`` of a contact and/or a company: their last touch moves forward to
    it, never back (one conditional ``UPDATE`` each)."""
    for model, pk in ((Contact, contact_id), (Company, company_id)):
        if pk is not None:
            model.objects.filter(
                Q(last_touch_at__isnull=True) | Q(last_touch_at__lt=at), pk=pk
            ).update(last_touch_at=at)


def clients_touch_recompute(model: type[Contact | Company], ids: Iterable[int | None]) -> None:
    """Recompute the last touch of the ``model`` rows ``ids`` from the definition (after a
    write that may take a touch away: a deal leaving the client, a merge or its undo); call
    inside the writer's transaction."""
    wanted = sorted({pk for pk in ids if pk is not None})
    if not wanted:
        return
    subject_type = ContentType.objects.get_for_model(model).pk
    # Lock the rows first: the UPDATE below then reads (on PostgreSQL, a statement of its
    # own, a fresh snapshot) every touch committed by a writer that held them, and a later
    # writer's conditional UPDATE waits for this transaction and applies on top.
    list(model.objects.select_for_update().filter(pk__in=wanted).values_list("pk", flat=True))
    model.objects.filter(pk__in=wanted).update(
        last_touch_at=last_touch_expression(model, TimelineEntry, subject_type)
    )

"""Reading timelines. Callers pass only subjects the viewer may see."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet

from crm.activities.models import TimelineEntry


def timeline_for(
    *,
    subjects: Iterable[tuple[type[models.Model], Iterable[int]]],
    kinds: Iterable[str] | None = None,
) -> QuerySet[TimelineEntry]:
    """Entries of the given subjects, newest first, with author and attachment joined.

    ``subjects`` is a list of (model, ids): a company's timeline passes the company and the
    ids of its people, so their calls show on the company card too.
    """
    condition = Q(pk__in=[])
    for model, ids in subjects:
        id_list = list(ids)
        if id_list:
            subject_type = ContentType.objects.get_for_model(model)
            condition |= Q(subject_type=subject_type, subject_id__in=id_list)
    entries = TimelineEntry.objects.filter(condition)
    if kinds:
        entries = entries.filter(kind__in=list(kinds))
    return entries.select_related("author", "attachment", "subject_type").order_by(
        "-occurred_at", "-id"
    )

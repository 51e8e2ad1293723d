"""Reading timelines. Callers pass only subjects the viewer may see; a file is found through
the registry of record kinds, which says who may see the records it hangs on."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from crm.activities.models import Attachment, TimelineEntry
from crm.core.permissions import ScopedUser
from crm.core.records import registry

TIMELINE_PAGE_SIZE = 25
"""Entries per page of a timeline: the card shows the first page, "Show older" the next."""


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


def attachment_get(*, user: ScopedUser, pk: int) -> Attachment:
    """An attachment on the timeline of a record ``user`` may see (of any registered record
    kind with a timeline); 404 otherwise."""
    visible = Q(pk__in=[])
    for kind in registry.with_timeline():
        visible |= Q(
            subject_type=ContentType.objects.get_for_model(kind.model),
            subject_id__in=kind.visible_to(user).values("pk"),
        )
    entries = TimelineEntry.objects.filter(attachment_id=OuterRef("pk")).filter(visible)
    attachment = Attachment.objects.filter(pk=pk).filter(Exists(entries)).first()
    if attachment is None:
        raise Http404(_("File not found."))
    return attachment

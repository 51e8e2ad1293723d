"""Abstract base models shared by the domain apps, and small query helpers."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

M = TypeVar("M", bound=models.Model)


class TimeStampedModel(models.Model):
    """Adds ``created_at`` and ``updated_at``, set by the database layer on each write."""

    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


def excluding(queryset: QuerySet[M], record: models.Model | None) -> QuerySet[M]:
    """The rows of ``queryset`` other than ``record`` (all of them when there is none yet).

    For uniqueness checks that must not count the record being edited.
    """
    return queryset if record is None else queryset.exclude(pk=record.pk)


def field_verbose_name(model: type[models.Model], name: str) -> str:
    """The verbose name of the field ``name`` of ``model`` (declared on it, not a reverse
    relation, which has none)."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field), f"{name} is not a field of {model.__name__}"
    return str(field.verbose_name)


def related_count(queryset: QuerySet[Any], outer: str) -> Coalesce:
    """An annotation: the number of rows of ``queryset`` whose ``outer`` field is the outer
    row's id (a correlated subquery, so several counts on one list do not multiply rows)."""
    counted = (
        queryset.filter(**{outer: models.OuterRef("pk")})
        .order_by()
        .values(outer)
        .annotate(n=models.Count("*"))
        .values("n")
    )
    return Coalesce(models.Subquery(counted, output_field=models.IntegerField()), 0)


class Counter(models.Model):
    """A named count within a time window, shared by every process through the database.

    Changed only by single conditional ``UPDATE``s (``crm.core.counters``), so concurrent
    increments from several workers never lose one, whatever the cache backend. A row whose
    ``expires_at`` has passed counts as zero and is deleted by the ``core.counters`` sweep.
    """

    key = models.CharField(max_length=100, primary_key=True)
    count = models.IntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("counter")
        verbose_name_plural = _("counters")

    def __str__(self) -> str:
        return f"{self.key}={self.count}"

"""Abstract base models shared by the domain apps, and small query helpers."""

from __future__ import annotations

from typing import Any, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

M = TypeVar("M", bound=models.Model)


class TimeStampedModel(models.Model):
    """Adds ``created_at`` and ``updated_at``, set by the database layer on each write."""

    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class _PerModelRelatedName:
    """For a relation declared on an abstract model with a ``%(class)s`` related name: the
    name is resolved per model in the migration state too, and the field deconstructs as
    Django's own, so each model migrates exactly as if it declared ``related_name="deals"``
    itself (no ``AlterField`` for the pattern, no migration when a model moves onto the
    abstract base)."""

    django_path: str  # the field class it deconstructs as
    _related_name: str | None
    remote_field: Any

    def contribute_to_class(
        self, cls: type[models.Model], name: str, private_only: bool = False, **kwargs: Any
    ) -> None:
        super().contribute_to_class(cls, name, private_only=private_only, **kwargs)  # type: ignore[misc]
        if not cls._meta.abstract and self._related_name:
            self._related_name = self.remote_field.related_name

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()  # type: ignore[misc]
        return name, self.django_path, args, kwargs


class OwnerKey(_PerModelRelatedName, models.ForeignKey):  # type: ignore[type-arg]
    """A ``ForeignKey`` with a per-model related name (see ``_PerModelRelatedName``)."""

    django_path = "django.db.models.ForeignKey"


class SharingField(_PerModelRelatedName, models.ManyToManyField):  # type: ignore[type-arg]
    """A ``ManyToManyField`` with a per-model related name (see ``_PerModelRelatedName``)."""

    django_path = "django.db.models.ManyToManyField"


class SharedModel(models.Model):
    """Adds ``shared_with``: the users a record is shared with besides those who see it by
    ownership (the owner rule's sharing field, ``OwnedRecordPolicy.shared_fields``).

    The reverse accessor on the user is ``shared_<model>s`` (``user.shared_deals``); a model
    whose plural is not that (a company) redeclares the field with its own name.
    """

    shared_with = SharingField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="shared_%(class)ss",
        verbose_name=_("shared with"),
    )

    class Meta:
        abstract = True


class OwnedModel(TimeStampedModel):
    """A record with a responsible user (``owner``) and the user who created it, and the
    timestamps: the fields the owner rule (``crm.core.policies.OwnedRecordPolicy``) reads.

    The owner is protected (a user who owns records cannot be deleted, only deactivated);
    the reverse accessor on the user is ``<model>s`` (``user.deals``, ``user.tasks``); a
    model that wants none (contacts, companies) or another redeclares ``owner``.
    """

    owner = OwnerKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="%(class)ss",
        verbose_name=_("responsible"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        abstract = True


class SharedOwnedModel(OwnedModel, SharedModel):
    """An owned record that may also be shared with other users (contacts, companies,
    deals)."""

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


def owner_hand_over(
    model: type[models.Model], ids: list[int], from_id: int, to_id: int, **fields: Any
) -> int:
    """Give the records ``ids`` of ``model`` still owned by ``from_id`` to ``to_id`` in one
    UPDATE (``updated_at`` too: a bulk update skips ``auto_now``), with ``fields`` that go
    with a change of hands (a lead's ``assigned_at``); answers how many moved.

    For the record kinds' ``OwnerMover``s; a kind with more to keep (a deal's stage
    visits) wraps it in its own service."""
    return model._default_manager.filter(pk__in=ids, owner_id=from_id).update(
        owner_id=to_id, updated_at=timezone.now(), **fields
    )

"""Model access policies: one object per model says which rows a user may see and what they
may do with them.

Every app declares its models' policies in its own ``permissions.py`` and every scope and
permission check of that model goes through them, so a list, a card, the API and a script
answer alike. A policy has two methods:

* ``restrict(queryset, user, action)`` — the rows of ``queryset`` that ``user`` may see
  (``VIEW``) or change (``CHANGE``);
* ``check(user, action, obj)`` — returns quietly or raises a domain error:
  ``NotFound`` for a record outside the user's scope (never 403, so a hidden record looks
  like a missing one), ``PermissionDenied`` for a record (or a settings area) the user may
  see but not change.

Two kinds serve every model today: ``OwnedRecordPolicy`` (the owner rule of
``crm.core.permissions``: owner, the heads of the owner's teams, administrators, sharing)
and ``RolePolicy`` / ``AdminOnlyPolicy`` for settings that belong to roles, not to owners.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from django.db import models
from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from crm.core.errors import NotFound, PermissionDenied
from crm.core.permissions import Role, ScopedUser, can_write, sees_everything

VIEW = "view"
CHANGE = "change"

QuerySetT = TypeVar("QuerySetT", bound="models.QuerySet[Any]")

Cover = Callable[[ScopedUser], Collection[int]]
"""Whom a user covers for: the ids of the owners whose records they see besides their role's
scope (the planner's substitutes). Asked wherever the scope is; a lookup that queries should
cache its answer on the user object (a request), as ``User.scope_owner_ids`` does."""


class ModelPolicy(Protocol):
    """What every model's policy offers (see the module's docstring)."""

    def restrict(self, queryset: QuerySetT, user: ScopedUser, action: str = VIEW) -> QuerySetT: ...

    def check(self, user: ScopedUser, action: str = VIEW, obj: Any = None) -> None: ...

    def restrict_resolved(self, queryset: QuerySetT, user: ScopedUser) -> QuerySetT: ...

    def restrict_resolved_parts(self, queryset: QuerySetT, user: ScopedUser) -> list[QuerySetT]: ...


@dataclass(frozen=True)
class OwnedRecordPolicy:
    """Records with a responsible user: the owner rule of ``crm.core.permissions``.

    Seen by the administrator (all), a head of sales (the records owned by the members of the
    teams they lead), a read-only user (their teams' records), the owner, and — when
    ``shared_fields`` name many-to-many fields to users — everyone the record is shared with.
    Changed by those who see it, except read-only users, and a head only within their
    teams. Who belongs to whose scope is ``owner_ids``: the user's ``scope_owner_ids`` by
    role (computed by the accounts app) and, when the policy has a ``cover``, the owners the
    user covers for (the planner's substitutes: a substitute sees and works the records of
    the colleague they cover while the absence lasts).

    ``shared_fields`` name the many-to-many fields to users that share a record (none, one,
    or several: a task's co-workers and watchers). With ``hidden_from_inactive`` an
    inactive user sees nothing, not even what is shared with them.

    The shared-with test is a subquery, so a record shared with several users is not
    repeated. A user who sees everything gets the queryset unfiltered.
    """

    owner_field: str = "owner"
    shared_fields: tuple[str, ...] = ("shared_with",)
    hidden_from_inactive: bool = False
    cover: Cover | None = None
    not_found: str | Promise = field(default=_("Not found."))
    role_denied: str | Promise = field(default=_("Your role may not change customer data."))
    record_denied: str | Promise = field(default=_("You may not change this record."))

    def owner_ids(self, user: ScopedUser) -> frozenset[int]:
        """Ids of the owners whose records ``user`` sees by ownership: their role's scope
        and whom they cover for (``cover``). The cover is asked first: the planner's reads
        the role's scope in the same query when it is not cached yet."""
        covered = self.cover(user) if self.cover is not None else ()
        scope = user.scope_owner_ids
        return scope | frozenset(covered) if covered else scope

    def condition(self, user: ScopedUser) -> Q:
        """The rows ``user`` sees by ownership, before sharing (the hook a subclass widens)."""
        if not user.is_active:
            return Q(pk__in=[])
        if sees_everything(user):
            return Q()
        return Q(**{f"{self.owner_field}_id__in": sorted(self.owner_ids(user))})

    def shared_ids(
        self, model: type[models.Model], user: ScopedUser, shared_field: str
    ) -> models.QuerySet[Any]:
        """A subquery of the ids of ``model``'s rows shared with ``user`` by ``shared_field``."""
        rows, column = self._shared_rows(model, user, shared_field)
        return rows.values(column)

    def _shared_rows(
        self, model: type[models.Model], user: ScopedUser, shared_field: str
    ) -> tuple[models.QuerySet[Any], str]:
        """The through rows sharing ``model``'s rows with ``user`` and their column of the
        shared row's id."""
        relation: Any = model._meta.get_field(shared_field)
        through: Any = relation.remote_field.through
        rows: models.QuerySet[Any] = through.objects.filter(
            **{f"{relation.m2m_reverse_field_name()}_id": user.pk}
        )
        return rows, f"{relation.m2m_field_name()}_id"

    def restrict(self, queryset: QuerySetT, user: ScopedUser, action: str = VIEW) -> QuerySetT:
        """The rows of ``queryset`` that ``user`` may see (``VIEW``) or change (``CHANGE``)."""
        visible = self._visible(queryset, user)
        if action == VIEW:
            return visible
        if not can_write(user):
            return visible.none()
        if sees_everything(user):
            return visible
        return visible.filter(self.change_condition(user))

    def restrict_resolved(self, queryset: QuerySetT, user: ScopedUser) -> QuerySetT:
        """The rows of ``queryset`` that ``user`` may see, as ``restrict`` gives them, with
        the ids shared with the user read first (a query per shared field) and written into
        the condition as values: ``owner IN (…) OR id IN (<ids>)``, or ``owner IN (…)``
        alone when nothing is shared.

        For the reports, which read one scope in many aggregate queries over large tables:
        with a subquery under the ``OR`` PostgreSQL cannot use an index that starts with the
        owner and scans the table; with values it reads the owners' index ranges (and the
        primary key for the shared rows). The ids are read when this is called, so build
        the queryset when it is used (a request), not once for a long-lived process."""
        if self.hidden_from_inactive and not user.is_active:
            return queryset.none()
        if sees_everything(user):
            return queryset.all()
        condition = self.resolved_condition(queryset.model, user)
        if shared := self._shared_values(queryset.model, user):
            condition |= Q(pk__in=shared)
        return queryset.filter(condition)

    def restrict_resolved_parts(self, queryset: QuerySetT, user: ScopedUser) -> list[QuerySetT]:
        """The rows ``restrict_resolved`` gives, as disjoint querysets that together hold
        them, each a condition an index that starts with the owner reads as ranges: the rows
        of the owners in the user's scope, the rows each ``resolved_extra_parts`` condition
        adds (a lead nobody has yet), and the rows of other owners shared with the user (when
        there are any). One part for a user who sees every row, or no owner's.

        For reports that aggregate each part and add the parts up: under the scope's ``OR``
        PostgreSQL can only merge bitmaps and visit the table's pages, while each part is
        read from a covering index alone."""
        if sees_everything(user) or not user.is_active:
            return [self.restrict_resolved(queryset, user)]
        owner_id = f"{self.owner_field}_id"
        owners = sorted(self.owner_ids(user))
        extra = self.resolved_extra_parts(queryset.model, user)
        parts = [queryset.filter(**{f"{owner_id}__in": owners})]
        parts += [queryset.filter(condition) for condition in extra]
        if shared := self._shared_values(queryset.model, user):
            others = queryset.filter(pk__in=shared).exclude(**{f"{owner_id}__in": owners})
            for condition in extra:
                others = others.exclude(condition)
            parts.append(others)
        return parts

    def resolved_owner_condition(
        self, model: type[models.Model], user: ScopedUser, *, record: str, prefix: str = ""
    ) -> Q | None:
        """The condition of ``restrict_resolved`` written for rows that keep an exact copy
        of their record's owner under the same name (a deal's stage visits): the owners'
        rows, ``{prefix}owner_id IN (…)``, or the rows of the records shared with the user,
        ``{prefix}{record} IN (<ids>)`` (``record`` names the row's column of the record's
        id). ``Q()`` for a user who sees every record; ``None`` when the rule reads more of
        the record than its owner (``resolved_extra_parts``), so the copy cannot carry it.

        The rows are then read from an index that starts with the owner, with no join to
        the records (``model``'s rows, whose shared ids are read now)."""
        if self.resolved_extra_parts(model, user):
            return None
        if sees_everything(user) and (user.is_active or not self.hidden_from_inactive):
            return Q()
        owners = sorted(self.owner_ids(user)) if user.is_active else []
        condition = Q(**{f"{prefix}{self.owner_field}_id__in": owners})
        if self.hidden_from_inactive and not user.is_active:
            return condition
        if shared := self._shared_values(model, user):
            condition |= Q(**{f"{prefix}{record}__in": shared})
        return condition

    def resolved_condition(self, model: type[models.Model], user: ScopedUser) -> Q:
        """``condition`` with no subquery or join (the hook a subclass whose ``condition``
        has one overrides, reading it first): the owner rule is plain values already."""
        return self.condition(user)

    def resolved_extra_parts(self, model: type[models.Model], user: ScopedUser) -> list[Q]:
        """What ``resolved_condition`` adds to the owners' rows, as conditions disjoint from
        them and from each other (none here; a subclass that widens ``condition`` says)."""
        return []

    def _shared_values(self, model: type[models.Model], user: ScopedUser) -> list[Any]:
        """The ids of ``model``'s rows shared with ``user``, read now, in order."""
        shared: set[Any] = set()
        for shared_field in self.shared_fields:
            rows, column = self._shared_rows(model, user, shared_field)
            shared.update(rows.values_list(column, flat=True))
        return sorted(shared)

    def change_condition(self, user: ScopedUser) -> Q:
        """Which of the rows they see a user who may write and does not see everything may
        change: a manager all, a head their scope's (the hook a subclass changes)."""
        if user.role == Role.MANAGER:
            return Q()
        return Q(**{f"{self.owner_field}_id__in": sorted(self.owner_ids(user))})

    def _visible(self, queryset: QuerySetT, user: ScopedUser) -> QuerySetT:
        if self.hidden_from_inactive and not user.is_active:
            return queryset.none()
        if sees_everything(user):
            return queryset.all()
        condition = self.condition(user)
        for shared_field in self.shared_fields:
            condition |= Q(pk__in=self.shared_ids(queryset.model, user, shared_field))
        return queryset.filter(condition)

    def visible_among(
        self, model: type[models.Model], user: ScopedUser, owners: Mapping[Any, int | None]
    ) -> set[Any]:
        """Which of the rows ``owners`` names (id → owner id; rows the caller has read, none
        merged away) ``user`` sees, as ``restrict`` decides: by ownership without a query,
        the rest by one query of the rows among them shared with the user (none when every
        row is the user's scope's). A rule that reads more of the row than its owner
        (``resolved_extra_parts``) is asked through ``restrict``."""
        if not owners:
            return set()
        if self.resolved_extra_parts(model, user):
            rows = self.restrict(model._default_manager.filter(pk__in=list(owners)), user)
            return set(rows.order_by().values_list("pk", flat=True))
        if self.hidden_from_inactive and not user.is_active:
            return set()
        if sees_everything(user):
            return set(owners)
        scope = self.owner_ids(user) if user.is_active else frozenset()
        seen = {pk for pk, owner in owners.items() if owner in scope}
        rest = [pk for pk in owners if pk not in seen]
        for shared_field in self.shared_fields if rest else ():
            rows, column = self._shared_rows(model, user, shared_field)
            seen.update(rows.filter(**{f"{column}__in": rest}).values_list(column, flat=True))
        return seen

    def may_change(self, user: ScopedUser, obj: Any) -> bool:
        """Whether ``user`` may change ``obj``, which they see (for the pages' buttons).

        A manager changes every record they see (their own and those shared with them), a
        head their scope's, the administrator all; a read-only user nothing.
        """
        if not can_write(user):
            return False
        if sees_everything(user) or user.role == Role.MANAGER:
            return True
        return getattr(obj, f"{self.owner_field}_id") in self.owner_ids(user)

    def check(self, user: ScopedUser, action: str = VIEW, obj: Any = None) -> None:
        """For ``VIEW``: ``NotFound`` unless ``user`` sees ``obj`` (one query).

        For ``CHANGE`` (no query; the caller has checked that ``obj`` is visible):
        ``PermissionDenied`` with ``role_denied`` when the user's role changes nothing, and
        with ``record_denied`` when they may not change ``obj``; ``obj=None`` asks whether
        they may create one.
        """
        if action == VIEW:
            manager = type(obj)._default_manager
            if not self.restrict(manager.filter(pk=obj.pk), user).exists():
                raise NotFound(str(self.not_found))
            return
        if not can_write(user):
            raise PermissionDenied(str(self.role_denied))
        if obj is not None and not self.may_change(user, obj):
            raise PermissionDenied(str(self.record_denied))


@dataclass(frozen=True)
class RolePolicy:
    """Rows and actions reserved to active users of some roles (settings areas, whose
    records have no owner): everything for them, nothing for the others.

    ``check`` raises ``PermissionDenied`` with ``denied`` (translated when raised) for
    anyone else, whatever the action and the record.
    """

    denied: str | Promise
    roles: tuple[str, ...] = (Role.ADMIN,)

    def allows(self, user: ScopedUser) -> bool:
        return bool(user.is_active and user.role in self.roles)

    def restrict(self, queryset: QuerySetT, user: ScopedUser, action: str = VIEW) -> QuerySetT:
        """All of ``queryset`` for an allowed user, none of it for the others."""
        return queryset.all() if self.allows(user) else queryset.none()

    def restrict_resolved(self, queryset: QuerySetT, user: ScopedUser) -> QuerySetT:
        """``restrict`` for viewing: the rule has no subquery to read first."""
        return self.restrict(queryset, user, VIEW)

    def restrict_resolved_parts(self, queryset: QuerySetT, user: ScopedUser) -> list[QuerySetT]:
        """One part: the rows are all or none."""
        return [self.restrict(queryset, user, VIEW)]

    def check(self, user: ScopedUser, action: str = CHANGE, obj: Any = None) -> None:
        """``PermissionDenied`` unless ``user`` holds one of the roles."""
        if not self.allows(user):
            raise PermissionDenied(str(self.denied))


class AdminOnlyPolicy(RolePolicy):
    """A settings area of the administrator alone (an active user with the admin role)."""

    def __init__(self, denied: str | Promise) -> None:
        super().__init__(denied=denied, roles=(Role.ADMIN,))

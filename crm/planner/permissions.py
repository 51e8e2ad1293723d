"""The access policy of tasks (the owner rule, plus the task's co-workers and watchers), and
the planner's cover: the owners a substitute covers for today, which every owned record's
policy (customers, deals, leads, tasks) adds to the user's scope."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.accounts.models import User
from crm.core.permissions import ScopedUser, can_write, sees_everything
from crm.core.policies import OwnedRecordPolicy, QuerySetT
from crm.planner.models import Absence, Task

_COVERED = "_planner_covered_owner_ids"
EVERY = Q()


def covered_user_ids(user: ScopedUser) -> set[int]:
    """Ids of the users ``user`` covers today: the absent colleagues whose substitute they
    are (one query; none for an inactive user or the system).

    When the user's role scope is a query not read yet (a head of sales, a read-only user:
    ``User.scope_memberships``), it is read in the same query (``UNION ALL``) and cached on
    the user as ``scope_owner_ids``: a list page's scope costs one query, not two.
    """
    if not getattr(user, "pk", None) or not user.is_active:
        return set()
    absences = Absence.objects.on(timezone.localdate()).filter(substitute_id=user.pk)
    if not isinstance(user, User) or user.scope_is_read():
        return set(absences.values_list("user_id", flat=True))
    memberships = user.scope_memberships()
    if memberships is None:
        return set(absences.values_list("user_id", flat=True))
    rows = (
        memberships.order_by()
        .annotate(is_cover=Value(False))
        .values_list("user_id", "is_cover")
        .union(
            absences.order_by().annotate(is_cover=Value(True)).values_list("user_id", "is_cover"),
            all=True,
        )
    )
    scope, covered = {user.pk}, set[int]()
    for user_id, is_cover in rows:
        (covered if is_cover else scope).add(user_id)
    user.scope_remember(frozenset(scope))
    return covered


def covered_owner_ids(user: ScopedUser) -> frozenset[int]:
    """``covered_user_ids`` as the policies' ``cover``: cached on the user object, so a request
    asks once, like ``User.scope_owner_ids``. The access ends by itself after the absence's
    last day (a new request sees it gone)."""
    cached: frozenset[int] | None = getattr(user, _COVERED, None)
    if cached is None:
        cached = frozenset(covered_user_ids(user))
        if getattr(user, "pk", None):
            setattr(user, _COVERED, cached)
    return cached


@dataclass(frozen=True)
class TaskPolicy(OwnedRecordPolicy):
    """Seen by the owner's scope, the co-workers and the watchers; changed by the
    administrator, the owner's scope (a head's teams, whom the user covers for) and the
    co-workers — a watcher only reads. An inactive user sees nothing."""

    def change_condition(self, user: ScopedUser) -> Q:
        coworker_of = Q(pk__in=self.shared_ids(Task, user, "coworkers"))
        return Q(owner_id__in=sorted(self.owner_ids(user))) | coworker_of

    def owned_or_coworked(self, user: ScopedUser, owner_ids: Iterable[int], narrow: Q = EVERY) -> Q:
        """The tasks of ``owner_ids`` and those where ``user`` is a co-worker: what "my
        tasks" (with whom they cover) means on the lists, the calendar and my day.

        One indexed path per reason a task is theirs, joined by ``UNION ALL`` in a ``pk IN``
        subquery: the owners' tasks on ``task_owner_due`` (narrowed by ``narrow``, a
        condition on the task that the caller applies as well, such as the status or the
        due range) and the user's co-worker rows on their user index. So the cost follows
        the user's own tasks, not the table: written as ``owner OR co-worker`` it kept
        PostgreSQL off the owner index, walking every user's open tasks in due order.
        """
        owned = Task.objects.filter(narrow, owner_id__in=sorted(set(owner_ids))).order_by()
        coworked = self.shared_ids(Task, user, "coworkers")
        return Q(pk__in=owned.values("pk").union(coworked, all=True))

    def restrict_to_mine(
        self,
        queryset: QuerySetT,
        user: ScopedUser,
        owner_ids: Iterable[int],
        narrow: Q = EVERY,
    ) -> QuerySetT:
        """The rows of ``queryset`` that ``user`` sees and that are theirs
        (``owned_or_coworked``), without the OR of ``restrict``: the owners kept are those
        of the user's scope and a co-worker sees the task, so every row is visible. (The OR
        filter made PostgreSQL cost the union's path too high and scan every open task.)"""
        if not user.is_active:
            return queryset.none()
        if not sees_everything(user):
            owner_ids = set(owner_ids) & self.owner_ids(user)
        return queryset.filter(self.owned_or_coworked(user, owner_ids, narrow))

    def may_change(self, user: ScopedUser, obj: Any) -> bool:
        """One query for a co-worker who is not in the owner's scope."""
        return can_write(user) and (
            sees_everything(user)
            or obj.owner_id in self.owner_ids(user)
            or obj.coworkers.filter(pk=user.pk).exists()
        )


TASK = TaskPolicy(
    shared_fields=("coworkers", "watchers"),
    hidden_from_inactive=True,
    cover=covered_owner_ids,
    role_denied=_("Your role may not change tasks."),
    record_denied=_("You may not change this task."),
)

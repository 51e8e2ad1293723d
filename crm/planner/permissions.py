"""The access policy of tasks (the owner rule, plus the task's co-workers and watchers), and
the planner's cover: the owners a substitute covers for today, which every owned record's
policy (customers, deals, leads, tasks) adds to the user's scope."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.permissions import ScopedUser, can_write, sees_everything
from crm.core.policies import OwnedRecordPolicy
from crm.planner.models import Absence, Task

_COVERED = "_planner_covered_owner_ids"


def covered_user_ids(user: ScopedUser) -> set[int]:
    """Ids of the users ``user`` covers today: the absent colleagues whose substitute they
    are (one query; none for an inactive user or the system)."""
    if not getattr(user, "pk", None) or not user.is_active:
        return set()
    today = timezone.localdate()
    return set(
        Absence.objects.on(today).filter(substitute_id=user.pk).values_list("user_id", flat=True)
    )


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
        return self.owned_or_coworked(user, self.owner_ids(user))

    def owned_or_coworked(self, user: ScopedUser, owner_ids: Iterable[int]) -> Q:
        """The tasks of ``owner_ids`` and those where ``user`` is a co-worker: what a user
        changes, and what "my tasks" (with whom they cover) means on the lists, the
        calendar and my day."""
        coworker_of = Q(pk__in=self.shared_ids(Task, user, "coworkers"))
        return Q(owner_id__in=sorted(set(owner_ids))) | coworker_of

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

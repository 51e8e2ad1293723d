"""The access policy of tasks: the owner rule, plus the task's co-workers and watchers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.core.permissions import ScopedUser, can_write, sees_everything
from crm.core.policies import OwnedRecordPolicy
from crm.planner.models import Task


@dataclass(frozen=True)
class TaskPolicy(OwnedRecordPolicy):
    """Seen by the owner's scope, the co-workers and the watchers; changed by the
    administrator, the owner's scope (a head's teams) and the co-workers — a watcher only
    reads. An inactive user sees nothing."""

    def change_condition(self, user: ScopedUser) -> Q:
        coworker_of = Q(pk__in=self.shared_ids(Task, user, "coworkers"))
        return Q(owner_id__in=sorted(user.scope_owner_ids)) | coworker_of

    def may_change(self, user: ScopedUser, obj: Any) -> bool:
        """One query for a co-worker who is not in the owner's scope."""
        return can_write(user) and (
            sees_everything(user)
            or obj.owner_id in user.scope_owner_ids
            or obj.coworkers.filter(pk=user.pk).exists()
        )


TASK = TaskPolicy(
    shared_fields=("coworkers", "watchers"),
    hidden_from_inactive=True,
    role_denied=_("Your role may not change tasks."),
    record_denied=_("You may not change this task."),
)

"""Who sees and changes segments.

A personal segment belongs to its author; a shared one is seen by every active user and
changed by the administrators and heads of sales. A read-only user saves no segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from crm.core.errors import NotFound, PermissionDenied
from crm.core.permissions import Role, ScopedUser, can_write
from crm.core.policies import CHANGE, VIEW, QuerySetT

SHARING_ROLES = (Role.ADMIN, Role.HEAD)


def may_share(user: ScopedUser) -> bool:
    """Whether ``user`` may make a segment shared (administrators and heads of sales)."""
    return bool(user.is_active and user.role in SHARING_ROLES)


@dataclass(frozen=True)
class SegmentPolicy:
    """The policy of segments (see the module's docstring)."""

    def restrict(self, queryset: QuerySetT, user: ScopedUser, action: str = VIEW) -> QuerySetT:
        """The segments ``user`` sees (``VIEW``: shared ones and their own) or may change."""
        if not user.is_active:
            return queryset.none()
        if action == VIEW:
            return queryset.filter(Q(is_shared=True) | Q(owner_id=user.pk))
        if not can_write(user):
            return queryset.none()
        if may_share(user):
            return queryset.filter(Q(is_shared=True) | Q(owner_id=user.pk))
        return queryset.filter(owner_id=user.pk, is_shared=False)

    def may_change(self, user: ScopedUser, segment: Any) -> bool:
        """Whether ``user`` may change ``segment``, which they see (for the page's buttons)."""
        if not can_write(user):
            return False
        if segment.is_shared:
            return may_share(user)
        return bool(segment.owner_id == user.pk)

    def check(self, user: ScopedUser, action: str = VIEW, obj: Any = None) -> None:
        """``NotFound`` for a segment ``user`` does not see, ``PermissionDenied`` for one
        they may not change (``obj=None``: whether they may save segments at all)."""
        if obj is not None and not (obj.is_shared or obj.owner_id == user.pk):
            raise NotFound(_("Not found."))
        if action == CHANGE:
            if not can_write(user):
                raise PermissionDenied(_("Your role may not save segments."))
            if obj is not None and not self.may_change(user, obj):
                raise PermissionDenied(
                    _("Only an administrator or a head of sales may change a shared segment.")
                )


SEGMENT = SegmentPolicy()

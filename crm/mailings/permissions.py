"""Who sees and changes segments, and who sends mailings.

A personal segment belongs to its author; a shared one is seen by every active user and
changed by the administrators and heads of sales. A read-only user saves no segments.
Sending mailings is a permission of the role (``CRM_MAILING_ROLES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
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


def may_send_mailings(user: ScopedUser) -> bool:
    """Whether ``user``'s role may send mailings (``CRM_MAILING_ROLES``: administrators and
    heads of sales by default). A mailing writes to many clients at once, so it is a
    permission of the role, not of the records."""
    return bool(user.is_active and user.role in settings.CRM_MAILING_ROLES)


@dataclass(frozen=True)
class MailingPolicy:
    """Who sees and runs mailings: only roles that may send them; an administrator sees
    every mailing, anyone else their own. A mailing one does not see is ``NotFound``."""

    def restrict(self, queryset: QuerySetT, user: ScopedUser) -> QuerySetT:
        """The mailings ``user`` sees."""
        if not may_send_mailings(user):
            return queryset.none()
        if user.role == Role.ADMIN:
            return queryset
        return queryset.filter(created_by_id=user.pk)

    def check(self, user: ScopedUser) -> None:
        """``PermissionDenied`` for a role that may not send mailings."""
        if not may_send_mailings(user):
            raise PermissionDenied(_("Your role may not send mailings."))


MAILING = MailingPolicy()

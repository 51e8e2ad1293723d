"""The row-level access policy shared by every app: roles and the owner-based scope.

A record has a responsible user (its *owner*) and may be shared with other users. Who sees
it follows from the viewer's role:

* administrator — everything;
* head of sales — records owned by members of the teams they lead, their own and shared;
* manager — their own records and the ones shared with them;
* read-only — the records of the teams they belong to and the ones shared with them.

Read-only users never change anything. ``core`` knows no concrete user model: the user
object passes in its role and the ids of the owners whose records it sees by role
(``User.scope_owner_ids``), computed by the accounts app. The rule itself is written once,
in ``crm.core.policies.OwnedRecordPolicy``, which also adds whom a user covers for.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    HEAD = "head", _("Head of sales")
    MANAGER = "manager", _("Manager")
    READONLY = "readonly", _("Read-only")


class ScopedUser(Protocol):
    pk: int
    role: str
    is_active: bool

    @property
    def scope_owner_ids(self) -> frozenset[int]: ...


def sees_everything(user: ScopedUser) -> bool:
    return bool(user.is_active and user.role == Role.ADMIN)


def can_write(user: ScopedUser) -> bool:
    """Whether the user may change customer data at all (read-only users may not)."""
    return bool(user.is_active and user.role != Role.READONLY)


def can_export(user: ScopedUser) -> bool:
    """Whether the user may export lists to files (``CRM_EXPORT_ROLES``: administrators and
    heads of sales by default). An export takes data out of the CRM for good, so it is a
    permission of the role and every export is written to the audit log."""
    return bool(user.is_active and user.role in settings.CRM_EXPORT_ROLES)


def can_export_everything(user: ScopedUser) -> bool:
    """Whether the user may export the whole base (administrators only)."""
    return sees_everything(user)


def can_import(user: ScopedUser) -> bool:
    """Whether the user may import files into the base: the roles of ``CRM_IMPORT_ROLES``
    (administrators and heads of sales by default). What they import stays within their
    scope (the records' responsible is someone they may assign to)."""
    return bool(user.is_active and user.role in settings.CRM_IMPORT_ROLES)


class SystemActor:
    """The CRM acting on its own (processing an incoming lead, a rule): sees everything,
    changes nothing by role. Never a signed-in user."""

    pk: int = 0
    role: str = Role.ADMIN
    is_active: bool = True
    username = "system"

    @property
    def scope_owner_ids(self) -> frozenset[int]:
        return frozenset()


SYSTEM = SystemActor()

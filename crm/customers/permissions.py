"""The access policies of the customer base: contacts and companies follow the owner rule;
custom fields are the administrator's."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.core.permissions import Role, ScopedUser
from crm.core.policies import AdminOnlyPolicy, OwnedRecordPolicy
from crm.planner.permissions import covered_owner_ids

CUSTOMER = OwnedRecordPolicy(cover=covered_owner_ids)
"""Contacts and companies: owner, the heads of the owner's teams, administrators, the
owner's substitute while they are away, and the users a record is shared with."""


def owners_in_scope(user: ScopedUser) -> frozenset[int] | None:
    """The users whose records ``user`` sees by ownership (``CUSTOMER.owner_ids``: their
    role's scope and whom they cover for), or ``None`` for an administrator (everyone's).

    The choices of "responsible" on a customer (with the user themselves) and the owner
    filter of the lists follow the same rule as ``CUSTOMER``'s scope.
    """
    return None if user.role == Role.ADMIN else CUSTOMER.owner_ids(user)


CUSTOM_FIELDS = AdminOnlyPolicy(_("Only an administrator may manage custom fields."))
"""The definitions of custom fields."""

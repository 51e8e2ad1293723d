"""What accounts declare in the registry (``crm.core.records``): the users and teams of
the full export of the base (without password hashes: an imported user sets a password)."""

from __future__ import annotations

from crm.accounts.models import Team, TeamMembership, User
from crm.accounts.services import users_restored_without_password
from crm.core.records import BaseTable

CONTRIBUTIONS = [
    BaseTable(
        "users", User, order=10, exclude=("password",), rebuild=users_restored_without_password
    ),
    BaseTable("teams", Team, order=11, many=("heads",)),
    BaseTable("team_members", TeamMembership, order=12),
]

"""The access policies of accounts: users, teams and the administration pages are the
administrator's."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.core.policies import AdminOnlyPolicy

USERS_AND_TEAMS = AdminOnlyPolicy(_("Only an administrator may manage users and teams."))
"""Writes to users, teams and roles."""

ADMIN_PAGES = AdminOnlyPolicy(_("Only an administrator may open this page."))
"""The administration pages and what they read (users, teams, the audit log)."""

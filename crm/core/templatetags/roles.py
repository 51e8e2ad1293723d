"""Template filters asking what the signed-in user's role allows (menus show only that)."""

from __future__ import annotations

from typing import Any

from django import template

from crm.core.permissions import can_import

register = template.Library()


@register.filter
def may_import(user: Any) -> bool:
    """``{% if user|may_import %}``: whether the user may import files."""
    return bool(getattr(user, "is_authenticated", False)) and can_import(user)

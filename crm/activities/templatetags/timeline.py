"""The timeline on a card: ``{% load timeline %}{% timeline %}`` renders it from the card's
context (``record``, ``entity`` — the kind's key —, ``timeline_page``; optionally
``timeline_form`` and ``timeline_kind``). The tag is this app's interface to the cards of
other apps, which never include its templates themselves."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("activities/partials/timeline.html", takes_context=True)
def timeline(context: template.Context) -> dict[str, Any]:
    """The card's timeline: the add form for a user who may write, the filter and entries."""
    values: dict[str, Any] = context.flatten()  # type: ignore[assignment]
    return values

"""The only tags and filters an e-mail template may use (``rendering.ENGINE``'s builtins).

Conditions, a local name and comments; filters that change case, cut text or give a
default. No loops (the values are plain text, and loops multiply output), no ``load``,
``include``, ``extends``, ``url``, ``now``, ``debug`` or any tag that reads beyond the values
given. Each entry is Django's own implementation, registered under its usual name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.template import Library, defaultfilters, defaulttags

register = Library()

TAGS = {
    "if": defaulttags.do_if,
    "with": defaulttags.do_with,
    "comment": defaulttags.comment,
    "firstof": defaulttags.firstof,
}
FILTERS: dict[str, Callable[..., Any]] = {
    "default": defaultfilters.default,
    "default_if_none": defaultfilters.default_if_none,
    "upper": defaultfilters.upper,
    "lower": defaultfilters.lower,
    "title": defaultfilters.title,
    "capfirst": defaultfilters.capfirst,
    "truncatechars": defaultfilters.truncatechars,
    "truncatewords": defaultfilters.truncatewords,
    "yesno": defaultfilters.yesno,
    "cut": defaultfilters.cut,
}

for name, compile_function in TAGS.items():
    register.tag(name, compile_function)
for name, filter_function in FILTERS.items():
    register.filter(name, filter_function)

"""Links resolved once, not per use: ``{% record_url 'customers:contact_detail' contact.pk %}``
is what ``{% url %}`` gives for a URL whose one argument is an integer id, and
``{% page_url 'customers:contact_list' %}`` for a URL without arguments, each name resolved
once per URL configuration, script prefix and language. A ``reverse`` costs about as much as
the rest of a row's cell: the contact list's fifty rows and their companies' links, and the
navigation's thirty links on every page."""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language

register = template.Library()

_MARK = 918_273_645
"""An id put in the URL to find where the id goes (any number the pattern does not hold)."""


@lru_cache(maxsize=256)
def _around(name: str, urlconf: str | None, prefix: str, language: str | None) -> tuple[str, str]:
    """The URL of ``name`` before and after its id (the key's other parts are what
    ``reverse`` depends on besides the name)."""
    before, found, after = reverse(name, args=[_MARK], urlconf=urlconf).rpartition(str(_MARK))
    if not found:
        raise template.TemplateSyntaxError(f"{name} does not take one integer id")
    return before, after


def record_url_parts(name: str) -> tuple[str, str]:
    """The URL of any record under the URL name ``name`` before and after its id, for
    code that links many records (a list's rows rendered in Python)."""
    return _around(name, get_urlconf(), get_script_prefix(), get_language())


@register.simple_tag
def record_url(name: str, pk: int) -> str:
    """The URL of the record ``pk`` under the URL name ``name`` (its one argument an id)."""
    before, after = record_url_parts(name)
    return f"{before}{int(pk)}{after}"


@lru_cache(maxsize=256)
def _page(name: str, urlconf: str | None, prefix: str, language: str | None) -> str:
    return reverse(name, urlconf=urlconf)


@register.simple_tag
def page_url(name: str) -> str:
    """The URL of the page ``name`` (no argument), resolved once per URL configuration,
    script prefix and language: the navigation's two dozen links on every page."""
    return _page(name, get_urlconf(), get_script_prefix(), get_language())

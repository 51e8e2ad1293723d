"""Rendering an e-mail's subject and body from a template, safely.

The template language is Django's, on an engine of its own (``ENGINE``): no loaders, no
autoescaping (the text is plain), and only the tags and filters of
``crm.correspondence.template_library``. The context is built by
``crm.correspondence.services.placeholders`` of plain dictionaries of text, never model
instances, so a template can read nothing but the values offered.

A placeholder that cannot be filled is found while rendering: an empty value is given as a
``Blank`` (false in ``{% if %}``, taken over by ``|default``) whose text is a private-use
marker, and an unknown name renders Django's ``string_if_invalid``, another marker with the
name. ``render_text`` answers the text without the markers and the names, in order, so the
caller can list them before anything is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.template import Context, Engine, TemplateSyntaxError
from django.utils.translation import gettext as _

from crm.core.errors import ValidationFailed

_BLANK_OPEN, _BLANK_CLOSE = "\ue000", "\ue001"
_UNKNOWN_OPEN, _UNKNOWN_CLOSE = "\ue002", "\ue003"
_MARKERS = re.compile(
    f"{_BLANK_OPEN}(\\d+){_BLANK_CLOSE}|{_UNKNOWN_OPEN}([^{_UNKNOWN_CLOSE}]*){_UNKNOWN_CLOSE}"
)
MAX_OUTPUT = 100_000

ENGINE = Engine(
    debug=True,  # syntax errors carry their line
    loaders=[],
    libraries={},
    builtins=["crm.correspondence.template_library"],
    autoescape=False,
    string_if_invalid=f"{_UNKNOWN_OPEN}%s{_UNKNOWN_CLOSE}",
)
# Engine() would add Django's default tags and filters as builtins; keep only ours.
ENGINE.template_builtins = ENGINE.get_template_builtins(["crm.correspondence.template_library"])


class Blank:
    """An empty value of a placeholder: false, and rendered as a marker naming it."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return f"{_BLANK_OPEN}{self.index}{_BLANK_CLOSE}"


@dataclass
class Rendered:
    """A rendered text and the placeholders (dotted names) that could not be filled."""

    text: str
    missing: list[str] = field(default_factory=list)


def with_blanks(values: dict[str, dict[str, str]]) -> tuple[dict[str, Any], list[str]]:
    """The context for ``render_text``: each empty value replaced by a ``Blank``; and the
    blanks' names by index."""
    names: list[str] = []
    context: dict[str, Any] = {}
    for group, items in values.items():
        context[group] = {}
        for key, value in items.items():
            if value in ("", None):
                context[group][key] = Blank(len(names))
                names.append(f"{group}.{key}")
            else:
                context[group][key] = value
    return context, names


def _line_of(error: TemplateSyntaxError) -> int | None:
    debug = getattr(error, "template_debug", None)
    return int(debug["line"]) if debug and debug.get("line") else None


def check_syntax(text: str, *, field_name: str) -> None:
    """Raise ``ValidationFailed`` naming ``field_name`` and the line when ``text`` is not a
    valid template of the allowed tags and filters."""
    _compile(text, field_name)


def _compile(text: str, field_name: str) -> Any:
    try:
        return ENGINE.from_string(text)
    except TemplateSyntaxError as error:
        line = _line_of(error)
        message = str(error.args[0]) if error.args else str(error)
        if line is not None:
            message = _("Line %(line)d: %(message)s") % {"line": line, "message": message}
        raise ValidationFailed(
            _("The template could not be read."), field_errors={field_name: [message]}
        ) from None


def render_text(
    text: str, context: dict[str, Any], blank_names: list[str], *, field_name: str
) -> Rendered:
    """Render ``text`` against ``context`` (from ``with_blanks``); a syntax error or an
    error while rendering raises ``ValidationFailed`` naming ``field_name``."""
    template = _compile(text, field_name)
    try:
        output = template.render(Context(context, autoescape=False))
    except Exception as error:  # a filter given a bad argument: the author's mistake
        raise ValidationFailed(
            _("The template could not be filled in."),
            field_errors={field_name: [f"{type(error).__name__}: {error}"[:300]]},
        ) from None
    missing: list[str] = []

    def _strip(match: re.Match[str]) -> str:
        name = blank_names[int(match.group(1))] if match.group(1) else match.group(2)
        if name and name not in missing:
            missing.append(name)
        return ""

    return Rendered(_MARKERS.sub(_strip, output)[:MAX_OUTPUT], missing)

"""The Content-Security-Policy: the strict default, how settings and views widen it.

No Django imports beyond the exception, so ``crm.config.settings`` can parse
``CRM_CSP_EXTRA`` at start-up and a typo stops every process before it serves a page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

# The strict policy. No inline script or style anywhere: behaviour lives in static files
# (crm.js handles data-confirm, data-autosubmit …), dynamic colours and widths are applied
# by script through the CSSOM, which style-src does not govern. A page that truly needs an
# inline block gives it ``nonce="{{ request.csp_nonce }}"``.
CSP_DEFAULT: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "connect-src": ("'self'",),
    "font-src": ("'self'",),
    "object-src": ("'none'",),
    "base-uri": ("'self'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}
NONCE_DIRECTIVES = ("script-src", "style-src")
KNOWN_DIRECTIVES = frozenset(
    {
        *CSP_DEFAULT,
        "child-src",
        "frame-src",
        "manifest-src",
        "media-src",
        "worker-src",
        "script-src-elem",
        "script-src-attr",
        "style-src-elem",
        "style-src-attr",
        "upgrade-insecure-requests",
    }
)


def parse_policy(text: str) -> dict[str, list[str]]:
    """``"img-src https://maps.example; connect-src wss://x"`` → directive → sources.

    Raises ``ImproperlyConfigured`` on a directive this module does not know (a typo would
    otherwise silently widen nothing and hide the mistake).
    """
    policy: dict[str, list[str]] = {}
    for part in text.split(";"):
        words = part.split()
        if not words:
            continue
        directive = words[0].lower()
        if directive not in KNOWN_DIRECTIVES:
            raise ImproperlyConfigured(f"CRM_CSP_EXTRA: unknown directive {directive!r}")
        if any(_QUOTE_OR_COMMA.search(source) for source in words[1:]):
            raise ImproperlyConfigured(f"CRM_CSP_EXTRA: malformed source in {part.strip()!r}")
        policy.setdefault(directive, []).extend(words[1:])
    return policy


def parse_report_uri(text: str) -> str:
    """``CRM_CSP_REPORT_URI``: one address, nothing that could end the directive."""
    text = text.strip()
    if any(character.isspace() or character in ';,"' for character in text):
        raise ImproperlyConfigured(f"CRM_CSP_REPORT_URI: not one address: {text!r}")
    return text


def csp_origin(url: str) -> list[str]:
    """The origin of ``url`` as a CSP source list (``[]`` if it is no plain http(s) origin).

    Only scheme and host go in: a path would be ignored after a redirect anyway, and a
    ``;`` or space from a stored address must never reach the header.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not _HOST.fullmatch(parts.netloc):
        return []
    return [f"{parts.scheme}://{parts.netloc}"]


_QUOTE_OR_COMMA = re.compile(r"[,\"]")
_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def build_policy(
    *, nonce: str, extra: Sequence[Mapping[str, Sequence[str]]] = (), report_uri: str = ""
) -> str:
    """The Content-Security-Policy value: the strict default, the nonce, then ``extra``.

    A source listed in ``extra`` for a directive is added to it (never replaces it);
    ``'none'`` is dropped when a directive gains a real source.
    """
    directives: dict[str, list[str]] = {
        name: list(sources) for name, sources in CSP_DEFAULT.items()
    }
    for name in NONCE_DIRECTIVES:
        directives[name].append(f"'nonce-{nonce}'")
    for additions in extra:
        for name, sources in additions.items():
            current = directives.setdefault(name, [])
            for source in sources:
                if source not in current:
                    current.append(source)
            if len(current) > 1 and "'none'" in current:
                current.remove("'none'")
    parts = [" ".join([name, *sources]) for name, sources in directives.items()]
    if report_uri:
        parts.append(f"report-uri {report_uri}")
    return "; ".join(parts)

"""One-click unsubscribe links (RFC 8058): the signed token of an address, its URL and the
``List-Unsubscribe`` headers a mailing carries.

A token names a contact and one of its e-mail addresses — by a keyed digest, so the link
does not show the address — and is signed with the site's secret (``django.core.signing``,
its own salt): it cannot be guessed or changed, and it keeps working after the contact's
addresses are edited (points are rewritten on each edit) as long as the address is there.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.urls import reverse

from crm.customers.choices import ContactPointKind
from crm.customers.models import Contact, ContactPoint

SALT = "crm.mailings.unsubscribe"
TOKEN_MAX = 200
ONE_CLICK = "List-Unsubscribe=One-Click"


def _signer() -> signing.Signer:
    """No timestamp: the same address always has the same link, valid for good."""
    return signing.Signer(salt=SALT)


def _address_digest(value: str) -> str:
    key = (settings.SECRET_KEY + SALT).encode()
    return hmac.new(key, value.lower().encode(), hashlib.sha256).hexdigest()[:24]


def unsubscribe_token(point: ContactPoint) -> str:
    """The signed token of a contact's e-mail address ``point``."""
    if point.contact_id is None or point.kind != ContactPointKind.EMAIL:
        raise ValueError("Only a contact's e-mail address has an unsubscribe token.")
    return _signer().sign_object([point.contact_id, _address_digest(point.value)])


def unsubscribe_url(point: ContactPoint) -> str:
    """The public page that unsubscribes ``point`` (absolute, on ``CRM_BASE_URL``)."""
    return settings.CRM_BASE_URL + reverse("mailings:unsubscribe", args=[unsubscribe_token(point)])


def unsubscribe_headers(point: ContactPoint) -> dict[str, str]:
    """The headers of a mailing's message to ``point``: ``List-Unsubscribe`` with the
    one-click URL and a ``mailto:`` (``CRM_UNSUBSCRIBE_MAILTO``, when set), and
    ``List-Unsubscribe-Post`` (RFC 8058)."""
    token = unsubscribe_token(point)
    links = [f"<{unsubscribe_url(point)}>"]
    if settings.CRM_UNSUBSCRIBE_MAILTO:
        subject = quote(f"unsubscribe {token}")
        links.append(f"<mailto:{settings.CRM_UNSUBSCRIBE_MAILTO}?subject={subject}>")
    return {"List-Unsubscribe": ", ".join(links), "List-Unsubscribe-Post": ONE_CLICK}


def unsubscribe_point(token: str) -> ContactPoint | None:
    """The address a token names, or ``None`` for a malformed or forged token or an address
    that is gone (the callers answer all three alike). A merged contact's address is looked
    for on the record it was merged into."""
    if not token or len(token) > TOKEN_MAX:
        return None
    try:
        contact_id, digest = _signer().unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(contact_id, int) or not isinstance(digest, str):
        return None
    for _hop in range(5):
        points = ContactPoint.objects.filter(contact_id=contact_id, kind=ContactPointKind.EMAIL)
        for point in points:
            if hmac.compare_digest(_address_digest(point.value), digest):
                return point
        merged_into = (
            Contact.objects.filter(pk=contact_id).values_list("merged_into_id", flat=True).first()
        )
        if merged_into is None:
            return None
        contact_id = merged_into
    return None

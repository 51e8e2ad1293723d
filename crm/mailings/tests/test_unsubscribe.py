"""One-click unsubscribe: the token, the headers, the public page and the RFC 8058 POST
without a session or a CSRF token."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from django.core import signing
from django.test import Client

from crm.activities.models import TimelineEntry
from crm.customers.models import ContactPoint
from crm.customers.services import contact_update
from crm.customers.services.merge import contact_merge
from crm.mailings.selectors import segment_count
from crm.mailings.spec import spec_clean
from crm.mailings.tests.conftest import contact_with, email_of
from crm.mailings.unsubscribe import (
    SALT,
    unsubscribe_headers,
    unsubscribe_point,
    unsubscribe_token,
    unsubscribe_url,
)


@pytest.fixture
def point(org):
    return email_of(contact_with(org.manager, "ivan@example.com", last_name="Иванов"))


def path_of(point) -> str:
    return urlparse(unsubscribe_url(point)).path


def one_click(path: str, client: Client | None = None):
    client = client or Client(enforce_csrf_checks=True)
    return client.post(
        path,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )


def without_nonce(content: bytes) -> bytes:
    return re.sub(rb'nonce="[^"]*"', b"", content)


def unsubscribe_entries(contact_id: int) -> int:
    return TimelineEntry.objects.filter(
        subject_id=contact_id, title="Unsubscribed from mailings"
    ).count()


def test_the_url_and_headers(point, settings):
    settings.CRM_BASE_URL = "https://crm.example.com"
    settings.CRM_UNSUBSCRIBE_MAILTO = "unsubscribe@example.com"
    url = unsubscribe_url(point)
    assert url.startswith("https://crm.example.com/mailings/unsubscribe/")
    assert "ivan" not in url  # the address is not readable from the link
    headers = unsubscribe_headers(point)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith(
        f"<{url}>, <mailto:unsubscribe@example.com?subject="
    )
    settings.CRM_UNSUBSCRIBE_MAILTO = ""
    assert unsubscribe_headers(point)["List-Unsubscribe"] == f"<{url}>"


def test_only_a_contacts_email_has_a_token(org, point):
    phone = ContactPoint.objects.create(contact=point.contact, kind="phone", value="+79031112233")
    with pytest.raises(ValueError):
        unsubscribe_token(phone)


def test_one_click_post_without_a_session_unsubscribes_at_once(point):
    response = one_click(path_of(point))
    assert response.status_code == 200
    point.refresh_from_db()
    assert point.unsubscribed_at is not None
    assert unsubscribe_entries(point.contact_id) == 1
    assert segment_count(user=point.contact.owner, spec=spec_clean({})).recipients == 0


def test_it_is_idempotent(point):
    path = path_of(point)
    assert one_click(path).status_code == 200
    point.refresh_from_db()
    first = point.unsubscribed_at
    assert one_click(path).status_code == 200
    point.refresh_from_db()
    assert point.unsubscribed_at == first
    assert unsubscribe_entries(point.contact_id) == 1


def test_get_shows_a_confirm_button_and_changes_nothing(point):
    response = Client().get(path_of(point))
    assert response.status_code == 200
    assert b'method="post"' in response.content
    point.refresh_from_db()
    assert point.unsubscribed_at is None


def test_the_confirm_button_posts_without_csrf(point):
    response = Client(enforce_csrf_checks=True).post(
        path_of(point), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    point.refresh_from_db()
    assert point.unsubscribed_at is not None


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "W1sxLCJhYmMiXV0:1abc:forged",
        "x" * 300,
        "%00",
    ],
)
def test_bad_tokens_answer_404_and_change_nothing(point, token):
    for method in ("get", "post"):
        response = getattr(Client(enforce_csrf_checks=True), method)(
            f"/mailings/unsubscribe/{token}/"
        )
        assert response.status_code == 404
    point.refresh_from_db()
    assert point.unsubscribed_at is None


def test_a_forged_payload_with_another_key_is_refused(point):
    forged = signing.Signer(key="not-the-secret", salt=SALT).sign_object(
        [point.contact_id, "0" * 24]
    )
    assert one_click(f"/mailings/unsubscribe/{forged}/").status_code == 404
    other_salt = signing.Signer(salt="other").sign_object([point.contact_id, "0" * 24])
    assert one_click(f"/mailings/unsubscribe/{other_salt}/").status_code == 404


def test_a_removed_address_looks_like_a_bad_token(org, point):
    path = path_of(point)
    contact_update(
        actor=org.manager, contact=point.contact, data={"emails": ["new@example.com"]}, partial=True
    )
    missing = one_click(path)
    bad = one_click("/mailings/unsubscribe/garbage/")
    assert missing.status_code == bad.status_code == 404
    assert without_nonce(missing.content) == without_nonce(bad.content)
    assert not ContactPoint.objects.filter(unsubscribed_at__isnull=False).exists()


def test_the_link_survives_an_edit_and_the_mark_survives_it_too(org, point):
    path = path_of(point)
    contact_update(
        actor=org.manager,
        contact=point.contact,
        data={"emails": ["other@example.com", "ivan@example.com"]},
        partial=True,
    )
    assert one_click(path).status_code == 200
    contact_update(
        actor=org.manager,
        contact=point.contact,
        data={"emails": ["ivan@example.com", "third@example.com"], "first_name": "Пётр"},
        partial=True,
    )
    kept = ContactPoint.objects.get(contact=point.contact, value="ivan@example.com")
    assert kept.unsubscribed_at is not None
    assert (
        ContactPoint.objects.get(contact=point.contact, value="third@example.com").unsubscribed_at
        is None
    )


def test_a_merge_keeps_the_unsubscribe_and_the_link(org, point):
    path = path_of(point)
    survivor = contact_with(org.manager, "ivan@example.com", last_name="Иванов")
    assert one_click(path).status_code == 200
    contact_merge(actor=org.manager, survivor=survivor, merged=point.contact, choices={})
    assert ContactPoint.objects.get(contact=survivor, value="ivan@example.com").unsubscribed_at
    assert one_click(path).status_code == 200  # the link of the merged record still resolves
    assert unsubscribe_point(path.split("/")[-2]).contact_id == survivor.pk


def test_requests_are_throttled_per_address(point, settings):
    settings.CRM_UNSUBSCRIBE_RATE_LIMIT = 3
    path = path_of(point)
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.9")
    statuses = [client.get("/mailings/unsubscribe/garbage/").status_code for _ in range(3)]
    assert statuses == [404, 404, 404]
    refused = one_click(path, client)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    point.refresh_from_db()
    assert point.unsubscribed_at is None
    other = Client(enforce_csrf_checks=True, REMOTE_ADDR="198.51.100.7")
    assert one_click(path, other).status_code == 200


def test_the_page_speaks_both_languages(point):
    russian = Client(HTTP_ACCEPT_LANGUAGE="ru").get(path_of(point))
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get(path_of(point))
    assert "Отписаться".encode() in russian.content
    assert b"Unsubscribe" in english.content

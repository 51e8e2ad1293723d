"""The hosted web form page passes the strict Content-Security-Policy."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from crm.leads.models import WebForm

pytestmark = pytest.mark.django_db

FIELDS = [{"name": "name", "label": "Имя", "type": "text", "required": True}]


def test_hosted_form_allows_its_redirect_and_styles_only_by_nonce():
    form = WebForm.objects.create(
        key="csp-form", name="Заявка", fields=FIELDS, redirect_url="https://shop.example.org/ok"
    )

    response = Client().get(f"/f/{form.key}")

    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "form-action 'self' https://shop.example.org;" in policy
    assert "frame-ancestors 'none'" in policy
    nonce = re.search(r"style-src 'self' 'nonce-([^']+)'", policy)
    assert nonce is not None
    assert f'<style nonce="{nonce.group(1)}">'.encode() in response.content
    assert b"<style>" not in response.content


def test_message_page_has_no_javascript_link():
    form = WebForm.objects.create(key="csp-form", name="Заявка", fields=FIELDS)

    response = Client().post(
        f"/f/{form.key}", data={"name": "Ирина"}, headers={"Origin": "https://other.example"}
    )

    assert response.status_code == 403
    assert b'href="/f/csp-form"' in response.content
    assert b"javascript:" not in response.content
    assert b"<style>" not in response.content

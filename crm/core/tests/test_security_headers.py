"""The browser policy headers: a strict CSP with a nonce, Permissions-Policy, COOP and
no-store on every answer but static files."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings

from conftest import client_for
from crm.core.csp import build_policy, csp_origin, parse_policy, parse_report_uri
from crm.core.middleware import SecurityHeadersMiddleware

pytestmark = pytest.mark.django_db

STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(header: str) -> dict[str, str]:
    parts = [part.strip().split(None, 1) for part in header.split(";") if part.strip()]
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def assert_hardened(response: HttpResponse) -> dict[str, str]:
    policy = directives(response["Content-Security-Policy"])
    for name, sources in STRICT.items():
        assert policy[name].startswith(sources), name
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    assert response["Pragma"] == "no-cache"
    return policy


def test_anonymous_sign_in_page_has_the_strict_policy():
    response = Client().get("/accounts/login/")

    assert response.status_code == 200
    assert_hardened(response)
    assert response["X-Frame-Options"] == "DENY"


def test_signed_in_page_is_not_stored_and_has_the_policy(org):
    response = client_for(org.manager).get("/customers/contacts/")

    assert response.status_code == 200
    assert_hardened(response)


def test_the_nonce_is_fresh_per_request_and_reaches_the_template(org):
    client = client_for(org.manager)
    first = directives(client.get("/customers/contacts/")["Content-Security-Policy"])
    second = directives(client.get("/customers/contacts/")["Content-Security-Policy"])

    nonce = re.search(r"'nonce-([^']+)'", first["script-src"])
    assert nonce and len(nonce.group(1)) >= 20
    assert f"'nonce-{nonce.group(1)}'" in first["style-src"]
    assert first["script-src"] != second["script-src"]


def test_api_answers_and_exports_are_not_stored(org):
    client = client_for(org.manager)

    api = client.get("/api/v1/contacts")
    export = client_for(org.head).get("/customers/contacts/export.csv", follow=True)

    assert api.status_code == 200
    assert_hardened(api)
    assert export.status_code == 200
    assert "no-store" in export["Cache-Control"]


def test_unknown_api_path_is_not_stored_either():
    response = Client().get("/api/v1/nothing-here")

    assert response.status_code in (401, 404)
    assert "no-store" in response["Cache-Control"]


def test_static_files_stay_cacheable():
    def static_answer(request: HttpRequest) -> HttpResponse:
        response = HttpResponse("body{}", content_type="text/css")
        response["Cache-Control"] = "max-age=31536000, public, immutable"
        return response

    request = RequestFactory().get("/static/css/crm.css")
    response = SecurityHeadersMiddleware(static_answer)(request)

    assert response["Cache-Control"] == "max-age=31536000, public, immutable"
    assert "Content-Security-Policy" not in response
    assert "Pragma" not in response


@override_settings(
    CRM_CSP_EXTRA=parse_policy(
        "img-src https://maps.example.org; connect-src wss://live.example.org"
    )
)
def test_extra_sources_widen_the_policy_without_replacing_it():
    policy = directives(Client().get("/accounts/login/")["Content-Security-Policy"])

    assert policy["img-src"] == "'self' data: https://maps.example.org"
    assert policy["connect-src"] == "'self' wss://live.example.org"
    assert policy["script-src"].startswith("'self' 'nonce-")


@override_settings(CRM_CSP_REPORT_ONLY=True, CRM_CSP_REPORT_URI="/csp-reports/")
def test_report_only_switch_sends_the_policy_as_a_report():
    response = Client().get("/accounts/login/")

    assert "Content-Security-Policy" not in response
    policy = directives(response["Content-Security-Policy-Report-Only"])
    assert policy["report-uri"] == "/csp-reports/"
    assert policy["default-src"] == "'self'"


def test_a_typo_in_the_extra_policy_is_refused():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="imgsrc"):
        parse_policy("imgsrc https://x.example")
    with pytest.raises(ImproperlyConfigured, match="malformed"):
        parse_policy('img-src "https://x.example"')
    with pytest.raises(ImproperlyConfigured, match="not one address"):
        parse_report_uri("/r/; script-src *")


def test_a_typo_in_the_extra_policy_stops_the_start():
    import subprocess
    import sys

    environment = {"CRM_CSP_EXTRA": "img-scr https://maps.example.org"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )

    assert result.returncode != 0
    assert "unknown directive 'img-scr'" in result.stderr


def test_none_gives_way_to_a_real_source():
    policy = directives(build_policy(nonce="n", extra=[{"object-src": ["https://x.example"]}]))

    assert policy["object-src"] == "https://x.example"


def test_only_the_origin_of_a_stored_address_reaches_the_header():
    assert csp_origin("https://shop.example.org/thanks?x=1;script-src *") == [
        "https://shop.example.org"
    ]
    assert csp_origin("javascript:alert(1)") == []
    assert csp_origin("https://bad host;/") == []


@override_settings(DEBUG=True)
def test_debug_error_pages_keep_their_inline_styles_but_stay_uncached():
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert "Content-Security-Policy" not in response
    assert "no-store" in response["Cache-Control"]


def test_a_policy_set_by_the_view_is_kept():
    """Downloads carry ``sandbox``; the middleware does not replace a view's own policy."""

    def download(request: HttpRequest) -> HttpResponse:
        answer = HttpResponse(b"x", content_type="application/octet-stream")
        answer["Content-Security-Policy"] = "sandbox"
        answer["Cache-Control"] = "private, max-age=0"
        return answer

    response = SecurityHeadersMiddleware(download)(RequestFactory().get("/sales/documents/1/"))

    assert response["Content-Security-Policy"] == "sandbox"
    assert "no-store" in response["Cache-Control"]

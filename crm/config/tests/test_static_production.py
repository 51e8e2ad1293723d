"""Production static files: ``collectstatic`` with the hashed storage succeeds and pages use it.

``make assets`` must have copied the vendored files (``make test`` depends on it).
"""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from conftest import client_for

pytestmark = pytest.mark.django_db

PRODUCTION_STATIC_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


@pytest.fixture
def collected(settings, tmp_path) -> dict[str, str]:
    """Run ``collectstatic`` into a fresh STATIC_ROOT with the storage production uses and
    return the manifest's paths (original name → hashed name)."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": PRODUCTION_STATIC_STORAGE},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    paths: dict[str, str] = manifest["paths"]
    return paths


def test_collectstatic_hashes_the_vendored_files_and_their_source_maps(collected):
    for name in (
        "vendor/bootstrap.min.css",
        "vendor/bootstrap.min.css.map",
        "vendor/bootstrap.bundle.min.js",
        "vendor/bootstrap.bundle.min.js.map",
        "vendor/htmx.min.js",
        "vendor/Sortable.min.js",
        "vendor/echarts.min.js",
        "vendor/langRU.js",
        "ninja/swagger-ui-bundle.js",
        "ninja/swagger-ui.css",
    ):
        assert name in collected, name


def test_pages_render_the_hashed_static_addresses(collected, org):
    login = client_for(None).get("/accounts/login/")
    assert login.status_code == 200
    assert f"/static/{collected['vendor/bootstrap.min.css']}".encode() in login.content

    home = client_for(org.admin).get("/", follow=True)
    assert home.status_code == 200
    assert f"/static/{collected['vendor/htmx.min.js']}".encode() in home.content

    docs = client_for(org.admin).get("/api/v1/docs")
    assert docs.status_code == 200
    assert f"/static/{collected['ninja/swagger-ui-bundle.js']}".encode() in docs.content

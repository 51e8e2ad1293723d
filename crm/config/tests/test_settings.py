"""Settings read from the environment: debug only when asked, database connections bounded.

Each case imports the settings in a fresh interpreter with exactly the variables it names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "db = s.DATABASES['default']; "
    "print(json.dumps({'debug': s.DEBUG, 'conn_max_age': db.get('CONN_MAX_AGE'), "
    "'health_checks': db.get('CONN_HEALTH_CHECKS'), "
    "'options': db.get('OPTIONS', {}).get('options')}))"
)


def settings_with(tmp_path: Path, **variables: str) -> dict[str, object]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("CRM_") and name != "DATABASE_URL"
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "crm.config.settings",
        "CRM_VAR_DIR": str(tmp_path),
        "CRM_SECRET_KEY": "a-test-key-" + "x" * 50,
        **variables,
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout)
    return result


@pytest.mark.slow
def test_debug_is_off_unless_asked_for(tmp_path):
    assert settings_with(tmp_path)["debug"] is False
    assert settings_with(tmp_path, CRM_DEBUG="1")["debug"] is True
    assert settings_with(tmp_path, CRM_DEBUG="0")["debug"] is False


@pytest.mark.slow
@pytest.mark.parametrize("production", ["0", "1"])
def test_database_connections_close_after_each_request_by_default(tmp_path, production):
    db = settings_with(
        tmp_path,
        DATABASE_URL="postgres://crm@127.0.0.1:5432/crm",
        CRM_PRODUCTION=production,
        CRM_ALLOWED_HOSTS="crm.example.com",
    )
    assert db["conn_max_age"] == 0
    assert db["health_checks"] is True


@pytest.mark.slow
def test_persistent_connections_only_when_asked_for_and_checked_before_reuse(tmp_path):
    db = settings_with(
        tmp_path,
        DATABASE_URL="postgres://crm@127.0.0.1:5432/crm",
        CRM_DB_CONN_MAX_AGE="60",
    )
    assert db["conn_max_age"] == 60
    assert db["health_checks"] is True


@pytest.mark.slow
def test_postgresql_connections_run_without_jit_unless_the_url_says_otherwise(tmp_path):
    db = settings_with(tmp_path, DATABASE_URL="postgres://crm@127.0.0.1:5432/crm")
    assert db["options"] == "-c jit=off"
    db = settings_with(
        tmp_path, DATABASE_URL="postgres://crm@127.0.0.1:5432/crm?options=-c%20jit%3Don"
    )
    assert db["options"] == "-c jit=on"
    assert settings_with(tmp_path)["options"] is None  # SQLite

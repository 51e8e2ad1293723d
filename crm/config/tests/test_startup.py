"""Start-up stays light: libraries that serve one feature are imported by that feature.

A fresh interpreter sets Django up, runs the system checks and loads every URL (each view
module and the whole API), as a web worker does before its first request; none of the
libraries below may be loaded by then (bench/startup.py measures what they cost).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
# The iCal feed, the 2FA QR code, e-mail checks, the duplicate check, PDF and Word documents.
FEATURE_LIBRARIES = ["icalendar", "segno", "email_validator", "rapidfuzz", "fpdf", "docxtpl"]
PROBE = (
    "import json, sys, django; django.setup(); "
    "from django.core.management import call_command; call_command('check', verbosity=0); "
    "from django.urls import get_resolver; get_resolver().url_patterns; "
    "import crm.config.wsgi; "
    f"print(json.dumps([name for name in {FEATURE_LIBRARIES!r} if name in sys.modules]))"
)


@pytest.mark.slow
def test_a_worker_starts_without_the_libraries_of_single_features(tmp_path):
    env = {name: value for name, value in os.environ.items() if not name.startswith("CRM_")}
    env |= {
        "DJANGO_SETTINGS_MODULE": "crm.config.settings",
        "CRM_VAR_DIR": str(tmp_path),
        "CRM_SECRET_KEY": "a-test-key-" + "x" * 50,
    }
    env.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []

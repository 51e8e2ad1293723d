"""``make run``'s scripts: debug only on loopback, e-mail links to the served address, a busy
port refused before anything starts, no persistent database connections."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def dev_env(**variables: str) -> dict[str, str]:
    """What ``scripts/dev_env.sh`` exports and sets for the given HOST/PORT/overrides."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CRM_")}
    env |= variables
    script = (
        ". scripts/dev_env.sh; "
        'printf "%s\\n" "CRM_DEBUG=$CRM_DEBUG" "CRM_BASE_URL=$CRM_BASE_URL" '
        '"CRM_ALLOWED_HOSTS=${CRM_ALLOWED_HOSTS:-}" "CRM_DB_CONN_MAX_AGE=$CRM_DB_CONN_MAX_AGE" '
        '"BIND=$BIND" "ARGS=${RUNSERVER_ARGS[*]}"'
    )
    out = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return dict(line.split("=", 1) for line in out.stdout.splitlines())


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_debug_is_on_for_a_loopback_address(host):
    env = dev_env(HOST=host, PORT="8105")
    assert env["CRM_DEBUG"] == "1"
    assert "--insecure" not in env["ARGS"]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])  # noqa: S104
def test_debug_stays_off_on_any_other_address_even_when_asked(host):
    env = dev_env(HOST=host, PORT="8105", CRM_DEBUG="1")
    assert env["CRM_DEBUG"] == "0"
    # Static files are still served by the development server without debug.
    assert "--insecure" in env["ARGS"]


def test_links_in_emails_go_to_the_served_address_unless_set():
    assert dev_env(HOST="127.0.0.1", PORT="8107")["CRM_BASE_URL"] == "http://127.0.0.1:8107"
    assert dev_env(HOST="::1", PORT="8107")["CRM_BASE_URL"] == "http://[::1]:8107"
    lan = dev_env(HOST="192.168.1.20", PORT="8107")
    assert lan["CRM_BASE_URL"] == "http://192.168.1.20:8107"
    assert "192.168.1.20" in lan["CRM_ALLOWED_HOSTS"].split(",")
    chosen = dev_env(HOST="127.0.0.1", PORT="8107", CRM_BASE_URL="https://crm.example.com")
    assert chosen["CRM_BASE_URL"] == "https://crm.example.com"


def test_the_development_server_keeps_no_database_connection_between_requests():
    env = dev_env(HOST="127.0.0.1", PORT="8105", CRM_DB_CONN_MAX_AGE="60")
    assert env["CRM_DB_CONN_MAX_AGE"] == "0"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_make_run_on_a_busy_port_says_so_and_starts_nothing(busy_port, tmp_path):
    started = time.monotonic()
    out = subprocess.run(
        ["bash", "scripts/run.sh"],
        cwd=ROOT,
        env={
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(busy_port),
            "CRM_VAR_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 1
    assert f"port {busy_port} on 127.0.0.1 is already in use" in out.stderr
    assert "CRM is running" not in out.stdout
    # It stopped at the check: nothing was started (no Django process ran).
    assert time.monotonic() - started < 5
    assert not (tmp_path / "secret_key").exists()

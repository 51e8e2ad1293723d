"""Fixtures shared by every app's tests: a small sales organisation with each role."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.test import Client

from crm.accounts.models import User
from crm.accounts.tests.factories import PASSWORD, TeamFactory, UserFactory, add_member
from crm.core.permissions import Role


@dataclass
class Org:
    """Users of two teams: ``head`` leads team A (``manager`` and ``colleague``);
    ``outsider`` is in team B; ``viewer`` is read-only in team A; ``admin`` sees all."""

    admin: User
    head: User
    manager: User
    colleague: User
    outsider: User
    viewer: User


def settings_for_tests(folder: Path, name: str) -> dict[str, Any]:
    """The settings every test runs with: media under ``folder``, a local-memory cache of its
    own (``name``), jobs run at once, a fast password hasher, no forced two-factor sign-in."""
    return {
        "MEDIA_ROOT": folder / "media",
        "CACHES": {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": f"test-{name}",
            }
        },
        "TASKS": {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}},
        "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
        # The fixtures sign administrators in with force_login; the tests of two-factor
        # sign-in turn the obligation on themselves (production's default is "admins").
        "CRM_2FA_REQUIRED": "none",
    }


@pytest.fixture(autouse=True)
def _media_and_cache(settings, tmp_path):
    for name, value in settings_for_tests(tmp_path, tmp_path.name).items():
        setattr(settings, name, value)
    from django.core.cache import cache

    cache.clear()


def _database_use(item: pytest.Item) -> int:
    """pytest-django's order of tests: 0 in a rolled-back transaction, 1 flushing the tables
    (the browser tests; the flush also empties the data of migrations), 2 without a database."""
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", [])
    if marker is not None and (marker.kwargs.get("transaction") or marker.args[:1] == (True,)):
        return 1
    if "transactional_db" in fixtures or "live_server" in fixtures:
        return 1
    return 0 if marker is not None or "db" in fixtures else 2


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the ``slow`` tests first, so that xdist runs each beside the quick ones instead
    of alone at the end. The order of pytest-django (after whose sort this runs) is kept
    where it matters: every test that flushes the tables still comes after every test that
    needs the data of migrations, so the slow ones among them lead only their own group."""

    def key(item: pytest.Item) -> tuple[int, bool]:
        use, slow = _database_use(item), item.get_closest_marker("slow") is not None
        return (-1 if slow and use != 1 else use, not slow)

    items.sort(key=key)


@pytest.fixture
def org(db) -> Org:
    team_a, team_b = TeamFactory(name="Москва"), TeamFactory(name="Питер")
    admin = UserFactory(username="admin", role=Role.ADMIN)
    head = UserFactory(username="head", role=Role.HEAD)
    manager = UserFactory(username="manager")
    colleague = UserFactory(username="colleague")
    outsider = UserFactory(username="outsider")
    viewer = UserFactory(username="viewer", role=Role.READONLY)
    for user in (head, manager, colleague, viewer):
        add_member(team_a, user)
    add_member(team_b, outsider)
    team_a.heads.add(head)
    return Org(admin, head, manager, colleague, outsider, viewer)


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def password() -> str:
    return PASSWORD


def run_together(target: Callable[..., object], args_list: list[tuple]) -> None:
    """Run ``target(*args)`` for each ``args`` in a thread of its own, with its own database
    connection (transactional tests of concurrent requests): the threads start together (a
    barrier); waits for all and re-raises any error."""
    barrier = threading.Barrier(len(args_list))
    errors: list[BaseException] = []

    def run(*args):
        try:
            barrier.wait(timeout=10)
            target(*args)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=args) for args in args_list]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


ROOT = Path(__file__).resolve().parent


def process_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a real ``manage.py`` process started by a test: its own SQLite
    file in ``var_dir`` (not the server database, cache or tasks backend the test run may
    have), unbuffered output, and ``extra`` variables."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CRM_REDIS_URL", "CRM_TASKS_BACKEND"}
    }
    env.update(CRM_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", **extra)
    return env


def manage(var_dir: Path, *args: str, timeout: float = 300, **extra: str) -> str:
    """Run ``manage.py *args`` in a process of its own (``process_env``); its output."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=process_env(var_dir, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return done.stdout

"""``manage.py two_factor_setup USERNAME --secret-file PATH``: turn on two-factor sign-in for
an account without a phone — a monitoring or CI check that signs in as an administrator.

The new TOTP secret is written to ``PATH`` (mode 0600, never printed); the script that signs
in computes codes from it (``pyotp.TOTP(secret).now()``). No recovery codes are made. An
authenticator the user already has is replaced. Recorded in the audit log.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.accounts.models import User
from crm.accounts.two_factor import two_factor_enable_with_secret


class Command(BaseCommand):
    help = "Turn on two-factor sign-in for a user; the secret goes to a file (mode 0600)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--secret-file", required=True, type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        username = User.normalize_username(options["username"])
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        path: Path = options["secret_file"]
        secret = two_factor_enable_with_secret(user=user)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secret + "\n")
        os.chmod(path, 0o600)
        self.stdout.write(f"Two-factor sign-in is on for {username}; the secret is in {path}.")

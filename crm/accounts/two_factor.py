"""Two-factor sign-in: TOTP authenticators (RFC 6238), recovery codes and the pending sign-in.

The services here are the only writers of ``TwoFactorDevice`` and ``RecoveryCode``. Every
change is recorded in the audit log (``security_event_record``); no secret, code or
recovery code is ever logged or stored in the clear:

- the TOTP secret is encrypted with a key derived from ``SECRET_KEY`` (Fernet; the keys of
  ``SECRET_KEY_FALLBACKS`` still decrypt, so a rotated key does not lock anyone out) and is
  shown only on the set-up page, before the user confirms it;
- recovery codes carry 80 random bits and only their SHA-256 is stored (like API tokens);
- a code is accepted at most once: the device remembers the last time step used, and the
  step is claimed with a conditional ``UPDATE``, so two requests racing with the same code
  cannot both win.

Wrong codes are counted per user *before* the code is checked, in a ``core.Counter`` row (one
conditional ``UPDATE``), so parallel guesses cannot slip past the limit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

import pyotp
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.contrib.auth import login
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import RecoveryCode, SecurityEvent, TwoFactorDevice, User
from crm.accounts.services import security_event_record
from crm.core.counters import counter_increment, counter_reset
from crm.core.errors import DomainError, PermissionDenied, ValidationFailed
from crm.core.permissions import Role

RECOVERY_CODE_COUNT = 10
PENDING_SESSION_KEY = "two_factor_pending"
PENDING_SECONDS = 5 * 60
_STEP_SECONDS = 30
_DIGITS = 6
_RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def _clock() -> float:
    """Now, in seconds since the epoch (the tests move it to another time step)."""
    return time.time()


class TwoFactorThrottled(DomainError):
    """Too many wrong codes for this user in the window; nothing was checked."""


# --- secrets ---------------------------------------------------------------------------------


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet(
        [
            Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"crm.2fa:{key}".encode()).digest()))
            for key in keys
        ]
    )


def _encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def _decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:  # SECRET_KEY changed without a fallback
        raise ValidationFailed(
            _("The authenticator cannot be read; ask an administrator.")
        ) from error


def _hash_recovery(code: str) -> str:
    return hashlib.sha256(_normalise_recovery(code).encode()).hexdigest()


def _normalise_recovery(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


# --- reads -----------------------------------------------------------------------------------


def two_factor_device(*, user: User) -> TwoFactorDevice | None:
    """The user's authenticator, confirmed or still being set up, or ``None``."""
    return TwoFactorDevice.objects.filter(user=user).first()


def two_factor_is_enabled(*, user: User) -> bool:
    """Whether signing in as ``user`` takes a second step (a confirmed authenticator)."""
    return TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def two_factor_is_required(*, user: User) -> bool:
    """Whether ``CRM_2FA_REQUIRED`` obliges ``user`` to turn two-factor sign-in on."""
    required = settings.CRM_2FA_REQUIRED
    return required == "all" or (required == "admins" and user.role == Role.ADMIN)


def recovery_codes_left(*, user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def two_factor_provisioning_uri(*, device: TwoFactorDevice) -> str:
    """The ``otpauth://`` address the authenticator app reads from the QR code."""
    return pyotp.TOTP(_decrypt(device.secret_encrypted)).provisioning_uri(
        name=device.user.username, issuer_name=settings.CRM_2FA_ISSUER
    )


def two_factor_secret(*, device: TwoFactorDevice) -> str:
    """The secret in groups of four, for typing into an app; only while not confirmed."""
    if device.is_confirmed:
        raise PermissionDenied(_("The secret is shown only while setting up."))
    secret = _decrypt(device.secret_encrypted)
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_data_uri(text: str) -> str:
    """An SVG QR code of ``text`` as a ``data:`` address (allowed by the CSP's img-src)."""
    import segno  # only the set-up page draws a code: not imported at start-up

    return str(segno.make(text, error="m").svg_data_uri(scale=5, border=2))


# --- checking codes --------------------------------------------------------------------------


def _throttle_key(user: User) -> str:
    return f"2fa-throttle:{user.pk}"


def _count_attempt(user: User) -> bool:
    """Count one attempt atomically before checking it; False when over the limit.

    The counter is a ``core.Counter`` row (one conditional ``UPDATE``), like the sign-in
    throttle's: the database cache's ``incr`` reads and writes back, so codes guessed at
    once on several processes could each see the count below the limit.
    """
    count = counter_increment(
        key=_throttle_key(user), window_seconds=settings.CRM_2FA_THROTTLE_WINDOW_SECONDS
    )
    return count <= settings.CRM_2FA_THROTTLE_LIMIT


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (now ±1) whose TOTP equals ``code``, or ``None``."""
    totp = pyotp.TOTP(secret, digits=_DIGITS, interval=_STEP_SECONDS)
    now = int(_clock()) // _STEP_SECONDS
    for step in (now, now - 1, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(device: TwoFactorDevice, step: int) -> bool:
    """Record ``step`` as used unless it (or a later one) was used: the anti-replay check."""
    claimed = TwoFactorDevice.objects.filter(
        Q(last_used_step__isnull=True) | Q(last_used_step__lt=step), pk=device.pk
    ).update(last_used_step=step, updated_at=timezone.now())
    if claimed:
        device.last_used_step = step
    return claimed == 1


def _totp_accepts(device: TwoFactorDevice, code: str) -> bool:
    digits = "".join(code.split())
    if len(digits) != _DIGITS or not digits.isdigit():
        return False
    step = _matching_step(_decrypt(device.secret_encrypted), digits)
    return step is not None and _claim_step(device, step)


def _recovery_code_accepts(user: User, code: str) -> bool:
    used = RecoveryCode.objects.filter(
        user=user, code_hash=_hash_recovery(code), used_at__isnull=True
    ).update(used_at=timezone.now())
    return used == 1


def _check(
    *,
    user: User,
    device: TwoFactorDevice,
    code: str,
    request: HttpRequest | None,
    allow_recovery: bool,
    purpose: str,
) -> None:
    """Accept one code or raise: ``TwoFactorThrottled`` or ``ValidationFailed`` on ``code``.

    Side effects: the attempt is counted; a wrong code, a throttled attempt and a used
    recovery code are recorded in the audit log; a right code clears the counter.
    """
    code = (code or "").strip()[:64]
    if not _count_attempt(user):
        security_event_record(
            kind=SecurityEvent.Kind.TWO_FACTOR_THROTTLED,
            request=request,
            user=user,
            data={"purpose": purpose},
        )
        raise TwoFactorThrottled(_("Too many wrong codes. Wait a few minutes and try again."))
    if _totp_accepts(device, code):
        counter_reset(key=_throttle_key(user))
        return
    if (
        allow_recovery
        and len(_normalise_recovery(code)) == 16
        and _recovery_code_accepts(user, code)
    ):
        counter_reset(key=_throttle_key(user))
        security_event_record(
            kind=SecurityEvent.Kind.RECOVERY_CODE_USED,
            request=request,
            user=user,
            data={"purpose": purpose, "left": recovery_codes_left(user=user)},
        )
        return
    security_event_record(
        kind=SecurityEvent.Kind.TWO_FACTOR_FAILED,
        request=request,
        user=user,
        data={"purpose": purpose},
    )
    raise ValidationFailed(field_errors={"code": [_("Wrong or already used code.")]})


# --- set-up and management -------------------------------------------------------------------


@transaction.atomic
def two_factor_begin(*, user: User) -> TwoFactorDevice:
    """Start (or restart) setting up an authenticator: a new secret, not yet confirmed.

    Refused when two-factor sign-in is already on (turn it off first).
    """
    device = TwoFactorDevice.objects.select_for_update().filter(user=user).first()
    if device is not None and device.is_confirmed:
        raise ValidationFailed(_("Two-factor sign-in is already on."))
    secret = _encrypt(pyotp.random_base32())
    if device is None:
        return TwoFactorDevice.objects.create(user=user, secret_encrypted=secret)
    device.secret_encrypted = secret
    device.last_used_step = None
    device.save(update_fields=["secret_encrypted", "last_used_step", "updated_at"])
    return device


def _recovery_codes_replace(user: User) -> list[str]:
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_hash=_hash_recovery(code)) for code in codes]
    )
    return codes


def two_factor_confirm(*, user: User, code: str, request: HttpRequest | None = None) -> list[str]:
    """Turn two-factor sign-in on once the user typed a code from the new authenticator.

    Returns the recovery codes in the clear — the only time they exist so; only their hashes
    are kept. Raises ``ValidationFailed`` (field ``code``) or ``TwoFactorThrottled``.
    """
    device = two_factor_device(user=user)
    if device is None or device.is_confirmed:
        raise ValidationFailed(field_errors={"code": [_("Start the set-up again.")]})
    _check(
        user=user, device=device, code=code, request=request, allow_recovery=False, purpose="setup"
    )
    with transaction.atomic():
        device.confirmed_at = timezone.now()
        device.save(update_fields=["confirmed_at", "updated_at"])
        codes = _recovery_codes_replace(user)
        security_event_record(
            kind=SecurityEvent.Kind.TWO_FACTOR_ENABLED, request=request, user=user, actor=user
        )
    return codes


def _confirmed_device(user: User) -> TwoFactorDevice:
    device = two_factor_device(user=user)
    if device is None or not device.is_confirmed:
        raise ValidationFailed(_("Two-factor sign-in is off."))
    return device


def recovery_codes_regenerate(
    *, user: User, code: str, request: HttpRequest | None = None
) -> list[str]:
    """New recovery codes (the old ones stop working), after a code from the authenticator."""
    device = _confirmed_device(user)
    _check(
        user=user,
        device=device,
        code=code,
        request=request,
        allow_recovery=False,
        purpose="recovery_codes",
    )
    with transaction.atomic():
        codes = _recovery_codes_replace(user)
        security_event_record(
            kind=SecurityEvent.Kind.RECOVERY_CODES_REGENERATED,
            request=request,
            user=user,
            actor=user,
        )
    return codes


def two_factor_disable(
    *, user: User, password: str, code: str, request: HttpRequest | None = None
) -> None:
    """Turn two-factor sign-in off: the password and a code (or a recovery code) are needed.

    Refused while ``CRM_2FA_REQUIRED`` obliges the user to keep it.
    """
    device = _confirmed_device(user)
    if two_factor_is_required(user=user):
        raise ValidationFailed(_("Two-factor sign-in is required for your account."))
    if not user.check_password(password or ""):
        raise ValidationFailed(field_errors={"password": [_("Wrong password.")]})
    _check(
        user=user, device=device, code=code, request=request, allow_recovery=True, purpose="disable"
    )
    with transaction.atomic():
        TwoFactorDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        security_event_record(
            kind=SecurityEvent.Kind.TWO_FACTOR_DISABLED, request=request, user=user, actor=user
        )


@transaction.atomic
def two_factor_enable_with_secret(*, user: User) -> str:
    """Turn two-factor sign-in on without the set-up page and return the new secret.

    For an operator's command (a CI or monitoring account that computes its codes); any
    previous authenticator and recovery codes are replaced. The caller must keep the secret
    out of logs.
    """
    secret = pyotp.random_base32()
    TwoFactorDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    TwoFactorDevice.objects.create(
        user=user, secret_encrypted=_encrypt(secret), confirmed_at=timezone.now()
    )
    security_event_record(
        kind=SecurityEvent.Kind.TWO_FACTOR_ENABLED,
        user=user,
        data={"by": "manage.py two_factor_setup"},
    )
    return secret


@transaction.atomic
def two_factor_reset(*, actor: User, user: User, request: HttpRequest | None = None) -> None:
    """An administrator removes a user's authenticator and recovery codes (a lost phone).

    The user signs in with the password alone next time and, if required, sets up again.
    """
    if not (actor.is_active and actor.role == Role.ADMIN):
        raise PermissionDenied(_("Only an administrator may reset two-factor sign-in."))
    removed, _details = TwoFactorDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    counter_reset(key=_throttle_key(user))
    security_event_record(
        kind=SecurityEvent.Kind.TWO_FACTOR_RESET,
        request=request,
        user=user,
        actor=actor,
        data={"had_device": bool(removed)},
    )


# --- the two-step sign-in --------------------------------------------------------------------


def pending_sign_in_start(*, request: HttpRequest, user: User, next_url: str) -> None:
    """After the right password of a 2FA user: remember who is signing in, not signed in.

    The session gets a new key (no fixation) and holds the user's id, the backend and the
    page to go to for ``PENDING_SECONDS``; ``request.user`` stays anonymous.
    """
    request.session.cycle_key()
    request.session[PENDING_SESSION_KEY] = {
        "user_id": user.pk,
        "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[0]),
        "next": next_url,
        "expires": _clock() + PENDING_SECONDS,
    }


def pending_sign_in_user(*, request: HttpRequest) -> User | None:
    """The active user waiting for the second step in this session, or ``None`` (expired)."""
    pending: dict[str, Any] | None = request.session.get(PENDING_SESSION_KEY)
    if not pending or float(pending.get("expires", 0)) < _clock():
        request.session.pop(PENDING_SESSION_KEY, None)
        return None
    user_id = pending.get("user_id")
    if not isinstance(user_id, int):
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def pending_sign_in_complete(*, request: HttpRequest, code: str) -> str:
    """Check the second factor and sign the pending user in; returns the page to go to.

    Raises ``ValidationFailed`` (``code``: wrong, or the pending sign-in expired) or
    ``TwoFactorThrottled``. On success the session key rotates (``login``).
    """
    user = pending_sign_in_user(request=request)
    if user is None:
        raise ValidationFailed(field_errors={"code": [_("Sign in again: the time ran out.")]})
    device = _confirmed_device(user)
    _check(
        user=user, device=device, code=code, request=request, allow_recovery=True, purpose="sign_in"
    )
    pending = request.session.pop(PENDING_SESSION_KEY)
    login(request, user, backend=pending["backend"])
    security_event_record(kind=SecurityEvent.Kind.TWO_FACTOR_PASSED, request=request, user=user)
    return str(pending["next"])

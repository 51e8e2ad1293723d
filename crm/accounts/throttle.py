"""Sign-in throttling: counted atomically before the password is checked, with a soft lockout.

Every attempt first adds one to its counters (``crm.core.counters``: one ``UPDATE`` each,
shared by every process whatever the cache) and is refused, before the slow password hash,
when a count after its own increment is over its limit. So N requests in flight at once
check at most the limit's worth of passwords, never N.

- **account and address** (``LOGIN_THROTTLE_ACCOUNT_LIMIT``, strict): guesses at one account
  from one address (an IPv6 address counts with its /64, ``crm.core.http.address_bucket``);
  from a known device of the account (``crm.accounts.devices``) the same limit counts per
  account and device instead, so nobody else behind the same address can lock it out;
- **address** (``LOGIN_THROTTLE_ADDRESS_LIMIT``, strict): guesses from one address at any
  accounts (not counted for a known device);
- **account** (``LOGIN_THROTTLE_ACCOUNT_WIDE_LIMIT``, soft): guesses at one account from
  anywhere. Over it only the owner's known devices and addresses may still try, so an
  attacker spread over many addresses cannot lock the owner out.

A successful sign-in takes its own attempt back from the counters and clears its strict
one. The refusal is decided before the password is looked at, so it says nothing about
whether the password was right.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from crm.core.counters import counter_decrement, counter_increment, counter_reset
from crm.core.http import address_bucket

# Where the backend leaves its refusal for the sign-in form (a WSGI environ key).
_REFUSAL_KEY = "crm.login_refusal"


class Refusal(enum.StrEnum):
    """Why an attempt was refused."""

    ACCOUNT_ADDRESS = "account_address"
    ACCOUNT_DEVICE = "account_device"
    ADDRESS = "address"
    UNKNOWN_DEVICE = "unknown_device"


@dataclass(frozen=True)
class Attempt:
    """One counted sign-in attempt: the counters it added to and, if refused, why."""

    pair_key: str
    shared_keys: tuple[str, ...]
    refusal: Refusal | None


def _key(kind: str, *values: str) -> str:
    text = "\n".join(values)
    return f"login:{kind}:{hashlib.sha256(text.encode()).hexdigest()[:40]}"


def attempt_begin(
    *, username: str, address: str | None, device: str | None, is_known: Callable[[], bool]
) -> Attempt:
    """Count an attempt to sign in to ``username`` from ``address`` and decide if it may go on.

    ``device`` is the id of the browser when it is a known device of the account
    (``crm.accounts.devices.known_device``), else None. ``is_known`` answers whether the
    address is a known one of the account; it is only called while the account is over its
    limit and the device is not known. Every attempt counts, refused ones too, until
    ``attempt_succeeded`` takes a successful one back.
    """
    window = settings.LOGIN_THROTTLE_WINDOW_SECONDS
    username = username.strip().lower()  # as the user model looks it up
    bucket = address_bucket(address) if address else ""
    account_key = _key("account", username)
    if device:
        pair_key = _key("account-device", username, device)
    else:
        pair_key = _key("account-address", username, bucket)
    pair = counter_increment(key=pair_key, window_seconds=window)
    shared_keys: tuple[str, ...] = (account_key,)
    from_address = 0
    if bucket and not device:
        address_key = _key("address", bucket)
        shared_keys = (account_key, address_key)
        from_address = counter_increment(key=address_key, window_seconds=window)
    account = counter_increment(key=account_key, window_seconds=window)
    refusal = None
    if pair > settings.LOGIN_THROTTLE_ACCOUNT_LIMIT:
        refusal = Refusal.ACCOUNT_DEVICE if device else Refusal.ACCOUNT_ADDRESS
    elif from_address > settings.LOGIN_THROTTLE_ADDRESS_LIMIT:
        refusal = Refusal.ADDRESS
    elif account > settings.LOGIN_THROTTLE_ACCOUNT_WIDE_LIMIT and not (device or is_known()):
        refusal = Refusal.UNKNOWN_DEVICE
    return Attempt(pair_key=pair_key, shared_keys=shared_keys, refusal=refusal)


def attempt_succeeded(attempt: Attempt) -> None:
    """The attempt signed in: clear its strict counter (account and address or device) and
    take it back from the per-account and per-address ones (others' failures still count)."""
    counter_reset(key=attempt.pair_key)
    for key in attempt.shared_keys:
        counter_decrement(key=key)


def refusal_note(request: HttpRequest | None, refusal: Refusal) -> None:
    """Leave the refusal on the request for the sign-in form (the backend cannot return it)."""
    if request is not None:
        request.META[_REFUSAL_KEY] = refusal


def refusal_of(request: HttpRequest | None) -> Refusal | None:
    """The refusal ``refusal_note`` left on ``request``, if any."""
    if request is None:
        return None
    refusal = request.META.get(_REFUSAL_KEY)
    return refusal if isinstance(refusal, Refusal) else None

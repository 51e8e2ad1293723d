"""The SMS gateway adapter interface: what the CRM needs of a provider.

An adapter sends one message, reads the delivery status of sent ones (polling), reads the
provider's delivery callback, and may tell the balance. It speaks the provider's protocol
and nothing else: the CRM's rows, retries and timeline are the service's
(``crm.correspondence.services.sms``). States are the CRM's: an adapter maps its provider's
codes to ``sent`` (accepted, on its way), ``delivered`` or ``failed``.

Errors: ``GatewayUnavailable`` for what may pass (a timeout, a 5xx, the provider's "try
later"): the message is retried with back-off; ``GatewayRefused`` for a refusal that a
retry would not change (a bad number, no money, an unapproved sender): the message fails
at once with the provider's reason. An adapter never puts its secret key in a message.
How to add a provider: docs/sms.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class Accepted:
    """The provider took a message: its id there, and the cost when it says."""

    provider_id: str
    cost: Decimal | None = None


@dataclass(frozen=True)
class StatusReport:
    """What the provider says of one message: the CRM's state (``sent``, ``delivered`` or
    ``failed``), the provider's code and words, the cost and the time when it gives them."""

    provider_id: str
    state: str
    code: str
    text: str = ""
    cost: Decimal | None = None
    at: datetime | None = None


class GatewayError(Exception):
    """A failure of the gateway; ``reason`` is safe to show and to store (no secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GatewayUnavailable(GatewayError):
    """The provider could not be reached or asked to try later: retried."""


class GatewayRefused(GatewayError):
    """The provider refused the message: not retried."""


class Gateway(Protocol):
    """An SMS provider (see the module)."""

    name: str
    callback_answer: str
    """The body the provider expects in answer to its callback."""

    def send(self, *, phone: str, text: str, sender: str) -> Accepted:
        """Hand one message (``phone`` in E.164) to the provider."""
        ...

    def statuses(self, provider_ids: list[str]) -> list[StatusReport]:
        """The current status of sent messages (unknown ids are left out)."""
        ...

    def parse_callback(self, form: Mapping[str, list[str]]) -> list[StatusReport]:
        """The reports in one callback request's form fields (lines it does not know are
        skipped, never an error)."""
        ...

    def balance(self) -> Decimal | None:
        """The account's balance, None when the provider does not tell."""
        ...

"""The client's address of a request, read through the configured trusted proxies.

Every per-address rule (the sign-in throttle, the web-form rate limit, the security log and
the webhook logs) reads the address here, so they all agree on who the visitor is.

``settings.TRUSTED_PROXIES`` (``CRM_TRUSTED_PROXIES``) lists the addresses and networks of
the reverse proxies in front of the application. Without it the client is ``REMOTE_ADDR``
and ``X-Forwarded-For`` is ignored: anybody can write that header. When ``REMOTE_ADDR`` is a
trusted proxy, ``X-Forwarded-For`` is read from the right (each proxy appends the address it
was reached from): trusted hops are skipped and the first untrusted one is the client. An
entry that is not an address (``unknown``, garbage) ends the walk: the client is then the
last trusted hop, since nothing to the left of a forged entry can be believed.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# An entry longer than this is not an address (the longest IPv6 form with a port is ~50).
_MAX_ENTRY_LENGTH = 64


def client_address(request: HttpRequest | None) -> str | None:
    """The address of the client that sent ``request``, or ``None`` when there is none.

    ``REMOTE_ADDR`` unless it is a trusted proxy, then the right-most untrusted
    ``X-Forwarded-For`` hop (see the module's docstring). Never raises on malformed headers.
    """
    if request is None:
        return None
    remote = parse_address(str(request.META.get("REMOTE_ADDR") or ""))
    if remote is None:
        return None
    networks = trusted_networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    return str(forwarded_client(remote, forwarded.split(","), networks))


def address_bucket(address: str) -> str:
    """The block a per-address limit counts ``address`` in: an IPv4 address alone, an IPv6
    address with its /64 (one subscriber's network: anyone holding one has 2**64 addresses)."""
    parsed = parse_address(address)
    if parsed is None:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def forwarded_client(
    remote: IPAddress, hops: Sequence[str], networks: Sequence[Network]
) -> IPAddress:
    """The client among ``hops`` (``X-Forwarded-For`` entries, left to right) for a request
    that came from ``remote``: the right-most hop that is not a trusted proxy."""
    client = remote
    if not is_trusted(client, networks):
        return client
    for entry in reversed(hops):
        hop = parse_address(entry)
        if hop is None:
            return client
        client = hop
        if not is_trusted(client, networks):
            return client
    return client


def is_trusted(address: IPAddress, networks: Iterable[Network]) -> bool:
    """Whether ``address`` is one of the trusted proxies."""
    return any(address in network for network in networks)


def parse_address(entry: str) -> IPAddress | None:
    """The address in one ``REMOTE_ADDR`` or ``X-Forwarded-For`` entry, or ``None``.

    Accepts spaces and quotes around it, a port (``1.2.3.4:5678``, ``[::1]:80``), brackets
    around IPv6 and a zone (``fe80::1%eth0``, dropped). IPv4-mapped IPv6 becomes IPv4.
    """
    text = entry.strip().strip('"').strip()
    if not text or len(text) > _MAX_ENTRY_LENGTH:
        return None
    if text.startswith("["):
        host, bracket, port = text[1:].partition("]")
        if not bracket or (port and not (port.startswith(":") and port[1:].isdigit())):
            return None
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
        if not port.isdigit():
            return None
    else:
        host = text
    host = host.partition("%")[0]
    if not host.isascii():
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@functools.lru_cache(maxsize=8)
def trusted_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """``settings.TRUSTED_PROXIES`` as networks (an address is a network of one).

    Raises ``ImproperlyConfigured`` naming the first entry that is neither.
    """
    networks: list[Network] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as error:
            raise ImproperlyConfigured(
                f"CRM_TRUSTED_PROXIES: {entry!r} is not an address or a network"
            ) from error
    return tuple(networks)


def check_trusted_proxies(**kwargs: object) -> list[checks.CheckMessage]:
    """System check: every ``CRM_TRUSTED_PROXIES`` entry is an address or a network."""
    try:
        trusted_networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="core.E001")]
    return []

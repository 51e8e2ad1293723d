"""The client's address behind trusted proxies (``crm.core.http``)."""

from __future__ import annotations

import ipaddress

import pytest
from django.core.checks import Error
from django.test import RequestFactory
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from crm.core.http import (
    address_bucket,
    check_trusted_proxies,
    client_address,
    forwarded_client,
    parse_address,
    trusted_networks,
)

PROXIES = ["127.0.0.1", "10.0.0.0/8", "fd00::/8"]


def _address(remote: str, forwarded: str | None = None) -> str | None:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **extra))


@pytest.fixture
def proxies(settings):
    settings.TRUSTED_PROXIES = PROXIES
    return settings


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert _address("127.0.0.1", "203.0.113.5") == "127.0.0.1"


def test_an_untrusted_peer_cannot_choose_its_address(proxies):
    assert _address("198.51.100.7", "203.0.113.5") == "198.51.100.7"


def test_behind_the_proxy_the_visitor_is_the_right_most_untrusted_hop(proxies):
    # the visitor forged the first entry; nginx appended the address it saw
    assert _address("127.0.0.1", "6.6.6.6, 203.0.113.5") == "203.0.113.5"


def test_trusted_hops_are_skipped_from_the_right(proxies):
    assert _address("127.0.0.1", "203.0.113.5, 10.1.2.3,10.9.9.9") == "203.0.113.5"


def test_when_every_hop_is_trusted_the_left_most_is_the_client(proxies):
    assert _address("127.0.0.1", "10.1.2.3, 10.9.9.9") == "10.1.2.3"


def test_without_the_header_behind_the_proxy_the_proxy_is_the_client(proxies):
    assert _address("127.0.0.1") == "127.0.0.1"
    assert _address("127.0.0.1", "") == "127.0.0.1"


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.5, garbage", "127.0.0.1"),  # garbage where the proxy writes: trust nothing
        ("203.0.113.5, 10.1.2.3, unknown", "127.0.0.1"),
        ("203.0.113.5, unknown, 10.1.2.3", "10.1.2.3"),  # the last trusted hop
        ("garbage, 203.0.113.5", "203.0.113.5"),
        (",,, ,", "127.0.0.1"),
        ("203.0.113.5:4711", "203.0.113.5"),
        ("[2001:db8::5]:443", "2001:db8::5"),
        ("2001:db8::5", "2001:db8::5"),
        (" 2001:DB8::5 ,  10.1.2.3 ", "2001:db8::5"),
        ('"[2001:db8::5]"', "2001:db8::5"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
        ("fe80::1%eth0", "fe80::1"),
        ("[2001:db8::5]:x", "127.0.0.1"),
        ("203.0.113.5:", "127.0.0.1"),
        ("[2001:db8::5", "127.0.0.1"),
        ("1" * 500, "127.0.0.1"),
        ("٣.٣.٣.٣", "127.0.0.1"),
    ],
)
def test_entries_in_any_shape(proxies, forwarded, expected):
    assert _address("127.0.0.1", forwarded) == expected


def test_ipv6_proxy_and_mapped_remote_address(proxies):
    assert _address("fd00::1", "203.0.113.5") == "203.0.113.5"
    assert _address("::ffff:127.0.0.1", "203.0.113.5") == "203.0.113.5"


def test_no_or_bad_remote_address_is_none(proxies):
    assert client_address(None) is None
    assert _address("", "203.0.113.5") is None
    assert _address("not an address", "203.0.113.5") is None


def test_a_bad_trusted_proxy_entry_fails_the_system_check(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "nginx.local"]
    errors = check_trusted_proxies()
    assert len(errors) == 1
    assert isinstance(errors[0], Error)
    assert "nginx.local" in errors[0].msg
    settings.TRUSTED_PROXIES = PROXIES
    assert check_trusted_proxies() == []


# --- properties --------------------------------------------------------------------------------

NETWORKS = trusted_networks(tuple(PROXIES))
public_v4 = st.ip_addresses(v=4).filter(lambda a: a.is_global)
public_v6 = st.ip_addresses(v=6).filter(lambda a: a.is_global and a.ipv4_mapped is None)
public = st.one_of(public_v4, public_v6)
trusted_hop = st.one_of(st.ip_addresses(network="10.0.0.0/8"), st.ip_addresses(network="fd00::/8"))


def _written(draw, address) -> str:
    """``address`` as a proxy may write it: with or without a port, brackets and spaces."""
    text = str(address)
    if draw(st.booleans()):
        port = draw(st.integers(0, 65535))
        text = f"{text}:{port}" if address.version == 4 else f"[{text}]:{port}"
    elif address.version == 6 and draw(st.booleans()):
        text = f"[{text}]"
    return " " * draw(st.integers(0, 2)) + text + " " * draw(st.integers(0, 2))


@st.composite
def chains(draw):
    """A forged prefix, the visitor, then the trusted proxies that forwarded the request."""
    forged = draw(st.lists(st.text(max_size=30), max_size=4))
    client = draw(public)
    hops = draw(st.lists(trusted_hop, max_size=3))
    entries = [*forged, _written(draw, client), *(_written(draw, hop) for hop in hops)]
    return client, entries


@pytest.mark.slow
@hypothesis_settings(max_examples=300, deadline=None)
@given(chains())
def test_the_visitor_is_found_whatever_was_forged_before_it(chain):
    client, entries = chain
    remote = ipaddress.ip_address("127.0.0.1")
    assert forwarded_client(remote, entries, NETWORKS) == client


@pytest.mark.slow
@hypothesis_settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), public)
def test_an_untrusted_peer_is_the_client_whatever_it_sends(header, peer):
    assert forwarded_client(peer, header.split(","), NETWORKS) == peer


@pytest.mark.slow
@hypothesis_settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_header_gives_an_address_and_never_raises(header):
    remote = ipaddress.ip_address("127.0.0.1")
    result = forwarded_client(remote, header.split(","), NETWORKS)
    assert isinstance(result, ipaddress.IPv4Address | ipaddress.IPv6Address)
    assert result == remote or str(result) in {str(parse_address(e)) for e in header.split(",")}


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
        ("garbage", "garbage"),
    ],
)
def test_per_address_limits_count_an_ipv6_address_with_its_64(address, bucket):
    assert address_bucket(address) == bucket

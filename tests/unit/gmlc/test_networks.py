"""Source networks: canonical spelling, who may connect, what failures count against."""

from __future__ import annotations

import ipaddress

import pytest

from gmlc.networks import ANYWHERE, canonical_network, network_of, source_allowed


def nets(*texts: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(text) for text in texts]


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("203.0.113.0/24", "203.0.113.0/24"),
        (" 203.0.113.9 ", "203.0.113.9/32"),
        ("2001:DB8:0000::/48", "2001:db8::/48"),
        ("::1", "::1/128"),
        ("0.0.0.0/0", "0.0.0.0/0"),
    ],
)
def test_canonical_network(given: str, canonical: str) -> None:
    assert canonical_network(given) == canonical


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("203.0.113.9/24", "did you mean 203.0.113.0/24"),
        ("2001:db8::1/48", "did you mean 2001:db8::/48"),
        ("example.net", "not an IP network"),
        ("203.0.113.0/33", "not an IP network"),
        ("", "address or CIDR"),
    ],
)
def test_malformed_networks_are_refused_with_the_fix(given: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        canonical_network(given)


def test_source_allowed() -> None:
    site = nets("203.0.113.0/24", "2001:db8::/48")
    assert source_allowed(site, "203.0.113.200")
    assert source_allowed(site, "::ffff:203.0.113.200")  # dual-stack listener
    assert source_allowed(site, "2001:db8::7")
    assert not source_allowed(site, "203.0.114.1")
    assert not source_allowed(site, "2001:db9::1")
    assert not source_allowed(site, None)
    assert not source_allowed(site, "testclient")
    assert not source_allowed([], "203.0.113.1")
    assert source_allowed(nets(*ANYWHERE), "198.51.100.1")
    assert source_allowed(nets(*ANYWHERE), None)  # anywhere includes "no address"
    assert not source_allowed(nets("0.0.0.0/0"), "2001:db8::1")


def test_failures_count_against_the_most_specific_own_network_or_the_source_prefix() -> None:
    site = nets("203.0.113.0/24", "203.0.113.0/28", *ANYWHERE)
    assert network_of("203.0.113.5", site, prefix_v4=24, prefix_v6=64) == "203.0.113.0/28"
    assert network_of("203.0.113.99", site, prefix_v4=24, prefix_v6=64) == "203.0.113.0/24"
    # The anywhere networks never become one counter for the whole Internet.
    assert network_of("198.51.100.7", site, prefix_v4=24, prefix_v6=64) == "198.51.100.0/24"
    assert network_of("198.51.100.7", site, prefix_v4=16, prefix_v6=64) == "198.51.0.0/16"
    assert network_of("2001:db8:1:2:3::9", site, prefix_v4=24, prefix_v6=64) == "2001:db8:1:2::/64"
    assert network_of(None, site, prefix_v4=24, prefix_v6=64) == "-"

"""Source networks: where a client may connect from, and how failures are grouped.

Each MLP client is pinned to the networks of its site (``salve-gmlc client add ...
--from 203.0.113.0/24``): an attacker who stole the web server's GMLC password, but not
its network position, is refused like a wrong password. "Anywhere" is not a special case
but the two networks that hold every address, ``0.0.0.0/0`` and ``::/0``
(:data:`ANYWHERE`), which is what ``--from-anywhere`` stores and what clients created
before pinning existed were given by the upgrade.

Pure functions: addresses in, answers out.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from typing import Final

__all__ = [
    "ANYWHERE",
    "Network",
    "canonical_network",
    "network_of",
    "parse_address",
    "source_allowed",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

ANYWHERE: Final = ("0.0.0.0/0", "::/0")
"""The networks of a client that may connect from any address."""


def canonical_network(text: str) -> str:
    """The canonical spelling of a network given as CIDR or as a single address.

    Args:
        text: ``203.0.113.0/24``, ``2001:db8::/48``, or one address (a /32 or /128).

    Returns:
        The network as ``ipaddress`` writes it (IPv6 compressed, lower case).

    Raises:
        ValueError: not an address or network, or host bits set after the prefix (a
            likely typo: ``203.0.113.7/24`` names no network; the message names the one
            meant).
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a network must be an address or CIDR, got {text!r}")
    try:
        return str(ipaddress.ip_network(text.strip(), strict=True))
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an IP network; write it as 203.0.113.0/24 or 2001:db8::/48"
        ) from None
    raise ValueError(f"{text!r} has host bits set after the prefix; did you mean {loose}?")


def parse_address(source: str | None) -> Address | None:
    """The peer address as an IP address (IPv4-mapped IPv6 as IPv4), or None."""
    if source is None:
        return None
    return _parsed_address(source)


# Every request parses its peer's address (pinning, throttling); the peers are few.
@functools.lru_cache(maxsize=4096)
def _parsed_address(source: str) -> Address | None:
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def source_allowed(networks: Iterable[Network], source: str | None) -> bool:
    """Whether a request from ``source`` may come from one of ``networks``.

    A source that is not an IP address (none, or a Unix socket) is only allowed where
    both halves of :data:`ANYWHERE` are.
    """
    address = parse_address(source)
    pinned = tuple(networks)
    if address is None:
        return {str(n) for n in pinned} >= set(ANYWHERE)
    return any(address.version == n.version and address in n for n in pinned)


def network_of(
    source: str | None, networks: Iterable[Network], *, prefix_v4: int, prefix_v6: int
) -> str:
    """The network a request's failed login counts against (throttling by network).

    Inside one of the client's own networks it is the most specific of them, so failures
    from outside never share a counter with the client's own site; elsewhere it is the
    source's /``prefix_v4`` (IPv4) or /``prefix_v6`` (IPv6) network.
    """
    address = parse_address(source)
    if address is None:
        return "-"
    containing = [
        n for n in networks if n.version == address.version and address in n and n.prefixlen
    ]
    if containing:
        return str(max(containing, key=lambda n: n.prefixlen))
    prefix = prefix_v4 if address.version == 4 else prefix_v6
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))

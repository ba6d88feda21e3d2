"""Host names on the wire: one canonical spelling, compared as bytes.

Every host name SALVE puts on the wire (``salve:domain``, a statement's ``iss`` and
``sub``, the policy's ``gmlc=``, M2DMRT ``s=``/``t=`` and the signed signer and target) is
a lowercase IDNA A-label name with no trailing dot and no port. Receivers never normalise:
they compare bytes, so a name that is not already canonical is refused
(:func:`check_host_name`). Two spellings of one name would otherwise let a statement for
``WWW.Example.com.`` pass as one for ``www.example.com``, or slip past a check that
normalised one side only.

People type names in other forms (upper case, a trailing dot, Unicode): the tools turn
what an operator gives into the canonical form once, with :func:`canonical_host_name`,
and from then on only the canonical form travels.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Final

import idna

from mlp.errors import MlpError

__all__ = [
    "MAX_HOST_NAME_LENGTH",
    "HostNameError",
    "canonical_host_name",
    "check_host_name",
    "is_loopback_host",
]

MAX_HOST_NAME_LENGTH: Final = 253
"""Longest host name in presentation form without the trailing dot (RFC 1035 §2.3.4)."""

_LABEL: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
_NUMERIC: Final = re.compile(r"[0-9]+", re.ASCII)


class HostNameError(MlpError, ValueError):
    """A host name that is not canonical, or not a host name at all."""


def check_host_name(name: object) -> str:
    """Return ``name`` when it is a canonical host name; refuse anything else.

    Canonical: 1-253 characters, dot-separated labels of 1-63 lowercase letters, digits
    and inner hyphens (LDH), no trailing dot, no port, every ``xn--`` label a valid
    IDNA 2008 A-label, and the last label not all digits (no IPv4 address, no number).

    Raises:
        HostNameError: not a string, or not in canonical form (the message says why).
    """
    if not isinstance(name, str):
        raise HostNameError(f"a host name must be a string, not {type(name).__name__}")
    if not 1 <= len(name) <= MAX_HOST_NAME_LENGTH:
        raise HostNameError(f"a host name has 1-{MAX_HOST_NAME_LENGTH} characters")
    return _checked(name)


# Every statement checks its issuer and subject, and every SLIR its domain: the same few
# names again and again. Only names that pass are remembered (a refusal raises, and
# lru_cache keeps no exceptions), and only strings of at most 253 characters reach here.
@functools.lru_cache(maxsize=1024)
def _checked(name: str) -> str:
    labels = name.split(".")
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise HostNameError(
                f"{name[:64]!r} is not a canonical host name (lowercase LDH labels of "
                "1-63 characters, no trailing dot, no port)"
            )
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except idna.IDNAError:
                raise HostNameError(f"label {label!r} is not a valid IDNA A-label") from None
        elif label[2:4] == "--":
            # RFC 5891 §4.2.3.1: "??--" is reserved for encodings such as "xn--".
            raise HostNameError(f"label {label!r} has hyphens in the 3rd and 4th positions")
    if _NUMERIC.fullmatch(labels[-1]):
        # RFC 3696 §2: a top-level label is never all-numeric; this also keeps IPv4
        # addresses and bare numbers (an MSISDN) from passing as host names.
        raise HostNameError(f"{name[:64]!r} is an address or a number, not a host name")
    return name


def canonical_host_name(text: str) -> str:
    """Turn a host name as a person types it into the canonical wire form.

    Accepts upper case, one trailing dot and Unicode (U-labels, converted with IDNA 2008
    and UTS #46 mapping); refuses ports, IP addresses and anything that is not a host name.

    Raises:
        HostNameError: the text is not a host name.
    """
    if not isinstance(text, str):
        raise HostNameError(f"a host name must be a string, not {type(text).__name__}")
    stripped = text.strip()
    if stripped.endswith("."):
        stripped = stripped[:-1]
    if not stripped or ":" in stripped or "/" in stripped:
        raise HostNameError(f"{text[:64]!r} is not a host name (no port, scheme or path)")
    try:
        ascii_name = idna.encode(stripped, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise HostNameError(f"{text[:64]!r} is not a valid host name: {exc}") from None
    return check_host_name(ascii_name.lower())


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

"""Errors of the front, each with plain words for the operator.

::

    FrontError
      ConfigError            the configuration cannot be used (names the key at fault)
      CertificateError       a certificate/key pair that cannot be served
      DeclarationError       a served key without a published, verifying M2DMRT declaration
      GmlcExchangeError      the GMLC could not be reached, or refused, or answered nonsense
"""

from __future__ import annotations

__all__ = [
    "CertificateError",
    "ConfigError",
    "DeclarationError",
    "FrontError",
    "GmlcExchangeError",
]


class FrontError(Exception):
    """Something the front cannot do; the message says what and why."""


class ConfigError(FrontError):
    """The configuration cannot be used.

    Attributes:
        key: The setting at fault (``gmlc.url``), when one is.
    """

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class CertificateError(FrontError):
    """A certificate chain or key that cannot be served (unreadable, mismatched, no names)."""


class DeclarationError(FrontError):
    """A served TLS key whose M2DMRT declarations are not published (or do not verify)."""


class GmlcExchangeError(FrontError):
    """An exchange with the GMLC outside MLP (declaration, its TLS key) that failed."""

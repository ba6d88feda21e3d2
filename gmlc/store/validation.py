"""Argument checks of the store: ``ValueError``/``TypeError`` raised before any database work.

Values that arrive from the network (audit fields, reports) are cleaned rather than
refused where refusing would lose a record: NUL characters, which PostgreSQL cannot store,
become U+FFFD (:func:`without_nul`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MAX_BIGINT: Final = 2**63 - 1
_IDENTIFIER = re.compile(r"[A-Za-z0-9._-]{1,64}")
_IMSI = re.compile(r"[0-9]{6,15}")
_ICCID = re.compile(r"[0-9]{18,22}")
_MSISDN = re.compile(r"\+?([0-9]{3,15})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def identifier(kind: str, value: object) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ValueError(f"{kind} must be 1-64 characters of A-Z a-z 0-9 . _ -, got {value!r}")
    return value


def digits(kind: str, pattern: re.Pattern[str], value: object, rule: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{kind} must be {rule}, got {value!r}")
    return value


def imsi(value: object) -> str:
    return digits("IMSI", _IMSI, value, "6-15 digits")


def iccid(value: object) -> str:
    return digits("ICCID", _ICCID, value, "18-22 digits")


def msisdn(value: object) -> str:
    """An MSISDN in international form, stored without '+' so both spellings match."""
    match = _MSISDN.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"MSISDN must be 3-15 digits, optionally after '+', got {value!r}")
    return match.group(1)


def aware(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be time-zone aware")
    return value.astimezone(UTC)


def json_object(name: str, value: object) -> dict[str, Any]:
    """A dict as it will be read back from a JSON column (see :func:`json_text`).

    Raises:
        TypeError: ``value`` is not a dict.
        ValueError: ``value`` is not representable as JSON.
    """
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict, got {type(value).__name__}")
    # Round-trip so what we store is exactly what we will read back.
    loaded: dict[str, Any] = json.loads(json_text(name, value))
    return loaded


def json_text(name: str, value: object) -> str:
    """``value`` as the JSON text to store, NUL characters replaced (see :func:`without_nul`).

    Serialised once: what is stored is this text, and reading it back gives exactly the
    JSON data it holds (tuples as lists, keys as strings).

    Raises:
        ValueError: ``value`` is not representable as JSON (NaN, a set, a cycle, ...).
    """
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} is not representable as JSON: {error}") from None
    if "\\u0000" not in text:
        # json.dumps writes NUL as \u0000: without one there is nothing to replace (this
        # runs for every audit row, so the walk below is skipped when it can be).
        return text
    return json.dumps(without_nul(json.loads(text)), allow_nan=False)


def without_nul(value: Any) -> Any:
    """Replace NUL characters, which PostgreSQL cannot store in text or jsonb, by U+FFFD.

    The substitution is visible in what is stored, and both backends keep the same data.
    """
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    return value


def strings(name: str, values: Iterable[str], check: Callable[[object], str]) -> list[str]:
    if isinstance(values, str | bytes):
        raise TypeError(f"{name} must be a collection of strings, not a single string")
    return sorted({check(v) for v in values})


def public_key(value: object) -> str:
    if not isinstance(value, str) or len(value) != 43:
        raise ValueError("public key must be 43 characters of base64url (raw Ed25519 key)")
    try:
        raw = base64.urlsafe_b64decode(value + "=")
        Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise ValueError("public key is not a base64url raw Ed25519 public key") from None
    return value


def site(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 200 or _CONTROL.search(value):
        raise ValueError("site must be 1-200 printable characters")
    return value.strip()


def positive(name: str, value: object) -> int:
    if type(value) is not int or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def password_hash(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 1024:
        raise ValueError("password hash must be a non-empty string")
    return value

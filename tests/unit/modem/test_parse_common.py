"""Shared field helpers: unknown markers become None, never zero; garbage is a ParseError."""

from __future__ import annotations

import pytest

from modem.at.common import clean, dbm, dec, digits, hex_id, payload, split_fields, to_float
from modem.errors import ParseError


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("1F00", 0x1F00),
        ('"1f00"', 0x1F00),
        (" 0x972d ", 0x972D),
        ("0000", 0),
        ("FFF", 0xFFF),  # three F digits can be a real value
        ("FFFF", None),
        ("00FFFFFFF", None),
        ("FFFE", None),
        ("-", None),
        ("", None),
        ('""', None),
        ("NONE", None),
    ],
)
def test_hex_id(field: str, value: int | None) -> None:
    assert hex_id(field) == value


def test_hex_zero_as_unknown_on_request() -> None:
    assert hex_id("0000000", zero_is_unknown=True) is None
    assert hex_id("0000000") == 0


@pytest.mark.parametrize("field", ["xyz", "12 34", "0x", "1F-00", "\u0663"])
def test_hex_id_rejects(field: str) -> None:
    with pytest.raises(ParseError):
        hex_id(field)


@pytest.mark.parametrize(
    ("field", "value"),
    [("001", 1), ("-95", -95), ("+3", 3), ("--", None), ("NO SERVICE", None), ("n/a", None)],
)
def test_dec(field: str, value: int | None) -> None:
    assert dec(field) == value


@pytest.mark.parametrize("field", ["1.5", "0x10", "\u0663", "1e3", "ten"])
def test_dec_rejects(field: str) -> None:
    with pytest.raises(ParseError):
        dec(field)


def test_signal_values() -> None:
    assert dbm("-83dbm") == -83.0
    assert dbm("-11.6 dB") == -11.6
    assert to_float("13.75") == 13.75
    assert to_float("-") is None
    with pytest.raises(ParseError):
        to_float("1e9")


@pytest.mark.parametrize(("field", "value"), [("01", "01"), ('"260"', "260"), ("fff", None)])
def test_digits_keep_width(field: str, value: str | None) -> None:
    assert digits(field) == value


def test_digits_reject_letters_and_non_ascii() -> None:
    for field in ("0a", "\u0660\u0661"):
        with pytest.raises(ParseError):
            digits(field)


def test_split_fields_keeps_quoted_commas() -> None:
    assert split_fields('0,0,"AT&T, Inc.",7') == ["0", "0", '"AT&T, Inc."', "7"]
    assert [clean(f) for f in split_fields(' "a" , b ,,')] == ["a", "b", "", ""]


def test_payload_prefix_matching() -> None:
    assert payload('+QENG:"servingcell"', ("+QENG",)) == '"servingcell"'
    assert payload("+qeng: x", ("+QENG",)) == "x"
    assert payload("+QENGX: x", ("+QENG",)) is None
    assert payload("+CGREG: 1", ("+CREG",)) is None

"""CME (27.007 §9.2) and CMS (27.005 §3.2.5) error tables, both ways."""

from __future__ import annotations

import pytest

from modem.at.cme import CME_ERRORS, CMS_ERRORS, cme_code, cme_name, cms_code, cms_name


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (3, "operation not allowed"),
        (10, "SIM not inserted"),
        (11, "SIM PIN required"),
        (14, "SIM busy"),
        (30, "no network service"),
        (50, "incorrect parameters"),
        (100, "unknown"),
        (107, "GPRS services not allowed"),
    ],
)
def test_cme_both_ways(code: int, name: str) -> None:
    assert cme_name(code) == name
    assert cme_code(name) == code
    assert cme_code(name.upper()) == code
    assert cme_code(f"  {name.replace(' ', '  ')} ") == code


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (310, "SIM not inserted"),
        (310, "(U)SIM not inserted"),
        (321, "invalid memory index"),
        (500, "Unknown error"),
        (330, "SMSC address unknown"),
    ],
)
def test_cms_both_ways(code: int, text: str) -> None:
    assert cms_code(text) == code
    assert cms_name(code) is not None


def test_unknown_codes_and_texts() -> None:
    assert cme_name(515) is None
    assert cms_name(9999) is None
    assert cme_code("please wait") is None
    assert cms_code("") is None


def test_every_name_maps_back_to_a_code_with_that_name() -> None:
    for table, lookup in ((CME_ERRORS, cme_code), (CMS_ERRORS, cms_code)):
        for code, name in table.items():
            found = lookup(name)
            assert found is not None
            assert table[found].lower() == name.lower() or found <= code

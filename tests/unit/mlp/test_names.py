"""Canonical host names: receivers refuse every other spelling; tools produce the canonical one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlp.names import HostNameError, canonical_host_name, check_host_name


@pytest.mark.parametrize(
    "name",
    ["www.example.com", "a.b", "localhost", "xn--bcher-kva.example", "x-1.example.net", "a" * 63],
)
def test_canonical_names_pass_unchanged(name: str) -> None:
    assert check_host_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "WWW.example.com",
        "www.example.com.",
        "www.example.com:443",
        "www..example.com",
        ".example.com",
        "-www.example.com",
        "www-.example.com",
        "www_example.com",
        "ab--cd.example",
        "xn--zz.example",
        "bücher.example",
        "192.0.2.1",
        "41791234567",
        "www.example.123",
        "a" * 64 + ".example",
        ".".join(["a" * 63] * 4) + ".example",
        "www.example.com\x00",
        " www.example.com",
    ],
)
def test_non_canonical_names_are_refused(name: str) -> None:
    with pytest.raises(HostNameError):
        check_host_name(name)


@pytest.mark.parametrize("value", [None, 5, b"www.example.com"])
def test_non_strings_are_refused(value: object) -> None:
    with pytest.raises(HostNameError):
        check_host_name(value)


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("WWW.Example.COM.", "www.example.com"),
        (" www.example.com ", "www.example.com"),
        ("Bücher.example", "xn--bcher-kva.example"),
        ("www.example.com", "www.example.com"),
    ],
)
def test_operator_input_becomes_canonical(typed: str, canonical: str) -> None:
    assert canonical_host_name(typed) == canonical


@pytest.mark.parametrize(
    "typed", ["www.example.com:443", "https://www.example.com", "", ".", "192.0.2.1", "a b.example"]
)
def test_operator_input_that_is_not_a_host_name_is_refused(typed: str) -> None:
    with pytest.raises(HostNameError):
        canonical_host_name(typed)


def test_host_name_error_is_a_value_error() -> None:
    assert issubclass(HostNameError, ValueError)


@given(st.text(max_size=80))
def test_canonical_form_is_a_fixed_point_or_refused(text: str) -> None:
    try:
        canonical = canonical_host_name(text)
    except HostNameError:
        return
    assert check_host_name(canonical) == canonical
    assert canonical_host_name(canonical) == canonical

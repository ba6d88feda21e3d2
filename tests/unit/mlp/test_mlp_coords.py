"""DMSH coordinates: exact emission, liberal parsing, round trip over the globe."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlp.coords import format_latitude, format_longitude, parse_latitude, parse_longitude

MAS = 1 / 3_600_000  # one milli-arcsecond in degrees


@pytest.mark.parametrize(
    ("lat", "text"),
    [
        (47 + 22 / 60 + 36 / 3600, "47 22 36.000N"),
        (-(33 + 52 / 60 + 3.5 / 3600), "33 52 03.500S"),
        (0.0, "0 00 00.000N"),
        (-0.0, "0 00 00.000N"),
        (90.0, "90 00 00.000N"),
        (-90.0, "90 00 00.000S"),
        (5 + 1 / 60 + 2.007 / 3600, "5 01 02.007N"),
        # 59.9996 seconds rounds up into the next minute, never "60.000".
        (10 + 59 / 60 + 59.9996 / 3600, "11 00 00.000N"),
        (1e-12, "0 00 00.000N"),
        (-1e-12, "0 00 00.000N"),
    ],
)
def test_format_latitude(lat: float, text: str) -> None:
    assert format_latitude(lat) == text


@pytest.mark.parametrize(
    ("lon", "text"),
    [
        (8 + 32 / 60 + 24 / 3600, "8 32 24.000E"),
        (-(99 + 12 / 60 + 15.019 / 3600), "99 12 15.019W"),
        (180.0, "180 00 00.000E"),
        (-180.0, "180 00 00.000W"),
        (135 + 47 / 60 + 8.711 / 3600, "135 47 08.711E"),
    ],
)
def test_format_longitude(lon: float, text: str) -> None:
    assert format_longitude(lon) == text


@pytest.mark.parametrize("bad", [90.0001, -91.0, float("nan"), float("inf")])
def test_format_latitude_rejects_out_of_range(bad: float) -> None:
    with pytest.raises(ValueError):
        format_latitude(bad)


@pytest.mark.parametrize("bad", [180.0001, -181.0, float("nan")])
def test_format_longitude_rejects_out_of_range(bad: float) -> None:
    with pytest.raises(ValueError):
        format_longitude(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("47 22 36.000N", 47.376666667),
        ("30 16 28.308N", 30.274530),
        ("35 03 28.244N", 35.057846),
        ("4 39 6.086597 N", 4.651691),  # unpadded, space before hemisphere, 6 decimals
        ("12 09 36.727295S", -12.160202),
        ("12 9 36S", -12.16),
        ("  47 22 36N  ", 47.376666667),
        ("47 22 36.000n", 47.376666667),  # lower-case hemisphere
        ("47.5", 47.5),  # decimal degrees
        ("-33.8675", -33.8675),  # negative decimal
        ("+33.8675", 33.8675),
        ("33.8675S", -33.8675),
        ("47 30.5N", 47.508333333),  # degrees and decimal minutes
        ("90 00 00.000S", -90.0),
        ("0", 0.0),
    ],
)
def test_parse_latitude_variants(text: str, expected: float) -> None:
    assert parse_latitude(text) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("099 12 15.019W", -99.204172),  # three-digit padded longitude
        ("135 47 08.711E", 135.785753),
        ("76 22 2.82E", 76.367450),  # the spec's own unpadded example
        ("18 04 07.440 E", 18.068733),
        ("-122.4194", -122.4194),
        ("180 00 00.000W", -180.0),
    ],
)
def test_parse_longitude_variants(text: str, expected: float) -> None:
    assert parse_longitude(text) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "N",
        "47 22 36.000X",
        "47 22 36.000E",  # longitude hemisphere on a latitude
        "-47 22 36N",  # sign and hemisphere
        "47 60 00N",
        "47 22 60.0N",
        "91 00 00N",
        "47.5 22 36N",  # fraction before the last field
        "47 22.5 36N",
        "47 22 36 12N",
        "47,5",
        "1e3",
        "nan",
        "٤٧ ٢٢ ٣٦N",  # non-ASCII digits
    ],
)
def test_parse_latitude_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_latitude(text)


@pytest.mark.parametrize("text", ["181 00 00E", "47 22 36N", "-180.5"])
def test_parse_longitude_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_longitude(text)


@given(st.floats(min_value=-90, max_value=90, allow_nan=False))
def test_latitude_round_trip_within_one_milliarcsecond(lat: float) -> None:
    text = format_latitude(lat)
    assert " 60." not in text
    assert abs(parse_latitude(text) - lat) <= MAS * 0.5 + 1e-12


@given(st.floats(min_value=-180, max_value=180, allow_nan=False))
def test_longitude_round_trip_within_one_milliarcsecond(lon: float) -> None:
    text = format_longitude(lon)
    assert " 60." not in text
    assert abs(parse_longitude(text) - lon) <= MAS * 0.5 + 1e-12


@given(st.integers(min_value=-90 * 3_600_000, max_value=90 * 3_600_000))
def test_whole_milliarcseconds_survive_exactly(mas: int) -> None:
    text = format_latitude(mas / 3_600_000)
    assert format_latitude(parse_latitude(text)) == text

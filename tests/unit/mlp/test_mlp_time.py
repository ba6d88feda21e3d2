"""MLP time and utc_off: strict formats, offsets kept, 105 from the decoder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlp import MlpDecodeError, ResultCode, decode_answer
from mlp.mlptime import format_mlp_time, parse_mlp_time, parse_utc_off


def test_parse_with_offset() -> None:
    moment = parse_mlp_time("20240611093015", "+0100")
    assert moment == datetime(2024, 6, 11, 8, 30, 15, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        (None, timedelta(0)),
        ("0000", timedelta(0)),
        ("+0000", timedelta(0)),
        ("-0500", timedelta(hours=-5)),
        ("0530", timedelta(hours=5, minutes=30)),
        ("+1400", timedelta(hours=14)),
        ("-1459", -timedelta(hours=14, minutes=59)),
    ],
)
def test_utc_off_accepted(text: str | None, offset: timedelta) -> None:
    assert parse_utc_off(text).utcoffset(None) == offset


@pytest.mark.parametrize("text", ["+1500", "0060", "+01:00", "1", "+100", "UTC", "", "+01000"])
def test_utc_off_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_utc_off(text)


@pytest.mark.parametrize(
    "text",
    [
        "2024061109301",
        "202406110930150",
        "20241311093015",
        "20240230093015",
        "20240611243015",
        "2024-06-11T09:30",
        "",
        "".join(chr(0xFF10 + int(digit)) for digit in "20240611093015"),  # full-width
    ],
)
def test_time_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_mlp_time(text)


def test_format_keeps_local_time_and_offset() -> None:
    moment = datetime(2024, 6, 11, 9, 30, 15, 999_999, tzinfo=timezone(timedelta(hours=-3)))
    assert format_mlp_time(moment) == ("20240611093015", "-0300")


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 1, 1),  # naive
        datetime(2024, 1, 1, tzinfo=timezone(timedelta(seconds=30))),
        datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=15))),
    ],
)
def test_format_rejects(moment: datetime) -> None:
    with pytest.raises(ValueError):
        format_mlp_time(moment)


@given(
    st.datetimes(
        min_value=datetime(1, 1, 1),
        max_value=datetime(9999, 12, 31),
        timezones=st.integers(min_value=-14 * 60, max_value=14 * 60).map(
            lambda minutes: timezone(timedelta(minutes=minutes))
        ),
    )
)
def test_round_trip(moment: datetime) -> None:
    text, utc_off = format_mlp_time(moment)
    assert parse_mlp_time(text, utc_off) == moment.replace(microsecond=0)


@pytest.mark.parametrize(
    ("time_element", "fragment"),
    [
        ('<time utc_off="+1500">20240611093015</time>', "pd/time"),
        ('<time utc_off="+01:00">20240611093015</time>', "pd/time"),
        ("<time>2024061109301</time>", "pd/time"),
        ("<time>20240631093015</time>", "pd/time"),
    ],
)
def test_bad_time_in_an_answer_is_format_error(time_element: str, fragment: str) -> None:
    body = (
        '<svc_result ver="3.2.0"><slia><pos><msid>46701234567</msid><pd>'
        f"{time_element}<shape><Point><coord><X>1N</X><Y>1E</Y></coord></Point></shape>"
        "</pd></pos></slia></svc_result>"
    ).encode()
    with pytest.raises(MlpDecodeError) as caught:
        decode_answer(body)
    assert caught.value.result_code is ResultCode.FORMAT_ERROR
    assert fragment in caught.value.add_info

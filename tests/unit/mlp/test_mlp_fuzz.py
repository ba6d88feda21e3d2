"""Fuzzing: the decoders raise nothing but MlpDecodeError, whatever the bytes,
and encoded answers decode back to what was encoded."""

from __future__ import annotations

import re
from datetime import timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlp import (
    CircularArea,
    MlpDecodeError,
    Msid,
    MsidType,
    Point,
    Position,
    PositionError,
    ResultCode,
    Slia,
    decode_answer,
    decode_request,
    encode_slia,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "mlp"
SEEDS = [
    path.read_bytes() for sub in ("valid", "answers") for path in sorted((DATA / sub).glob("*.xml"))
]
TEXT_NODE_RE = re.compile(rb">([^<>]*)<")
ATTRIBUTE_RE = re.compile(rb'="([^"]*)"')
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decode_both(body: bytes) -> None:
    for decode in (decode_request, decode_answer):
        try:
            decode(body)
        except MlpDecodeError:
            pass


@FUZZ
@given(st.binary(max_size=3000))
def test_arbitrary_bytes(body: bytes) -> None:
    decode_both(body)


@st.composite
def byte_mutations(draw: st.DrawFn) -> bytes:
    body = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(body)))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        length = draw(st.integers(1, 16))
        if kind == "delete":
            del body[position : position + length]
        elif kind == "insert":
            body[position:position] = draw(st.binary(min_size=1, max_size=length))
        elif kind == "replace" and position < len(body):
            body[position] = draw(st.integers(0, 255))
        else:
            body[position:position] = body[position : position + length]
    return bytes(body)


@FUZZ
@given(byte_mutations())
def test_mutated_documents(body: bytes) -> None:
    decode_both(body)


@st.composite
def value_mutations(draw: st.DrawFn) -> bytes:
    """Well-formed documents whose text or attribute values are replaced."""
    body = draw(st.sampled_from(SEEDS))
    pattern = draw(st.sampled_from([TEXT_NODE_RE, ATTRIBUTE_RE]))
    matches = list(pattern.finditer(body))
    if not matches:
        return body
    match = draw(st.sampled_from(matches))
    value = draw(
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(["", "-1", "4.0.0", "99999999999999999999", "60 60 60N", "1e9"]),
        )
    )
    clean = "".join(char for char in value if char.isprintable())
    replacement = escape(clean, {'"': "&quot;"}).encode()
    return body[: match.start(1)] + replacement + body[match.end(1) :]


@FUZZ
@given(value_mutations())
def test_mutated_values(body: bytes) -> None:
    decode_both(body)


points = st.builds(
    Point,
    st.floats(min_value=-90, max_value=90, allow_nan=False),
    st.floats(min_value=-180, max_value=180, allow_nan=False),
)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
moments = st.datetimes(timezones=offsets).map(lambda moment: moment.replace(microsecond=0))
msids = st.builds(
    Msid, st.from_regex(r"[1-9][0-9]{7,14}", fullmatch=True), st.just(MsidType.MSISDN)
)
xml_text = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=30
).filter(lambda text: text.strip() == text)
entries = st.one_of(
    st.builds(
        Position,
        msids,
        moments,
        st.builds(CircularArea, points, st.integers(0, 100_000).map(float)),
        st.one_of(st.none(), st.integers(0, 100)),
        st.one_of(
            st.none(), st.from_regex(r"[A-Za-z0-9_-]{4,20}\.[A-Za-z0-9_-]{4,20}", fullmatch=True)
        ),
    ),
    st.builds(
        PositionError,
        msids,
        st.sampled_from(list(ResultCode)),
        st.one_of(st.none(), xml_text),
        moments,
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(entries, min_size=1, max_size=5))
def test_encoded_answers_decode_back(items: list[Position | PositionError]) -> None:
    answer = decode_answer(encode_slia(Slia(positions=tuple(items))))
    assert isinstance(answer, Slia)
    assert len(answer.positions) == len(items)
    for sent, received in zip(items, answer.positions, strict=True):
        if isinstance(sent, PositionError):
            assert received == sent
            continue
        assert isinstance(received, Position)
        assert (received.msid, received.time, received.lev_conf, received.statement) == (
            sent.msid,
            sent.time,
            sent.lev_conf,
            sent.statement,
        )
        assert isinstance(received.shape, CircularArea)
        assert isinstance(sent.shape, CircularArea)
        assert received.shape.radius_m == sent.shape.radius_m
        assert abs(received.shape.center.lat - sent.shape.center.lat) <= 1 / 3_600_000
        assert abs(received.shape.center.lon - sent.shape.center.lon) <= 1 / 3_600_000

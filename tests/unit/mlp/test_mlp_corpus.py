"""Corpus tests: every file under tests/data/mlp is one case.

``valid/`` holds requests as deployed clients send them; each must decode and
survive encode -> decode unchanged. ``invalid/`` documents start with a comment
``<!-- expect CODE FRAGMENT -->``: decoding must fail with result CODE and an
``add_info`` containing FRAGMENT. ``answers/`` holds location server answers of
several dialects for the client-side decoder.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlp import (
    Gem,
    MlpDecodeError,
    MlpUnknownServiceError,
    ResultCode,
    Slia,
    decode_answer,
    decode_request,
    encode_gem,
    encode_request,
    encode_slia,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "mlp"
VALID = sorted((DATA / "valid").glob("*.xml"))
INVALID = sorted((DATA / "invalid").glob("*.xml"))
ANSWERS = sorted((DATA / "answers").glob("*.xml"))
EXPECT_RE = re.compile(rb"<!-- expect (\d+) (\S+) -->")


def test_corpus_is_present() -> None:
    assert len(VALID) >= 10
    assert len(INVALID) >= 35
    assert len(ANSWERS) >= 6


@pytest.mark.parametrize("path", VALID, ids=lambda path: path.stem)
def test_valid_request_decodes_and_round_trips(path: Path) -> None:
    request = decode_request(path.read_bytes())
    assert request.targets()
    encoded = encode_request(request)
    assert decode_request(encoded) == request
    # Encoding is deterministic.
    assert encode_request(decode_request(encoded)) == encoded


@pytest.mark.parametrize("path", INVALID, ids=lambda path: path.stem)
def test_invalid_request_names_code_and_element(path: Path) -> None:
    body = path.read_bytes()
    expectation = EXPECT_RE.search(body)
    assert expectation is not None, "corpus file lacks its expect comment"
    code = ResultCode(int(expectation.group(1)))
    fragment = expectation.group(2).decode()
    with pytest.raises(MlpDecodeError) as caught:
        decode_request(body)
    assert caught.value.result_code is code
    assert fragment in caught.value.add_info
    assert isinstance(caught.value, MlpUnknownServiceError) == (
        code is ResultCode.SERVICE_NOT_SUPPORTED
    )


@pytest.mark.parametrize("path", ANSWERS, ids=lambda path: path.stem)
def test_answer_decodes_and_round_trips(path: Path) -> None:
    answer = decode_answer(path.read_bytes())
    if isinstance(answer, Gem):
        assert decode_answer(encode_gem(answer)) == answer
        return
    assert isinstance(answer, Slia)
    again = decode_answer(encode_slia(answer))
    assert isinstance(again, Slia)
    assert again.result == answer.result
    assert again.req_id == answer.req_id
    assert len(again.positions) == len(answer.positions)
    for before, after in zip(answer.positions, again.positions, strict=True):
        assert type(before) is type(after)
        assert before.msid == after.msid

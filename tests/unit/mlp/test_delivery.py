"""The statement delivery document: what the front writes is exactly what a client reads."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlp.delivery import (
    MAX_DELIVERY_BYTES,
    DeliveryError,
    DeliveryFailure,
    StatementDelivery,
    parse_delivery,
)
from mlp.keys import b64url_encode
from mlp.merkle import MerkleTree

TOKEN = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"


def test_single_statement_round_trip() -> None:
    body = StatementDelivery(TOKEN).to_json()

    assert json.loads(body) == {"statement": TOKEN, "proof": None}
    assert parse_delivery(body) == StatementDelivery(TOKEN)


def test_batch_statement_round_trip() -> None:
    tree = MerkleTree([bytes([i]) * 32 for i in range(5)])
    delivery = StatementDelivery(TOKEN, tree.proof(3))
    document = json.loads(delivery.to_json())

    assert document["proof"] == {
        "index": 3,
        "size": 5,
        "path": [b64url_encode(node) for node in tree.proof(3).path],
    }
    assert parse_delivery(delivery.to_json()) == delivery


@pytest.mark.parametrize(
    "failure",
    [DeliveryFailure("timeout"), DeliveryFailure("mlp_result", 4), DeliveryFailure("gmlc_refused")],
)
def test_failure_round_trip(failure: DeliveryFailure) -> None:
    assert parse_delivery(failure.to_json()) == failure


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"statement": TOKEN},
        {"statement": TOKEN, "proof": None, "extra": 1},
        {"statement": 5, "proof": None},
        {"statement": "", "proof": None},
        {"statement": TOKEN, "proof": {"index": 0, "size": 1}},
        {"statement": TOKEN, "proof": {"index": 1, "size": 1, "path": []}},
        {"statement": TOKEN, "proof": {"index": 0, "size": 0, "path": []}},
        {"statement": TOKEN, "proof": {"index": True, "size": 2, "path": []}},
        {"statement": TOKEN, "proof": {"index": 0, "size": 2, "path": ["AA"]}},
        {
            "statement": TOKEN,
            "proof": {"index": 0, "size": 2, "path": [b64url_encode(bytes(32)) + "="]},
        },
        {"statement": TOKEN, "proof": {"index": 0, "size": 2, "path": "x"}},
        {"error": "teapot", "mlp_result": None},
        {"error": "mlp_result", "mlp_result": "4"},
        {"error": "mlp_result"},
    ],
    ids=lambda d: json.dumps(d)[:50],
)
def test_anything_off_contract_is_refused(document: object) -> None:
    with pytest.raises(DeliveryError):
        parse_delivery(json.dumps(document).encode())


def test_oversized_and_non_json_documents_are_refused() -> None:
    with pytest.raises(DeliveryError):
        parse_delivery(b" " * (MAX_DELIVERY_BYTES + 1))
    for body in (b"", b"[]", b"\xff\xfe", b'{"statement": "a", "statement": "b", "proof": null}'):
        with pytest.raises(DeliveryError):
            parse_delivery(body)


def test_failure_values_are_checked_when_written() -> None:
    with pytest.raises(DeliveryError):
        DeliveryFailure("teapot")  # type: ignore[arg-type]
    with pytest.raises(DeliveryError):
        DeliveryFailure("mlp_result", 1000)


@given(st.binary(max_size=300))
def test_garbage_gives_only_delivery_errors(body: bytes) -> None:
    try:
        parse_delivery(body)
    except DeliveryError:
        pass

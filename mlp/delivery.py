"""Statement delivery: the document a site's front serves on each client's TLS connection.

``GET /.well-known/salve/statement`` on the very connection the statement is bound to::

    200 application/json, Cache-Control: no-store
    {"statement": JWS, "proof": null | {"index": i, "size": n, "path": [base64url, ...]}}

    503 application/json, Retry-After: seconds
    {"error": "timeout"|"gmlc_unreachable"|"gmlc_refused"|"mlp_result", "mlp_result": int|null}

A proof is present exactly when the statement is a batch statement (it has ``bsz``); its
``size`` must equal ``bsz``, which :func:`mlp.statement.verify_statement` checks. The front
writes these documents with :meth:`StatementDelivery.to_json` and
:meth:`DeliveryFailure.to_json`; a client reads them with :func:`parse_delivery`, which is
strict: exact members, exact types, canonical base64url, a size cap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias, get_args

from mlp.errors import MlpError
from mlp.keys import b64url_decode, b64url_encode, loads_json_object
from mlp.merkle import HASH_LENGTH, InclusionProof
from mlp.statement import MAX_STATEMENT_LENGTH

__all__ = [
    "MAX_DELIVERY_BYTES",
    "STATEMENT_MEDIA_TYPE",
    "STATEMENT_PATH",
    "DeliveryError",
    "DeliveryFailure",
    "FailureReason",
    "StatementDelivery",
    "parse_delivery",
]

STATEMENT_PATH: Final = "/.well-known/salve/statement"
STATEMENT_MEDIA_TYPE: Final = "application/json"
MAX_DELIVERY_BYTES: Final = 65536
"""Largest document a client reads: a statement plus a 16-hash path is under 2 KiB."""

FailureReason: TypeAlias = Literal["timeout", "gmlc_unreachable", "gmlc_refused", "mlp_result"]
_FAILURE_REASONS: Final = frozenset(get_args(FailureReason))


class DeliveryError(MlpError, ValueError):
    """A delivery document that is not one the contract allows."""


def _compact(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), allow_nan=False).encode()


@dataclass(frozen=True, slots=True)
class StatementDelivery:
    """A statement for one connection, with its inclusion proof when it covers a batch.

    Attributes:
        statement: The compact JWS.
        proof: The connection's inclusion proof; None for a single-session statement.
    """

    statement: str
    proof: InclusionProof | None = None

    def to_json(self) -> bytes:
        """The 200 body."""
        proof = None
        if self.proof is not None:
            proof = {
                "index": self.proof.index,
                "size": self.proof.size,
                "path": [b64url_encode(node) for node in self.proof.path],
            }
        return _compact({"statement": self.statement, "proof": proof})


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    """Why no statement could be had in time (the 503 body).

    Attributes:
        error: What went wrong.
        mlp_result: The GMLC's MLP result code, when it answered with one.
    """

    error: FailureReason
    mlp_result: int | None = None

    def __post_init__(self) -> None:
        if self.error not in _FAILURE_REASONS:
            raise DeliveryError(f"unknown delivery failure {self.error!r}")
        if self.mlp_result is not None and (
            isinstance(self.mlp_result, bool)
            or not isinstance(self.mlp_result, int)
            or not 0 <= self.mlp_result <= 999
        ):
            raise DeliveryError("mlp_result must be an MLP result code (0-999)")

    def to_json(self) -> bytes:
        """The 503 body."""
        return _compact({"error": self.error, "mlp_result": self.mlp_result})


def _integer(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DeliveryError(f"{what} must be an integer")
    return value


def _proof(value: object) -> InclusionProof | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"index", "size", "path"}:
        raise DeliveryError("proof must be null or an object with exactly index, size, path")
    path = value["path"]
    if not isinstance(path, list) or not all(isinstance(node, str) for node in path):
        raise DeliveryError("proof path must be a list of base64url strings")
    try:
        nodes = tuple(b64url_decode(node) for node in path)
    except ValueError:
        raise DeliveryError("proof path holds something that is not canonical base64url") from None
    if any(len(node) != HASH_LENGTH for node in nodes):
        raise DeliveryError(f"every proof hash is {HASH_LENGTH} bytes")
    try:
        return InclusionProof(
            index=_integer(value["index"], "proof index"),
            size=_integer(value["size"], "proof size"),
            path=nodes,
        )
    except ValueError as exc:
        raise DeliveryError(f"proof: {exc}") from None


def parse_delivery(body: bytes) -> StatementDelivery | DeliveryFailure:
    """Read a delivery document (the 200 or the 503 body).

    Raises:
        DeliveryError: Oversized, not JSON, or not exactly one of the two documents.
    """
    if len(body) > MAX_DELIVERY_BYTES:
        raise DeliveryError(f"delivery document larger than {MAX_DELIVERY_BYTES} bytes")
    try:
        document = loads_json_object(body)
    except ValueError as exc:
        raise DeliveryError(f"delivery document is not a JSON object: {exc}") from None
    if set(document) == {"statement", "proof"}:
        statement = document["statement"]
        if not isinstance(statement, str) or not 1 <= len(statement) <= MAX_STATEMENT_LENGTH:
            raise DeliveryError("statement must be a compact JWS string")
        return StatementDelivery(statement, _proof(document["proof"]))
    if set(document) == {"error", "mlp_result"}:
        error = document["error"]
        mlp_result = document["mlp_result"]
        if mlp_result is not None:
            mlp_result = _integer(mlp_result, "mlp_result")
        reason = next((r for r in get_args(FailureReason) if r == error), None)
        if reason is None:
            raise DeliveryError(f"unknown delivery failure {str(error)[:32]!r}")
        return DeliveryFailure(reason, mlp_result)
    raise DeliveryError("not a statement delivery document")

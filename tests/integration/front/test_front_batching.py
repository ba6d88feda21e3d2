"""Merkle batches against the real GMLC: one statement per window, one proof per session."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mlp.delivery import StatementDelivery, parse_delivery
from mlp.statement import StatementBindingError, VerifiedStatement, verify_statement

H = "shop.example.salve.test"
G = "front-gmlc.gmlc.salve.test"
Fixture = Any


def test_sessions_of_a_window_share_one_statement_each_with_its_own_proof(
    world: Fixture, client: Fixture, poll: Fixture
) -> None:
    front = world.start(
        world.settings(batching={"enabled": True, "window_ms": 400, "max_sessions": 4})
    )
    keys = world.gmlc.keys()

    def deliveries(count: int) -> list[tuple[Any, StatementDelivery]]:
        connections = [client.connect(front.port) for _ in range(count)]
        got = []
        for connection in connections:
            response = connection.request("GET", "/.well-known/salve/statement")
            delivery = parse_delivery(response.body)
            assert isinstance(delivery, StatementDelivery), response.body
            got.append((connection, delivery))
        return got

    def verified(delivery: StatementDelivery, session_hash: bytes) -> VerifiedStatement:
        return verify_statement(
            delivery.statement,
            keys,
            issuers=[G],
            subject=H,
            session_hash=session_hash,
            proof=delivery.proof,
            now=datetime.now(UTC),
            max_position_age_s=300,
        )

    def check(got: list[tuple[Any, StatementDelivery]], size: int) -> None:
        assert len({d.statement for _, d in got}) == 1  # one GMLC signature for the window
        for index, (connection, delivery) in enumerate(got):
            assert delivery.proof is not None and delivery.proof.size == size
            statement = verified(delivery, connection.session_hash)
            assert statement.claims.bsz == size
            other = got[(index + 1) % len(got)][0]
            try:
                verified(delivery, other.session_hash)
                raise AssertionError("a proof bound another session")
            except StatementBindingError:
                pass

    check(deliveries(4), 4)  # closed by the count
    check(deliveries(3), 3)  # closed by the window
    assert front.metric("salve_front_statement_requests_total", mode="batch", outcome="ok") == 2
    assert front.metric("salve_front_sessions_batched_total") == 7

"""GMLC faults never break proxied traffic: each has its 503 reason, a log line and a count.

Down (nothing listens), slow (it accepts and never answers), refusing the credentials, and
answering with an MLP result code (a SIM that is not the client's, a SIM it cannot place).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mlp.delivery import DeliveryFailure, parse_delivery

Fixture = Any
SILENT_MSISDN = "41791000202"
NOT_OURS_MSISDN = "41791999999"


def failure(response: Any) -> DeliveryFailure:
    assert response.status == 503, (response.status, response.body)
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["cache-control"] == "no-store"
    delivery = parse_delivery(response.body)
    assert isinstance(delivery, DeliveryFailure)
    return delivery


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    for sock in held:
        sock.close()
    listener.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("case", "error", "mlp_result"),
    [
        ("down", "gmlc_unreachable", None),
        ("bad_password", "gmlc_refused", 3),
        ("not_our_sim", "gmlc_refused", 4),
        ("cannot_place", "mlp_result", 6),
    ],
)
def test_gmlc_failures_give_a_503_reason_and_leave_proxying_alone(
    world: Fixture,
    client: Fixture,
    poll: Fixture,
    tmp_path: Any,
    case: str,
    error: str,
    mlp_result: int | None,
) -> None:
    gmlc: dict[str, Any] = {}
    if case == "down":
        gmlc["url"] = f"https://127.0.0.1:{_closed_port()}"
    elif case == "bad_password":
        wrong = tmp_path / "wrong.password"
        wrong.write_text("not-the-password\n")
        wrong.chmod(0o600)
        gmlc["password_file"] = str(wrong)
    elif case == "not_our_sim":
        gmlc["msisdn"] = NOT_OURS_MSISDN
    else:
        gmlc["msisdn"] = SILENT_MSISDN
    front = world.start(world.settings(gmlc=gmlc))
    connection = client.connect(front.port)
    poll(lambda: front.metric("salve_front_statement_failures_total", reason=error) == 1, error)
    got = failure(connection.request("GET", "/.well-known/salve/statement"))
    assert (got.error, got.mlp_result) == (error, mlp_result)
    logged = front.events("statement_request_failed")
    assert logged and logged[0]["reason"] == error and logged[0]["mlp_result"] == mlp_result
    assert connection.request("GET", "/app").status == 200
    assert client.connect(front.port).request("GET", "/app").status == 200
    assert front.metric("salve_front_statement_deliveries_total", result=error) == 1


def test_a_slow_gmlc_means_timeout_then_unreachable(
    world: Fixture, client: Fixture, poll: Fixture, black_hole: int
) -> None:
    front = world.start(
        world.settings(
            gmlc={
                "url": f"https://127.0.0.1:{black_hole}",
                "timeout_s": 0.5,
                "delivery_wait_s": 0.2,
                "retry_after_s": 1,
            }
        )
    )
    connection = client.connect(front.port)
    assert connection.request("GET", "/first").status == 200  # never held up by the GMLC
    waited = failure(connection.request("GET", "/.well-known/salve/statement"))
    assert waited.error == "timeout"
    poll(
        lambda: (
            front.metric("salve_front_statement_failures_total", reason="gmlc_unreachable") == 1
        ),
        "the GMLC request to time out",
    )
    assert (
        failure(connection.request("GET", "/.well-known/salve/statement")).error
        == "gmlc_unreachable"
    )

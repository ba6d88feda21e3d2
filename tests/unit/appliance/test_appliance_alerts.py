"""Alert rate limiting and delivery (webhook over a real loopback HTTP server, SMS outbox)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from appliance.alerts import Alert, AlertDispatcher, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_per_kind() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, clock)
    assert limiter.allow("sim_swapped")
    assert limiter.allow("modem_lost")  # another kind has its own budget
    assert not limiter.allow("sim_swapped")
    clock.now += 59.9
    assert not limiter.allow("sim_swapped")
    clock.now += 0.2
    assert limiter.allow("sim_swapped")
    assert limiter.suppressed("sim_swapped") == 2
    assert limiter.suppressed() == 2


def test_zero_interval_lets_everything_through() -> None:
    limiter = RateLimiter(0, FakeClock())
    assert all(limiter.allow("x") for _ in range(5))


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def alert(kind: str, message: str = "something happened") -> Alert:
    return Alert(kind=kind, severity="critical", message=message, appliance_id="dc1-a", site="zrh")


def test_webhook_receives_json_and_rate_limit_applies(
    webhook: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = webhook
    dispatcher = AlertDispatcher(
        webhook_url=url, sms_numbers=(), limiter=RateLimiter(3600, FakeClock())
    )
    dispatcher.start()
    try:
        assert dispatcher.raise_alert(alert("sim_swapped", "the SIM changed"))
        assert not dispatcher.raise_alert(alert("sim_swapped"))
        assert dispatcher.raise_alert(alert("modem_lost"))
        assert dispatcher.wait_idle(10)
    finally:
        dispatcher.close()
    assert [body["kind"] for body in received] == ["sim_swapped", "modem_lost"]
    assert received[0]["message"] == "the SIM changed"
    assert received[0]["appliance"] == "dc1-a"
    assert received[0]["site"] == "zrh"
    assert dispatcher.counters["webhook_sent"] == 2
    assert dispatcher.counters["suppressed"] == 1


def test_unreachable_webhook_is_counted_not_raised() -> None:
    dispatcher = AlertDispatcher(
        webhook_url="http://127.0.0.1:9/hook",
        sms_numbers=(),
        limiter=RateLimiter(0),
        timeout_s=2,
    )
    dispatcher.start()
    try:
        dispatcher.raise_alert(alert("modem_lost"))
        assert dispatcher.wait_idle(10)
    finally:
        dispatcher.close()
    assert dispatcher.counters["webhook_failed"] == 1


def test_sms_outbox_keeps_failed_messages_for_the_next_cycle() -> None:
    dispatcher = AlertDispatcher(
        webhook_url=None, sms_numbers=("+41790000001", "+41790000002"), limiter=RateLimiter(0)
    )
    dispatcher.raise_alert(alert("sim_removed", "the SIM was removed " + "x" * 300))
    sent: list[tuple[str, str]] = []
    failing = True

    def send(number: str, text: str) -> int:
        if failing:
            raise OSError("modem gone")
        sent.append((number, text))
        return len(sent)

    dispatcher.drain_sms(send)
    assert dispatcher.sms_waiting == 2
    assert dispatcher.counters["sms_failed"] == 1
    failing = False
    dispatcher.drain_sms(send)
    assert dispatcher.sms_waiting == 0
    assert [number for number, _ in sent] == ["+41790000001", "+41790000002"]
    assert all(len(text) <= 160 and text.isascii() for _, text in sent)
    assert sent[0][1].startswith("SALVE dc1-a CRITICAL: the SIM was removed")
    dispatcher.close()

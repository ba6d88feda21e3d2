"""Delivery to a real loopback HTTP server: order, answers, backoff, events."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from appliance.changes import EventKind
from appliance.queue import ObservationQueue
from appliance.shipper import Backoff, Outcome, Shipper, classify_response, token_observed_at


class FakeGmlc:
    """Answers POST /v1/observations with a scripted status per token."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.answer: Callable[[str], tuple[int, bytes]] = lambda token: (202, b'{"accepted": 1}')
        gmlc = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                assert self.path == "/v1/observations"
                gmlc.received.append(body)
                status, content = gmlc.answer(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gmlc() -> Iterator[FakeGmlc]:
    server = FakeGmlc()
    try:
        yield server
    finally:
        server.close()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def make_shipper(queue: ObservationQueue, url: str, events: list[tuple[EventKind, str]]) -> Shipper:
    def on_event(kind: EventKind, message: str, details: dict[str, Any]) -> None:
        events.append((kind, message))

    return Shipper(queue, url=url, ca_file=None, timeout_s=2, max_backoff_s=0.2, on_event=on_event)


def test_classification() -> None:
    assert classify_response(202, b'{"accepted": 3}').outcome is Outcome.DELIVERED
    replay = classify_response(409, b'{"error": "replay", "detail": "seq 3 <= 5"}')
    assert replay.outcome is Outcome.REPLAY
    assert replay.detail == "HTTP 409 replay: seq 3 <= 5"
    assert classify_response(409, b'{"error": "sim_mismatch"}').outcome is Outcome.REFUSED
    assert classify_response(401, b'{"error": "unknown_key"}').outcome is Outcome.REFUSED
    assert classify_response(422, b"{}").outcome is Outcome.INVALID
    assert classify_response(400, b"not json").outcome is Outcome.INVALID
    assert classify_response(503, b"").outcome is Outcome.RETRY
    assert classify_response(429, b"").outcome is Outcome.RETRY


def test_backoff_grows_to_its_cap_and_resets() -> None:
    backoff = Backoff(cap_s=5)
    assert [backoff.failed() for _ in range(5)] == [1, 2, 4, 5, 5]
    backoff.succeeded()
    assert backoff.failed() == 1


def test_delivers_in_order_and_empties_the_queue(tmp_path: Path, gmlc: FakeGmlc) -> None:
    queue = ObservationQueue(tmp_path / "q", 100)
    for seq in range(1, 6):
        queue.put(seq, f"token-{seq}")
    events: list[tuple[EventKind, str]] = []
    shipper = make_shipper(queue, gmlc.url, events)
    shipper.start()
    try:
        wait_for(lambda: len(queue) == 0)
    finally:
        shipper.close()
    assert gmlc.received == [f"token-{seq}" for seq in range(1, 6)]
    assert shipper.counters["delivered"] == 5
    assert shipper.last_delivered_seq == 5
    assert events == []


def test_unreachable_then_back_keeps_everything(tmp_path: Path) -> None:
    queue = ObservationQueue(tmp_path / "q", 100)
    events: list[tuple[EventKind, str]] = []
    # Nothing listens yet: reserve a port by starting and stopping a server.
    probe = FakeGmlc()
    url = probe.url
    probe.close()
    shipper = make_shipper(queue, url, events)
    shipper.start()
    try:
        for seq in (1, 2, 3):
            queue.put(seq, f"t{seq}")
            shipper.wake()
        wait_for(lambda: shipper.reachable is False)
        assert len(queue) == 3
        server = FakeGmlc()
        shipper.reconfigure(url=server.url, ca_file=None, timeout_s=2, max_backoff_s=0.2)
        wait_for(lambda: len(queue) == 0)
        server.close()
    finally:
        shipper.close()
    assert server.received == ["t1", "t2", "t3"]
    kinds = [kind for kind, _ in events]
    assert kinds == [EventKind.GMLC_UNREACHABLE, EventKind.GMLC_BACK]
    assert shipper.counters["retries"] >= 1


def test_replay_is_dropped_and_invalid_is_counted(tmp_path: Path, gmlc: FakeGmlc) -> None:
    answers = {
        "t1": (409, b'{"error": "replay", "detail": "already have it"}'),
        "t2": (422, b'{"error": "clock_skew", "detail": "too old"}'),
        "t3": (202, b'{"accepted": 3}'),
    }
    gmlc.answer = lambda token: answers[token]
    queue = ObservationQueue(tmp_path / "q", 100)
    for seq in (1, 2, 3):
        queue.put(seq, f"t{seq}")
    events: list[tuple[EventKind, str]] = []
    shipper = make_shipper(queue, gmlc.url, events)
    shipper.start()
    try:
        wait_for(lambda: len(queue) == 0)
    finally:
        shipper.close()
    assert shipper.counters["replayed"] == 1
    assert shipper.counters["invalid"] == 1
    assert shipper.counters["delivered"] == 1
    assert [kind for kind, _ in events] == [EventKind.GMLC_REJECTED]


def test_sim_mismatch_alerts_once_and_keeps_the_entry(tmp_path: Path, gmlc: FakeGmlc) -> None:
    refusing = True

    def answer(token: str) -> tuple[int, bytes]:
        if refusing:
            return 409, b'{"error": "sim_mismatch", "detail": "IMSI differs"}'
        return 202, b"{}"

    gmlc.answer = answer
    queue = ObservationQueue(tmp_path / "q", 100)
    queue.put(1, "t1")
    events: list[tuple[EventKind, str]] = []
    shipper = make_shipper(queue, gmlc.url, events)
    shipper.start()
    try:
        wait_for(lambda: shipper.counters["refused"] >= 3)
        assert queue.seqs() == [1]
        assert [kind for kind, _ in events] == [EventKind.GMLC_REJECTED]
        assert "IMSI differs" in events[0][1]
        refusing = False
        wait_for(lambda: len(queue) == 0)
    finally:
        shipper.close()
    assert [kind for kind, _ in events] == [EventKind.GMLC_REJECTED, EventKind.GMLC_BACK]


def test_refused_head_gives_way_to_newer_entries(tmp_path: Path, gmlc: FakeGmlc) -> None:
    gmlc.answer = lambda token: (
        (409, b'{"error": "sim_mismatch", "detail": "IMSI differs"}')
        if token == "old-sim"
        else (202, b"{}")
    )
    queue = ObservationQueue(tmp_path / "q", 100)
    queue.put(1, "old-sim")
    queue.put(2, "right-sim")
    events: list[tuple[EventKind, str]] = []
    shipper = make_shipper(queue, gmlc.url, events)
    shipper.start()
    try:
        wait_for(lambda: len(queue) == 0)
    finally:
        shipper.close()
    assert gmlc.received == ["old-sim"] * 3 + ["right-sim"]
    assert shipper.counters["discarded"] == 1
    assert shipper.counters["delivered"] == 1


def token_with(observed_at: int) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"observed_at": observed_at}).encode())
    return "e30." + payload.decode().rstrip("=") + ".sig"


def test_old_report_refused_as_too_old_is_expired_not_alerted(
    tmp_path: Path, gmlc: FakeGmlc
) -> None:
    gmlc.answer = lambda token: (422, b'{"error": "clock_skew", "detail": "too old"}')
    queue = ObservationQueue(tmp_path / "q", 100)
    old, recent = token_with(int(time.time()) - 3600), token_with(int(time.time()))
    queue.put(1, old)
    queue.put(2, recent)
    assert token_observed_at(recent) is not None
    events: list[tuple[EventKind, str]] = []
    shipper = make_shipper(queue, gmlc.url, events)
    shipper.start()
    try:
        wait_for(lambda: len(queue) == 0)
    finally:
        shipper.close()
    assert shipper.counters["expired"] == 1
    assert shipper.counters["invalid"] == 1  # a fresh report refused: the clock is wrong
    assert [kind for kind, _ in events] == [EventKind.GMLC_REJECTED]
    assert token_observed_at("garbage") is None

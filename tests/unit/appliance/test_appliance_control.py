"""The status socket: answers, refuses a second daemon, says when nothing runs."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.control import StatusServer, query_status
from appliance.errors import ApplianceError, DaemonNotRunningError


@pytest.fixture
def socket_path() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="ctl") as directory:
        yield Path(directory) / "status.sock"


def test_status_round_trip(socket_path: Path) -> None:
    calls = []

    def provider() -> dict[str, object]:
        calls.append(1)
        return {"state": "observing", "queue": {"depth": 2}}

    server = StatusServer(socket_path, provider)
    server.start()
    try:
        assert query_status(socket_path) == {"state": "observing", "queue": {"depth": 2}}
        assert query_status(socket_path)["state"] == "observing"
        assert (socket_path.stat().st_mode & 0o777) == 0o660
    finally:
        server.close()
    assert len(calls) == 2
    assert not socket_path.exists()


def test_not_running_is_said_plainly(socket_path: Path) -> None:
    with pytest.raises(DaemonNotRunningError, match="not running"):
        query_status(socket_path)


def test_stale_socket_is_replaced_and_live_one_refused(socket_path: Path) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(socket_path))
    stale.close()  # the file stays, nobody listens
    first = StatusServer(socket_path, lambda: {"n": 1})
    first.start()
    try:
        with pytest.raises(ApplianceError, match="already answers"):
            StatusServer(socket_path, lambda: {"n": 2}).start()
        assert query_status(socket_path) == {"n": 1}
    finally:
        first.close()


def test_failing_provider_is_reported_not_fatal(socket_path: Path) -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("boom")

    server = StatusServer(socket_path, broken)
    server.start()
    try:
        with pytest.raises(ApplianceError, match="boom"):
            query_status(socket_path)
    finally:
        server.close()


def test_unknown_request_gets_an_error_line(socket_path: Path) -> None:
    server = StatusServer(socket_path, lambda: {})
    server.start()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(5)
            client.connect(str(socket_path))
            client.sendall(b"reboot\n")
            assert b"unknown request" in client.recv(4096)
    finally:
        server.close()


def test_a_regular_file_in_the_way_is_refused(socket_path: Path) -> None:
    socket_path.write_text("x")
    with pytest.raises(ApplianceError, match="not a socket"):
        StatusServer(socket_path, lambda: {}).start()

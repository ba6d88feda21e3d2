"""The daemon in-process on an in-process simulated modem: alerts by webhook and SMS.

The daemon runs in a thread (so no signal handlers) and is stopped with request_stop();
the modem is ``sim://`` with a control socket, the webhook a loopback HTTP server.
"""

from __future__ import annotations

import contextlib
import json
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from appliance.config import ApplianceConfig, load_config
from appliance.daemon import Daemon
from appliance.state import create_key, ensure_state_dir
from runtime.sdnotify import SystemdNotifier
from tests.support.tomlfile import write_toml


def wait_for(what: str, condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling interval


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alerts", received
    finally:
        server.shutdown()
        server.server_close()


def control(path: Path, **command: Any) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(json.dumps(command).encode() + b"\n")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert json.loads(answer)["ok"] is True, answer


def write_config(
    tmp_path: Path,
    socket_dir: Path,
    appliance_id: str,
    port: str,
    **tables: dict[str, object],
) -> Path:
    """``tmp_path/appliance.toml`` for appliance ``appliance_id`` on modem ``port``, its
    state in ``tmp_path``, its status socket in ``socket_dir`` (socket paths are short)
    and a GMLC where nothing listens; ``tables`` add settings (table: keys)."""
    base: dict[str, dict[str, object]] = {
        "appliance": {
            "id": appliance_id,
            "state_dir": tmp_path / "state",
            "status_socket": socket_dir / "status.sock",
        },
        "modem": {"port": port},
        "gmlc": {"url": "http://127.0.0.1:9"},
    }
    for table, values in tables.items():
        base.setdefault(table, {}).update(values)
    return write_toml(tmp_path / "appliance.toml", base)


def prepared(config_path: Path) -> ApplianceConfig:
    """Loads the config and creates the state directory and key, as `init` would."""
    config = load_config(config_path, environ={})
    ensure_state_dir(config.appliance.state_dir)
    create_key(config.appliance.key_path)
    return config


@contextlib.contextmanager
def running(config: ApplianceConfig, notifier: SystemdNotifier | None = None) -> Iterator[Daemon]:
    """Runs the daemon in a thread; on exit asks it to stop and checks that it did."""
    daemon = Daemon(config, notifier=notifier or SystemdNotifier({}))
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    try:
        yield daemon
    finally:
        daemon.request_stop()
        thread.join(15)
    assert not thread.is_alive()


def test_sim_swap_raises_webhook_and_sms_alerts(
    tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    with tempfile.TemporaryDirectory(prefix="dmn") as short:
        control_path = Path(short) / "sim.sock"
        config_path = write_config(
            tmp_path,
            Path(short),
            "dc1-alerts",
            f"sim://quectel-ec25?scenario=demo&seed=3&control={control_path}",
            appliance={"site": "lab", "interval_s": 1},
            gmlc={"timeout_s": 1},
            alerts={
                "webhook_url": url,
                "sms_numbers": ["+41790000001"],
                "min_interval_s": 3600,
            },
        )
        config = prepared(config_path)
        with running(config) as daemon:
            wait_for("the first report", lambda: daemon.status()["last_report"])
            control(
                control_path,
                cmd="swap_sim",
                imsi="228019999999999",
                iccid="8941019999999999997",
            )
            wait_for(
                "the sim_swapped webhook",
                lambda: any(body["kind"] == "sim_swapped" for body in received),
            )
            status = wait_for(
                "the SMS alert",
                lambda: (s := daemon.status())["counters"].get("alerts_sms_sent", 0) >= 1 and s,
            )
        first_run = [body["kind"] for body in received]
        # A restart finds the scenario's original SIM again: that differs from the SIM
        # remembered by the last run, which is a swap too.
        remembered = json.loads((config.appliance.state_dir / "sim.json").read_text())
        assert remembered == {"imsi": "228019999999999", "iccid": "8941019999999999997"}
        with running(config) as restarted:
            again = wait_for(
                "a swap detected at start-up",
                lambda: (s := restarted.status())["counters"]["sim_swapped"] >= 1 and s,
            )
        assert again["sim"]["imsi"] == "228011234567890"
    swap = next(body for body in received if body["kind"] == "sim_swapped")
    assert swap["appliance"] == "dc1-alerts"
    assert swap["severity"] == "critical"
    assert swap["details"]["new_imsi"] == "228019999999999"
    # The GMLC is unreachable in this test: that is an alert of its own, once.
    assert first_run.count("gmlc_unreachable") == 1
    assert status["counters"]["sim_swapped"] == 1


def test_start_up_refuses_a_missing_key(tmp_path: Path) -> None:
    config_path = tmp_path / "appliance.toml"
    config_path.write_text(
        "[appliance]\n"
        f'state_dir = "{tmp_path / "state"}"\n'
        "[modem]\n"
        'port = "sim://generic"\n'
        "[gmlc]\n"
        'url = "http://127.0.0.1:9"\n'
    )
    config = load_config(config_path, environ={}, hostname=lambda: "box")
    from appliance.errors import StateError

    with pytest.raises(StateError, match="salve-appliance init"):
        Daemon(config, notifier=SystemdNotifier({})).run()


def test_missing_modem_at_start_is_reported_and_stop_still_works(tmp_path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="dmn") as short:
        config_path = write_config(
            tmp_path, Path(short), "dc1-nomodem", str(tmp_path / "ttyUSB-missing")
        )
        config = prepared(config_path)
        with running(config) as daemon:
            status = wait_for(
                "modem_lost", lambda: (s := daemon.status())["counters"]["modem_lost"] and s
            )
            started = time.monotonic()  # the stop happens as the block ends
        assert time.monotonic() - started < 5
    assert status["state"] == "no_modem"
    assert "ttyUSB-missing" in status["status"]
    assert status["modem"]["present"] is False


@pytest.mark.parametrize(("pin", "unlocked"), [("4321", True), ("1111", False)])
def test_configured_pin_is_tried_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, pin: str, unlocked: bool
) -> None:
    with tempfile.TemporaryDirectory(prefix="dmn") as short:
        config_path = write_config(
            tmp_path,
            Path(short),
            "dc1-pin",
            "sim://quectel-ec25?scenario=pin-locked&seed=5",
            appliance={"interval_s": 1},
            modem={"pin": pin},
        )
        config = prepared(config_path)
        with running(config) as daemon:
            if unlocked:
                status = wait_for(
                    "observing", lambda: (s := daemon.status())["state"] == "observing" and s
                )
                assert status["counters"]["pin_required"] == 0
            else:
                first = wait_for(
                    "a locked SIM", lambda: (s := daemon.status())["state"] == "sim_locked" and s
                )
                # Several more cycles: the wrong PIN is not tried again.
                status = wait_for(
                    "more cycles",
                    lambda: (
                        (s := daemon.status())["counters"]["cycles"]
                        >= first["counters"]["cycles"] + 3
                        and s
                    ),
                )
                assert status["state"] == "sim_locked"
                assert status["counters"]["pin_required"] == 1
    rejected = [r for r in caplog.records if r.getMessage() == "pin_rejected"]
    assert len(rejected) == (0 if unlocked else 1)


class NotifyListener:
    """systemd's end of NOTIFY_SOCKET: collects each message as a dict."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.1)
        self.messages: list[dict[str, str]] = []

    def collect(self) -> list[dict[str, str]]:
        while True:
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                return self.messages
            self.messages.append(dict(line.split("=", 1) for line in data.decode().splitlines()))

    def close(self) -> None:
        self._sock.close()


def test_ready_without_a_modem_and_a_reload_while_waiting_says_so(tmp_path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="dmn") as short:
        listener = NotifyListener(Path(short) / "notify")
        missing = tmp_path / "ttyUSB-missing"

        def write_ready_config(port: str) -> Path:
            return write_config(
                tmp_path, Path(short), "dc1-ready", port, appliance={"interval_s": 1}
            )

        config_path = write_ready_config(str(missing))
        config = prepared(config_path)
        notifier = SystemdNotifier({"NOTIFY_SOCKET": listener.path.as_posix()})
        try:
            with running(config, notifier) as daemon:
                # READY=1 comes at once, with the modem still missing: STATUS= says so.
                ready = wait_for(
                    "READY=1", lambda: [m for m in listener.collect() if m.get("READY") == "1"]
                )
                assert ready[0]["STATUS"] == f"opening the modem on {missing}"
                waiting = wait_for(
                    "the waiting status",
                    lambda: (s := daemon.status())["state"] == "no_modem" and s,
                )
                assert waiting["status"].startswith(f"waiting for the modem on {missing}")
                # A reload that changes nothing about the modem: READY=1 with the same
                # waiting line, never "observing" or "opening".
                daemon.request_reload()
                again = wait_for(
                    "READY=1 after the reload",
                    lambda: [m for m in listener.collect() if m.get("READY") == "1"][1:],
                )
                assert again[0]["STATUS"].startswith(f"waiting for the modem on {missing}")
                # A reload onto a working port: opening, then observing.
                write_ready_config("sim://quectel-ec25?scenario=demo&seed=4")
                daemon.request_reload()
                third = wait_for(
                    "READY=1 after the second reload",
                    lambda: [m for m in listener.collect() if m.get("READY") == "1"][2:],
                )
                assert (
                    third[0]["STATUS"]
                    == "opening the modem on sim://quectel-ec25?scenario=demo&seed=4"
                )
                wait_for("observing", lambda: daemon.status()["state"] == "observing")
                # The GMLC at port 9 cannot be reached: the line says so, not "observing".
                wait_for(
                    "the unreachable GMLC in STATUS=",
                    lambda: any(
                        "the GMLC at http://127.0.0.1:9 is unreachable" in m.get("STATUS", "")
                        for m in listener.collect()
                    ),
                )
        finally:
            listener.close()


def test_a_brief_unplug_between_cycles_is_lost_back_and_alerted(
    tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    with tempfile.TemporaryDirectory(prefix="dmn") as short:
        control_path = Path(short) / "sim.sock"
        # One cycle a minute: the 3 s unplug falls between two cycles.
        config_path = write_config(
            tmp_path,
            Path(short),
            "dc1-unplug",
            f"sim://quectel-ec25?scenario=demo&seed=6&control={control_path}",
            appliance={"interval_s": 60},
            gmlc={"timeout_s": 1},
            alerts={"webhook_url": url, "min_interval_s": 3600},
        )
        config = prepared(config_path)
        with running(config) as daemon:
            first = wait_for("the first report", lambda: daemon.status()["last_report"])
            control(control_path, cmd="unplug", seconds=3)
            lost = wait_for(
                "modem_lost", lambda: (s := daemon.status())["counters"]["modem_lost"] and s
            )
            assert lost["state"] == "no_modem"
            assert "waiting for it to come back" in lost["status"]
            back = wait_for(
                "modem_back and a new report",
                lambda: (
                    (s := daemon.status())["counters"]["modem_back"]
                    and (s["last_report"] or {}).get("seq", 0) > first["seq"]
                    and s
                ),
            )
            wait_for(
                "both alerts",
                lambda: {"modem_lost", "modem_back"} <= {body["kind"] for body in received},
            )
    assert back["state"] == "observing"
    assert back["counters"]["modem_lost"] == 1
    assert back["counters"]["modem_back"] == 1
    alert = next(body for body in received if body["kind"] == "modem_lost")
    assert alert["severity"] == "critical"

"""`salve-gmlc serve` as an operator and systemd see it.

A start that cannot succeed (a port in use, a bad TLS file) ends with its own exit code and
one line in words, before anything is announced; Ctrl-C during start-up ends in words;
under systemd the main process notifies READY once it serves, pings the watchdog and says
STOPPING (with several workers, tests/integration/gmlc/test_gmlc_connections.py); every log
line is JSON, prefixed with its priority when stderr is the journal.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gmlc.cli import main

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A development node made by `salve-gmlc init`; returns its configuration file."""
    config = tmp_path_factory.mktemp("serve") / "gmlc.toml"
    argv = ["--config", str(config), "init", "--state-dir", str(config.parent / "state")]
    assert main([*argv, "--dev", "--json"]) == 0
    return config


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment without GMLC settings or systemd variables of the test's own runner."""
    for name in list(os.environ):
        if name.startswith(("SALVE_GMLC_", "NOTIFY_SOCKET", "WATCHDOG_", "JOURNAL_STREAM")):
            monkeypatch.delenv(name)
    return dict(os.environ)


def _serve(node: Path, env: dict[str, str], stderr: Any = subprocess.PIPE) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gmlc", "--config", str(node), "serve"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
    )


@pytest.fixture
def stopped_afterwards() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("taken", ["port", "metrics_port"])
def test_a_port_in_use_has_its_own_exit_code_and_one_line(
    node: Path,
    clean_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    taken: str,
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        ports = {"port": _free_port(), "metrics_port": _free_port()}
        ports[taken] = busy.getsockname()[1]
        for name, value in ports.items():
            monkeypatch.setenv(f"SALVE_GMLC_{name.upper()}", str(value))
        capsys.readouterr()
        assert main(["--config", str(node), "serve"]) == 6
    err = capsys.readouterr().err
    what = "MLP" if taken == "port" else "metrics"
    # One line in words, nothing announced: no "listening", no JSON after it.
    assert err.splitlines() == [
        f"salve-gmlc: cannot listen for {what} on 127.0.0.1:{ports[taken]}: the port is in use "
        f"(another salve-gmlc, or another service: ss -ltnp 'sport = :{ports[taken]}' shows which)"
    ]


def test_a_bad_certificate_names_the_file(
    node: Path,
    clean_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    cert, key = tmp_path / "gmlc.crt", tmp_path / "gmlc.key"
    cert.write_text("not a certificate\n")
    key.write_text("not a key\n")
    monkeypatch.setenv("SALVE_GMLC_TLS_CERT", str(cert))
    monkeypatch.setenv("SALVE_GMLC_TLS_KEY", str(key))
    monkeypatch.setenv("SALVE_GMLC_PORT", str(_free_port()))
    capsys.readouterr()
    assert main(["--config", str(node), "serve"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"salve-gmlc: tls_cert {cert} is not a PEM certificate")
    assert "PEM lib" not in line and "_ssl.c" not in line


def test_ctrl_c_during_start_up_ends_in_words(
    node: Path, clean_env: dict[str, str], stopped_afterwards: list[subprocess.Popen[str]]
) -> None:
    process = _serve(node, {**clean_env, "SALVE_GMLC_PORT": str(_free_port())})
    stopped_afterwards.append(process)
    # The moment the commands' libraries load (pydantic's core is among the first), the
    # program is deep in its start-up: the interrupt lands there, not after it.
    maps = Path(f"/proc/{process.pid}/maps")
    deadline = time.monotonic() + 30
    while "_pydantic_core" not in maps.read_text():
        assert process.poll() is None and time.monotonic() < deadline, "start-up not seen"
        time.sleep(0.002)  # polling a process's state, not hiding a race
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert err.splitlines()[-1] == "salve-gmlc: interrupted"
    assert "Traceback" not in err


def _log_entries(log: Path) -> list[dict[str, Any]]:
    entries = []
    for line in log.read_text().splitlines():
        # The journal's priority prefix, then one JSON object.
        assert line[0] == "<" and line[2] == ">", line
        entry = json.loads(line[3:])
        assert {"ts", "level", "logger", "event"} <= set(entry)
        entry["priority"] = int(line[1])
        entries.append(entry)
    return entries


def test_one_worker_notifies_systemd_and_logs_for_the_journal(
    node: Path,
    clean_env: dict[str, str],
    notify_socket: Any,
    tmp_path: Path,
    stopped_afterwards: list[subprocess.Popen[str]],
) -> None:
    port = _free_port()
    log = tmp_path / "journal"
    with log.open("w") as stderr:
        identity = os.fstat(stderr.fileno())
        process = _serve(
            node,
            {
                **clean_env,
                "SALVE_GMLC_PORT": str(port),
                "SALVE_GMLC_METRICS_PORT": "0",
                "NOTIFY_SOCKET": str(notify_socket.path),
                "WATCHDOG_USEC": "1000000",
                # stderr is "the journal": systemd names its device and inode.
                "JOURNAL_STREAM": f"{identity.st_dev}:{identity.st_ino}",
            },
            stderr=stderr,
        )
    stopped_afterwards.append(process)
    sender, ready = notify_socket.wait_for("READY")
    assert sender == process.pid
    assert ready == {"READY": "1", "STATUS": f"serving MLP on http://127.0.0.1:{port}"}
    # READY means serving.
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    assert [notify_socket.wait_for("WATCHDOG")[0] for _ in range(2)] == [process.pid] * 2
    before_ready = notify_socket.messages[: notify_socket.messages.index((sender, ready))]
    assert all(fields["STATUS"].startswith("starting: ") for _, fields in before_ready)

    process.send_signal(signal.SIGTERM)
    assert notify_socket.wait_for("STOPPING")[0] == process.pid
    process.wait(timeout=20)
    assert {pid for pid, _ in notify_socket.messages} == {process.pid}

    entries = _log_entries(log)
    assert [e["event"] for e in entries if e["level"] == "INFO"][-1] == "listening"
    assert all(e["priority"] == 6 for e in entries if e["level"] == "INFO")
    # No library chatter at INFO: uvicorn's, alembic's or httpx's notes stay at DEBUG.
    assert all(e["logger"].startswith(("gmlc.", "runtime.")) for e in entries)

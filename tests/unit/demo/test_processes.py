"""The demo's process handling: nothing it starts outlives it, failures come in words."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import demo.processes
from demo.processes import DemoError, Processes, live_groups, wait_for


def group_alive(pgid: int) -> bool:
    return live_groups([pgid]) == [pgid]


def test_stop_all_ends_each_service_with_everything_it_started(tmp_path: Path) -> None:
    processes = Processes(tmp_path)
    # A service with a child of its own in its process group, as a shell script has.
    service = processes.start(
        "sleeper", sys.executable, "-c",
        "import subprocess, time; subprocess.Popen(['sleep', '60']); print('up', flush=True);"
        " time.sleep(60)",
    )  # fmt: skip
    wait_for("the service to start", lambda: "up" in service.log_path.read_text(), 10)
    pgid = service.process.pid
    assert group_alive(pgid)

    processes.stop_all()

    assert service.process.poll() is not None
    assert not group_alive(pgid)
    assert processes.services == []
    assert live_groups(processes.groups) == []


def test_a_service_that_ignores_sigterm_is_killed_after_the_grace_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo.processes, "STOP_GRACE_S", 0.5)
    processes = Processes(tmp_path)
    service = processes.start(
        "stubborn", sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        " print('up', flush=True); time.sleep(60)",
    )  # fmt: skip
    wait_for("the service to start", lambda: "up" in service.log_path.read_text(), 10)

    processes.stop_all()

    assert service.process.returncode == -9
    assert not group_alive(service.process.pid)


def test_a_failing_tool_is_a_demo_error_quoting_its_words(tmp_path: Path) -> None:
    processes = Processes(tmp_path)
    with pytest.raises(DemoError, match=r"exited with 3: .*the reason"):
        processes.run(
            sys.executable, "-c", "import sys; sys.stderr.write('the reason\\n'); sys.exit(3)"
        )
    done = processes.run(sys.executable, "-c", "print('fine')")
    assert (done.returncode, done.stdout) == (0, "fine\n")


def test_a_service_that_exits_is_reported_with_its_log(tmp_path: Path) -> None:
    processes = Processes(tmp_path)
    service = processes.start(
        "short", sys.executable, "-c", "import sys; print('cannot listen'); sys.exit(6)"
    )
    service.process.wait(10)
    with pytest.raises(DemoError, match=r"short exited with status 6:\n    cannot listen"):
        processes.check_alive()
    processes.stop_all()


def test_the_caller_settings_do_not_leak_into_the_programs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALVE_GMLC_PORT", "1")
    processes = Processes(tmp_path)
    done = processes.run(
        sys.executable, "-c", "import os; print(sorted(k for k in os.environ if 'SALVE' in k))"
    )
    assert done.stdout == "[]\n"


def test_wait_for_gives_up_in_words() -> None:
    with pytest.raises(DemoError, match=r"timed out after 0\.1 s waiting for nothing"):
        wait_for("nothing", lambda: None, 0.1)

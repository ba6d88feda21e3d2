"""The appliance daemon as a real process on the simulated modem (TCP), under a fake systemd.

The GMLC is deliberately absent here (nothing listens on its port): these tests are
about the daemon's life cycle and the modem side; test_stack_gmlc.py covers delivery.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.slow

# Fixtures from conftest.py (not importable under --import-mode=importlib, hence Any).
Simulator = Any
Notify = Any
ApplianceFactory = Callable[..., Any]
Poll = Callable[..., Any]


def last_seq(status: dict[str, Any]) -> int:
    report = status.get("last_report") or {}
    return int(report.get("seq") or 0)


def test_systemd_life_cycle_ready_watchdog_reload_stop(
    simulator: Simulator,
    notify: Notify,
    appliance_factory: ApplianceFactory,
    poll: Poll,
    unused_url: str,
) -> None:
    appliance = appliance_factory(simulator.url, unused_url, interval_s=30)
    appliance.cli("init")
    appliance.start(notify, WATCHDOG_USEC="3000000")
    poll("READY=1", lambda: notify.seen("READY", "1"))
    # The observation is queued before the first delivery attempt settles whether the GMLC
    # is reachable (None until then): wait for both.
    first = appliance.wait_status(
        "a queued observation and a failed delivery",
        lambda s: s["queue"]["depth"] >= 1 and s["gmlc"]["reachable"] is not None,
    )
    assert first["state"] == "observing"
    assert first["gmlc"]["reachable"] is False
    assert first["counters"]["gmlc_unreachable"] == 1
    poll("WATCHDOG=1", lambda: notify.seen("WATCHDOG", "1"))
    assert any(m["STATUS"].startswith("observing") for m in notify.seen("STATUS"))

    # SIGHUP: with a 30 s interval nothing more is reported soon; after the reload, 1 s.
    appliance.write_config(port=simulator.url, gmlc_url=unused_url, interval_s=1)
    assert appliance.process is not None
    appliance.process.send_signal(signal.SIGHUP)
    poll("RELOADING=1", lambda: notify.seen("RELOADING", "1"))
    poll("READY=1 after the reload", lambda: len(notify.seen("READY", "1")) >= 2)
    appliance.wait_status(
        "reports at the new interval", lambda s: last_seq(s) >= last_seq(first) + 2
    )

    # SIGTERM: STOPPING=1, exit 0, undelivered observations still on disk.
    appliance.process.send_signal(signal.SIGTERM)
    assert appliance.process.wait(10) == 0
    assert notify.seen("STOPPING", "1")
    queued = [p for p in (appliance.state_dir / "queue").glob("*.json") if p.name[0].isdigit()]
    assert len(queued) >= 3
    assert "Traceback" not in appliance.log()
    # One log format: every line a JSON object with a timestamp and an event; no line per
    # HTTP request from the client library.
    entries = [json.loads(line) for line in appliance.log().splitlines()]
    assert {"ts", "level", "logger", "event"} <= set(entries[0])
    assert {"daemon_started", "daemon_stopped", "gmlc_unreachable"} <= {e["event"] for e in entries}
    assert not [e for e in entries if e["logger"].startswith(("httpx", "httpcore"))]
    result = appliance.cli("status", check=False)
    assert result.returncode == 3
    assert "not running" in result.stderr


def test_garbage_from_the_modem_is_survived(
    simulator: Simulator,
    appliance_factory: ApplianceFactory,
    poll: Poll,
    unused_url: str,
) -> None:
    appliance = appliance_factory(simulator.url, unused_url, interval_s=1)
    appliance.cli("init")
    appliance.start()
    before = appliance.wait_status("the first report", lambda s: last_seq(s) >= 1)
    # NULs, invalid UTF-8, a broken line and a fake final result in the middle of traffic.
    simulator.control(
        cmd="garbage", data_hex="00ff fe c3 28 0d0a 2b43524547 0d0a4f4b0d0a".replace(" ", "")
    )
    simulator.control(cmd="garbage", data_hex="deadbeef00000d0a")
    after = appliance.wait_status(
        "reports to continue", lambda s: last_seq(s) >= last_seq(before) + 2, timeout=45
    )
    assert after["state"] == "observing"
    assert after["sim"]["imsi"] == "228011234567890"
    assert appliance.stop() == 0


def test_modem_unplugged_and_back(
    simulator: Simulator,
    appliance_factory: ApplianceFactory,
    poll: Poll,
    unused_url: str,
) -> None:
    appliance = appliance_factory(simulator.url, unused_url, interval_s=1)
    appliance.cli("init")
    appliance.start()
    appliance.wait_status("the first report", lambda s: last_seq(s) >= 1)
    simulator.control(cmd="unplug", seconds=2)
    gone = appliance.wait_status("modem_lost", lambda s: s["counters"]["modem_lost"] >= 1)
    assert gone["state"] == "no_modem"
    back = appliance.wait_status(
        "modem_back",
        lambda s: s["counters"]["modem_back"] >= 1 and s["state"] == "observing",
        timeout=60,
    )
    appliance.wait_status("new reports", lambda s: last_seq(s) > last_seq(back))
    assert appliance.stop() == 0


def test_sim_removed_and_swapped_are_detected(
    simulator: Simulator,
    appliance_factory: ApplianceFactory,
    poll: Poll,
    unused_url: str,
) -> None:
    appliance = appliance_factory(simulator.url, unused_url, interval_s=1)
    appliance.cli("init")
    appliance.start()
    appliance.wait_status("the first report", lambda s: last_seq(s) >= 1)
    simulator.control(cmd="remove_sim")
    removed = appliance.wait_status("sim_removed", lambda s: s["counters"]["sim_removed"] >= 1)
    assert removed["state"] in ("no_sim", "waiting_for_sim")
    simulator.control(
        cmd="swap_sim", imsi="228019999999999", iccid="8941019999999999997", msisdn="+41790000000"
    )
    swapped = appliance.wait_status("sim_swapped", lambda s: s["counters"]["sim_swapped"] >= 1)
    assert swapped["counters"]["sim_inserted"] >= 1
    appliance.wait_status(
        "the new SIM", lambda s: (s["sim"] or {}).get("imsi") == "228019999999999"
    )
    assert appliance.stop() == 0

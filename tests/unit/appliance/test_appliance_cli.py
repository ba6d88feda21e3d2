"""``salve-appliance`` commands in-process: words, exit codes, JSON."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from appliance.cli import main, render_status

SIM_PORT = "sim://quectel-ec25?scenario=demo&seed=2"


def write_config(tmp_path: Path, *, port: str = SIM_PORT, site: str | None = "lab") -> Path:
    path = tmp_path / "appliance.toml"
    site_line = f'site = "{site}"\n' if site else ""
    path.write_text(
        "[appliance]\n"
        'id = "dc1-cli"\n'
        f"{site_line}"
        f'state_dir = "{tmp_path / "state"}"\n'
        f'status_socket = "{tmp_path / "s.sock"}"\n'
        "[modem]\n"
        f'port = "{port}"\n'
        "[gmlc]\n"
        'url = "https://gmlc.example.net"\n'
    )
    return path


@pytest.fixture(autouse=True)
def no_operator_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("SALVE_APPLIANCE_CONFIG", "SALVE_APPLIANCE_MODEM_PORT"):
        monkeypatch.delenv(variable, raising=False)


def test_init_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    assert main(["init", "--config", str(config), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["created"] is True
    assert first["appliance_id"] == "dc1-cli"
    key = tmp_path / "state" / "appliance.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    assert main(["init", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "kept the existing" in out
    assert first["public_key"] in out


def test_enroll_prints_the_gmlc_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    assert main(["init", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["enroll", "--config", str(config), "--json"]) == 0
    enrollment = json.loads(capsys.readouterr().out)
    assert enrollment["imsi"] == "228011234567890"
    assert enrollment["iccid"] == "8941011234567890123"
    assert enrollment["msisdn"] == "+41791234567"
    assert enrollment["command"] == (
        f"salve-gmlc appliance add dc1-cli --public-key={enrollment['public_key']} "
        "--imsi 228011234567890 --iccid 8941011234567890123 --msisdn +41791234567 --site lab"
    )
    assert main(["enroll", "--config", str(config)]) == 0
    assert enrollment["command"] in capsys.readouterr().out


def test_enroll_before_init_or_without_site(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(["enroll", "--config", str(config)]) == 1
    assert "salve-appliance init" in capsys.readouterr().err
    no_site = write_config(tmp_path, site=None)
    assert main(["init", "--config", str(no_site)]) == 0
    assert main(["enroll", "--config", str(no_site)]) == 2
    assert "appliance.site" in capsys.readouterr().err


def test_bad_configuration_is_exit_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[queue]\nmax_items = -1\n")
    assert main(["status", "--config", str(config)]) == 2
    assert "queue.max_items" in capsys.readouterr().err


def test_status_without_daemon_is_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(["status", "--config", str(config)]) == 3
    assert "not running" in capsys.readouterr().err
    assert main(["status", "--config", str(config), "--json"]) == 3
    assert json.loads(capsys.readouterr().out)["running"] is False


def test_probe_uses_the_modem_rendering(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    assert main(["probe", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "Quectel" in out and "228011234567890" in out
    assert main(["probe", "--config", str(config), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sim"]["state"] == "READY"


def test_missing_port_is_exit_3_in_plain_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, port=str(tmp_path / "no-such-tty"))
    assert main(["probe", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "no-such-tty" in err


def test_render_status_in_words() -> None:
    status: dict[str, Any] = {
        "appliance": {"id": "dc1", "site": "zrh"},
        "status": "observing: registered on LTE 228-01 area 1234 cell 27440068",
        "modem": {
            "present": True,
            "port": "/dev/salve-modem",
            "profile": "quectel",
            "identity": {"manufacturer": "Quectel", "model": "EC25", "imei": "86"},
        },
        "sim": {"state": "READY", "imsi": "228011234567890", "iccid": "894", "msisdn": None},
        "registration": {"registered": True, "rat": "LTE"},
        "serving": {"rat": "LTE", "mcc": "228", "mnc": "01", "tac": 1234, "ci": 27440068},
        "last_report": {"seq": 42, "age_s": 3.2},
        "gmlc": {
            "url": "https://g",
            "reachable": False,
            "refused": None,
            "last_error": "cannot connect",
            "retry_in_s": 4.0,
            "last_delivered_seq": 40,
        },
        "queue": {"depth": 2, "max_items": 100, "dropped_total": 0, "quarantined_total": 0},
        "counters": {"cell_changed": 1, "modem_lost": 0},
    }
    text = render_status(status)
    assert text.startswith("salve-appliance dc1 at zrh: observing")
    assert "LTE 228-01, area 1234, cell 27440068" in text
    assert "seq 42, observed 3 s ago" in text
    assert "UNREACHABLE (cannot connect)" in text
    assert "last delivered seq 40" in text
    assert "2 waiting (max 100)" in text
    assert "cell_changed 1" in text and "modem_lost" not in text
    status["gmlc"] = {**status["gmlc"], "reachable": True, "refused": "sim_mismatch"}
    assert "REFUSES this appliance" in render_status(status)
    status["modem"] = {"present": False, "port": "/dev/salve-modem"}
    assert "not available on /dev/salve-modem" in render_status(status)


PIN_PORT = "sim://quectel-ec25?scenario=pin-locked&seed=4"


@pytest.mark.parametrize(
    ("pin_line", "code", "words"),
    [
        ('pin = "4321"\n', 0, None),
        ('pin = "1111"\n', 4, "refused the configured PIN"),
        ("", 4, "needs its PIN"),
    ],
)
def test_enroll_with_a_pin_locked_sim(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    pin_line: str,
    code: int,
    words: str | None,
) -> None:
    config = write_config(tmp_path, port=PIN_PORT)
    config.write_text(config.read_text().replace("[modem]\n", f"[modem]\n{pin_line}"))
    assert main(["init", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["enroll", "--config", str(config), "--json"]) == code
    captured = capsys.readouterr()
    if words is None:
        assert json.loads(captured.out)["imsi"]
    else:
        assert words in captured.err


def test_shared_conventions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("salve-appliance ")
    assert main(["status", "--no-such-option"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("salve-appliance: unrecognized arguments")
    assert "error:" not in err
    assert main(["--help"]) == 0
    help_text = capsys.readouterr().out
    assert "3  daemon not running (status), or modem port unavailable" in help_text
    assert "130  interrupted (Ctrl-C)" in help_text

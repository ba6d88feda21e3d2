"""The systemd units, the udev rules and the example configuration."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.config import load_config

SYSTEMD = Path(__file__).resolve().parents[3] / "systemd"
UNITS = ("salve-appliance.service", "salve-gmlc.service")


def unit_settings(name: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (SYSTEMD / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify insists that ExecStart binaries exist: point them at this installation's
    # entry points in a temporary copy, leaving everything else as shipped.
    bin_dir = Path(sys.executable).parent
    copies = []
    for name in UNITS:
        text = (SYSTEMD / name).read_text()
        assert "/usr/local/bin/" in text
        copy = tmp_path / name
        copy.write_text(text.replace("/usr/local/bin/", f"{bin_dir}/"))
        copies.append(str(copy))
        entry_point = name.removesuffix(".service")
        if not (bin_dir / entry_point).exists():
            pytest.skip(f"{entry_point} is not installed next to {sys.executable}")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *copies],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Unknown or misspelt keys are only warnings for verify, so stderr must be empty too.
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_appliance_unit_is_notify_with_watchdog_and_hardening() -> None:
    settings = unit_settings("salve-appliance.service")
    assert settings["Type"] == ["notify"]
    assert settings["Restart"] == ["on-failure"]
    assert int(settings["WatchdogSec"][0]) >= 15
    assert settings["SupplementaryGroups"] == ["dialout"]
    assert "char-ttyUSB rw" in settings["DeviceAllow"]
    assert settings["DevicePolicy"] == ["closed"]
    assert settings["ExecStart"][0].endswith(
        "salve-appliance run --config /etc/salve/appliance.toml"
    )
    assert "kill -HUP $MAINPID" in settings["ExecReload"][0]


@pytest.mark.parametrize("name", UNITS)
def test_both_units_are_hardened(name: str) -> None:
    settings = unit_settings(name)
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "Restart": "on-failure",
    }
    for key, value in expected.items():
        assert settings.get(key) == [value], key
    assert "@system-service" in settings["SystemCallFilter"]
    assert settings["User"][0] == name.removesuffix(".service")
    assert settings["StateDirectory"] == [name.removesuffix(".service")]
    assert settings["RuntimeDirectory"] == [name.removesuffix(".service")]


def rule_lines(name: str) -> list[str]:
    return [
        line
        for line in (SYSTEMD / name).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


@pytest.mark.parametrize("name", ["90-salve-modem.rules", "77-salve-modem-mm-ignore.rules"])
def test_udev_rules_have_matching_labels(name: str) -> None:
    text = "\n".join(rule_lines(name))
    labels = set(re.findall(r'LABEL="([^"]+)"', text))
    gotos = set(re.findall(r'GOTO="([^"]+)"', text))
    assert gotos <= labels
    for line in rule_lines(name):
        # Every clause is KEY op "value"; a missing quote or comma breaks the whole file.
        assert re.fullmatch(r'(\s*[A-Z_]+(\{[^}]+\})?(==|!=|=|\+=)"[^"]*",?)+\s*', line), line


def test_udev_rules_cover_the_supported_modules() -> None:
    naming = (SYSTEMD / "90-salve-modem.rules").read_text()
    ignore = (SYSTEMD / "77-salve-modem-mm-ignore.rules").read_text()
    for vendor in ("2c7c", "1e0e", "1199", "1bc7", "1546", "12d1", "2cb7"):
        assert f'ATTRS{{idVendor}}=="{vendor}"' in naming, vendor
        assert f'ATTRS{{idVendor}}=="{vendor}"' in ignore, vendor
    assert 'SYMLINK+="salve-modem"' in naming
    assert 'KERNEL=="wwan[0-9]*at0"' in naming
    assert 'ENV{ID_MM_DEVICE_IGNORE}="1"' in ignore
    # ModemManager tags candidates in 80-mm-candidate.rules: the ignore flag must come first.
    assert int("77-salve-modem-mm-ignore.rules".split("-")[0]) < 80


def test_example_config_loads() -> None:
    config = load_config(SYSTEMD / "appliance.example.toml", environ={})
    assert config.modem.port == "/dev/salve-modem"
    assert config.gmlc.url is not None and config.gmlc.url.startswith("https://")
    assert str(config.appliance.status_socket).startswith("/run/salve-appliance/")


def test_gmlc_unit_is_notify_with_watchdog() -> None:
    settings = unit_settings("salve-gmlc.service")
    assert settings["Type"] == ["notify"]
    assert settings["NotifyAccess"] == ["main"]
    assert int(settings["WatchdogSec"][0]) >= 10
    assert settings["ExecStart"][0].endswith("salve-gmlc serve --config /etc/salve/gmlc.toml")

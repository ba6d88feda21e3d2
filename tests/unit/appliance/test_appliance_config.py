"""Configuration layering (overrides > environment > file > defaults) and its errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from appliance.config import ApplianceConfig, load_config
from appliance.errors import ConfigError
from tests.support.permissions import run_where_unreadable


@pytest.fixture(autouse=True)
def no_installed_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """These tests mean "no file" when they give none, even where an appliance is installed."""
    monkeypatch.setattr("appliance.config.DEFAULT_CONFIG_PATH", tmp_path / "absent.toml")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "appliance.toml"
    path.write_text(text)
    return path


def load(
    path: Path | None = None, env: dict[str, str] | None = None, **overrides: Any
) -> ApplianceConfig:
    return load_config(
        path, environ=env or {}, overrides=overrides or None, hostname=lambda: "box-7.example"
    )


FULL = """
[appliance]
id = "dc1-a"
site = "zurich-1"
state_dir = "/var/lib/x"
interval_s = 30
status_socket = "/run/x/status.sock"

[modem]
port = "/dev/salve-modem"
baudrate = 9600
command_timeout_s = 2.5
pin = "1234"

[gmlc]
url = "https://gmlc.example.net/"
timeout_s = 3

[queue]
max_items = 50

[alerts]
webhook_url = "https://hooks.example.net/salve"
sms_numbers = ["+41790000001", "0790000002"]
min_interval_s = 60
"""


def test_full_file_is_read_into_typed_values(tmp_path: Path) -> None:
    config = load(write(tmp_path, FULL))
    assert config.appliance.id == "dc1-a"
    assert config.appliance.site == "zurich-1"
    assert config.appliance.state_dir == Path("/var/lib/x")
    assert config.appliance.interval_s == 30.0
    assert config.appliance.status_socket == Path("/run/x/status.sock")
    assert config.modem.port == "/dev/salve-modem"
    assert config.modem.baudrate == 9600
    assert config.modem.pin == "1234"
    assert config.gmlc.url == "https://gmlc.example.net"  # trailing slash removed
    assert config.queue.max_items == 50
    assert config.alerts.sms_numbers == ("+41790000001", "0790000002")
    assert config.alerts.min_interval_s == 60.0


def test_defaults_without_any_file() -> None:
    config = load()
    assert config.appliance.id == "box-7"  # host name, first label
    assert config.appliance.state_dir == Path("/var/lib/salve-appliance")
    assert config.appliance.status_socket == Path("/var/lib/salve-appliance/status.sock")
    assert config.modem.port is None
    assert config.modem.baudrate == 115200
    assert config.queue.max_items == 10000
    assert config.alerts.sms_numbers == ()
    assert config.source is None


def test_environment_beats_file_and_overrides_beat_environment(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    env = {
        "SALVE_APPLIANCE_MODEM_PORT": "sim://generic",
        "SALVE_APPLIANCE_QUEUE_MAX_ITEMS": "7",
        "SALVE_APPLIANCE_ALERTS_SMS_NUMBERS": "+41790000009, +41790000008",
        "SALVE_APPLIANCE_APPLIANCE_INTERVAL_S": "12.5",
    }
    config = load(path, env)
    assert config.modem.port == "sim://generic"
    assert config.queue.max_items == 7
    assert config.alerts.sms_numbers == ("+41790000009", "+41790000008")
    assert config.appliance.interval_s == 12.5
    assert config.modem.baudrate == 9600  # untouched keys still come from the file
    overridden = load(path, env, **{"modem.port": "/dev/ttyUSB2"})
    assert overridden.modem.port == "/dev/ttyUSB2"


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, '[appliance]\nid = "from-env-file"\n')
    config = load_config(environ={"SALVE_APPLIANCE_CONFIG": str(path)})
    assert config.appliance.id == "from-env-file"
    assert config.source == path


def test_relative_state_dir_is_relative_to_the_file(tmp_path: Path) -> None:
    config = load(write(tmp_path, '[appliance]\nstate_dir = "state"\n'))
    assert config.appliance.state_dir == tmp_path / "state"


@pytest.mark.parametrize(
    ("text", "env", "key"),
    [
        ("[appliance]\ninterval_s = 0\n", {}, "appliance.interval_s"),
        ('[appliance]\ninterval_s = "often"\n', {}, "appliance.interval_s"),
        ("[appliance]\ninterval_s = true\n", {}, "appliance.interval_s"),
        ('[appliance]\nid = "has space"\n', {}, "appliance.id"),
        ("[appliance]\nid = 12\n", {}, "appliance.id"),
        ("[modem]\npin = 1234\n", {}, "modem.pin"),
        ('[modem]\npin = "12"\n', {}, "modem.pin"),
        ("[modem]\nbaudrate = 1.5\n", {}, "modem.baudrate"),
        ("", {"SALVE_APPLIANCE_MODEM_BAUDRATE": "fast"}, "modem.baudrate"),
        ('[gmlc]\nurl = "http://gmlc.example.net"\n', {}, "gmlc.url"),
        ('[gmlc]\nurl = "ftp://127.0.0.1"\n', {}, "gmlc.url"),
        ('[gmlc]\nca_file = "missing.pem"\n', {}, "gmlc.ca_file"),
        ("[queue]\nmax_items = 0\n", {}, "queue.max_items"),
        ('[alerts]\nsms_numbers = ["call me"]\n', {}, "alerts.sms_numbers"),
        ('[alerts]\nsms_numbers = "+41790000001"\n', {}, "alerts.sms_numbers"),
        ('[alerts]\nwebhook_url = "mailto:ops@example.net"\n', {}, "alerts.webhook_url"),
        ("[modem]\nprot = 1\n", {}, "modem.prot"),
        ("[radio]\nport = 1\n", {}, "radio"),
        ("", {"SALVE_APPLIANCE_MODEM_PROT": "x"}, "SALVE_APPLIANCE_MODEM_PROT"),
    ],
)
def test_bad_values_name_their_key(
    tmp_path: Path, text: str, env: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, text), env)
    assert caught.value.key == key
    assert key.split(".")[-1] in str(caught.value)


def test_a_ca_file_that_is_a_directory_is_named_as_such(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"gmlc.ca_file .* is a directory"):
        load(write(tmp_path, f'[gmlc]\nca_file = "{tmp_path}"\n'))


def test_a_ca_file_the_service_user_cannot_read_is_a_config_error(tmp_path: Path) -> None:
    # Found by installing as the README says: a CA file in a directory only another service's
    # group may enter was "unexpected failure: PermissionError" instead of a readable refusal.
    private = tmp_path / "private"
    private.mkdir()
    ca_file = private / "ca.pem"
    ca_file.write_text("-----BEGIN CERTIFICATE-----\n")
    config = write(tmp_path, f'[gmlc]\nca_file = "{ca_file}"\n')
    program = (
        "import sys\nfrom pathlib import Path\n"
        "from appliance.config import load_config\n"
        "from appliance.errors import ConfigError\n"
        "try:\n"
        "    load_config(Path(sys.argv[1]), environ={}, hostname=lambda: 'box')\n"
        "except ConfigError as error:\n"
        "    print(error.key, error)\n"
    )
    output = run_where_unreadable(private, program, str(config))
    assert output.startswith("gmlc.ca_file "), output
    assert "is not readable by this user" in output


def test_loopback_http_is_accepted_for_dev(tmp_path: Path) -> None:
    for url in ("http://127.0.0.1:9210", "http://localhost:9210/", "http://[::1]:9210"):
        assert load(write(tmp_path, f'[gmlc]\nurl = "{url}"\n')).gmlc.url == url.rstrip("/")


def test_unreadable_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(write(tmp_path, "[appliance\n"))


def test_missing_required_settings_say_how_to_set_them() -> None:
    config = load()
    with pytest.raises(ConfigError, match="SALVE_APPLIANCE_MODEM_PORT") as caught:
        config.require_port()
    assert caught.value.key == "modem.port"
    with pytest.raises(ConfigError, match=r"\[gmlc\]"):
        config.require_gmlc_url()


def test_unusable_hostname_asks_for_an_id() -> None:
    with pytest.raises(ConfigError, match=r"appliance\.id"):
        load_config(environ={}, hostname=lambda: "bad host name")


def test_unknown_override_is_refused() -> None:
    with pytest.raises(ConfigError):
        load_config(environ={}, overrides={"modem.speed": 1})

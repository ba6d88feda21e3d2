"""The appliance's configuration: a TOML file plus environment overrides.

Precedence, highest first (every key is looked up in this order and the first
source that sets it wins, as python-can's ``load_config`` does):

1. ``overrides`` passed by the caller (command-line flags);
2. environment variables ``SALVE_APPLIANCE_<TABLE>_<KEY>``, e.g.
   ``SALVE_APPLIANCE_MODEM_PORT`` or ``SALVE_APPLIANCE_QUEUE_MAX_ITEMS``;
3. the TOML file (``--config FILE``, else ``$SALVE_APPLIANCE_CONFIG``, else
   ``/etc/salve/appliance.toml`` when it exists);
4. the defaults below.

The file has the tables ``[appliance]`` (id, site, state_dir, interval_s,
status_socket), ``[modem]`` (port, baudrate, command_timeout_s, pin), ``[gmlc]``
(url, ca_file, timeout_s), ``[queue]`` (max_items) and ``[alerts]``
(webhook_url, sms_numbers, min_interval_s). Unknown tables, keys and
``SALVE_APPLIANCE_*`` variables are errors, so a typo never silently falls back
to a default. Every error names the key at fault.

The result is a frozen :class:`ApplianceConfig`, built by :func:`load_config` and
passed down; there is no module-level configuration object.
"""

from __future__ import annotations

import math
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from appliance.errors import ConfigError
from mlp.names import is_loopback_host
from runtime.config import ConfigFileError, read_toml_tables
from runtime.files import FileProblem, FileReadError, read_bounded

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "ENV_PREFIX",
    "AlertsConfig",
    "ApplianceConfig",
    "ApplianceSection",
    "GmlcConfig",
    "ModemConfig",
    "QueueConfig",
    "default_config_path",
    "load_config",
]

ENV_PREFIX = "SALVE_APPLIANCE_"
#: Where packaged installs keep the file; used only when it exists.
DEFAULT_CONFIG_PATH = Path("/etc/salve/appliance.toml")
_CONFIG_PATH_VARIABLE = "SALVE_APPLIANCE_CONFIG"

_APPLIANCE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_PIN = re.compile(r"[0-9]{4,8}")
_PHONE_NUMBER = re.compile(r"\+?[0-9]{3,20}")


@dataclass(frozen=True, slots=True)
class ApplianceSection:
    """``[appliance]``: who this appliance is and where it keeps its state."""

    id: str
    site: str | None
    state_dir: Path
    interval_s: float
    status_socket: Path

    @property
    def key_path(self) -> Path:
        """The Ed25519 private key (PEM, mode 0600)."""
        return self.state_dir / "appliance.key"


@dataclass(frozen=True, slots=True)
class ModemConfig:
    """``[modem]``: the port string (device path, ``sim://…``, ``socket://…``) and timing."""

    port: str | None
    baudrate: int
    command_timeout_s: float
    pin: str | None


@dataclass(frozen=True, slots=True)
class GmlcConfig:
    """``[gmlc]``: where observations go and how the server is verified."""

    url: str | None
    ca_file: Path | None
    timeout_s: float


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """``[queue]``: how many undelivered observations are kept on disk."""

    max_items: int


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    """``[alerts]``: where alerts go and how often one kind may repeat."""

    webhook_url: str | None
    sms_numbers: tuple[str, ...]
    min_interval_s: float


@dataclass(frozen=True, slots=True)
class ApplianceConfig:
    """The whole configuration. ``source`` is the file it came from, if any."""

    appliance: ApplianceSection
    modem: ModemConfig
    gmlc: GmlcConfig
    queue: QueueConfig
    alerts: AlertsConfig
    source: Path | None = None

    def require_port(self) -> str:
        """The modem port, or a ConfigError that says how to set it.

        Raises:
            ConfigError: ``modem.port`` is not configured.
        """
        if self.modem.port is None:
            raise _missing("modem.port")
        return self.modem.port

    def require_gmlc_url(self) -> str:
        """The GMLC base URL, or a ConfigError that says how to set it.

        Raises:
            ConfigError: ``gmlc.url`` is not configured.
        """
        if self.gmlc.url is None:
            raise _missing("gmlc.url")
        return self.gmlc.url


def _missing(key: str) -> ConfigError:
    table, name = key.split(".")
    variable = f"{ENV_PREFIX}{table.upper()}_{name.upper()}"
    return ConfigError(
        f"{key} is not set: add `{name} = ...` under [{table}] or set {variable}", key
    )


# -- field kinds: each converts a TOML value or an environment string -----------------


Converter = Callable[[str, Any, bool], Any]


def _text(key: str, value: Any, from_env: bool) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string, not {_type_name(value)}", key)
    if not value.strip():
        raise ConfigError(f"{key} must not be empty", key)
    return value.strip()


def _number(key: str, value: Any, from_env: bool) -> float:
    if from_env and isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ConfigError(f"{key} must be a number, not {value!r}", key) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key} must be a number, not {_type_name(value)}", key)
    if not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number", key)
    return float(value)


def _integer(key: str, value: Any, from_env: bool) -> int:
    if from_env and isinstance(value, str):
        try:
            value = int(value.strip(), 10)
        except ValueError:
            raise ConfigError(f"{key} must be a whole number, not {value!r}", key) from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key} must be a whole number, not {_type_name(value)}", key)
    return value


def _path(key: str, value: Any, from_env: bool) -> Path:
    return Path(_text(key, value, from_env)).expanduser()


def _text_list(key: str, value: Any, from_env: bool) -> tuple[str, ...]:
    if from_env and isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        raise ConfigError(f"{key} must be a list of strings, not {_type_name(value)}", key)
    items: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ConfigError(f"{key}[{index}] must be a string, not {_type_name(item)}", key)
        items.append(item.strip())
    return tuple(items)


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    for kind, name in names.items():
        if type(value) is kind:
            return name
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class _Field:
    convert: Converter
    default: Any


_SCHEMA: dict[str, dict[str, _Field]] = {
    "appliance": {
        "id": _Field(_text, None),
        "site": _Field(_text, None),
        "state_dir": _Field(_path, Path("/var/lib/salve-appliance")),
        "interval_s": _Field(_number, 60.0),
        "status_socket": _Field(_path, None),
    },
    "modem": {
        "port": _Field(_text, None),
        "baudrate": _Field(_integer, 115200),
        "command_timeout_s": _Field(_number, 5.0),
        "pin": _Field(_text, None),
    },
    "gmlc": {
        "url": _Field(_text, None),
        "ca_file": _Field(_path, None),
        "timeout_s": _Field(_number, 10.0),
    },
    "queue": {
        "max_items": _Field(_integer, 10000),
    },
    "alerts": {
        "webhook_url": _Field(_text, None),
        "sms_numbers": _Field(_text_list, ()),
        "min_interval_s": _Field(_number, 900.0),
    },
}


def default_config_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """The file to read when no ``--config`` is given.

    Args:
        environ: the environment to consult (``os.environ`` when omitted).

    Returns:
        ``$SALVE_APPLIANCE_CONFIG`` if set, else ``/etc/salve/appliance.toml`` when it
        exists, else ``None`` (environment and defaults only).
    """
    env = os.environ if environ is None else environ
    named = env.get(_CONFIG_PATH_VARIABLE, "").strip()
    if named:
        return Path(named)
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    hostname: Callable[[], str] = socket.gethostname,
) -> ApplianceConfig:
    """Reads, merges and validates the configuration.

    Args:
        path: the TOML file; ``None`` means :func:`default_config_path`.
        environ: environment variables (``os.environ`` when omitted).
        overrides: dotted keys (``"modem.port"``) set by the caller, highest precedence.
        hostname: where the default appliance id comes from.

    Returns:
        The validated, frozen configuration.

    Raises:
        ConfigError: the file is missing or not TOML, or a key is unknown, of the wrong
            type or out of range. The message and ``key`` name the culprit.
    """
    env = os.environ if environ is None else environ
    if path is None:
        path = default_config_path(env)
    file_values = _read_file(path) if path is not None else {}
    env_values = _read_environment(env)
    merged: dict[str, dict[str, Any]] = {}
    for table, fields in _SCHEMA.items():
        merged[table] = {}
        for name, spec in fields.items():
            key = f"{table}.{name}"
            if overrides is not None and key in overrides and overrides[key] is not None:
                merged[table][name] = spec.convert(key, overrides[key], True)
            elif key in env_values:
                merged[table][name] = spec.convert(key, env_values[key], True)
            elif name in file_values.get(table, {}):
                merged[table][name] = spec.convert(key, file_values[table][name], False)
            else:
                merged[table][name] = spec.default
    if overrides is not None:
        for key in overrides:
            table, _, name = key.partition(".")
            if name not in _SCHEMA.get(table, {}):
                raise ConfigError(f"{key} is not a known setting", key)
    return _build(merged, path, hostname)


def _read_file(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = read_toml_tables(path, _SCHEMA)
    except ConfigFileError as exc:
        raise ConfigError(str(exc), exc.setting) from None
    for table, content in data.items():
        for name in content:
            if name not in _SCHEMA[table]:
                known = ", ".join(_SCHEMA[table])
                raise ConfigError(
                    f"{path}: unknown key {table}.{name} (known in [{table}]: {known})",
                    f"{table}.{name}",
                )
    return data


def _read_environment(env: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for variable, value in env.items():
        if not variable.startswith(ENV_PREFIX) or variable == _CONFIG_PATH_VARIABLE:
            continue
        rest = variable[len(ENV_PREFIX) :].lower()
        table, _, name = rest.partition("_")
        if name not in _SCHEMA.get(table, {}):
            raise ConfigError(f"environment variable {variable} is not a known setting", variable)
        values[f"{table}.{name}"] = value
    return values


def _build(
    values: dict[str, dict[str, Any]], path: Path | None, hostname: Callable[[], str]
) -> ApplianceConfig:
    section = values["appliance"]
    appliance_id = section["id"]
    if appliance_id is None:
        appliance_id = hostname().split(".")[0]
        if not _APPLIANCE_ID.fullmatch(appliance_id):
            raise ConfigError(
                f"the host name {appliance_id!r} is not a usable appliance id; set appliance.id "
                "(1-64 characters of A-Z a-z 0-9 . _ -)",
                "appliance.id",
            )
    elif not _APPLIANCE_ID.fullmatch(appliance_id):
        raise ConfigError(
            f"appliance.id {appliance_id!r} must be 1-64 characters of A-Z a-z 0-9 . _ -",
            "appliance.id",
        )
    state_dir: Path = section["state_dir"]
    if not state_dir.is_absolute():
        # Relative state directories would move with the working directory of whoever
        # runs the command; resolve them against the config file instead.
        base = path.parent if path is not None else Path.cwd()
        state_dir = (base / state_dir).absolute()
    interval_s = _in_range("appliance.interval_s", section["interval_s"], 1.0, 86400.0)
    status_socket = section["status_socket"] or state_dir / "status.sock"

    modem = values["modem"]
    baudrate = int(_in_range("modem.baudrate", modem["baudrate"], 300, 4_000_000))
    command_timeout_s = _in_range("modem.command_timeout_s", modem["command_timeout_s"], 0.1, 600)
    pin = modem["pin"]
    if pin is not None and not _PIN.fullmatch(pin):
        raise ConfigError(
            'modem.pin must be 4 to 8 digits, written as a string ("1234")', "modem.pin"
        )

    gmlc = values["gmlc"]
    url = gmlc["url"]
    if url is not None:
        url = _gmlc_url(url)
    ca_file: Path | None = gmlc["ca_file"]
    if ca_file is not None:
        _check_readable_file(ca_file, "gmlc.ca_file")
    timeout_s = _in_range("gmlc.timeout_s", gmlc["timeout_s"], 0.1, 600)

    max_items = int(_in_range("queue.max_items", values["queue"]["max_items"], 1, 10_000_000))

    alerts = values["alerts"]
    webhook_url = alerts["webhook_url"]
    if webhook_url is not None:
        parts = urlsplit(webhook_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"alerts.webhook_url {webhook_url!r} must be an http:// or https:// URL",
                "alerts.webhook_url",
            )
    for number in alerts["sms_numbers"]:
        if not _PHONE_NUMBER.fullmatch(number):
            raise ConfigError(
                f"alerts.sms_numbers: {number!r} is not a phone number (digits, optional +)",
                "alerts.sms_numbers",
            )
    min_interval_s = _in_range("alerts.min_interval_s", alerts["min_interval_s"], 0.0, 7 * 86400)

    return ApplianceConfig(
        appliance=ApplianceSection(
            id=appliance_id,
            site=section["site"],
            state_dir=state_dir,
            interval_s=interval_s,
            status_socket=status_socket,
        ),
        modem=ModemConfig(
            port=modem["port"], baudrate=baudrate, command_timeout_s=command_timeout_s, pin=pin
        ),
        gmlc=GmlcConfig(url=url, ca_file=ca_file, timeout_s=timeout_s),
        queue=QueueConfig(max_items=max_items),
        alerts=AlertsConfig(
            webhook_url=webhook_url,
            sms_numbers=tuple(alerts["sms_numbers"]),
            min_interval_s=min_interval_s,
        ),
        source=path,
    )


def _in_range(key: str, value: float, low: float, high: float) -> float:
    if not low <= value <= high:
        raise ConfigError(f"{key} must be between {low:g} and {high:g}, not {value:g}", key)
    return value


def _check_readable_file(path: Path, key: str) -> None:
    """Refuse a file this user cannot read now, rather than when the daemon first needs it."""
    try:
        # The service runs as its own user: a file root can read may still be out of reach.
        read_bounded(path)
    except FileReadError as exc:
        words = exc.describe(
            f"{key} {path}", {FileProblem.DIRECTORY: f"{key} {path} is a directory, not a file"}
        )
        raise ConfigError(words, key) from None


def _gmlc_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname:
        raise ConfigError(f"gmlc.url {url!r} must be an https:// URL with a host", "gmlc.url")
    if parts.scheme == "http":
        if not is_loopback_host(parts.hostname):
            raise ConfigError(
                f"gmlc.url {url!r}: plain http:// is accepted only for a loopback GMLC "
                "(127.0.0.1, ::1, localhost); use https://",
                "gmlc.url",
            )
    elif parts.scheme != "https":
        raise ConfigError(f"gmlc.url {url!r} must start with https://", "gmlc.url")
    if parts.query or parts.fragment:
        raise ConfigError(f"gmlc.url {url!r} must not carry a query or fragment", "gmlc.url")
    try:
        parts.port  # noqa: B018 - touching .port validates it
    except ValueError:
        raise ConfigError(f"gmlc.url {url!r} has an invalid port", "gmlc.url") from None
    return url.rstrip("/")

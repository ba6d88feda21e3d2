"""The front's configuration: a TOML file plus environment overrides.

Precedence, highest first: environment variables ``SALVE_FRONT_<TABLE>_<KEY>`` (for
example ``SALVE_FRONT_UPSTREAM_URL`` or ``SALVE_FRONT_BATCHING_ENABLED``), then the TOML
file (``--config FILE``, else ``$SALVE_FRONT_CONFIG``, else ``/etc/salve/front.toml``),
then the defaults below. Lists of tables (``[[tls.certificates]]``, ``[[site.locations]]``)
come from the file only; a list of names or files (``site.domains``, ``dns.zone_files``)
may be given in the environment separated by commas. Unknown tables, keys and
``SALVE_FRONT_*`` variables are refused, so a typo never falls back to a default silently.

Tables::

    [tls]        listen, handshake_timeout_s, [[tls.certificates]] chain/key/upcoming
    [http]       the client side's limits: header size and count, body size, timeouts
    [upstream]   url, timeouts, keep-alive pool
    [gmlc]       url, name, client_id, password_file, ca_file, msisdn, timeouts,
                 concurrency, delivery_wait_s, retry_after_s
    [site]       domains, statements, state_dir, [[site.locations]] name/lat/lon/precision_m
    [policy]     age, mode, max_age (what ``_salve.H`` says)
    [batching]   enabled, window_ms, max_sessions
    [dns]        server, tsig_key_file, zone, ttl, resolver, trust_anchor, zone_files,
                 require_declaration
    [metrics]    listen (loopback only)

Secrets come from files (``gmlc.password_file``, ``dns.tsig_key_file``), never from the
file's text, the environment or a command line. :func:`load_config` returns a frozen
:class:`FrontConfig`; nothing is read at import time.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from front.errors import ConfigError
from mlp.dnsrecords import (
    DnsRecordError,
    GmlcEndpoint,
    LocSite,
    SalvePolicy,
    format_loc,
)
from mlp.names import HostNameError, canonical_host_name, is_loopback_host
from runtime.config import ConfigFileError, read_toml_tables
from runtime.files import FileProblem, FileReadError, read_bounded

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "ENV_PREFIX",
    "BatchingConfig",
    "CertificateConfig",
    "DnsConfig",
    "FrontConfig",
    "GmlcConfig",
    "HttpConfig",
    "LocationConfig",
    "MetricsConfig",
    "PolicyConfig",
    "SiteConfig",
    "TlsConfig",
    "UpstreamConfig",
    "load_config",
    "parse_listen",
    "read_secret_file",
]

ENV_PREFIX: Final = "SALVE_FRONT_"
DEFAULT_CONFIG_PATH: Final = Path("/etc/salve/front.toml")
_CONFIG_PATH_VARIABLE: Final = "SALVE_FRONT_CONFIG"
_MAX_SECRET_BYTES: Final = 4096


def parse_listen(text: str) -> tuple[str, int]:
    """Read ``HOST:PORT`` or ``[V6]:PORT`` (port 0: any free port, for tests).

    Raises:
        ValueError: Not an address with a port.
    """
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{text!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r}: the port must be 0-65535")
    return host, int(port)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CertificateConfig(_Table):
    """One certificate chain and its private key (PEM files).

    Attributes:
        chain: The chain, leaf first.
        key: The leaf's private key (mode 0600).
        upcoming: Declared and published, but not served yet: the next key of a rollover.
    """

    chain: Path
    key: Path
    upcoming: bool = False


class TlsConfig(_Table):
    """``[tls]``: where clients connect and what the front presents."""

    listen: str = "0.0.0.0:443"
    handshake_timeout_s: float = Field(default=10.0, gt=0, le=300)
    certificates: tuple[CertificateConfig, ...] = ()

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value


class HttpConfig(_Table):
    """``[http]``: limits on what clients send."""

    max_header_bytes: int = Field(default=16384, ge=1024, le=1 << 20)
    max_headers: int = Field(default=100, ge=8, le=10000)
    max_request_body_bytes: int = Field(default=10 * 1024 * 1024, ge=0)
    header_timeout_s: float = Field(default=10.0, gt=0, le=600)
    keepalive_timeout_s: float = Field(default=60.0, gt=0, le=3600)


class UpstreamConfig(_Table):
    """``[upstream]``: the web application behind the front."""

    url: str = "http://127.0.0.1:8080"
    connect_timeout_s: float = Field(default=5.0, gt=0, le=600)
    response_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    idle_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    max_connections: int = Field(default=64, ge=1, le=10000)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("must be the application's origin, without path or query")
        try:
            parts.port  # noqa: B018 - reading .port validates it
        except ValueError:
            raise ValueError("has an invalid port") from None
        return value.rstrip("/")


class GmlcConfig(_Table):
    """``[gmlc]``: where statements come from, and how the front asks."""

    url: str | None = None
    name: str | None = None
    client_id: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    msisdn: str | None = None
    timeout_s: float = Field(default=5.0, gt=0, le=120)
    max_concurrent_requests: int = Field(default=8, ge=1, le=256)
    max_pending_requests: int = Field(default=1024, ge=1)
    delivery_wait_s: float = Field(default=3.0, ge=0, le=60)
    retry_after_s: int = Field(default=5, ge=1, le=3600)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if not parts.hostname or parts.scheme not in ("http", "https"):
            raise ValueError("must be an https:// URL with a host")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise ValueError("plain http:// is accepted only for a GMLC on loopback")
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query or fragment")
        try:
            parts.port  # noqa: B018 - reading .port validates it
        except ValueError:
            raise ValueError("has an invalid port") from None
        return value.rstrip("/")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else canonical_host_name(value)

    @property
    def host(self) -> str:
        """G: the GMLC's host name (statements' ``iss``; the policy's ``gmlc=``).

        Raises:
            ConfigError: Neither ``gmlc.name`` nor a URL with a host name is set.
        """
        if self.name is not None:
            return self.name
        url = self.require("url")
        try:
            return canonical_host_name(urlsplit(url).hostname or "")
        except HostNameError:
            raise ConfigError(
                "gmlc.name is not set and the GMLC URL has no host name: set gmlc.name to the "
                "GMLC's host name (its statements' issuer)",
                "gmlc.name",
            ) from None

    @property
    def endpoint(self) -> GmlcEndpoint:
        """``G:PORT`` as the policy names it (the port of the GMLC's HTTPS URL)."""
        parts = urlsplit(self.require("url"))
        return GmlcEndpoint(self.host, parts.port or (443 if parts.scheme == "https" else 80))

    def require(self, name: str) -> str:
        """A setting that must be present for the command at hand.

        Raises:
            ConfigError: It is not set (the message says how to set it).
        """
        value = getattr(self, name)
        if value is None:
            raise _missing(f"gmlc.{name}")
        return str(value)


class LocationConfig(_Table):
    """One legitimate site, published as a LOC record of every domain.

    Attributes:
        name: What people call it (for messages).
        lat: Latitude of the centre, degrees.
        lon: Longitude, degrees.
        precision_m: The diameter of the allowed area (LOC ``hp``), metres.
        altitude_m: Altitude of the site, metres.
    """

    name: str = Field(min_length=1, max_length=64)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    precision_m: float = Field(gt=0)
    altitude_m: float = 0.0

    def loc(self) -> str:
        """The LOC RDATA.

        Raises:
            DnsRecordError: A precision the record cannot carry exactly.
        """
        return format_loc(self.lat, self.lon, hp_m=self.precision_m, altitude_m=self.altitude_m)

    @property
    def site(self) -> LocSite:
        """As a client reads it back."""
        return LocSite(self.lat, self.lon, self.precision_m)


class SiteConfig(_Table):
    """``[site]``: the names the front serves and where it stands.

    ``statements = false`` makes a plain TLS 1.3 front: no exporter, no statement requests
    (the statement path answers 404), for staging a site before its GMLC account exists.
    """

    domains: tuple[str, ...] = ()
    statements: bool = True
    state_dir: Path = Path("/var/lib/salve-front")
    locations: tuple[LocationConfig, ...] = ()

    @field_validator("domains", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = tuple(canonical_host_name(name) for name in value)
        if len(set(names)) != len(names):
            raise ValueError("a domain is listed twice")
        return names


class PolicyConfig(_Table):
    """``[policy]``: the ``_salve.H`` policy the site publishes (and its position age)."""

    age: int = Field(default=300, ge=1)
    mode: Literal["one", "all"] = "one"
    max_age: int | None = Field(default=86400, ge=0)


class BatchingConfig(_Table):
    """``[batching]``: one statement per window of sessions (a Merkle batch)."""

    enabled: bool = False
    window_ms: int = Field(default=200, ge=1, le=60000)
    max_sessions: int = Field(default=1024, ge=2, le=65536)


class DnsConfig(_Table):
    """``[dns]``: publishing records (RFC 2136) and checking them (DNSSEC)."""

    server: str | None = None
    tsig_key_file: Path | None = None
    zone: str | None = None
    ttl: int = Field(default=300, ge=0, le=86400)
    resolver: str | None = None
    trust_anchor: Path | None = None
    # Signed zone files to validate over instead of asking a server (labs, offline sites).
    zone_files: tuple[Path, ...] = ()
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    require_declaration: bool = True

    @field_validator("zone_files", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _one_source(self) -> DnsConfig:
        if self.resolver is not None and self.zone_files:
            raise ValueError("resolver and zone_files exclude each other: give one source")
        return self


class MetricsConfig(_Table):
    """``[metrics]``: the Prometheus listener, on loopback only."""

    listen: str | None = "127.0.0.1:9214"

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host, _ = parse_listen(value)
        if not is_loopback_host(host):
            raise ValueError("the metrics listener must be on loopback (127.0.0.1 or ::1)")
        return value


class FrontConfig(_Table):
    """The whole configuration; ``source`` is the file it came from, if any."""

    tls: TlsConfig = TlsConfig()
    http: HttpConfig = HttpConfig()
    upstream: UpstreamConfig = UpstreamConfig()
    gmlc: GmlcConfig = GmlcConfig()
    site: SiteConfig = SiteConfig()
    policy: PolicyConfig = PolicyConfig()
    batching: BatchingConfig = BatchingConfig()
    dns: DnsConfig = DnsConfig()
    metrics: MetricsConfig = MetricsConfig()
    source: Path | None = None

    def salve_policy(self) -> SalvePolicy:
        """The policy this site publishes at ``_salve.H``.

        Raises:
            ConfigError: No GMLC URL, or a policy value out of range.
        """
        try:
            return SalvePolicy(
                (self.gmlc.endpoint,), self.policy.age, self.policy.mode, self.policy.max_age
            )
        except DnsRecordError as exc:
            raise ConfigError(f"[policy]: {exc}", "policy") from None

    def served_certificates(self) -> tuple[CertificateConfig, ...]:
        """The pairs clients are served (not the upcoming ones)."""
        return tuple(c for c in self.tls.certificates if not c.upcoming)

    def require_serving(self) -> None:
        """Check what ``serve`` needs beyond the file's syntax.

        Raises:
            ConfigError: No certificate, domain, GMLC settings or location.
        """
        if not self.served_certificates():
            raise ConfigError(
                "no certificate to serve: add a [[tls.certificates]] table with chain and key",
                "tls.certificates",
            )
        if not self.site.domains:
            raise _missing("site.domains")
        if self.site.statements:
            for name in ("url", "client_id", "password_file", "msisdn"):
                self.gmlc.require(name)
            self.salve_policy()


def _missing(key: str) -> ConfigError:
    table, _, name = key.partition(".")
    variable = f"{ENV_PREFIX}{table.upper()}_{name.upper()}"
    return ConfigError(
        f"{key} is not set: add `{name} = ...` under [{table}] or set {variable}", key
    )


# The settings the environment may set: every scalar (and the lists of names), by table.
_TABLES: Final[Mapping[str, type[_Table]]] = {
    "tls": TlsConfig,
    "http": HttpConfig,
    "upstream": UpstreamConfig,
    "gmlc": GmlcConfig,
    "site": SiteConfig,
    "policy": PolicyConfig,
    "batching": BatchingConfig,
    "dns": DnsConfig,
    "metrics": MetricsConfig,
}
_FILE_ONLY: Final = frozenset({"tls.certificates", "site.locations"})


def default_config_path(environ: Mapping[str, str]) -> Path | None:
    """``$SALVE_FRONT_CONFIG``, else ``/etc/salve/front.toml`` when it exists, else None."""
    named = environ.get(_CONFIG_PATH_VARIABLE, "").strip()
    if named:
        return Path(named)
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        return read_toml_tables(path, _TABLES)
    except ConfigFileError as exc:
        raise ConfigError(str(exc), exc.setting) from None


def _read_environment(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    values: dict[str, dict[str, str]] = {}
    for variable, value in environ.items():
        if not variable.startswith(ENV_PREFIX) or variable == _CONFIG_PATH_VARIABLE:
            continue
        table, _, name = variable[len(ENV_PREFIX) :].lower().partition("_")
        model = _TABLES.get(table)
        if model is None or name not in model.model_fields:
            raise ConfigError(f"environment variable {variable} is not a known setting", variable)
        if f"{table}.{name}" in _FILE_ONLY:
            raise ConfigError(
                f"environment variable {variable}: {table}.{name} is a list of tables and can "
                "only be set in the configuration file",
                variable,
            )
        values.setdefault(table, {})[name] = value
    return values


def _describe(error: ValidationError, path: Path | None) -> tuple[str, str | None]:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "is not a known setting"
    where = f"{path}: " if path is not None else ""
    more = f" (and {len(error.errors()) - 1} more problems)" if len(error.errors()) > 1 else ""
    return f"{where}{location}: {message}{more}", location or None


def load_config(
    path: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> FrontConfig:
    """Read, merge and validate the configuration.

    Args:
        path: The TOML file; None means ``$SALVE_FRONT_CONFIG`` or the default file.
        environ: Environment variables (``os.environ`` when omitted).

    Raises:
        ConfigError: The file is missing or not TOML; a key is unknown, of the wrong type
            or out of range; a location's precision cannot be published. The message and
            ``key`` name the culprit.
    """
    env = os.environ if environ is None else environ
    if path is None:
        path = default_config_path(env)
    data = _read_file(path) if path is not None else {}
    for table, values in _read_environment(env).items():
        data[table] = {**data.get(table, {}), **values}
    try:
        config = FrontConfig.model_validate({**data, "source": path})
    except ValidationError as exc:
        message, key = _describe(exc, path)
        raise ConfigError(message, key) from None
    for index, location in enumerate(config.site.locations):
        try:
            location.loc()
        except DnsRecordError as exc:
            raise ConfigError(f"site.locations[{index}] ({location.name}): {exc}") from None
    return config


def read_secret_file(path: Path, what: str) -> str:
    """Read a one-line secret (a password) from a file that only its owner can read.

    Raises:
        ConfigError: Missing, unreadable, readable by other users, empty or oversized.
    """
    try:
        raw = read_bounded(path, _MAX_SECRET_BYTES, private_mask=stat.S_IRWXG | stat.S_IRWXO)
    except FileReadError as exc:
        raise ConfigError(
            exc.describe(
                f"{what} file {path}",
                {
                    FileProblem.SHARED: f"{what} file {path} is readable by other users; it "
                    f"holds a secret (chmod 600 {path})",
                    FileProblem.TOO_LARGE: f"{what} file {path} is too large for a secret",
                },
            )
        ) from None
    try:
        secret = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ConfigError(f"{what} file {path} is not UTF-8 text") from None
    if not secret or "\n" in secret:
        raise ConfigError(f"{what} file {path} must hold exactly one line")
    return secret

"""Settings of the GMLC service: a TOML file plus environment overrides.

Sources, highest precedence first:

1. keyword overrides given to :func:`load_settings` (the CLI's flags),
2. environment variables prefixed ``SALVE_GMLC_`` (``SALVE_GMLC_DATABASE_URL``, ...),
3. the ``[gmlc]`` table of the TOML file named by ``config_path``,
4. the defaults below.

Nothing here is built at import time: the CLI (or a test) calls :func:`load_settings` and
passes the frozen result down. There is no default that works as a production secret or
identity: ``issuer`` must be set unless ``dev`` is true, and the signing keys live in the
state directory, created by ``salve-gmlc init``.
"""

from __future__ import annotations

import ipaddress
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from gmlc.errors import ConfigError
from mlp.names import HostNameError, canonical_host_name, is_loopback_host
from runtime.config import ConfigFileError, read_toml_tables

__all__ = ["DEV_ISSUER", "ENV_PREFIX", "METRICS_PORT", "Settings", "load_settings"]

ENV_PREFIX = "SALVE_GMLC_"
DEV_ISSUER = "gmlc.dev.invalid"
TLS_PORT = 9211
PLAIN_PORT = 9210
METRICS_PORT = 9212
_DAY_S = 24 * 3600

# The TOML values of the load in progress. A context variable rather than a class
# attribute, so two loads in two threads never see each other's file.
_toml_values: ContextVar[dict[str, Any] | None] = ContextVar("gmlc_toml_values", default=None)


class _TomlTableSource(PydanticBaseSettingsSource):
    """Feeds the ``[gmlc]`` table read by :func:`load_settings` into pydantic-settings."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        values = _toml_values.get() or {}
        return values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_toml_values.get() or {})


class Settings(BaseSettings):
    """Frozen settings of one GMLC node.

    Attributes are documented by their ``Field`` descriptions; durations are seconds,
    distances metres.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        frozen=True,
        extra="forbid",
        case_sensitive=False,
    )

    issuer: str = Field(
        default="",
        description=(
            "The GMLC's host name, written into every statement's iss claim and named by the "
            "sites' _salve policies; required unless dev."
        ),
    )
    dev: bool = Field(default=False, description="Development mode: a stand-in issuer.")
    state_dir: Path = Field(default=Path("/var/lib/salve-gmlc"))
    database_url: str | None = Field(default=None)
    host: str = Field(default="127.0.0.1")
    port: int | None = Field(default=None, ge=1, le=65535)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = Field(
        default=None,
        description="CA bundle for TLS client certificates (mutual TLS); asked, not required.",
    )
    allow_plain_http: bool = False
    workers: int = Field(default=1, ge=1, le=256)
    statement_validity_s: int = Field(default=60, ge=1, le=_DAY_S)
    statement_rate_per_s: float = Field(
        default=100.0,
        gt=0,
        description="Statements per second a client may sustain, per worker process.",
    )
    statement_burst: int = Field(
        default=200, ge=1, description="Statements a client may have signed at once."
    )
    dns_server: str | None = Field(
        default=None,
        description=(
            "HOST:PORT of the DNS server domain enrolments are validated through (a "
            "resolver passing DNSSEC records, or an authoritative server of every zone "
            "involved); unset: iterative resolution from the trust anchor's root servers."
        ),
    )
    dns_trust_anchor: Path | None = Field(
        default=None,
        description="DNSSEC trust anchor file (RFC 7958 XML or DS/DNSKEY lines); unset: "
        "the IANA root anchor shipped with the verifier.",
    )
    dns_zone_files: list[Path] = Field(
        default_factory=list,
        description="Validate enrolments over these signed zone files instead of the "
        "network (offline nodes, labs).",
    )
    dns_timeout_s: float = Field(default=5.0, gt=0, le=60, description="Per DNS question.")
    observation_max_age_s: int = Field(default=300, ge=1)
    observation_skew_s: int = Field(default=30, ge=0)
    observation_retention_s: int = Field(default=7 * _DAY_S, ge=60)
    observation_keep_per_appliance: int = Field(default=10000, ge=1)
    radius_floor_m: int = Field(default=1000, ge=1)
    radius_ceiling_m: int = Field(default=50000, ge=1)
    area_fallback_radius_m: int = Field(default=10000, ge=1)
    lev_conf: int = Field(default=68, ge=1, le=100)
    max_body_bytes: int = Field(default=65536, ge=1024)
    max_targets: int = Field(default=20, ge=1, le=10000)
    request_deadline_s: float = Field(default=5.0, gt=0)
    max_concurrent_requests: int = Field(default=256, ge=1)
    key_grace_period_s: int = Field(default=7 * _DAY_S, ge=0)
    auth_failure_limit: int = Field(default=5, ge=1)
    auth_failure_window_s: int = Field(default=60, ge=1)
    auth_failure_prefix_v4: int = Field(
        default=24, ge=8, le=32, description="IPv4 network size failures count against."
    )
    auth_failure_prefix_v6: int = Field(
        default=64, ge=16, le=128, description="IPv6 network size failures count against."
    )
    max_observation_bytes: int = Field(default=16384, ge=512)
    observation_refusal_burst: int = Field(
        default=20, ge=1, description="Refused observations a source may send at once."
    )
    observation_refusals_per_s: float = Field(
        default=0.5, gt=0, description="Refused observations per second a source may sustain."
    )
    audit_fold_window_s: float = Field(
        default=60.0, gt=0, description="Repeated refusals within this time are one audit row."
    )
    header_timeout_s: float = Field(
        default=10.0, gt=0, description="Time allowed for a request line and headers."
    )
    max_connections_per_source: int = Field(
        default=256, ge=1, description="Open connections per source address and worker."
    )
    pkcs11_module: Path | None = Field(
        default=None,
        description="PKCS#11 library of the HSM holding statement keys (keys in files: unset).",
    )
    pkcs11_token: str | None = Field(default=None, description="Label of the HSM token.")
    pkcs11_pin_file: Path | None = Field(
        default=None, description="File holding the token's user PIN (mode 0600)."
    )
    change_interval_s: float = Field(
        default=0.1,
        gt=0,
        le=10,
        description=(
            "How often a worker applies changes made elsewhere (SQLite polling; on "
            "PostgreSQL they are notified at once): the bound within which a change to a "
            "client, an appliance or an observation reaches every worker and node."
        ),
    )
    argon2_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Threads per worker checking passwords that are not cached (argon2).",
    )
    argon2_queue: int = Field(
        default=4,
        ge=0,
        le=1024,
        description=(
            "Password checks that may wait for an argon2 thread; beyond that they are not "
            "computed and answered as a wrong password."
        ),
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description=(
            "Addresses or networks of the load balancers in front of this node: only "
            "from them is the client's address taken from X-Forwarded-For."
        ),
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="Address of the Prometheus /metrics listener."
    )
    metrics_port: int = Field(
        default=METRICS_PORT,
        ge=0,
        le=65535,
        description="Port of the /metrics listener; 0 serves no metrics at all.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # No dotenv and no secrets directory: one file and the environment, nothing else.
        return (init_settings, env_settings, _TomlTableSource(settings_cls))

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if not self.issuer.strip():
            if not self.dev:
                raise ValueError(
                    "issuer is required (set issuer in the [gmlc] table or "
                    f"{ENV_PREFIX}ISSUER); only dev mode has a stand-in"
                )
            object.__setattr__(self, "issuer", DEV_ISSUER)
        try:
            # The issuer goes on the wire as a statement's `iss` and is compared as bytes by
            # clients, so it is kept in its one canonical spelling.
            object.__setattr__(self, "issuer", canonical_host_name(self.issuer))
        except HostNameError as exc:
            raise ValueError(f"issuer must be the GMLC's host name: {exc}") from None
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key must be set together")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ValueError("tls_client_ca needs TLS: set tls_cert and tls_key as well")
        for text in self.trusted_proxies:
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: {text!r} is not an address or network"
                ) from None
        pkcs11 = (self.pkcs11_module, self.pkcs11_token, self.pkcs11_pin_file)
        if any(value is not None for value in pkcs11) and None in pkcs11:
            raise ValueError("pkcs11_module, pkcs11_token and pkcs11_pin_file go together")
        if self.radius_floor_m > self.radius_ceiling_m:
            raise ValueError("radius_floor_m must not exceed radius_ceiling_m")
        if self.metrics_port and self.metrics_port == self.effective_port:
            raise ValueError(
                f"metrics_port {self.metrics_port} is the MLP port: /metrics needs its own "
                "listener (it names appliances and keys, and is not for MLP clients)"
            )
        return self

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``trusted_proxies`` as networks."""
        return tuple(ipaddress.ip_network(text, strict=False) for text in self.trusted_proxies)

    @property
    def keys_dir(self) -> Path:
        """Directory of the signing key ring."""
        return self.state_dir / "keys"

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the state directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.state_dir / 'gmlc.sqlite3'}"

    @property
    def tls_enabled(self) -> bool:
        """Whether the server listens with TLS."""
        return self.tls_cert is not None and self.tls_key is not None

    @property
    def effective_port(self) -> int:
        """The listening port: the configured one, else 9211 with TLS and 9210 without."""
        if self.port is not None:
            return self.port
        return TLS_PORT if self.tls_enabled else PLAIN_PORT

    @property
    def host_is_loopback(self) -> bool:
        """Whether ``host`` names only the loopback interface."""
        return is_loopback_host(self.host)

    def check_serving(self) -> None:
        """Refuse a listening setup that would expose credentials in clear text.

        Raises:
            ConfigError: plain HTTP on a non-loopback host without ``allow_plain_http``, or
                a TLS certificate or key file that does not exist.
        """
        if not self.tls_enabled:
            if not self.host_is_loopback and not self.allow_plain_http:
                raise ConfigError(
                    f"refusing plain HTTP on {self.host}: clients send passwords; configure "
                    "tls_cert and tls_key, or set allow_plain_http = true if a TLS proxy "
                    "fronts this port"
                )
            return
        for name, path in (
            ("tls_cert", self.tls_cert),
            ("tls_key", self.tls_key),
            ("tls_client_ca", self.tls_client_ca),
        ):
            if path is not None and not path.is_file():
                raise ConfigError(f"{name} {path} does not exist or is not a file")


def _read_toml_table(config_path: Path) -> dict[str, Any]:
    try:
        return read_toml_tables(config_path, ("gmlc",)).get("gmlc", {})
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from None


def _describe(exc: ValidationError, config_path: Path | None) -> str:
    where = f" (file {config_path}, environment {ENV_PREFIX}*)" if config_path else ""
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or "settings"
        problems.append(f"{location}: {error['msg']}")
    return "invalid settings" + where + ": " + "; ".join(problems)


def load_settings(config_path: Path | None = None, **overrides: Any) -> Settings:
    """Load the settings from a TOML file, the environment and explicit overrides.

    Args:
        config_path: A TOML file whose ``[gmlc]`` table holds settings; None for the
            environment and defaults only.
        **overrides: Field values that win over every other source; None values are
            ignored so CLI flags that were not given do not mask the file.

    Returns:
        The frozen settings.

    Raises:
        ConfigError: the file is missing or invalid, a value is invalid, an unknown key is
            given, or ``issuer`` is missing outside dev mode.
    """
    table = _read_toml_table(config_path) if config_path is not None else {}
    given = {name: value for name, value in overrides.items() if value is not None}
    token = _toml_values.set(table)
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, config_path)) from None
    finally:
        _toml_values.reset(token)

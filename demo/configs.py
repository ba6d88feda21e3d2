"""The files the demo's operators write (TOML configurations, secrets, a cell database)
and the GMLC nodes they configure."""

from __future__ import annotations

import csv
import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from demo.pki import CertificatePair
from demo.processes import Service
from demo.world import STATEMENT_VALIDITY_S, Location

__all__ = [
    "Enrolment",
    "GmlcNode",
    "toml_value",
    "write_cells",
    "write_secret",
    "write_toml",
]


def toml_value(value: object) -> str:
    """``value`` as a TOML value (booleans, numbers, arrays, strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    # JSON strings are valid TOML basic strings.
    return json.dumps(str(value))


def write_toml(path: Path, tables: dict[str, dict[str, Any]], extra: str = "") -> Path:
    """Write ``tables`` (and ``extra`` TOML text after them) to a private file."""
    lines = []
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
        lines.append("")
    path.write_text("\n".join(lines) + extra, encoding="utf-8")
    path.chmod(0o600)
    return path


def write_secret(path: Path, value: str) -> Path:
    """Write a one-line secret to a private file."""
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def write_cells(path: Path, cell: tuple[str, int, int, int, int], place: Location) -> Path:
    """A one-cell database in OpenCelliD's export format, the cell placed at ``place``."""
    radio, mcc, net, area, cell_id = cell
    with path.open("w", newline="", encoding="ascii") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["radio", "mcc", "net", "area", "cell", "unit", "lon", "lat", "range", "samples",
             "changeable", "created", "updated", "averageSignal"]
        )  # fmt: skip
        writer.writerow(
            [radio, mcc, net, area, cell_id, 0, place.lon, place.lat, 800, 10, 1,
             1600000000, 1790000000, 0]
        )  # fmt: skip
    return path


@dataclass
class GmlcNode:
    """One ``salve-gmlc`` node of the lab."""

    name: str
    directory: Path
    issuer: str
    address: str
    port: int
    pair: CertificatePair
    ca_file: Path
    service: Service | None = None

    @property
    def url(self) -> str:
        """Its HTTPS endpoint."""
        return f"https://{self.address}:{self.port}"

    @property
    def config(self) -> Path:
        """Its configuration file (every command is run with ``--config`` it)."""
        return self.directory / "gmlc.toml"

    def write_config(self, dns: dict[str, Any]) -> None:
        """Write the configuration, with the DNS settings its enrolments validate through."""
        settings = {
            "issuer": self.issuer,
            "state_dir": str(self.directory / "state"),
            "host": self.address,
            "port": self.port,
            "metrics_port": 0,
            "tls_cert": str(self.pair.chain),
            "tls_key": str(self.pair.key),
            "statement_validity_s": STATEMENT_VALIDITY_S,
            **dns,
        }
        write_toml(self.config, {"gmlc": settings})

    def command(self, *args: str) -> tuple[str, ...]:
        """A ``salve-gmlc`` command line for this node."""
        return ("salve-gmlc", "--config", str(self.config), *args)

    def ready(self) -> bool:
        """Whether it answers ``/readyz``."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        try:
            return httpx.get(f"{self.url}/readyz", verify=context, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


@dataclass(frozen=True)
class Enrolment:
    """An appliance set up and enrolled: its configuration and what ``enroll`` printed."""

    label: str
    config: Path
    gmlc: GmlcNode
    printed: dict[str, Any]

"""The demo's DNS: a real Knot DNS server when ``knotd`` is installed, else signed zone files.

Both serve the same DNSSEC-signed tree (a parent zone and, delegated from it with DS
records, the site's zone and the GMLC's zone) and both take the records the site and the
GMLC publish with their own tools:

* :class:`KnotDns`: ``knotd`` on loopback (:class:`verifier.dnslab.KnotLab`) signs the
  zones itself; ``salve-front dns update`` and ``salve-gmlc dns update`` send RFC 2136
  updates signed with the lab's TSIG key; every program asks it over the network.
* :class:`ZoneFileDns`: the zones are signed in pure Python (:func:`verifier.dnslab.sign_lab`)
  into files; publishing means taking the lines ``salve-front dns records`` and
  ``salve-gmlc dns records`` print and signing the zones again (with the same keys, so the
  trust anchor stays); every program validates over the files (``salve-verify
  --zone-file``, the GMLC's ``dns_zone_files``, the front's ``[dns] zone_files``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import dns.exception
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from demo.processes import DemoError, Processes
from mlp.dnsrecords import join_txt_strings
from verifier.dnslab import (
    KnotLab,
    LabError,
    LabKey,
    LabRecord,
    LabZone,
    generate_key,
    knotd_path,
    sign_lab,
    write_lab,
)

__all__ = ["DemoDns", "KnotDns", "ZoneFileDns", "knot_available", "parse_zone_lines"]


def knot_available() -> bool:
    """Whether ``knotd`` is installed (on PATH or in /usr/sbin)."""
    return knotd_path() is not None


def parse_zone_lines(text: str) -> list[LabRecord]:
    """Master-file lines (``OWNER. TTL IN TYPE RDATA``, as the tools print them) as records.

    Comment lines (``;``) and blank lines are skipped. TXT values come back unquoted and
    joined, as clients read them.

    Raises:
        DemoError: A line that is not such a record.
    """
    records = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        try:
            owner, ttl, klass, rdtype, rdata_text = line.split(None, 4)
            if klass.upper() != "IN":
                raise ValueError(f"class {klass}")
            rdata = dns.rdata.from_text(
                dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), rdata_text
            )
        except (ValueError, dns.exception.DNSException) as exc:
            raise DemoError(f"not a zone line ({exc}): {line[:120]}") from None
        strings = getattr(rdata, "strings", None)
        value = (
            join_txt_strings(strings) if rdtype.upper() == "TXT" and strings else rdata.to_text()
        )
        records.append(LabRecord(owner.rstrip("."), rdtype.upper(), value, int(ttl)))
    return records


class DemoDns(Protocol):
    """What the demo needs from its DNS, whichever kind it is."""

    @property
    def description(self) -> str:
        """Where the answers come from, in words."""

    @property
    def trust_anchor(self) -> Path:
        """The trust anchor file (the parent zone's DS)."""

    def verifier_args(self) -> list[str]:
        """``salve-verify`` options that make it validate against this DNS."""

    def gmlc_settings(self) -> dict[str, Any]:
        """The GMLC's settings for validating domain enrolments."""

    def front_dns_settings(self) -> dict[str, Any]:
        """The front's ``[dns]`` table (publishing and checking)."""

    def publish_site(self, processes: Processes, front_config: Path) -> str:
        """Publish the site's records with its front's tools; a line saying what happened."""

    def publish_gmlc(self, processes: Processes, gmlc_config: Path) -> str:
        """Publish the GMLC's records with its tools; a line saying what happened."""

    def stop(self) -> None:
        """Stop serving (nothing to do for files)."""


class KnotDns:
    """``knotd`` on loopback serving and signing the demo's zones."""

    def __init__(self, directory: Path, zones: Sequence[LabZone], *, gmlc_zone: str) -> None:
        """Start knotd (it signs every zone and links the tree with DS records).

        Raises:
            DemoError: knotd did not start or did not serve the zones in time.
        """
        self.gmlc_zone = gmlc_zone
        self.lab = KnotLab(directory, zones)
        try:
            self.lab.start()
        except LabError as exc:
            raise DemoError(f"Knot DNS did not start: {exc}") from None

    @property
    def description(self) -> str:
        """Where the answers come from, in words."""
        return f"Knot DNS on {self.lab.server}"

    @property
    def trust_anchor(self) -> Path:
        """The trust anchor file."""
        return self.lab.trust_anchor

    def verifier_args(self) -> list[str]:
        """Ask knotd, validate from the lab's anchor."""
        return ["--dns", self.lab.server, "--trust-anchor", str(self.lab.trust_anchor)]

    def gmlc_settings(self) -> dict[str, Any]:
        """The GMLC asks knotd."""
        return {"dns_server": self.lab.server, "dns_trust_anchor": str(self.lab.trust_anchor)}

    def front_dns_settings(self) -> dict[str, Any]:
        """The front publishes to knotd with the TSIG key and checks by asking it."""
        return {
            "server": self.lab.server,
            "tsig_key_file": str(self.lab.tsig_key),
            "resolver": self.lab.server,
            "trust_anchor": str(self.lab.trust_anchor),
        }

    def publish_site(self, processes: Processes, front_config: Path) -> str:
        """``salve-front dns update``: one RFC 2136 update per zone."""
        done = processes.run("salve-front", "dns", "update", "--config", str(front_config))
        return "; ".join(line.removeprefix("salve-front: ") for line in done.stdout.splitlines())

    def publish_gmlc(self, processes: Processes, gmlc_config: Path) -> str:
        """``salve-gmlc dns update``: one RFC 2136 update of the GMLC's zone."""
        done = processes.run(
            "salve-gmlc", "--config", str(gmlc_config), "dns", "update",
            "--server", self.lab.server, "--tsig-key", str(self.lab.tsig_key),
            "--zone", self.gmlc_zone,
        )  # fmt: skip
        return done.stdout.strip().removeprefix("salve-gmlc: ")

    def stop(self) -> None:
        """Stop knotd."""
        self.lab.stop()


class ZoneFileDns:
    """The demo's zones signed into files, signed again whenever records are published."""

    def __init__(self, directory: Path, zones: Sequence[LabZone], *, why: str) -> None:
        """Sign the zones (a fresh key each, kept for every later signing) and write them.

        Args:
            directory: Where the files go.
            zones: The zones.
            why: Why files rather than a server, in words (for :attr:`description`).
        """
        self.directory = directory
        self.why = why
        self.zones = list(zones)
        self.keys: dict[str, Sequence[LabKey]] = {
            zone.origin: [generate_key(zone.algorithm)] for zone in zones
        }
        self.published: dict[tuple[str, str], list[LabRecord]] = {}
        self.files: list[Path] = []
        self._anchor = directory / "trust-anchor.txt"
        self._write()

    def _write(self) -> None:
        records = [record for group in self.published.values() for record in group]
        # The RRsets a zone holds itself (A, NS) stay; published ones are added to the zone
        # that holds their owner, as an authoritative server would place them.
        try:
            signed = sign_lab(self.zones, keys=self.keys, records=records)
        except LabError as exc:
            raise DemoError(f"the zone files cannot be signed: {exc}") from None
        self.files, self._anchor = write_lab(signed, self.directory)

    def publish(self, records: Sequence[LabRecord]) -> None:
        """Put these records in the zones (each RRset replaced, as RFC 2136 does) and sign."""
        grouped: dict[tuple[str, str], list[LabRecord]] = {}
        for record in records:
            grouped.setdefault((record.owner, record.rdtype), []).append(record)
        # Each RRset is replaced by exactly the given records, as an RFC 2136 update does.
        self.published.update(grouped)
        self._write()

    @property
    def description(self) -> str:
        """Where the answers come from, in words."""
        return f"signed zone files in {self.directory} ({self.why})"

    @property
    def trust_anchor(self) -> Path:
        """The trust anchor file."""
        return self._anchor

    def verifier_args(self) -> list[str]:
        """Validate over the files."""
        args = []
        for path in self.files:
            args += ["--zone-file", str(path)]
        return [*args, "--trust-anchor", str(self._anchor)]

    def gmlc_settings(self) -> dict[str, Any]:
        """The GMLC validates over the files."""
        return {
            "dns_zone_files": [str(path) for path in self.files],
            "dns_trust_anchor": str(self._anchor),
        }

    def front_dns_settings(self) -> dict[str, Any]:
        """The front checks over the files (it publishes through :meth:`publish_site`)."""
        return {
            "zone_files": [str(path) for path in self.files],
            "trust_anchor": str(self._anchor),
        }

    def publish_site(self, processes: Processes, front_config: Path) -> str:
        """``salve-front dns records``, signed into the site's zone file."""
        done = processes.run("salve-front", "dns", "records", "--config", str(front_config))
        records = parse_zone_lines(done.stdout)
        self.publish(records)
        return f"{len(records)} records from `salve-front dns records` signed into the zone files"

    def publish_gmlc(self, processes: Processes, gmlc_config: Path) -> str:
        """``salve-gmlc dns records``, signed into the GMLC's zone file."""
        done = processes.run("salve-gmlc", "--config", str(gmlc_config), "dns", "records", "--json")
        records = [
            LabRecord(item["owner"], item["type"], item["value"], int(item["ttl"]))
            for item in json.loads(done.stdout)
        ]
        self.publish(records)
        return f"{len(records)} records from `salve-gmlc dns records` signed into the zone files"

    def stop(self) -> None:
        """Nothing runs."""

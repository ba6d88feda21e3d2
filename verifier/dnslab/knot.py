"""Knot DNS on loopback serving lab zones, signing them itself or serving them presigned."""

from __future__ import annotations

import base64
import contextlib
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import dns.dnssec
import dns.exception
import dns.message
import dns.name
import dns.node
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.tsigkeyring
import dns.xfr
import dns.zone
from dns.rdtypes.ANY.DNSKEY import DNSKEY

from verifier.dnslab.signing import (
    SignedLab,
)
from verifier.dnslab.zones import (
    DEFAULT_TTL,
    IN,
    LabError,
    LabZone,
    anchor_text,
    holding_origin,
    parent_origin,
    presentation,
    top_origin,
    zone_file_text,
)

__all__ = [
    "KnotLab",
    "knotd_path",
]

_TSIG_NAME: Final = "salve-lab"


def knotd_path() -> str | None:
    """Where ``knotd`` is installed (PATH, then /usr/sbin), or None."""
    return shutil.which("knotd") or shutil.which("knotd", path="/usr/sbin:/usr/local/sbin")


def _knotc_path() -> str:
    found = shutil.which("knotc") or shutil.which("knotc", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise LabError("knotc is not installed (Debian package knot)")
    return found


def _free_port(address: str) -> int:
    # UDP and TCP must both be free; ask for a TCP port and check UDP binds too.
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((address, 0))
            port: int = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((address, port))
                except OSError:
                    continue
            return port
    raise LabError("no free port for knotd")


@dataclass
class KnotLab:
    """``knotd`` serving signed lab zones on loopback.

    Attributes:
        directory: Where zones, keys, configuration and logs live.
        zones: The zones served.
        address: The loopback address knotd listens on.
        port: Its port (free, chosen at start).
        presigned: Serve these zones as they are signed (knotd signs nothing): for
            staging what a server without the keys can serve, such as replayed or
            expired signatures. ``zones`` then only names the zones.
    """

    directory: Path
    zones: Sequence[LabZone]
    address: str = "127.0.0.1"
    port: int = 0
    presigned: SignedLab | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _control_dir: str = field(default="", repr=False)
    _tsig_secret: str = field(default="", repr=False)

    @property
    def server(self) -> str:
        """``ADDRESS:PORT``, for ``--dns`` and ``open_resolver(server=...)``."""
        return f"{self.address}:{self.port}"

    @property
    def trust_anchor(self) -> Path:
        """The trust anchor file: the top zone's DS, and NS/A hints for iterative lookups."""
        return self.directory / "trust-anchor.txt"

    @property
    def tsig_key(self) -> Path:
        """The TSIG key (BIND ``key`` clause) that may send RFC 2136 updates and transfers."""
        return self.directory / "tsig.key"

    @property
    def log_path(self) -> Path:
        """knotd's log."""
        return self.directory / "knotd.log"

    @property
    def top(self) -> str:
        """The top zone (the trust anchor's zone)."""
        return top_origin(z.origin for z in self.zones)

    def _config(self) -> str:
        zones_dir = self.directory / "zones"
        policies = []
        zone_entries = []
        for zone in self.zones:
            policy_id = f"p-{zone.origin.replace('.', '-')}"
            policy = [
                f"  - id: {policy_id}",
                f"    algorithm: {zone.algorithm}",
                "    single-type-signing: on",
                f"    nsec3: {'on' if zone.denial == 'nsec3' else 'off'}",
                "    cds-cdnskey-publish: none",
                "    ksk-lifetime: 0",
                "    zsk-lifetime: 0",
            ]
            if zone.denial == "nsec3":
                policy += [
                    "    nsec3-iterations: 0",
                    f"    nsec3-opt-out: {'on' if zone.opt_out else 'off'}",
                ]
            if zone.algorithm == "rsasha256":
                policy.append("    ksk-size: 2048")
            policies += policy
            zone_entries += [f"  - domain: {zone.origin}", f"    dnssec-policy: {policy_id}"]
        return "\n".join(
            [
                "server:",
                f'    rundir: "{self._control_dir}"',
                f"    listen: {self.address}@{self.port}",
                "control:",
                f'    listen: "{self._control_dir}/knot.sock"',
                "log:",
                "  - target: stderr",
                "    any: info",
                "database:",
                f'    storage: "{self.directory / "db"}"',
                "key:",
                f"  - id: {_TSIG_NAME}",
                "    algorithm: hmac-sha256",
                f"    secret: {self._tsig_secret}",
                "acl:",
                "  - id: lab-update",
                f"    key: {_TSIG_NAME}",
                "    action: [update, transfer]",
                "policy:",
                *policies,
                "template:",
                "  - id: default",
                f'    storage: "{zones_dir}"',
                '    file: "%s.zone"',
                f"    dnssec-signing: {'off' if self.presigned else 'on'}",
                "    acl: lab-update",
                "    zonefile-sync: -1",
                "    zonefile-load: difference-no-serial",
                "    journal-content: all",
                "    semantic-checks: off",
                "zone:",
                *zone_entries,
                "",
            ]
        )

    def start(self, *, timeout: float = 20.0) -> KnotLab:
        """Write the zones and configuration, start knotd, link the tree with DS records.

        Raises:
            LabError: knotd is missing or did not serve every zone in time.
        """
        knotd = knotd_path()
        if knotd is None:
            raise LabError("knotd is not installed (Debian package knot)")
        self.directory.mkdir(parents=True, exist_ok=True)
        # The control socket path must stay under 108 bytes, whatever the directory.
        self._control_dir = tempfile.mkdtemp(prefix="knot-")
        self._tsig_secret = base64.b64encode(secrets.token_bytes(32)).decode()
        self.port = self.port or _free_port(self.address)
        zones_dir = self.directory / "zones"
        zones_dir.mkdir(exist_ok=True)
        (self.directory / "db").mkdir(exist_ok=True)
        ns_name = f"ns.{self.top}"
        for zone in self.zones:
            text = (
                self.presigned.zone_text(zone.origin)
                if self.presigned is not None
                else zone_file_text(zone, ns_name)
            )
            (zones_dir / f"{zone.origin}.zone").write_text(text, "ascii")
        (self.directory / "knot.conf").write_text(self._config(), "ascii")
        self.tsig_key.write_text(
            f'key "{_TSIG_NAME}" {{\n\talgorithm hmac-sha256;\n'
            f'\tsecret "{self._tsig_secret}";\n}};\n',
            "ascii",
        )
        self.tsig_key.chmod(0o600)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [knotd, "-c", str(self.directory / "knot.conf")], stdout=log, stderr=log
            )
        try:
            deadline = time.monotonic() + timeout
            for zone in self.zones:
                self._wait_signed(zone.origin, deadline)
            if self.presigned is not None:
                self.trust_anchor.write_text(self.presigned.trust_anchor, "ascii")
                return self
            for zone in self.zones:
                parent = parent_origin([z.origin for z in self.zones], zone.origin)
                if parent is not None:
                    self.set_records(zone.origin, "DS", self.ds_texts(zone.origin))
            top_ds = self.ds_texts(self.top)[0]
            self.trust_anchor.write_text(anchor_text(self.top, top_ds, self.address), "ascii")
        except BaseException:
            self.stop()
            raise
        return self

    def _query(self, name: str, rdtype: str) -> dns.message.Message:
        query = dns.message.make_query(name, rdtype, want_dnssec=True)
        return dns.query.tcp(query, self.address, timeout=5, port=self.port)

    def _wait_signed(self, origin: str, deadline: float) -> None:
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise LabError(f"knotd exited with {self._process.returncode}: {self.log()}")
            with contextlib.suppress(OSError, dns.exception.DNSException):
                answer = self._query(origin, "DNSKEY")
                if answer.rcode() == dns.rcode.NOERROR and any(
                    r.rdtype == dns.rdatatype.RRSIG for r in answer.answer
                ):
                    return
            if time.monotonic() > deadline:
                raise LabError(f"knotd did not serve {origin} signed in time: {self.log()}")
            time.sleep(0.02)  # polling interval while knotd loads and signs

    def log(self) -> str:
        """knotd's log so far."""
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def ds_texts(self, origin: str) -> list[str]:
        """The SHA-256 DS RDATA of the zone's current keys."""
        answer = self._query(origin, "DNSKEY")
        keys = answer.get_rrset(answer.answer, dns.name.from_text(origin), IN, dns.rdatatype.DNSKEY)
        if keys is None:
            raise LabError(f"{origin} has no DNSKEY")
        return [
            dns.dnssec.make_ds(origin + ".", key, "SHA256").to_text()
            for key in keys
            if isinstance(key, DNSKEY) and key.flags & 0x0001
        ]

    def zone_of(self, owner: str, rdtype: str = "TXT") -> str:
        """The lab zone that holds ``owner rdtype`` (the deepest; DS lives in the parent).

        Raises:
            LabError: The owner is in none of the lab's zones.
        """
        return holding_origin((z.origin for z in self.zones), owner, rdtype)

    def _knotc(self, *args: str) -> str:
        result = subprocess.run(
            [_knotc_path(), "-c", str(self.directory / "knot.conf"), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0:
            raise LabError(f"knotc {' '.join(args[:3])}: {result.stdout}{result.stderr}".strip())
        return result.stdout

    def _transaction(self, zone: str, changes: Sequence[tuple[str, ...]]) -> None:
        self._knotc("zone-begin", zone)
        try:
            for change in changes:
                self._knotc(*change)
            self._knotc("zone-commit", zone)
        except BaseException:
            with contextlib.suppress(LabError):
                self._knotc("zone-abort", zone)
            raise

    def set_records(
        self, owner: str, rdtype: str, values: Sequence[str], *, ttl: int = DEFAULT_TTL
    ) -> None:
        """Replace the RRset ``owner rdtype`` by ``values`` (empty: delete it); Knot re-signs.

        TXT values are given unquoted and split into 255-byte strings here.
        """
        zone = self.zone_of(owner, rdtype)
        fqdn = owner.rstrip(".") + "."
        changes: list[tuple[str, ...]] = []
        if self._has(fqdn, rdtype):
            changes.append(("zone-unset", zone, fqdn, rdtype))
        changes += [
            ("zone-set", zone, fqdn, str(ttl), rdtype, presentation(rdtype, v)) for v in values
        ]
        if changes:
            self._transaction(zone, changes)

    def delete_records(self, owner: str, rdtype: str) -> None:
        """Remove the RRset ``owner rdtype``, if present."""
        self.set_records(owner, rdtype, ())

    def _current(self, fqdn: str, rdtype: str) -> dns.rrset.RRset | None:
        answer = self._query(fqdn, rdtype)
        return answer.get_rrset(
            answer.answer, dns.name.from_text(fqdn), IN, dns.rdatatype.from_text(rdtype)
        )

    def _has(self, fqdn: str, rdtype: str) -> bool:
        try:
            return self._current(fqdn, rdtype) is not None
        except dns.exception.FormError:
            return True  # a record dnspython cannot read (a staged malformed one) is there

    def transfer(self, origin: str) -> dns.zone.Zone:
        """The zone as Knot serves it, signatures included (AXFR with the TSIG key)."""
        keyring = dns.tsigkeyring.from_text({_TSIG_NAME: ("hmac-sha256", self._tsig_secret)})
        zone = dns.zone.Zone(origin + ".", relativize=False)
        query, _ = dns.xfr.make_query(
            zone, serial=None, keyring=keyring, keyname=dns.name.from_text(_TSIG_NAME)
        )
        dns.query.inbound_xfr(self.address, zone, query, port=self.port, timeout=10)
        return zone

    def stop(self) -> None:
        """Stop knotd and remove the control directory."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._process = None
        if self._control_dir:
            shutil.rmtree(self._control_dir, ignore_errors=True)

    def __enter__(self) -> KnotLab:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @contextlib.contextmanager
    def records(self, owner: str, rdtype: str, values: Sequence[str]) -> Iterator[None]:
        """Publish an RRset for the duration of a ``with`` block, then restore what was there."""
        before = self._current(owner.rstrip(".") + ".", rdtype)
        self.set_records(owner, rdtype, values)
        try:
            yield
        finally:
            self._restore(owner, rdtype, before)

    def _restore(self, owner: str, rdtype: str, before: dns.rrset.RRset | None) -> None:
        zone = self.zone_of(owner, rdtype)
        fqdn = owner.rstrip(".") + "."
        changes: list[tuple[str, ...]] = []
        if self._has(fqdn, rdtype):
            changes.append(("zone-unset", zone, fqdn, rdtype))
        if before is not None:
            changes += [
                ("zone-set", zone, fqdn, str(before.ttl), rdtype, r.to_text()) for r in before
            ]
        if changes:
            self._transaction(zone, changes)

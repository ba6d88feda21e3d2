"""The SALVE world on one machine: a site, its GMLC, its DNS, a client, and an attacker.

:class:`Lab` builds it from real processes driven through their command-line tools, the
way operators would, and tears it down again:

* a demo CA made at run time (:mod:`demo.pki`);
* DNS: Knot when ``knotd`` is installed, else signed zone files (:mod:`demo.zones`);
* the GMLC (``salve-gmlc init``, ``cells import``, ``serve`` over TLS) on 127.0.0.1;
* the site's appliance (``salve-appliance init``, ``enroll``, ``run``) on ``sim://``, its
  SIM in Zurich, enrolled at the GMLC with the command ``enroll`` printed;
* the site's records published (``salve-front dns update``), its client enrolled at the
  GMLC for its domain once the GMLC has validated the policy (``salve-gmlc client add
  --domain``, pinned to the site's network), the M2DMRT declarations exchanged
  (``salve-front declare``) and the GMLC's half published (``salve-gmlc dns update``);
* ``salve-front serve`` in front of a tiny application (a thread of this process);
* the attacker elsewhere (127.0.0.2, its GMLC on 127.0.0.3): its own GMLC (a second
  ``salve-gmlc`` that believes the attacker's own DNS tree), its SIM in Frankfurt with an
  appliance reporting to the real GMLC and one reporting to its own, its own account at
  the real GMLC, a forging DNS server, and a TLS server with the site's stolen key
  (:mod:`demo.attacker`).

:meth:`Lab.verify` runs ``salve-verify --json`` as a client would and returns its verdict.
The attacker's moves are in :mod:`demo.moves`; ``python -m demo`` tells the story and the
attacker suite (``tests/attacks``) asserts it.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

from demo.attacker import (
    AttackerSite,
    ForgingDnsServer,
    forged_tree,
    loopback_port_free,
    mlp_client,
    record_statement,
)
from demo.configs import Enrolment, GmlcNode, toml_value, write_cells, write_secret, write_toml
from demo.pki import CertificatePair, DemoCa
from demo.processes import DemoError, Processes, Service, wait_for
from demo.world import (
    APPLIANCE_INTERVAL_S,
    ATTACKER_ADDRESS,
    ATTACKER_CELL,
    ATTACKER_CLIENT,
    ATTACKER_GMLC,
    ATTACKER_GMLC_ADDRESS,
    ATTACKER_OWN_CLIENT,
    ATTACKER_SIM,
    CHECK_TIMEOUT_S,
    FRANKFURT,
    GMLC,
    GMLC_ZONE,
    PARENT_ZONE,
    POLICY_AGE_S,
    POLICY_MAX_AGE_S,
    READY_TIMEOUT_S,
    SITE,
    SITE_ADDRESS,
    SITE_CLIENT,
    SITE_SIM,
    SITE_ZONE,
    STATEMENT_VALIDITY_S,
    ZURICH,
    Sim,
    demo_zones,
    free_port,
)
from demo.zones import DemoDns, KnotDns, ZoneFileDns, knot_available
from mlp.client import MlpClient, MlpResultError
from mlp.dnsrecords import GmlcEndpoint, SalvePolicy, format_loc, policy_record_name
from verifier.dnslab import LabRecord, SignedLab, write_lab

__all__ = ["Check", "DnsKind", "Lab"]

DnsKind = Literal["knot", "zone-files"]
_T = TypeVar("_T")


@dataclass(frozen=True)
class Check:
    """What ``salve-verify --json`` said.

    Attributes:
        exit_code: Its exit code (0 verified, 1 refused, 3 not protected, 4 DNS, 5 TLS,
            6 GMLC unreachable).
        document: The ``salve-verify/1`` JSON document.
        json_path: Where the document was saved (for ``--map-with``).
        map_path: The map it drew, if asked.
    """

    exit_code: int
    document: dict[str, Any]
    json_path: Path
    map_path: Path | None = None

    @property
    def verdict(self) -> str:
        """VERIFIED, REFUSED or NOT PROTECTED."""
        return str(self.document["verdict"])

    @property
    def code(self) -> str:
        """The dotted reason code (``dns.bogus``, ``statement.binding`` ...)."""
        return str(self.document["code"])

    @property
    def reason(self) -> str:
        """The verifier's reason in plain words."""
        return str(self.document["reason"])


class _Application(BaseHTTPRequestHandler):
    """The site's web application, unchanged and unaware of SALVE."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b"Welcome to the bank. Your balance is CHF 1,234.56\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the front logs the requests."""


def _started(part: _T | None) -> _T:
    """A part the lab makes when it starts (an error in the calling code before then)."""
    assert part is not None, "the lab is not started"
    return part


class Lab:
    """The world (see the module docstring): :meth:`start` it, then :meth:`close` it."""

    def __init__(
        self,
        workdir: Path,
        *,
        dns_kind: DnsKind | None = None,
        say: Callable[[str], None] = lambda line: None,
    ) -> None:
        """Prepare (nothing runs yet).

        Args:
            workdir: Where every file and log goes.
            dns_kind: ``knot``, ``zone-files``, or None: Knot when it is installed.
            say: Gets one line per set-up step.
        """
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.dns_kind = dns_kind
        self.say = say
        self.processes = Processes(workdir / "logs")
        self.ca = DemoCa(workdir / "pki")
        self._dns: DemoDns | None = None
        self._pairs: dict[str, CertificatePair] = {}
        self._nodes: dict[str, GmlcNode] = {}
        self._forged: dict[str, SignedLab] = {}
        self._forger: ForgingDnsServer | None = None
        self._attacker_site: AttackerSite | None = None
        self._application: ThreadingHTTPServer | None = None
        self._clients: list[MlpClient] = []
        self.site_port = 0
        self.passwords: dict[str, str] = {}
        self.old_statement = b""
        self.genuine: Check | None = None
        self.client_state = workdir / "client" / "state.json"
        self.map_path = workdir / "client" / "map.svg"
        self._checks = 0
        self._lock = threading.Lock()

    # -- what the moves use ------------------------------------------------------------

    @property
    def site_url(self) -> str:
        """The site's URL; a client reaches 127.0.0.1, or the attacker when misled."""
        return f"https://{SITE}:{self.site_port}"

    @property
    def ca_file(self) -> Path:
        """The demo CA's certificate, which every client trusts."""
        return self.ca.ca_file

    @property
    def dns(self) -> DemoDns:
        """The real DNS."""
        return _started(self._dns)

    @property
    def gmlc(self) -> GmlcNode:
        """The real GMLC."""
        return self._nodes["gmlc"]

    @property
    def attacker_gmlc(self) -> GmlcNode:
        """The attacker's own GMLC."""
        return self._nodes["attacker-gmlc"]

    @property
    def forger(self) -> ForgingDnsServer:
        """The attacker's forging DNS server."""
        return _started(self._forger)

    @property
    def attacker_site(self) -> AttackerSite:
        """The attacker's TLS server for the site's name."""
        return _started(self._attacker_site)

    def pair(self, name: str) -> CertificatePair:
        """A pair the demo CA issued: ``site``, ``gmlc``, ``misissued``, ``attacker-gmlc``."""
        return self._pairs[name]

    def forged(self, name: str) -> SignedLab:
        """The attacker's DNS trees: ``records`` (its policy and LOC) or ``absence`` (no policy)."""
        return self._forged[name]

    def mlp(self, node: GmlcNode, client_id: str, *, source: str) -> MlpClient:
        """An MLP client of ``node`` with ``client_id``'s password, connecting from ``source``."""
        made = mlp_client(
            node.url, client_id, self.passwords[client_id], ca_file=self.ca_file, source=source
        )
        self._clients.append(made)
        return made

    def operator(self, node: GmlcNode, *args: str) -> str:
        """Run a ``salve-gmlc`` command as the node's operator; its output."""
        return self.processes.run(*node.command(*args)).stdout

    def audit(self, node: GmlcNode, kind: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """The node's latest audit entries of one kind (``salve-gmlc audit list --json``)."""
        text = self.operator(node, "audit", "list", "--kind", kind, "--limit", str(limit), "--json")
        entries: list[dict[str, Any]] = json.loads(text)
        return entries

    def verify(
        self,
        *,
        state: Path | None,
        dns: Sequence[str] | None = None,
        address: str | None = None,
        map_with: Check | None = None,
    ) -> Check:
        """Run ``salve-verify --json`` against the site, as a client.

        Args:
            state: The client's memory (remembered policies, key sets); None: a client that
                never checked the site before.
            dns: Where it asks DNS (default: the real DNS).
            address: Connect to this address for the site (curl's ``--resolve``); default:
                the validated A record.
            map_with: Also draw this earlier check on a map (:attr:`Check.map_path`).

        Raises:
            DemoError: salve-verify did not give a verdict.
        """
        with self._lock:
            self._checks += 1
            number = self._checks
        json_path = self.workdir / "client" / f"check-{number}.json"
        args = ["salve-verify", "--json", "--ca", str(self.ca_file), "--timeout", "10"]
        args += list(dns) if dns is not None else self.dns.verifier_args()
        args += ["--state", str(state)] if state is not None else ["--no-state"]
        if address is not None:
            args += ["--resolve", f"{SITE}:{address}"]
        map_path = None
        if map_with is not None:
            map_path = self.map_path
            args += ["--map", str(map_path), "--map-with", str(map_with.json_path)]
        done = self.processes.run(*args, self.site_url, check=False, timeout=CHECK_TIMEOUT_S)
        try:
            document = json.loads(done.stdout.splitlines()[0])
        except (IndexError, ValueError):
            raise DemoError(
                f"salve-verify gave no verdict (exit {done.returncode}): {done.stderr.strip()}"
            ) from None
        json_path.write_text(done.stdout, encoding="utf-8")
        return Check(done.returncode, document, json_path, map_path)

    def verify_genuine(self) -> Check:
        """The client that knows the site checks it through the real DNS, at its address."""
        check = self.verify(state=self.client_state)
        self.genuine = check
        return check

    # -- start -------------------------------------------------------------------------

    def start(self) -> Lab:
        """Build and start everything; each step says one line through :attr:`say`.

        Raises:
            DemoError: A step failed (the message says which, quoting the logs).
        """
        self._issue_certificates()
        self._dns = self._start_dns()
        self.say(
            f"DNS      {self.dns.description}: {PARENT_ZONE} with {SITE_ZONE} and {GMLC_ZONE} "
            f"delegated (DS), DNSSEC-signed; trust anchor {self.dns.trust_anchor}"
        )
        self._nodes = {
            "gmlc": self._node("gmlc", GMLC, SITE_ADDRESS, "gmlc"),
            "attacker-gmlc": self._node(
                "attacker-gmlc", ATTACKER_GMLC, ATTACKER_GMLC_ADDRESS, "attacker-gmlc"
            ),
        }
        with ThreadPoolExecutor(max_workers=4) as pool:
            prepared = [
                pool.submit(self._prepare_gmlc),
                pool.submit(self._prepare_attacker_gmlc),
            ]
            enrolments = [
                pool.submit(self._prepare_appliance, SITE_SIM.appliance, SITE_SIM, self.gmlc),
                pool.submit(
                    self._prepare_appliance, ATTACKER_SIM.appliance, ATTACKER_SIM, self.gmlc
                ),
                pool.submit(
                    self._prepare_appliance, "attacker-fra-2", ATTACKER_SIM, self.attacker_gmlc
                ),
            ]
            for future in prepared:
                future.result()
            appliances = [future.result() for future in enrolments]
        self._serve_gmlcs()
        # Three operators at work at once: the real GMLC's (the appliances, the attacker's
        # account), the attacker's at its own GMLC, and the site's (records, declarations).
        with ThreadPoolExecutor(max_workers=3) as pool:
            real = pool.submit(self._enrol_at_real_gmlc, appliances[:2])
            own = pool.submit(self._enrol_at_attacker_gmlc, appliances[2])
            site = pool.submit(self._publish_and_declare)
            real.result()
            own.result()
            lines = site.result()
        self.say(
            f"SIM      salve-appliance on sim://quectel-ec25 (scenario {SITE_SIM.scenario}, "
            f"{ZURICH.name}) enrolled at the GMLC and reporting signed observations"
        )
        for line in lines:
            self.say(line)
        self._start_front()
        self._start_attacker()
        return self

    def _issue_certificates(self) -> None:
        self._pairs = {
            "site": self.ca.issue("site", SITE),
            "gmlc": self.ca.issue("gmlc", GMLC, SITE_ADDRESS),
            "misissued": self.ca.issue("misissued", SITE),
            "attacker-gmlc": self.ca.issue("attacker-gmlc", ATTACKER_GMLC, ATTACKER_GMLC_ADDRESS),
        }
        self.say(
            f"PKI      demo CA {self.ca_file}: certificates for {SITE} and {GMLC}; and, "
            f"issued to the attacker, {SITE} with another key and {ATTACKER_GMLC}"
        )

    def _start_dns(self) -> DemoDns:
        directory = self.workdir / "dns"
        if self.dns_kind == "zone-files":
            return ZoneFileDns(directory, demo_zones(), why="as asked")
        if self.dns_kind == "knot" or knot_available():
            return KnotDns(directory, demo_zones(), gmlc_zone=GMLC_ZONE)
        return ZoneFileDns(directory, demo_zones(), why="knotd is not installed")

    def _node(self, name: str, issuer: str, address: str, pair: str) -> GmlcNode:
        directory = self.workdir / name
        directory.mkdir()
        return GmlcNode(
            name, directory, issuer, address, free_port(address), self._pairs[pair], self.ca_file
        )

    def _init_gmlc(self, node: GmlcNode, cells: Path) -> None:
        self.processes.run(*node.command("init"))
        self.processes.run(*node.command("cells", "import", str(cells)))

    def _prepare_gmlc(self) -> None:
        self.gmlc.write_config(self.dns.gmlc_settings())
        cells = resources.files("demo") / "data" / "demo_cells.csv"
        with resources.as_file(cells) as path:
            self._init_gmlc(self.gmlc, path)

    def _prepare_attacker_gmlc(self) -> None:
        # The DNS tree as the attacker would like it: the site's policy naming its GMLC,
        # the site's LOC in Frankfurt. Its own GMLC trusts it (its own trust anchor);
        # nobody else does. The same tree without the policy forges the policy's absence.
        policy = SalvePolicy(
            (GmlcEndpoint(ATTACKER_GMLC, self.attacker_gmlc.port),), POLICY_AGE_S, "one"
        )
        loc = LabRecord(SITE, "LOC", format_loc(FRANKFURT.lat, FRANKFURT.lon, hp_m=3000))
        policy_record = LabRecord(policy_record_name(SITE), "TXT", policy.to_text())
        zones = demo_zones()
        self._forged = {
            "records": forged_tree(zones, [policy_record, loc], address=ATTACKER_ADDRESS),
            "absence": forged_tree(zones, [loc], address=ATTACKER_ADDRESS),
        }
        files, anchor = write_lab(self._forged["records"], self.workdir / "attacker-dns")
        node = self.attacker_gmlc
        node.write_config(
            {"dns_zone_files": [str(f) for f in files], "dns_trust_anchor": str(anchor)}
        )
        # Its cell database puts its Frankfurt cell wherever it likes: at the bank's site.
        cells = write_cells(node.directory / "cells.csv", ATTACKER_CELL, ZURICH)
        self._init_gmlc(node, cells)

    def _prepare_appliance(self, label: str, sim: Sim, gmlc: GmlcNode) -> Enrolment:
        directory = self.workdir / "appliances" / label
        directory.mkdir(parents=True)
        config = write_toml(
            directory / "appliance.toml",
            {
                "appliance": {
                    "id": label,
                    "site": sim.site,
                    "state_dir": str(directory / "state"),
                    "interval_s": APPLIANCE_INTERVAL_S,
                    "status_socket": str(directory / "status.sock"),
                },
                "modem": {"port": f"sim://quectel-ec25?scenario={sim.scenario}&seed=1"},
                "gmlc": {"url": gmlc.url, "ca_file": str(self.ca_file), "timeout_s": 5},
            },
        )
        self.processes.run("salve-appliance", "init", "--config", str(config))
        # Enrolling reads the SIM, so it runs before the daemon holds the modem.
        done = self.processes.run("salve-appliance", "enroll", "--config", str(config), "--json")
        return Enrolment(label, config, gmlc, json.loads(done.stdout))

    def _serve_gmlcs(self) -> None:
        for node in self._nodes.values():
            node.service = self.processes.start(node.name, *node.command("serve"))
        for node in self._nodes.values():
            service = node.service
            assert service is not None

            def ready(node: GmlcNode = node, service: Service = service) -> bool:
                service.check()
                return node.ready()

            wait_for(f"{node.name} to be ready", ready, READY_TIMEOUT_S)
        self.say(
            f"GMLC     salve-gmlc init, cells import, serve: {GMLC} at {self.gmlc.url} "
            f"(MLP over TLS, statements valid {STATEMENT_VALIDITY_S} s)"
        )

    def _enrol(self, enrolment: Enrolment) -> None:
        # Exactly the command the appliance printed for the GMLC's operator.
        words = shlex.split(enrolment.printed["command"])
        self.processes.run(*words[:1], "--config", str(enrolment.gmlc.config), *words[1:])
        self.processes.start(
            enrolment.label, "salve-appliance", "run", "--config", str(enrolment.config)
        )

    def _enrol_at_real_gmlc(self, enrolments: Sequence[Enrolment]) -> None:
        for enrolment in enrolments:
            self._enrol(enrolment)
        # The attacker is a customer of the real GMLC too, with its own SIM.
        self._client_add(
            self.gmlc, ATTACKER_CLIENT, "--msisdn", ATTACKER_SIM.msisdn,
            "--from", f"{ATTACKER_ADDRESS}/32",
        )  # fmt: skip

    def _enrol_at_attacker_gmlc(self, enrolment: Enrolment) -> None:
        self._enrol(enrolment)
        # Its own GMLC enrols the site's domain for it: it validates the attacker's DNS.
        self._client_add(
            self.attacker_gmlc, ATTACKER_OWN_CLIENT, "--domain", SITE,
            "--msisdn", ATTACKER_SIM.msisdn, "--from", f"{ATTACKER_ADDRESS}/32",
        )  # fmt: skip

    # -- the site ----------------------------------------------------------------------

    def _front_config(self) -> Path:
        directory = self.workdir / "front"
        directory.mkdir(exist_ok=True)
        site = self._pairs["site"]
        password = directory / "gmlc.password"
        tables: dict[str, dict[str, Any]] = {
            "tls": {"listen": f"{SITE_ADDRESS}:{self.site_port}"},
            "upstream": {"url": f"http://{SITE_ADDRESS}:{self._application_port()}"},
            "gmlc": {
                "url": self.gmlc.url,
                "name": GMLC,
                "client_id": SITE_CLIENT,
                "password_file": str(password),
                "ca_file": str(self.ca_file),
                "msisdn": SITE_SIM.msisdn,
            },
            "site": {"domains": [SITE], "state_dir": str(directory / "state")},
            "policy": {"age": POLICY_AGE_S, "mode": "one", "max_age": POLICY_MAX_AGE_S},
            "dns": {"ttl": 60, **self.dns.front_dns_settings()},
            "metrics": {"listen": f"{SITE_ADDRESS}:{free_port()}"},
        }
        extra = (
            f"[[tls.certificates]]\nchain = {toml_value(site.chain)}\n"
            f"key = {toml_value(site.key)}\n\n"
            f"[[site.locations]]\nname = {toml_value(ZURICH.name)}\nlat = {ZURICH.lat}\n"
            f"lon = {ZURICH.lon}\nprecision_m = {ZURICH.precision_m}\n"
        )
        return write_toml(directory / "front.toml", tables, extra)

    def _application_port(self) -> int:
        if self._application is None:
            self._application = ThreadingHTTPServer((SITE_ADDRESS, 0), _Application)
            self._application.daemon_threads = True
            threading.Thread(target=self._application.serve_forever, daemon=True).start()
        return int(self._application.server_address[1])

    def _site_port(self) -> int:
        # The attacker listens on the same port at its own address: one URL, two servers.
        for _ in range(50):
            port = free_port(SITE_ADDRESS)
            if loopback_port_free(ATTACKER_ADDRESS, port):
                return port
        raise DemoError("no port free on both 127.0.0.1 and 127.0.0.2")

    def _client_add(self, node: GmlcNode, client_id: str, *args: str) -> None:
        added = json.loads(self.operator(node, "client", "add", client_id, *args, "--json"))
        self.passwords[client_id] = added["password"]

    def _publish_and_declare(self) -> list[str]:
        """The site's steps, in order; the lines they say."""
        lines = []
        self.site_port = self._site_port()
        front = self._front_config()
        published = self.dns.publish_site(self.processes, front)
        lines.append(
            f"site     its policy, LOC ({ZURICH.name}) and declaration of the GMLC: {published}"
        )
        self._client_add(
            self.gmlc, SITE_CLIENT, "--domain", SITE, "--msisdn", SITE_SIM.msisdn,
            "--from", f"{SITE_ADDRESS}/32",
        )  # fmt: skip
        write_secret(self.workdir / "front" / "gmlc.password", self.passwords[SITE_CLIENT])
        lines.append(
            f"GMLC     client {SITE_CLIENT} enrolled for {SITE} (its DNSSEC-validated policy "
            f"names {GMLC}), pinned to the site's network {SITE_ADDRESS}/32"
        )
        self.processes.run("salve-front", "declare", "--config", str(front))
        published = self.dns.publish_gmlc(self.processes, self.gmlc.config)
        lines.append(
            "M2DMRT   salve-front declare exchanged both declarations; the GMLC's half: "
            f"{published}"
        )
        self._front = front
        return lines

    def _wait_located(self, node: GmlcNode, client_id: str, msisdn: str, source: str) -> None:
        client = self.mlp(node, client_id, source=source)

        def located() -> bool:
            self.processes.check_alive()
            try:
                client.request_location(msisdn)
            except MlpResultError:
                return False
            return True

        wait_for(f"the GMLC {node.name} to locate {msisdn}", located, READY_TIMEOUT_S)

    def _start_front(self) -> None:
        self._wait_located(self.gmlc, SITE_CLIENT, SITE_SIM.msisdn, SITE_ADDRESS)
        service = self.processes.start(
            "front", "salve-front", "serve", "--config", str(self._front)
        )

        def listening() -> bool:
            service.check()
            with socket.socket() as sock:
                sock.settimeout(1)
                return sock.connect_ex((SITE_ADDRESS, self.site_port)) == 0

        wait_for("the front to listen", listening, READY_TIMEOUT_S)
        # The attacker, as any client may, takes a statement from its own session with the
        # site now, to replay it later.
        self.old_statement = record_statement(
            SITE, self.site_port, SITE_ADDRESS, ca_file=self.ca_file
        )
        self.say(
            f"front    salve-front on {SITE_ADDRESS}:{self.site_port} for {SITE}, in front of "
            f"the application at http://{SITE_ADDRESS}:{self._application_port()}"
        )

    # -- the attacker ------------------------------------------------------------------

    def _start_attacker(self) -> None:
        self._forger = ForgingDnsServer(ATTACKER_ADDRESS, self._forged["records"]).start()
        self._attacker_site = AttackerSite(SITE, ATTACKER_ADDRESS, self.site_port)
        self.attacker_site.present(self._pairs["site"])
        self._wait_located(self.gmlc, ATTACKER_CLIENT, ATTACKER_SIM.msisdn, ATTACKER_ADDRESS)
        self._wait_located(
            self.attacker_gmlc, ATTACKER_OWN_CLIENT, ATTACKER_SIM.msisdn, ATTACKER_ADDRESS
        )
        self.say(
            f"attacker on {ATTACKER_ADDRESS} with the site's stolen key: its SIM in "
            f"{FRANKFURT.name}, an account ({ATTACKER_CLIENT}) at the real GMLC, its own GMLC "
            f"{ATTACKER_GMLC} on {ATTACKER_GMLC_ADDRESS}, a forging DNS server, a recorded "
            "statement"
        )

    # -- stop --------------------------------------------------------------------------

    def close(self) -> None:
        """Stop everything started; safe to call at any point, and twice."""
        for client in self._clients:
            with contextlib.suppress(Exception):
                client.close()
        self._clients.clear()
        if self._attacker_site is not None:
            self._attacker_site.stop()
        if self._forger is not None:
            self._forger.stop()
        self.processes.stop_all()
        if self._application is not None:
            self._application.shutdown()
            self._application.server_close()
            self._application = None
        if self._dns is not None:
            self._dns.stop()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

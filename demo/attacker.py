"""The attacker's own tools: a forging DNS server, a TLS server with the stolen key, and
the ways it tries to get a statement its victim's client would accept.

SALVE's attacker (the SALVE paper, §3 and §4) holds the site's TLS private key and
certificate, or a mis-issued certificate for the site's name, and sits between the client
and the site, somewhere else. It may have its own SIMs, appliance, GMLC account and even
its own GMLC. These tools are what it runs; the demo and the attacker suite point a real
``salve-verify`` at them and show that each move ends in a refusal with its own reason.

They are built on the libraries the product uses, with no hand-written TLS or DNS:

* :class:`ForgingDnsServer` answers DNS questions (UDP and TCP) from zones the attacker
  signed with its own keys (:func:`forged_tree`), through the verifier's own
  authoritative-answer code (:class:`verifier.sources.ZoneFileSource`, dnspython).
* :class:`AttackerSite` is a TLS 1.3 server (pyOpenSSL and h11, in
  :class:`verifier.sitelab.LabSite`) with the stolen (or mis-issued) certificate. Like a
  front, it computes each client connection's RFC 9266 exporter and session hash, and
  answers ``/.well-known/salve/statement`` with whatever its current ``answer`` gives
  for that session hash.
* The answers: :func:`statements_from` asks a GMLC over MLP (its own GMLC, the real one
  with its own account, the real one with the site's stolen password) for a statement
  bound to the victim's session; :func:`relay_from` fetches a fresh genuine statement on
  its own TLS connection to the real site; :func:`replay` serves one recorded earlier
  (:func:`record_statement`).

"Elsewhere", on one machine, is another loopback address: the attacker's servers and its
MLP client's source address are 127.0.0.2 (its GMLC 127.0.0.3), and its SIM is a
simulated one in another cell (Frankfurt). One move is staged from the site's own
network instead (its SIM enrolled by an operator's mistake): an attacker that stole the
TLS key may also control a host there, and the GMLC answers the site's client only from
the site's pinned network.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import httpx

from demo.pki import CertificatePair
from front.statements import REFUSAL_CODES
from mlp.client import MlpClient, MlpResultError, MlpTransportError
from mlp.delivery import STATEMENT_PATH, DeliveryFailure, FailureReason, StatementDelivery
from verifier.dnslab import LabKey, LabRecord, LabZone, SignedLab, generate_key, sign_lab
from verifier.errors import DnsTransportError, TlsError
from verifier.sitelab import LabSite, StatementServer
from verifier.sources import EDNS_PAYLOAD, ZoneFileSource
from verifier.tlsclient import TlsClient

__all__ = [
    "AttackerSite",
    "ForgingDnsServer",
    "forged_tree",
    "loopback_port_free",
    "mlp_client",
    "record_statement",
    "relay_from",
    "replay",
    "statements_from",
]

_UDP_MAX: Final = 65535


# --------------------------------------------------------------------------- forged DNS


def forged_tree(
    zones: Sequence[LabZone], records: Sequence[LabRecord], *, address: str
) -> SignedLab:
    """The site's DNS tree as the attacker would like it, signed with keys of its own.

    Args:
        zones: The zones (same names as the real ones).
        records: The records the attacker puts in them.
        address: Its name server's address (for the anchor hints nobody will trust).
    """
    keys: dict[str, Sequence[LabKey]] = {z.origin: [generate_key(z.algorithm)] for z in zones}
    return sign_lab(list(zones), keys=keys, records=list(records), address=address)


def _source(lab: SignedLab) -> ZoneFileSource:
    return ZoneFileSource(lab.zones.values(), description="the attacker's zones")


class ForgingDnsServer:
    """An authoritative DNS server (UDP and TCP) for zones the attacker signed itself."""

    def __init__(self, address: str, lab: SignedLab) -> None:
        """Serve ``lab`` on ``address`` (a free port, chosen by :meth:`start`)."""
        self.address = address
        self.port = 0
        self._source = _source(lab)
        self._udp: socketserver.ThreadingUDPServer | None = None
        self._tcp: socketserver.ThreadingTCPServer | None = None

    @property
    def server(self) -> str:
        """``ADDRESS:PORT``, for ``salve-verify --dns``."""
        return f"{self.address}:{self.port}"

    def serve(self, lab: SignedLab) -> None:
        """Answer from other forged zones from now on."""
        self._source = _source(lab)

    def answer(self, wire: bytes, *, limit: int) -> bytes | None:
        """The answer to one query in wire form (None: not a query worth answering)."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if not query.question:
            return None
        try:
            response = self._source.respond(query)
        except DnsTransportError:
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.REFUSED)
        response.flags |= dns.flags.AA
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            # Too big for UDP: the truncated bit sends the client to TCP, as a server does.
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.TC | dns.flags.AA
            return truncated.to_wire()

    def start(self) -> ForgingDnsServer:
        """Listen on UDP and TCP (the same free port) in background threads."""
        forger = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                reply = forger.answer(data, limit=EDNS_PAYLOAD)
                if reply is not None:
                    sock.sendto(reply, self.client_address)

        class Tcp(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while True:
                    head = self.rfile.read(2)
                    if len(head) < 2:
                        return
                    data = self.rfile.read(int.from_bytes(head, "big"))
                    reply = forger.answer(data, limit=_UDP_MAX)
                    if reply is None:
                        return
                    self.wfile.write(len(reply).to_bytes(2, "big") + reply)

        for _ in range(20):
            udp = socketserver.ThreadingUDPServer((self.address, 0), Udp)
            port = udp.server_address[1]
            try:
                tcp = socketserver.ThreadingTCPServer((self.address, port), Tcp)
            except OSError:
                udp.server_close()
                continue
            break
        else:  # pragma: no cover - twenty ports in a row taken over TCP only
            raise OSError("no port free for both UDP and TCP")
        udp.daemon_threads = tcp.daemon_threads = True
        self._udp, self._tcp, self.port = udp, tcp, port
        for server in (udp, tcp):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        for server in (self._udp, self._tcp):
            if server is not None:
                server.shutdown()
                server.server_close()
        self._udp = self._tcp = None


# --------------------------------------------------------------------------- the TLS server


def _refusing(session_hash: bytes) -> tuple[int, bytes]:
    return 503, DeliveryFailure("timeout").to_json()


@dataclass
class AttackerSite:
    """A TLS 1.3 server for the site's name, with the stolen (or a mis-issued) certificate.

    Attributes:
        host: The site's name.
        address: Where the attacker listens (another loopback address).
        port: The site's port (a client is pointed at ``address`` for the same URL).
        answer: What the statement path serves for a session hash; change it per move.
    """

    host: str
    address: str
    port: int
    answer: StatementServer = _refusing
    _site: LabSite | None = field(default=None, repr=False)

    def present(self, pair: CertificatePair) -> None:
        """Serve this certificate and key from now on (a new listener on the same port)."""
        self.stop()
        self._site = LabSite(
            self.host,
            pair.chain,
            pair.key,
            lambda session_hash: self.answer(session_hash),
            address=self.address,
            port=self.port,
        ).start()

    def stop(self) -> None:
        """Stop listening."""
        if self._site is not None:
            self._site.stop()
            self._site = None


# --------------------------------------------------------------------------- statements


def mlp_client(url: str, client_id: str, password: str, *, ca_file: Path, source: str) -> MlpClient:
    """An MLP client that connects from ``source`` (the attacker's, or a host it controls)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    transport = httpx.HTTPTransport(verify=context, local_address=source)
    return MlpClient(url, client_id=client_id, password=password, transport=transport, timeout=10)


def statements_from(
    gmlc: MlpClient, msisdn: str, domain: str, *, max_loc_age: int
) -> StatementServer:
    """Ask ``gmlc`` for a statement about ``msisdn`` for ``domain``, bound to each session.

    What the GMLC refuses becomes the 503 document a front would serve.
    """

    def serve(session_hash: bytes) -> tuple[int, bytes]:
        try:
            result = gmlc.request_location(
                msisdn, session_hash, domain=domain, max_loc_age=max_loc_age
            )
        except MlpResultError as exc:
            kind: FailureReason = (
                "gmlc_refused" if exc.result_code in REFUSAL_CODES else "mlp_result"
            )
            return 503, DeliveryFailure(kind, exc.resid).to_json()
        except MlpTransportError:
            return 503, DeliveryFailure("gmlc_unreachable").to_json()
        if result.statement is None:
            return 503, DeliveryFailure("gmlc_unreachable").to_json()
        return 200, StatementDelivery(result.statement).to_json()

    return serve


def _fetch(host: str, port: int, address: str, ca_file: Path) -> tuple[int, bytes]:
    """GET the statement path on a TLS connection of the attacker's own to the real site."""
    client = TlsClient(ca=ca_file, timeout=10)
    try:
        connection = client.connect(host, port, address)
    except TlsError:
        # The real site is out of reach: the relay has nothing to pass on.
        return 503, DeliveryFailure("gmlc_unreachable").to_json()
    with contextlib.closing(connection):
        response = connection.request("GET", STATEMENT_PATH)
        return response.status, response.body


def relay_from(host: str, port: int, address: str, *, ca_file: Path) -> StatementServer:
    """Relay a fresh genuine statement: fetched from the real site for every client."""
    return lambda session_hash: _fetch(host, port, address, ca_file)


def record_statement(host: str, port: int, address: str, *, ca_file: Path) -> bytes:
    """One genuine statement document from the real site, to replay later.

    Raises:
        OSError: The site gave no statement.
    """
    status, body = _fetch(host, port, address, ca_file)
    if status != 200:
        raise OSError(f"the site answered HTTP {status} for {STATEMENT_PATH}")
    return body


def replay(document: bytes) -> StatementServer:
    """Serve the same recorded statement document to every client."""
    return lambda session_hash: (200, document)


def loopback_port_free(address: str, port: int) -> bool:
    """Whether ``address:port`` can be listened on (TCP)."""
    with socket.socket() as sock:
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True

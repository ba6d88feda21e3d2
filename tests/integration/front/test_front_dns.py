"""DNS and declarations against Knot: records, RFC 2136 updates, the declaration check, the
declaration exchange, and ``salve-verify``'s check of a running front (VERIFIED).

The GMLC's half of the declarations (``H._m2dmrt.G``) and its key pins are published here
with the GMLC's own keys, as the GMLC operator would. ``salve-front declare`` runs against
the real GMLC; only a GMLC that lies about its key is staged, by a stand-in served with
the GMLC's certificate.
"""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlp.dnsrecords import SalvePolicy, keys_record_name
from mlp.keys import b64url_decode, b64url_encode
from mlp.m2dmrt import declaration_record_name, sign_declaration, verify_declarations
from verifier.checker import Verifier
from verifier.dns import lookup_policy, open_resolver
from verifier.dnsupdate import find_zone
from verifier.state import VerifierState
from verifier.verdict import Outcome

H = "shop.example.salve.test"
API = "api.example.salve.test"
G = "front-gmlc.gmlc.salve.test"
UNREGISTERED = "other.example.salve.test"
Fixture = Any


def gmlc_declaration(pki: Fixture, host: str, site_cert: Fixture) -> str:
    """``H._m2dmrt.G`` as the GMLC signs it: its TLS key over the site's SPKI."""
    return sign_declaration(
        signer=G,
        target=host,
        target_spki_der=pki.spki(site_cert),
        private_key=pki.private_key(pki.gmlc),
    ).to_text()


@dataclass
class Lab:
    knot: Any
    settings: dict[str, Any]
    config: Path


@pytest.fixture(scope="module")
def lab(knot_lab: Fixture, world: Fixture) -> Iterator[Lab]:
    """The GMLC's records in the lab, and a front configuration that publishes and checks."""
    pki, gmlc = world.pki, world.gmlc
    settings = world.settings(
        dns={
            "server": knot_lab.server,
            "tsig_key_file": str(knot_lab.tsig_key),
            "resolver": knot_lab.server,
            "trust_anchor": str(knot_lab.trust_anchor),
            "require_declaration": True,
        }
    )
    with contextlib.ExitStack() as stack:
        for name in (H, API, G):
            stack.enter_context(knot_lab.records(name, "A", ["127.0.0.1"]))
        stack.enter_context(
            knot_lab.records(keys_record_name(G), "TXT", [p.to_text() for p in gmlc.key_pins()])
        )
        stack.enter_context(
            knot_lab.records(
                declaration_record_name(G, H), "TXT", [gmlc_declaration(pki, H, pki.site)]
            )
        )
        yield Lab(knot_lab, settings, world.write(settings))


def run(world: Fixture, config: Path, *args: str) -> Any:
    return world.cli(config, *args)


def test_dns_records_are_published_once_and_the_second_update_changes_nothing(
    lab: Lab, world: Fixture
) -> None:
    printed = run(world, lab.config, "dns", "records")
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    policy = f'"v=salve1; gmlc={G}:{world.gmlc.port}; age=300; mode=one; max-age=3600"'
    assert f"_salve.{H}. 300 IN TXT {policy}" in lines
    assert any(line.startswith(f"{H}. 300 IN LOC 46 56 52.800 N 7 26 50.640 E") for line in lines)
    declaration = next(line for line in lines if line.startswith(f"{G}._m2dmrt.{H}."))
    text = "".join(part.strip('"') for part in declaration.split(" TXT ", 1)[1].split('" "'))
    verify_declarations(
        [text],
        signer=H,
        target=G,
        signer_spki_der=world.pki.spki(world.pki.site),
        target_spki_der=world.pki.spki(world.pki.gmlc),
    )

    first = run(world, lab.config, "dns", "update")
    assert first.returncode == 0, first.stderr
    assert "example.salve.test: published" in first.stdout
    again = run(world, lab.config, "dns", "update")
    assert again.returncode == 0, again.stderr
    assert "example.salve.test: already published, nothing changed" in again.stdout
    resolver = open_resolver(server=lab.knot.server, trust_anchor=lab.knot.trust_anchor)
    assert lookup_policy(resolver, H) == SalvePolicy.parse(policy.strip('"'))
    (site,) = resolver.loc(API) or []
    assert (site.lat, site.lon, site.hp_m) == (pytest.approx(46.948), pytest.approx(7.4474), 10000)
    assert find_zone(lab.knot.server, f"_salve.{H}") == "example.salve.test"


def test_an_update_with_a_key_the_server_refuses_fails_with_its_own_exit_code(
    lab: Lab, world: Fixture, tmp_path: Path
) -> None:
    forged = tmp_path / "forged.key"
    original = lab.knot.tsig_key.read_text()
    secret = original.split('secret "')[1].split('"')[0]
    forged.write_text(original.replace(secret, base64.b64encode(b"f" * 32).decode()))
    forged.chmod(0o600)
    # A changed policy, so that there is something to send.
    changed = world.write(dict(lab.settings, policy={"age": 299, "mode": "one"}))
    result = run(world, changed, "dns", "update", "--tsig-key", str(forged))
    world.write(lab.settings)
    assert result.returncode == 6, result.stderr
    assert "does not accept the TSIG key" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_and_serve_refuse_a_key_without_published_declarations(
    lab: Lab, world: Fixture
) -> None:
    assert run(world, lab.config, "dns", "update").returncode == 0
    # The GMLC declared shop.example.salve.test, not api.example.salve.test yet.
    missing = run(world, lab.config, "check")
    assert missing.returncode == 4, missing.stdout + missing.stderr
    assert f"{API}._m2dmrt.{G} is not published" in missing.stderr
    refused = world.start(lab.settings, wait=False)
    assert refused.process is not None and refused.process.wait(30) == 4
    with lab.knot.records(
        declaration_record_name(G, API), "TXT", [gmlc_declaration(world.pki, API, world.pki.api)]
    ):
        ok = run(world, lab.config, "check")
        assert ok.returncode == 0, ok.stderr
        assert f"{H}: both declarations verify" in ok.stdout
        # A certificate with another key for the name: declared by nobody, refused.
        chain, key = world.pki.pair(world.pki.site_next, "site-next")
        other = dict(lab.settings, tls=dict(lab.settings["tls"]))
        other["tls"]["_certificates"] = [
            (chain, key, False),
            *lab.settings["tls"]["_certificates"][1:],
        ]
        other_config = world.write(other)
        undeclared = run(world, other_config, "check")
        assert undeclared.returncode == 4
        assert f"{G}._m2dmrt.{H} does not declare {G} with the key of" in undeclared.stderr
        world.write(lab.settings)


def test_salve_verify_verifies_a_running_front(lab: Lab, world: Fixture) -> None:
    assert run(world, lab.config, "dns", "update").returncode == 0
    with lab.knot.records(
        declaration_record_name(G, API), "TXT", [gmlc_declaration(world.pki, API, world.pki.api)]
    ):
        front = world.start(lab.settings)  # it checks the declarations before it listens
    resolver = open_resolver(server=lab.knot.server, trust_anchor=lab.knot.trust_anchor)
    verifier = Verifier(resolver, ca=world.pki.ca_file, state=VerifierState(None), timeout=10)
    with verifier.check(f"https://{H}:{front.port}") as result:
        verdict = result.verdict
        assert verdict.outcome is Outcome.VERIFIED, verdict.reason
        assert (verdict.statement.claims.iss, verdict.statement.claims.sub) == (G, H)
        # Application data on the verified connection goes to the application.
        page = result.connection.request("GET", "/after-verification")
        assert page.status == 200 and json.loads(page.body)["path"] == "/after-verification"


# --------------------------------------------------------------------------- declare


def test_declare_exchanges_both_declarations_for_every_key_with_the_gmlc(world: Fixture) -> None:
    settings = world.settings()
    chain, key = world.pki.pair(world.pki.site_next, "site-next")
    settings["tls"]["_certificates"].append((chain, key, True))  # the next key, upcoming
    config = world.write(settings)
    result = run(world, config, "declare")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if not line.startswith(";")]
    ours = [line for line in lines if line.startswith(f"{G}._m2dmrt.")]
    theirs = [line for line in lines if line.startswith(f"{H}._m2dmrt.{G}.")]
    assert len(ours) == 3 and len(theirs) == 2  # H: the key and the next key; API: one
    for line, site in zip(theirs, (world.pki.site, world.pki.site_next), strict=True):
        text = "".join(part.strip('"') for part in line.split(" TXT ", 1)[1].split('" "'))
        verify_declarations(
            [text],
            signer=G,
            target=H,
            signer_spki_der=world.pki.spki(world.pki.gmlc),
            target_spki_der=world.pki.spki(site),
        )
    remembered = Path(settings["site"]["state_dir"]) / "gmlc-spki.der"
    assert remembered.read_bytes() == world.pki.spki(world.pki.gmlc)
    # Declaring the same keys again is idempotent at the GMLC.
    assert run(world, config, "declare").returncode == 0


def test_declare_is_refused_for_a_domain_or_password_the_gmlc_does_not_know(
    world: Fixture, tmp_path: Path
) -> None:
    chain, key = world.pki.pair(world.pki.unregistered, "unregistered")
    settings = world.settings(site={"domains": [UNREGISTERED]})
    settings["tls"]["_certificates"] = [(chain, key, False)]
    result = run(world, world.write(settings), "declare")
    assert result.returncode == 5, result.stdout + result.stderr
    assert f"{UNREGISTERED} is not registered to this client" in result.stderr
    wrong = tmp_path / "wrong.password"
    wrong.write_text("wrong\n")
    wrong.chmod(0o600)
    refused = run(world, world.write(world.settings(gmlc={"password_file": str(wrong)})), "declare")
    assert refused.returncode == 5
    assert "refused the client id or password" in refused.stderr
    assert "Traceback" not in refused.stderr + result.stderr


def test_declare_refuses_a_gmlc_that_names_another_key(world: Fixture) -> None:
    """A GMLC whose answer names a key other than its connection's is not believed."""
    pki = world.pki
    chain, key = pki.pair(pki.gmlc, "gmlc")

    class Liar(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, document: dict[str, Any]) -> None:
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer({"keys": []})

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            site_spki = b64url_decode(request["site_spki"])
            other = pki.private_key(pki.site_next)
            theirs = sign_declaration(
                signer=G, target=request["domain"], target_spki_der=site_spki, private_key=other
            )
            self._answer(
                {
                    "declaration": theirs.to_text(),
                    "gmlc_spki": b64url_encode(pki.spki(pki.site_next)),
                }
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Liar)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(chain), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings = world.settings(gmlc={"url": f"https://127.0.0.1:{server.server_address[1]}"})
        result = run(world, world.write(settings), "declare")
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 5, result.stdout + result.stderr
    assert "other than the one its connection presented" in result.stderr

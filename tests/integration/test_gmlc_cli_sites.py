"""`salve-gmlc` site commands against real DNSSEC: domains, options, the GMLC's records.

The node's issuer is the Knot lab's GMLC name and its resolver the lab's server, so every
enrolment is decided by validating the lab's signed zones from its trust anchor. Each test
publishes the policies it needs under names of its own and removes them afterwards.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gmlc.cli import main
from gmlc.keys import KeyRing
from gmlc.store import Store
from mlp.dnsrecords import KeyPin, join_txt_strings
from mlp.keys import KeySet, jwk_thumbprint
from mlp.m2dmrt import Declaration, sign_declaration, spki_der, verify_declarations
from tests.support.gmlc import sqlite_url
from verifier.dns import open_resolver
from verifier.dnslab import KnotLab

G = "gmlc.salve.test"
ZONE = "example.salve.test"
Cli = Callable[..., tuple[int, str, str]]


def policy(gmlc: str = G, mode: str = "one") -> str:
    return f"v=salve1; gmlc={gmlc}:9211; age=300; mode={mode}"


def record_declaration(
    state_dir: Path, *, signer: str, domain: str, gmlc_key: Any, site_key: Any
) -> Declaration:
    """Stores web-1's declarations for ``domain`` as the endpoint does: the GMLC's (by
    ``gmlc_key`` as ``signer``, for ``site_key``; returned) and a site's placeholder."""
    site_spki = spki_der(site_key.public_key())
    ours = sign_declaration(
        signer=signer, target=domain, target_spki_der=site_spki, private_key=gmlc_key
    )
    with Store.open(sqlite_url(state_dir)) as store:
        store.record_declaration(
            client_id="web-1",
            domain=domain,
            site_spki=site_spki,
            site_declaration="v=m2dmrt1; s=x; t=y; a=ES256; sig=AA==",
            gmlc_spki_sha256="0" * 64,
            gmlc_declaration=ours.to_text(),
        )
    return ours


@pytest.fixture
def node(tmp_path: Path, knot_lab: KnotLab) -> Path:
    state = tmp_path / "state"
    config = tmp_path / "gmlc.toml"
    config.write_text(
        "[gmlc]\n"
        f'issuer = "{G}"\n'
        f'state_dir = "{state}"\n'
        f'dns_server = "{knot_lab.server}"\n'
        f'dns_trust_anchor = "{knot_lab.trust_anchor}"\n'
    )
    return config


@pytest.fixture
def cli(node: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    for name in list(os.environ):
        if name.startswith("SALVE_GMLC_"):
            monkeypatch.delenv(name)
    capsys.readouterr()
    assert main(["--config", str(node), "init"]) == 0

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--config", str(node), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def published(knot_lab: KnotLab) -> Iterator[Callable[[str, str], None]]:
    """Publish ``_salve.HOST TXT`` values for the test; restored afterwards."""
    with ExitStack() as stack:

        def publish(host: str, value: str) -> None:
            stack.enter_context(knot_lab.records(f"_salve.{host}", "TXT", [value]))

        yield publish


def test_a_domain_is_enrolled_only_when_its_validated_policy_names_this_gmlc(
    cli: Cli, published: Callable[[str, str], None]
) -> None:
    shop, elsewhere, silent = (f"{name}.{ZONE}" for name in ("gd-shop", "gd-else", "gd-silent"))
    published(shop, policy(mode="all"))
    published(elsewhere, policy(gmlc="gmlc.attacker.example"))

    # Typed as people type it; stored canonical. The policy expects mode all: say so.
    code, out, err = cli(
        "client", "add", "web-1", "--domain", f"GD-Shop.{ZONE}.", "--from", "127.0.0.1"
    )
    assert code == 0, err
    assert f"Domain {shop} enrolled for client web-1" in out
    assert f"the policy of {shop} says mode=all" in out
    assert "client options web-1 --mode all" in out

    for domain, reason in (
        (elsewhere, "names gmlc.attacker.example, not this GMLC"),
        (silent, "publishes no SALVE policy: DNSSEC proves"),
    ):
        code, _, err = cli("client", "add", "web-2", "--domain", domain, "--from-anywhere")
        assert code == 5, err
        assert reason in err and "Traceback" not in err
    code, out, _ = cli("client", "list", "--json")
    assert [(c["client_id"], c["domains"]) for c in json.loads(out)] == [("web-1", [shop])]

    # A domain belongs to exactly one client.
    assert cli("client", "add", "web-2", "--from-anywhere")[0] == 0
    code, _, err = cli("client", "domain", "add", "web-2", shop)
    assert code == 4 and "belongs to client 'web-1'" in err
    # Enrolling again validates again (the evidence is refreshed).
    code, out, _ = cli("client", "domain", "add", "web-1", shop, "--json")
    assert code == 0
    (record,) = json.loads(out)
    assert record["evidence"]["policy"] == policy(mode="all")
    assert record["evidence"]["validated_by"].startswith("DNS server")

    code, out, _ = cli("client", "domain", "list")
    assert shop in out and "gmlc.salve.test:9211" in out
    assert cli("client", "domain", "remove", "web-1", shop)[0] == 0
    assert cli("client", "domain", "remove", "web-1", shop)[0] == 3
    # Enrolments (with their evidence) and removals are in the audit log.
    code, out, _ = cli("audit", "list", "--json")
    trail = [
        (row["kind"], row["client_id"], row["detail"]["domain"])
        for row in json.loads(out)
        if row["kind"].startswith("domain_")
    ]
    assert trail == [
        ("domain_enrolled", "web-1", shop),
        ("domain_enrolled", "web-1", shop),
        ("domain_removed", "web-1", shop),
    ]
    assert cli("client", "domain", "add", "web-1", "not a host")[0] == 2


def test_statement_options(cli: Cli) -> None:
    assert cli("client", "add", "web-1", "--from-anywhere", "--precision-m", "500")[0] == 0
    code, out, _ = cli("client", "options", "web-1")
    assert code == 0 and "mode one" in out and "coarsened to 500 m" in out
    code, out, _ = cli("client", "options", "web-1", "--mode", "all", "--json")
    assert json.loads(out) == {"client_id": "web-1", "statement_mode": "all", "precision_m": 500}
    code, out, _ = cli("client", "options", "web-1", "--exact")
    assert "exact positions" in out and "mode all" in out
    assert cli("client", "options", "web-1", "--precision-m", "0")[0] == 2
    assert cli("client", "options", "web-1", "--exact", "--precision-m", "5")[0] == 2
    assert cli("client", "options", "ghost")[0] == 3


def test_dns_records_publish_declarations_and_key_pins(
    cli: Cli, node: Path, published: Callable[[str, str], None]
) -> None:
    shop = f"gd-records.{ZONE}"
    published(shop, policy())
    assert cli("client", "add", "web-1", "--domain", shop, "--from-anywhere")[0] == 0
    state = node.parent / "state"
    ring = KeyRing(state / "keys")
    ring.rotate("EdDSA")
    # By an RSA key: long enough to be split.
    gmlc_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    site_key = ec.generate_private_key(ec.SECP256R1())
    record_declaration(state, signer=G, domain=shop, gmlc_key=gmlc_key, site_key=site_key)
    code, out, err = cli("dns", "records", "--ttl", "120")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"{shop}._m2dmrt.{G}. 120 IN TXT ")
    assert all(line.startswith(f"_salve-keys.{G}. 120 IN TXT ") for line in lines[1:])
    # Each line is a valid record whose joined strings are the value clients read.
    values = [
        join_txt_strings(
            dns.rdata.from_text(
                dns.rdataclass.IN, dns.rdatatype.TXT, line.split(" IN TXT ", 1)[1]
            ).strings
        )
        for line in lines
    ]
    assert len(lines[0].split('" "')) == 2  # split into 255-byte strings
    verify_declarations(
        values[:1],
        signer=G,
        target=shop,
        signer_spki_der=spki_der(gmlc_key.public_key()),
        target_spki_der=spki_der(site_key.public_key()),
    )
    pins = [KeyPin.parse(value) for value in values[1:]]
    jwks = KeySet.from_jwks(ring.jwks(ring.list()[0].created_at, ring.grace_period_s))
    assert {(p.kid, p.jkt, p.alg) for p in pins} == {
        (k.kid, jwk_thumbprint(k.public_key), k.alg) for k in jwks
    }
    assert [p.until is None for p in pins] == [True, False]  # the new key, the retired one
    code, out, _ = cli("dns", "records", "--json")
    assert next(r["owner"] for r in json.loads(out)) == f"{shop}._m2dmrt.{G}"


def test_dns_update_publishes_the_records_once_and_says_when_nothing_changed(
    tmp_path: Path,
    knot_lab: KnotLab,
    published: Callable[[str, str], None],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An issuer of its own under the lab's GMLC zone: the records this test publishes
    # touch no other test's names.
    issuer = f"gd-update.{G}"
    shop = f"gd-update.{ZONE}"
    for name in list(os.environ):
        if name.startswith("SALVE_GMLC_"):
            monkeypatch.delenv(name)
    config = tmp_path / "gmlc.toml"
    config.write_text(
        "[gmlc]\n"
        f'issuer = "{issuer}"\n'
        f'state_dir = "{tmp_path / "state"}"\n'
        f'dns_server = "{knot_lab.server}"\n'
        f'dns_trust_anchor = "{knot_lab.trust_anchor}"\n'
    )

    def cli(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--config", str(config), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    assert cli("init")[0] == 0
    published(shop, policy(issuer))
    assert cli("client", "add", "web-1", "--domain", shop, "--from-anywhere")[0] == 0
    gmlc_key = ec.generate_private_key(ec.SECP256R1())
    ours = record_declaration(
        tmp_path / "state",
        signer=issuer,
        domain=shop,
        gmlc_key=gmlc_key,
        site_key=ec.generate_private_key(ec.SECP256R1()),
    )
    update = ("dns", "update", "--server", knot_lab.server, "--tsig-key", str(knot_lab.tsig_key))
    declaration_name = f"{shop}._m2dmrt.{issuer}"
    pins_name = f"_salve-keys.{issuer}"
    try:
        code, out, err = cli(*update)
        assert code == 0, err
        assert out.strip() == (
            f"salve-gmlc: {knot_lab.zone_of(pins_name)}: published "
            f"({declaration_name} TXT, {pins_name} TXT)"
        )
        # What a client now validates from the trust anchor is what `dns records` prints.
        resolver = open_resolver(server=knot_lab.server, trust_anchor=knot_lab.trust_anchor)
        assert resolver.txt(declaration_name) == [ours.to_text()]
        _, records, _ = cli("dns", "records", "--json")
        assert resolver.txt(pins_name) == [
            r["value"] for r in json.loads(records) if r["owner"] == pins_name
        ]
        code, out, _ = cli(*update, "--json")
        assert code == 0
        assert json.loads(out)["changed"] is False
        assert cli(*update)[1].strip().endswith("already published, nothing changed")
        # A change signed with a key the server does not accept: the update's own exit
        # code, in words, and the zone as it was.
        wrong = tmp_path / "wrong.key"
        wrong.write_text(
            'key "salve-lab" {\n\talgorithm hmac-sha256;\n'
            '\tsecret "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";\n};\n'
        )
        wrong.chmod(0o600)
        code, _, err = cli(*update[:-1], str(wrong), "--ttl", "60")
        assert code == 7
        assert err.startswith("salve-gmlc: dns update: ")
        assert resolver.txt(declaration_name) == [ours.to_text()]
    finally:
        knot_lab.delete_records(declaration_name, "TXT")
        knot_lab.delete_records(pins_name, "TXT")

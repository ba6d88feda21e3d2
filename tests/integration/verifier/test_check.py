"""The whole client check against real parts: Knot DNS, a GMLC over TLS, a TLS 1.3 site.

Each attacker move of the SALVE story is staged and must meet its own reason and exit
class, while the genuine site keeps verifying.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from mlp.delivery import StatementDelivery
from mlp.dnsrecords import GmlcEndpoint, KeyPin, format_loc, keys_record_name, policy_record_name
from mlp.keys import SigningKey
from mlp.m2dmrt import declaration_record_name, sign_declaration, spki_der
from mlp.merkle import MerkleTree
from mlp.statement import StatementPosition, issue_statement
from verifier.checker import Verifier
from verifier.dns import open_resolver
from verifier.jwks import JwksFetcher
from verifier.state import VerifierState
from verifier.tlsclient import TlsClient
from verifier.verdict import Outcome

H = "www.example.salve.test"
G = "gmlc.salve.test"
OTHER_SITE = "other.example.salve.test"  # another site of the same client (conftest)
MSISDN = "41791000101"
CENTRE = (46.9480, 7.4474)
ZURICH = format_loc(47.3769, 8.5417, hp_m=2000)

Fixture = Any


@pytest.fixture
def verify(salve_dns: Fixture, pki: Fixture) -> Callable[..., Any]:
    """Check a URL with a fresh verifier (fresh DNS cache) against the lab."""

    def run(
        url: str, *, state: VerifierState | None = None, trust_anchor: Path | None = None
    ) -> Any:
        resolver = open_resolver(
            server=salve_dns.lab.server, trust_anchor=trust_anchor or salve_dns.lab.trust_anchor
        )
        verifier = Verifier(resolver, ca=pki.ca_file, state=state or VerifierState(None), timeout=5)
        return verifier.check(url)

    return run


@pytest.fixture
def genuine(site_factory: Fixture, pki: Fixture, serves: Fixture) -> Fixture:
    return site_factory(pki.site, serves.from_gmlc())


def statement(gmlc: Fixture, session_hash: bytes, **changes: Any) -> str:
    """A statement signed with the GMLC's own key (or ``key``), with claims to stage."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "key": gmlc.signing_key(),
        "issuer": G,
        "subject": H,
        "session_hash": session_hash,
        "positions": StatementPosition(*CENTRE, 1800),
        "position_time": now,
        "now": now,
        "validity_s": 60,
    }
    values.update(changes)
    token, _ = issue_statement(**values)
    return token


def expect(result: Any, exit_code: int, code: str, *words: str) -> None:
    verdict = result.verdict
    assert (verdict.exit_code, verdict.code) == (exit_code, code), verdict.reason
    for word in words:
        assert word in verdict.reason
    if exit_code != 0:
        assert result.connection is None


# --------------------------------------------------------------------------- verified


def test_the_genuine_site_verifies_and_hands_back_its_connection(
    genuine: Fixture, verify: Fixture
) -> None:
    with verify(genuine.url) as result:
        verdict = result.verdict
        assert verdict.outcome is Outcome.VERIFIED and verdict.exit_code == 0, verdict.reason
        assert (verdict.statement.claims.iss, verdict.statement.claims.sub) == (G, H)
        assert result.connection.session_hash == genuine.session_hashes[-1]
        assert verdict.position.ok and verdict.position.fits[0].margin_m > 3000
        assert verdict.ages()["position_s"] < 300
        # Application data travels on the very connection the verdict covers.
        response = result.connection.request("GET", "/account")
        assert (response.status, response.body) == (200, f"hello from {H}/account".encode())
        assert len(genuine.session_hashes) == 1


def test_a_batch_statement_verifies_with_its_inclusion_proof(
    site_factory: Fixture, pki: Fixture, serves: Fixture, verify: Fixture
) -> None:
    client = serves.client
    wrong_leaf = [False]

    def serve(session_hash: bytes) -> tuple[int, bytes]:
        others = [secrets.token_bytes(32) for _ in range(4)]
        tree = MerkleTree([others[0], session_hash, *others[1:]])
        result = client.request_location(MSISDN, tree.root, domain=H, batch_size=5, max_loc_age=300)
        proof = tree.proof(0 if wrong_leaf[0] else 1)
        return 200, StatementDelivery(result.statement or "", proof).to_json()

    site = site_factory(pki.site, serve)
    with verify(site.url) as result:
        assert result.verdict.outcome is Outcome.VERIFIED, result.verdict.reason
        assert result.verdict.statement.claims.bsz == 5
    wrong_leaf[0] = True
    expect(verify(site.url), 1, "statement.binding", "bound to another TLS session")


# --------------------------------------------------------------------------- the attacker


def test_a_relayed_statement_is_bound_to_another_session(
    site_factory: Fixture, pki: Fixture, serves: Fixture, verify: Fixture
) -> None:
    # The attacker holds the site's key and relays a fresh statement from its own session
    # with the real site.
    loot = serves.gmlc_statement(secrets.token_bytes(32))
    site = site_factory(pki.site, serves.signed(lambda session_hash: loot))
    expect(verify(site.url), 1, "statement.binding", "bound to another TLS session")


def test_an_old_statement_replayed_has_expired(
    site_factory: Fixture, pki: Fixture, gmlc: Fixture, serves: Fixture, verify: Fixture
) -> None:
    old = datetime.now(UTC) - timedelta(minutes=20)
    site = site_factory(
        pki.site, serves.signed(lambda sh: statement(gmlc, sh, now=old, position_time=old))
    )
    expect(verify(site.url), 1, "statement.expired", "the statement expired 11")


def test_a_stale_position_is_refused(
    site_factory: Fixture, pki: Fixture, gmlc: Fixture, serves: Fixture, verify: Fixture
) -> None:
    measured = datetime.now(UTC) - timedelta(minutes=10)  # the policy allows 300 s
    site = site_factory(
        pki.site, serves.signed(lambda sh: statement(gmlc, sh, position_time=measured))
    )
    expect(verify(site.url), 1, "statement.stale")


def test_the_attackers_own_gmlc_is_not_named_and_its_key_not_pinned(
    site_factory: Fixture, pki: Fixture, gmlc: Fixture, serves: Fixture, verify: Fixture
) -> None:
    own = SigningKey.generate("ES256")
    site = site_factory(
        pki.site,
        serves.signed(lambda sh: statement(gmlc, sh, key=own, issuer="gmlc.attacker.example")),
    )
    expect(
        verify(site.url),
        1,
        "statement.unknown_key",
        "no GMLC named by the policy pins",
        "it names gmlc.attacker.example as its issuer, which the policy does not name",
    )


def test_a_statement_for_another_domain_is_refused(
    site_factory: Fixture, pki: Fixture, serves: Fixture, verify: Fixture
) -> None:
    site = site_factory(pki.site, serves.from_gmlc(domain=OTHER_SITE))
    expect(verify(site.url), 1, "statement.subject")


def test_a_certificate_with_another_key_fails_m2dmrt(
    site_factory: Fixture, pki: Fixture, serves: Fixture, verify: Fixture
) -> None:
    # A mis-issued certificate: a trusted CA, the right name, the attacker's key.
    site = site_factory(pki.site_other_key, serves.from_gmlc())
    expect(verify(site.url), 1, "m2dmrt.site_key", "a certificate with another key")


@pytest.mark.parametrize(
    ("serve", "words"),
    [
        ("not_found", "HTTP 404"),
        ("unavailable", "could not get one from its GMLC (gmlc unreachable)"),
    ],
)
def test_no_statement_is_refused_since_the_policy_requires_one(
    site_factory: Fixture, pki: Fixture, serves: Fixture, verify: Fixture, serve: str, words: str
) -> None:
    answer = serves.fixed(404, b"{}") if serve == "not_found" else serves.unavailable()
    site = site_factory(pki.site, answer)
    expect(verify(site.url), 1, "statement.missing", words, "requires one")


def test_a_position_elsewhere_is_refused_with_its_distance(
    salve_dns: Fixture, genuine: Fixture, verify: Fixture
) -> None:
    with salve_dns.lab.records(H, "LOC", [ZURICH]):
        result = verify(genuine.url)
    expect(result, 1, "position.outside", "km from the nearest legitimate site", "±1 km")
    assert not result.verdict.position.ok


def test_mode_all_needs_every_site_attested(
    site_factory: Fixture,
    pki: Fixture,
    gmlc: Fixture,
    serves: Fixture,
    salve_dns: Fixture,
    verify: Fixture,
) -> None:
    policy = salve_dns.policy.replace("mode=one", "mode=all")
    far = StatementPosition(47.3769, 8.5417, 500)
    near = StatementPosition(*CENTRE, 1800)
    sites = [salve_dns.records[(H, "LOC")][0], ZURICH]
    with (
        salve_dns.lab.records(policy_record_name(H), "TXT", [policy]),
        salve_dns.lab.records(H, "LOC", sites),
    ):
        one_circle = site_factory(pki.site, serves.from_gmlc())
        expect(verify(one_circle.url), 1, "position.mode", "mode all")
        both = site_factory(
            pki.site, serves.signed(lambda sh: statement(gmlc, sh, positions=(near, far)))
        )
        with verify(both.url) as result:
            assert result.verdict.outcome is Outcome.VERIFIED, result.verdict.reason
        half = site_factory(
            pki.site, serves.signed(lambda sh: statement(gmlc, sh, positions=(near,)))
        )
        expect(verify(half.url), 1, "position.unattested", "47.3769°N")


def test_a_remembered_policy_refuses_a_later_absence(
    salve_dns: Fixture, genuine: Fixture, verify: Fixture, tmp_path: Path
) -> None:
    state_path = tmp_path / "state.json"
    remembered = salve_dns.policy + "; max-age=3600"
    with salve_dns.lab.records(policy_record_name(H), "TXT", [remembered]):
        with verify(genuine.url, state=VerifierState(state_path)) as result:
            assert result.verdict.verified and result.verdict.remembered_until is not None
    with salve_dns.lab.records(policy_record_name(H), "TXT", []):
        expect(
            verify(genuine.url, state=VerifierState(state_path)),
            1,
            "policy.remembered",
            "remembers",
        )
        # A client that never saw it has nothing to hold the site to.
        assert verify(genuine.url).verdict.outcome is Outcome.NOT_PROTECTED


def test_a_site_without_a_policy_is_not_protected(salve_dns: Fixture, verify: Fixture) -> None:
    with salve_dns.lab.records("plain.example.salve.test", "A", ["127.0.0.1"]):
        result = verify("https://plain.example.salve.test")
    verdict = result.verdict
    assert (verdict.outcome, verdict.exit_code, verdict.code) == (
        Outcome.NOT_PROTECTED,
        3,
        "not_protected",
    )
    assert "publishes no SALVE policy" in verdict.reason


def test_dns_from_another_trust_anchor_is_a_dns_failure(
    genuine: Fixture, verify: Fixture, tmp_path: Path
) -> None:
    anchor = tmp_path / "wrong-anchor.txt"
    anchor.write_text("salve.test. IN DS 4242 15 2 " + "AB" * 32 + "\n")
    expect(verify(genuine.url, trust_anchor=anchor), 4, "dns.ds_mismatch")


# --------------------------------------------------------------------------- keys and GMLC


def test_keys_not_pinned_in_dns_are_not_used(
    salve_dns: Fixture, genuine: Fixture, verify: Fixture
) -> None:
    pin = KeyPin.parse(salve_dns.records[(keys_record_name(G), "TXT")][0])
    other = KeyPin(pin.kid, "A" * 43, pin.alg)
    with salve_dns.lab.records(keys_record_name(G), "TXT", [other.to_text()]):
        expect(verify(genuine.url), 1, "keys.unpinned", "pinned")
    with salve_dns.lab.records(keys_record_name(G), "TXT", []):
        expect(verify(genuine.url), 1, "keys.no_pins")


def test_an_unreachable_gmlc_is_exit_6(
    salve_dns: Fixture, genuine: Fixture, verify: Fixture
) -> None:

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    policy = f"v=salve1; gmlc={G}:{port}; age=300; mode=one"
    with salve_dns.lab.records(policy_record_name(H), "TXT", [policy]):
        expect(verify(genuine.url), 6, "gmlc.connect", "cannot be reached")


# --------------------------------------------------------------------------- TLS


@pytest.mark.parametrize(
    ("cert", "options", "code", "words"),
    [
        ("site", {"tls12_only": True}, "tls.protocol_version", "does not speak TLS 1.3"),
        ("site_expired", {}, "tls.certificate_expired", "expired"),
        ("other_name", {}, "tls.wrong_host", "other.example.salve.test"),
        ("unknown_ca_site", {}, "tls.certificate_untrusted", "trusted authority"),
    ],
)
def test_tls_failures_are_exit_5(
    site_factory: Fixture,
    pki: Fixture,
    serves: Fixture,
    verify: Fixture,
    cert: str,
    options: dict[str, Any],
    code: str,
    words: str,
) -> None:
    site = site_factory(getattr(pki, cert), serves.from_gmlc(), **options)
    expect(verify(site.url), 5, code, words)


def test_the_gmlc_key_set_is_cached_with_its_spki(
    gmlc: Fixture, pki: Fixture, tmp_path: Path
) -> None:
    endpoint = GmlcEndpoint(G, gmlc.port)
    path = tmp_path / "state.json"

    def fetcher(state: VerifierState) -> JwksFetcher:
        return JwksFetcher(TlsClient(ca=pki.ca_file), state, address_of=lambda host: ["127.0.0.1"])

    state = VerifierState(path)
    first = fetcher(state).get(endpoint)
    second = fetcher(state).get(endpoint)
    from_file = fetcher(VerifierState(path)).get(endpoint)
    refreshed = fetcher(state).get(endpoint, refresh=True)

    gmlc_spki = spki_der(x509.load_pem_x509_certificate(pki.gmlc.cert_chain_pems[0].bytes()))
    assert (first.from_cache, second.from_cache, from_file.from_cache) == (False, True, True)
    assert not refreshed.from_cache
    assert first.spki_der == second.spki_der == from_file.spki_der == gmlc_spki
    assert first.keys.kids == second.keys.kids == tuple(p.kid for p in gmlc.key_pins())


def test_the_gmlc_must_have_declared_the_sites_key(
    salve_dns: Fixture, pki: Fixture, genuine: Fixture, verify: Fixture
) -> None:
    name = declaration_record_name(G, H)
    other = sign_declaration(
        signer=G,
        target=H,
        target_spki_der=pki.spki(pki.site_other_key),
        private_key=pki.private_key(pki.gmlc),
    )
    with salve_dns.lab.records(name, "TXT", [other.to_text()]):
        expect(verify(genuine.url), 1, "m2dmrt.gmlc_key", f"{G} has not declared the TLS key")
    with salve_dns.lab.records(name, "TXT", []):
        expect(verify(genuine.url), 1, "m2dmrt.missing", name)


def test_a_malformed_policy_is_a_dns_failure(
    salve_dns: Fixture, genuine: Fixture, verify: Fixture
) -> None:
    broken = salve_dns.policy.replace("age=300", "age=five minutes")
    with salve_dns.lab.records(policy_record_name(H), "TXT", [broken]):
        expect(verify(genuine.url), 4, "dns.bad_record", "age")

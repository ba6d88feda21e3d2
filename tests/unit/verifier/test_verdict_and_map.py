"""The verdict's stable JSON (salve-verify/1), its screen, and the SVG map."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

import pytest
from lxml import etree

from mlp.dnsrecords import LocSite, SalvePolicy
from mlp.keys import KeySet, SigningKey
from mlp.statement import StatementPosition, issue_statement, verify_statement
from verifier.errors import Failure
from verifier.position import check_position
from verifier.svgmap import MapVerdict, render_map
from verifier.verdict import Outcome, TlsSummary, Verdict

H = "www.example.com"
G = "gmlc.example.net"
SITE = LocSite(46.9480, 7.4474, 10000)
POLICY = SalvePolicy.parse(f"v=salve1; gmlc={G}:9211; age=300; mode=one")
NOW = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
SCHEMA_KEYS = {
    "schema", "verdict", "exit_code", "failure", "code", "reason", "url", "host", "port",
    "checked_at", "elapsed_s", "dns", "sites", "tls", "gmlc", "statement", "position", "ages",
}  # fmt: skip


def verdict(
    position: StatementPosition, outcome: Outcome = Outcome.VERIFIED, **kw: object
) -> Verdict:
    key = SigningKey.generate("ES256")
    session_hash = secrets.token_bytes(32)
    token, _ = issue_statement(
        key=key, issuer=G, subject=H, session_hash=session_hash, positions=position,
        position_time=NOW, now=NOW, validity_s=60,
    )  # fmt: skip
    statement = verify_statement(
        token, KeySet.from_signing_keys([key]), issuers=[G], subject=H,
        session_hash=session_hash, proof=None, now=NOW, max_position_age_s=300,
    )  # fmt: skip
    values: dict[str, object] = {
        "outcome": outcome,
        "failure": None,
        "code": "verified",
        "reason": "",
        "url": f"https://{H}",
        "host": H,
        "port": 443,
        "checked_at": NOW.timestamp() + 12,
        "dns_source": "DNS server 127.0.0.1:53",
        "policy": POLICY,
        "sites": (SITE,),
        "tls": TlsSummary("192.0.2.1", "TLSv1.3", "TLS_AES_256_GCM_SHA384", "ab" * 32),
        "gmlc": f"{G}:9211",
        "statement": statement,
        "position": check_position(position, [SITE], "one"),
    }
    values.update(kw)
    return Verdict(**values)  # type: ignore[arg-type]


def test_the_json_document_keeps_its_schema() -> None:
    document = verdict(StatementPosition(46.95, 7.45, 1800)).to_json()

    assert set(document) == SCHEMA_KEYS
    assert (document["schema"], document["verdict"], document["exit_code"]) == (
        "salve-verify/1",
        "VERIFIED",
        0,
    )
    assert document["checked_at"] == "2027-01-15T08:00:12Z"
    assert document["statement"]["positions"] == [{"lat": 46.95, "lon": 7.45, "r": 1800}]
    assert document["position"]["circles"][0]["site"] == 0
    assert document["ages"] == {"statement_s": 12, "position_s": 12, "max_position_s": 300}
    assert document["dns"]["policy"] == POLICY.to_text()


def test_exit_codes_follow_the_failure_class() -> None:
    base = verdict(StatementPosition(46.95, 7.45, 1800))
    cases = {Failure.REFUSED: 1, Failure.DNS: 4, Failure.TLS: 5, Failure.GMLC: 6}
    for failure, code in cases.items():
        refused = Verdict(Outcome.REFUSED, failure, "x", "why", base.url, H, 443, base.checked_at)
        assert refused.exit_code == code
        assert refused.to_json()["failure"] in {"refused", "dns", "tls", "gmlc"}
    assert (
        Verdict(Outcome.NOT_PROTECTED, None, "not_protected", "", base.url, H, 443, 0).exit_code
        == 3
    )


def test_the_screen_gives_verdict_reason_site_distance_and_ages() -> None:
    far = verdict(
        StatementPosition(47.3769, 8.5417, 1000),
        Outcome.REFUSED,
        failure=Failure.REFUSED,
        code="position.outside",
        reason="position 95 km from the nearest legitimate site (46.9480°N 7.4474°E, ±5 km)",
    )
    lines = far.lines()

    assert lines[0] == f"salve-verify: REFUSED https://{H}"
    assert lines[1].startswith("  reason    position 95 km")
    assert any(
        line.startswith("  position  95 km from the site") and "outside" in line for line in lines
    )
    assert any(line.startswith("  ages      statement 12 s, position 12 s") for line in lines)


def test_the_map_draws_sites_and_circles() -> None:
    genuine = verdict(StatementPosition(46.95, 7.45, 1800))
    attacker = verdict(
        StatementPosition(47.3769, 8.5417, 1000), Outcome.REFUSED, failure=Failure.REFUSED
    )
    svg = render_map([genuine, attacker], title="genuine & <attacker>")
    root = etree.fromstring(svg.encode())

    circles = root.findall("{http://www.w3.org/2000/svg}circle")
    assert len(circles) == 3  # one site, two statements
    colours = {c.get("stroke") for c in circles}
    assert colours == {"#2e7d32", "#1565c0", "#c62828"}
    assert "genuine &amp; &lt;attacker&gt;" in svg
    assert "95 km" in svg  # the refused circle's distance to the site


def test_labels_of_circles_on_one_centre_do_not_overlap() -> None:
    # A statement circle the size of its site, on it: both labels start at the same point.
    on_site = verdict(StatementPosition(SITE.lat, SITE.lon, SITE.hp_m // 2))
    root = etree.fromstring(render_map(on_site).encode())
    labels = [
        text
        for text in root.findall("{http://www.w3.org/2000/svg}text")
        if "±" in (text.text or "")
    ]
    assert len(labels) == 2
    (x1, y1), (x2, y2) = ((float(t.get("x")), float(t.get("y"))) for t in labels)
    assert x1 == x2 and abs(y1 - y2) >= 16


def test_a_map_without_a_statement_still_shows_the_sites() -> None:
    nothing = Verdict(
        Outcome.REFUSED, Failure.TLS, "tls", "x", f"https://{H}", H, 443, 0, sites=(SITE,)
    )
    svg = render_map(nothing)
    assert svg.count("<circle") == 1 and "legitimate site ±5 km" in svg


def test_a_map_from_json_documents_draws_what_the_verdicts_draw() -> None:
    genuine = verdict(StatementPosition(46.95, 7.45, 1800))
    attacker = verdict(
        StatementPosition(47.3769, 8.5417, 1000), Outcome.REFUSED, failure=Failure.REFUSED
    )
    documents = [json.loads(json.dumps(v.to_json())) for v in (genuine, attacker)]
    read_back = [MapVerdict.from_json(document) for document in documents]

    assert read_back == [MapVerdict.of(genuine), MapVerdict.of(attacker)]
    assert [c.inside for v in read_back for c in v.circles] == [True, False]
    assert render_map(read_back, title="t") == render_map([genuine, attacker], title="t")
    # A verdict from memory and one from a file on the same map.
    assert render_map([genuine, read_back[1]], title="t") == render_map(read_back, title="t")


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"schema": "salve-verify/2"},
        [],
        {"schema": "salve-verify/1", "sites": [{"lat": "47", "lon": 8, "hp_m": 1}]},
        {
            "schema": "salve-verify/1", "host": H, "verdict": "REFUSED", "url": "u",
            "sites": [], "position": {"circles": [{"lat": 1, "lon": 2, "r": True}]},
        },
    ],
)  # fmt: skip
def test_a_document_that_is_not_a_verdict_is_refused(document: object) -> None:
    with pytest.raises(ValueError, match="salve-verify"):
        MapVerdict.from_json(document)  # type: ignore[arg-type]

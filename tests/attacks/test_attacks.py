"""The attacker suite: each of the demo's attacker moves, staged for real, and its refusal.

The attacker (SALVE paper §3-§4, DESIGN "Who attacks it") holds the site's TLS key and
certificate, or a mis-issued certificate, and sits elsewhere with its own SIM, appliance,
GMLC account and GMLC. Each test stages one move with the demo's own code
(:data:`demo.moves.MOVES`, on the session's :class:`demo.lab.Lab`), lets a real
``salve-verify`` check the site, and asserts the exact refusal class (the exit code), the
reason code and the reason's words; then that the genuine site still verifies. The moves
that the GMLC stops also assert the GMLC's own audit row.

Staging on one machine: "elsewhere" is another loopback address (the attacker's TLS
server, forging DNS server and MLP client on 127.0.0.2, its GMLC on 127.0.0.3) and another
simulated SIM in another cell (Frankfurt); a client is misled to the attacker by address
(``salve-verify --resolve``) or by DNS server (``--dns``), the URL staying the site's.
Every move of the issue is staged; none needs a second machine. One is staged from
inside the site's network: the SIM an operator enrolled for the site by mistake is
asked for with the site's stolen password, which the GMLC accepts only from the site's
pinned network, so the attacker is taken to control a host there too (where it stole
the TLS key) while its SIM is in Frankfurt. That move shows the distance check; an
attacker with such a foothold and the password could also ask for the site's own SIM,
which is beyond SALVE's model (a remote attacker, never co-located with the site).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree

from demo.lab import Check, Lab
from demo.moves import MOVES, Move
from demo.story import describe_verified
from demo.world import (
    ATTACKER_ADDRESS,
    ATTACKER_CLIENT,
    ATTACKER_GMLC,
    GMLC,
    SITE,
    SITE_ADDRESS,
    SITE_CLIENT,
)

BY_KEY = {move.key: move for move in MOVES}


def stage(lab: Lab, key: str) -> Check:
    move: Move = BY_KEY[key]
    return move.stage(lab)


def refused(check: Check, exit_code: int, code: str) -> str:
    """Assert the refusal class and reason code; the reason, for its words."""
    assert check.verdict == "REFUSED", check.document
    assert (check.exit_code, check.code) == (exit_code, code), check.reason
    assert check.document["exit_code"] == exit_code
    return check.reason


@pytest.fixture(autouse=True)
def genuine_site_still_verifies(lab: Lab) -> Iterator[None]:
    yield
    check = lab.verify_genuine()
    assert (check.verdict, check.exit_code) == ("VERIFIED", 0), check.reason
    assert check.document["tls"]["address"] == SITE_ADDRESS


def latest(lab: Lab, kind: str, client_id: str) -> dict[str, Any]:
    entries = [e for e in lab.audit(lab.gmlc, kind) if e["client_id"] == client_id]
    assert entries, f"no {kind} audit row for {client_id}"
    return entries[-1]


def test_the_moves_follow_the_client_check_order() -> None:
    assert [move.key for move in MOVES] == [
        "forged_dns",
        "forged_absence",
        "misissued_certificate",
        "own_gmlc",
        "replay",
        "relay",
        "own_account",
        "stolen_password",
        "operator_mistake",
    ]


def test_the_genuine_site_verifies_with_distance_and_ages(lab: Lab) -> None:
    check = lab.verify_genuine()
    assert check.verdict == "VERIFIED" and check.exit_code == 0
    document = check.document
    assert document["statement"]["iss"] == GMLC and document["statement"]["sub"] == SITE
    (circle,) = document["position"]["circles"]
    assert circle["margin_m"] >= 0 and circle["site"] == 0
    assert document["ages"]["position_s"] <= document["ages"]["max_position_s"]
    line = describe_verified(check)
    assert line.startswith(f"VERIFIED https://{SITE}:")
    assert "from its legitimate site" in line and "(the policy allows 60 s)" in line


def test_forged_dns_records_fail_dnssec(lab: Lab) -> None:
    reason = refused(stage(lab, "forged_dns"), 4, "dns.ds_mismatch")
    assert re.match(r"no DNSKEY of salve\.test matches the DS records in the trust anchor", reason)


def test_a_forged_absence_meets_the_remembered_policy(lab: Lab) -> None:
    reason = refused(stage(lab, "forged_absence"), 1, "policy.remembered")
    assert reason.startswith(f"this client remembers the SALVE policy of {SITE}")
    assert "DNS now gives no valid policy" in reason


def test_a_misissued_certificate_fails_the_m2dmrt_declaration(lab: Lab) -> None:
    check = stage(lab, "misissued_certificate")
    reason = refused(check, 1, "m2dmrt.site_key")
    assert "does not cover" in reason and "a certificate with another key" in reason
    # TLS itself accepted the certificate: the same CA, the site's name.
    assert check.document["tls"]["address"] == ATTACKER_ADDRESS


def test_its_own_gmlc_is_neither_named_nor_pinned(lab: Lab) -> None:
    check = stage(lab, "own_gmlc")
    reason = refused(check, 1, "statement.unknown_key")
    assert "which no GMLC named by the policy pins" in reason
    assert f"it names {ATTACKER_GMLC} as its issuer, which the policy does not name" in reason


def test_a_replayed_statement_is_stale(lab: Lab) -> None:
    reason = refused(stage(lab, "replay"), 1, "statement.expired")
    assert re.match(r"the statement expired \d+ s ago \(at \d\d:\d\d:\d\d UTC\)", reason)


def test_a_relayed_statement_is_bound_to_another_session(lab: Lab) -> None:
    check = stage(lab, "relay")
    reason = refused(check, 1, "statement.binding")
    assert reason == "statement is bound to another TLS session"


def test_its_own_account_at_the_real_gmlc_gets_no_statement(lab: Lab) -> None:
    reason = refused(stage(lab, "own_account"), 1, "statement.missing")
    assert "MLP result 4" in reason and f"the policy of {SITE} requires one" in reason
    row = latest(lab, "slir", ATTACKER_CLIENT)
    assert row["source"] == ATTACKER_ADDRESS
    assert row["detail"]["domain"] == SITE
    assert row["detail"]["results"] == [4]
    assert row["detail"]["refusals"] == ["domain_not_registered"]


def test_the_stolen_password_from_its_own_network_gets_no_statement(lab: Lab) -> None:
    reason = refused(stage(lab, "stolen_password"), 1, "statement.missing")
    assert "MLP result 3" in reason and f"the policy of {SITE} requires one" in reason
    row = latest(lab, "auth_failure", SITE_CLIENT)
    assert row["source"] == ATTACKER_ADDRESS
    assert row["detail"]["reason"] == "outside_networks"
    assert row["detail"]["password_valid"] is True


def test_its_own_sim_enrolled_by_mistake_is_too_far(lab: Lab) -> None:
    check = stage(lab, "operator_mistake")
    reason = refused(check, 1, "position.outside")
    assert re.match(r"position 30\d km from the nearest legitimate site", reason)
    # A genuine statement of the real GMLC, for the site, on this session: only where.
    assert check.document["statement"]["iss"] == GMLC
    assert check.document["statement"]["sub"] == SITE
    # The map: the legitimate site, the genuine statement's circle and the attacker's.
    assert check.map_path is not None
    root = etree.fromstring(check.map_path.read_bytes())
    circles = root.findall("{http://www.w3.org/2000/svg}circle")
    assert sorted(c.get("stroke") for c in circles) == ["#1565c0", "#2e7d32", "#c62828"]

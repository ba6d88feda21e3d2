"""`salve-gmlc appliance show`'s pure parts: which statements belong to a SIM, the words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gmlc.cli.appliances import (
    appliance_view,
    recent_statements,
    sim_targets,
    view_text,
)
from gmlc.positioning import NoFix
from gmlc.store import ApplianceRecord, AuditRecord
from mlp.codes import ResultCode

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
APPLIANCE = ApplianceRecord(
    appliance_id="dc1-a",
    public_key="k",
    imsi="228011000000001",
    iccid="8941011000000000001",
    msisdn="41791000001",
    site="zrh-dc1",
    enabled=True,
    last_seq=0,
    created_at=NOW - timedelta(days=3),
)


def statement(n: int, *targets: str) -> AuditRecord:
    return AuditRecord(
        id=n,
        at=NOW - timedelta(minutes=n),
        kind="statement",
        client_id="web-1",
        appliance_id=None,
        source="192.0.2.1",
        targets=list(targets),
        detail={"jti": f"j{n}", "domain": "www.example.com", "stated": []},
    )


def test_a_sim_is_named_by_its_imsi_and_its_msisdn() -> None:
    assert sim_targets(APPLIANCE) == {"imsi:228011000000001", "msisdn:41791000001"}


def test_statements_of_the_sim_newest_first_including_site_wide_ones() -> None:
    mine, other = "msisdn:41791000001", "msisdn:41791000009"
    entries = [statement(1, other), statement(2, other, mine), statement(3, mine), statement(4)]
    found = recent_statements(iter(entries), sim_targets(APPLIANCE), since=NOW, limit=5)
    assert [e.id for e in found.entries] == [2, 3]
    assert (found.scanned, found.complete) == (4, True)
    first = recent_statements(iter(entries), sim_targets(APPLIANCE), since=NOW, limit=1)
    assert [e.id for e in first.entries] == [2] and first.scanned == 2


def test_the_search_stops_at_its_scan_limit_and_says_so() -> None:
    entries = [statement(n, "imsi:1") for n in range(10)]
    found = recent_statements(
        iter(entries), sim_targets(APPLIANCE), since=NOW, limit=5, scan_limit=4
    )
    assert (found.entries, found.scanned, found.complete) == ([], 4, False)
    text = view_text(appliance_view(APPLIANCE, None, None, found, NOW))
    assert "among the latest 4 statements of the node" in text


def test_without_observation_or_position_the_words_say_why() -> None:
    nothing = recent_statements(iter(()), sim_targets(APPLIANCE), since=NOW, limit=5)
    text = view_text(appliance_view(APPLIANCE, None, None, nothing, NOW))
    assert "Last observation: none received yet." in text
    assert "Position: none: no observation received yet." in text
    absent = NoFix(ResultCode.ABSENT_SUBSCRIBER, "the target has no network service")
    view = appliance_view(APPLIANCE, None, absent, nothing, NOW)
    assert view["no_position"] == {"result": 5, "reason": "the target has no network service"}
    assert "(MLP result 5)" in view_text(view)

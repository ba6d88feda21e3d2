"""The status line names the worst current problem (pure)."""

from __future__ import annotations

import pytest

from appliance.health import GmlcHealth, assess, status_line

HEALTHY = GmlcHealth(
    url="https://gmlc.example.net:9211",
    reachable=True,
    refused=None,
    rejected=None,
    last_error=None,
    queued=0,
)
OBSERVING = "observing: registered on LTE 228-01 area 1234 cell 27440068"


def test_no_problem_keeps_the_modem_line() -> None:
    problems = assess("observing", OBSERVING, HEALTHY)
    assert problems == ()
    assert status_line(OBSERVING, problems) == OBSERVING


@pytest.mark.parametrize(
    ("code", "words"),
    [("sim_mismatch", "not the one enrolled"), ("unknown_key", "not (or no longer) enrolled")],
)
def test_a_refusing_gmlc_outranks_a_modem_that_observes(code: str, words: str) -> None:
    gmlc = GmlcHealth(
        url=HEALTHY.url, reachable=True, refused=code, rejected=None, last_error="409", queued=4
    )
    line = status_line(OBSERVING, assess("observing", OBSERVING, gmlc))
    assert line.startswith("the GMLC refuses this appliance's reports")
    assert code in line
    assert words in line
    assert "observing" not in line


def test_unreachable_gmlc_says_where_and_how_much_waits() -> None:
    gmlc = GmlcHealth(
        url="https://gmlc.example.net:9211",
        reachable=False,
        refused=None,
        rejected=None,
        last_error="cannot connect (connection refused)",
        queued=7,
    )
    line = status_line(OBSERVING, assess("observing", OBSERVING, gmlc))
    assert line == (
        "the GMLC at https://gmlc.example.net:9211 is unreachable "
        "(cannot connect (connection refused)); 7 report(s) queued"
    )


def test_worst_first_and_the_rest_counted() -> None:
    missing = "waiting for the modem on /dev/salve-modem: no such port"
    gmlc = GmlcHealth(
        url=HEALTHY.url,
        reachable=False,
        refused="unknown_key",
        rejected=None,
        last_error="x",
        queued=1,
    )
    problems = assess("no_modem", missing, gmlc)
    assert [p.kind for p in problems] == ["modem", "gmlc_refused", "gmlc_unreachable"]
    assert status_line(missing, problems) == f"{missing} (and 2 more: salve-appliance status)"


def test_sim_outranks_registration_and_a_rejected_report_is_named() -> None:
    gmlc = GmlcHealth(
        url=HEALTHY.url,
        reachable=True,
        refused=None,
        rejected="clock_skew",
        last_error="422",
        queued=0,
    )
    locked = assess("sim_locked", "the SIM is locked (SIM PIN)", gmlc)
    assert [p.kind for p in locked] == ["sim", "gmlc_rejected"]
    waiting = assess("waiting_for_network", "waiting for registration (searching)", gmlc)
    assert [p.kind for p in waiting] == ["waiting", "gmlc_rejected"]
    assert "clock" in waiting[1].words

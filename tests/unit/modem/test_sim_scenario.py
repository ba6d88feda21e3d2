"""Scenario files: shipped examples load; every kind of bad input gets a precise error."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.sim.engine import create_modem
from modem.sim.errors import ScenarioError
from modem.sim.personas import PERSONA_NAMES, get_persona
from modem.sim.scenario import load_scenario, luhn_check_digit, parse_scenario, shipped_scenarios

MINIMAL = """
[[steps]]
name = "s"
at = 0
[steps.serving]
rat = "LTE"
mcc = "228"
mnc = "01"
tac = 1
ci = 1
"""


def test_every_shipped_scenario_loads_and_runs_on_its_persona() -> None:
    names = shipped_scenarios()
    for expected in ("default", "demo", "faults", "roaming", "denied", "no-sim", "pin-locked",
                     "nr-nsa", "nr-sa"):  # fmt: skip
        assert expected in names
    for name in names:
        scenario = load_scenario(name)
        create_modem(None, scenario)


def test_demo_values() -> None:
    demo = load_scenario("demo")
    assert demo.persona == "quectel-ec25"
    assert (demo.sim.imsi, demo.sim.iccid, demo.sim.msisdn) == (
        "228011234567890",
        "8941011234567890123",
        "+41791234567",
    )
    site = demo.step("site")
    assert site.at == 0 and site.registration == 1
    serving = site.serving
    assert serving is not None
    assert (serving.rat, serving.mcc, serving.mnc, serving.tac, serving.ci) == (
        "LTE", "228", "01", 0x04D2, 0x1A2B3C4)  # fmt: skip
    assert (serving.pci, serving.earfcn, serving.band, serving.rsrp) == (101, 1300, 3, -95)
    assert [(n.pci, n.earfcn) for n in site.neighbours] == [(102, 1300), (210, 6300)]
    moved = demo.step("moved")
    assert moved.at is None and moved.registration == 5
    assert moved.serving is not None
    assert (moved.serving.mcc, moved.serving.mnc, moved.serving.tac, moved.serving.ci) == (
        "262", "01", 0x6A1B, 0x2BD1E01)  # fmt: skip
    assert (moved.serving.pci, moved.serving.earfcn, moved.serving.band) == (33, 6300, 20)


def test_load_by_path_and_default(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert load_scenario(path).source == "mine.toml"
    assert load_scenario(str(path)).steps[0].name == "s"
    assert load_scenario(None).source == "default.toml"


def test_load_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"no shipped scenario named 'nope'.*demo"):
        load_scenario("nope")
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(ScenarioError, match=r"bad\.toml: cannot read"):
        load_scenario(bad)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps = [", r"x.toml: not valid TOML"),
        ("", r"x.toml: steps: at least one \[\[steps\]\] table is required"),
        ("colour = 1\n" + MINIMAL, r"x.toml: colour: unknown key \(expected one of: description"),
        (
            MINIMAL.replace("tac = 1", 'tac = "x"'),
            r"x.toml: steps\[0\].serving.tac: expected an integer, got string 'x'",
        ),
        (
            MINIMAL.replace("tac = 1", "tac = 70000"),
            r"steps\[0\].serving.tac: 70000 is out of range",
        ),
        (MINIMAL.replace('mnc = "01"', "mnc = 1"), r"steps\[0\].serving.mnc: expected a string"),
        (
            MINIMAL.replace('mnc = "01"', 'mnc = "1"'),
            r"serving.mnc: expected 2 or 3 decimal digits",
        ),
        (MINIMAL.replace('rat = "LTE"', 'rat = "5G"'), r"serving.rat: '5G' is not one of"),
        (MINIMAL.replace("tac = 1", "lac = 1"), r"LTE cells have a tac, not a lac"),
        (MINIMAL.replace("ci = 1", ""), r"steps\[0\].serving: a registered serving cell needs ci"),
        (MINIMAL.replace('name = "s"', ""), r"steps\[0\].name: required"),
        (
            MINIMAL + MINIMAL.replace("at = 0", "at = 5"),
            r"steps\[1\].name: duplicate step name 's'",
        ),
        (
            MINIMAL.replace("at = 0", "at = 9")
            + MINIMAL.replace('"s"', '"t"').replace("at = 0", "at = 1"),
            r"timed steps must be listed in order",
        ),
        (
            MINIMAL.replace("at = 0", 'at = 0\nregistration = "lost"'),
            r"steps\[0\].registration: 'lost' is not one of",
        ),
        (MINIMAL.replace("at = 0", "at = true"), r"steps\[0\].at: expected a number, got boolean"),
        (
            '[sim]\niccid = "8941011234567890124"\n' + MINIMAL,
            r"sim.iccid: check digit .* \(Luhn wants 3\)",
        ),
        ('[sim]\nimsi = "22801x"\n' + MINIMAL, r"sim.imsi: expected 6..15 decimal digits"),
        ('[sim]\nlock = "maybe"\n' + MINIMAL, r"sim.lock: 'maybe' is not one of"),
        ("[sim]\npin_retries = 4\n" + MINIMAL, r"sim.pin_retries: 4 is out of range 0..3"),
        ("sim = 3\n" + MINIMAL, r"x.toml: sim: expected a table, got integer 3"),
        ("[faults]\nboot_delay = -1\n" + MINIMAL, r"faults.boot_delay: -1 is out of range"),
        ('[faults]\nno_answer = "AT"\n' + MINIMAL, r"faults.no_answer: expected an array"),
        ('[faults]\nno_answer = ["COPS"]\n' + MINIMAL, r"'COPS' is not an AT command line"),
        ('[[faults.garbage]]\nat = 1\nhex = "zz"\n' + MINIMAL, r"faults.garbage\[0\].hex: not hex"),
        ("[[faults.garbage]]\nat = 1\n" + MINIMAL, r"give exactly one of hex"),
        ("[[faults.disconnect]]\nat = 1\n" + MINIMAL, r"faults.disconnect\[0\].seconds: required"),
        (
            "[[faults.silence]]\nat = 1\nseconds = 1\nfor = 2\n" + MINIMAL,
            r"faults.silence\[0\].for: unknown key",
        ),
        (MINIMAL + "[steps.nr_leg]\ncell = 1\n", r"steps\[0\].nr_leg.cell: unknown key"),
        (
            MINIMAL.replace('rat = "LTE"', 'rat = "GSM"').replace("tac", "lac")
            + "[steps.nr_leg]\n",
            r"steps\[0\].nr_leg: an NSA NR leg needs an LTE serving cell",
        ),
        (
            "[[steps]]\nname = 'x'\nregistration = 'home'\n",
            r"steps\[0\].serving: a registered step needs",
        ),
    ],
)
def test_invalid_scenarios(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(text, "x.toml")


def test_persona_must_support_the_rats() -> None:
    with pytest.raises(ScenarioError, match=r"nr-sa\.toml: step 'sa' uses NR, which quectel-ec25"):
        create_modem("quectel-ec25", "nr-sa")
    with pytest.raises(ScenarioError, match="uses 5G NSA, which simcom-sim7600"):
        create_modem("simcom-sim7600", "nr-nsa")


def test_persona_catalogue() -> None:
    assert PERSONA_NAMES == (
        "quectel-ec25", "quectel-rm500q", "simcom-sim7600", "simcom-sim8262", "ublox-sara-r5",
        "ublox-sara-r4", "ublox-lara-r6", "telit-le910", "sierra-em7565", "sierra-em9191",
        "huawei-me909s", "huawei-mh5000", "fibocom-l850", "fibocom-fm350", "cinterion-pls8",
        "generic",
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"unknown modem profile 'nokia'.*quectel-ec25"):
        get_persona("nokia")


def test_luhn_check_digit() -> None:
    assert luhn_check_digit("7992739871") == "3"
    assert luhn_check_digit("894101123456789012") == "3"
    with pytest.raises(ValueError):
        luhn_check_digit("12a")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_gives_scenario_error_or_scenario(text: str) -> None:
    try:
        parse_scenario(text, "fuzz.toml")
    except ScenarioError as exc:
        assert str(exc).startswith("fuzz.toml: ")


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["rat", "mcc", "mnc", "tac", "ci", "pci", "rsrp", "lac", "band", "x"]),
        st.one_of(
            st.integers(-(2**40), 2**40),
            st.text(max_size=5),
            st.booleans(),
            st.floats(allow_nan=True),
        ),
        max_size=6,
    )
)
def test_arbitrary_cell_values_never_crash(cell: dict[str, object]) -> None:
    lines = ["[[steps]]", 'name = "s"', "[steps.serving]"]
    for key, value in cell.items():
        if isinstance(value, bool):
            rendered = "true" if value else "false"
        elif isinstance(value, str):
            rendered = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        elif isinstance(value, float) and value != value:
            rendered = "nan"
        else:
            rendered = repr(value)
        lines.append(f"{key} = {rendered}")
    try:
        parse_scenario("\n".join(lines), "cell.toml")
    except ScenarioError:
        pass

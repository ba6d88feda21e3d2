"""Vendor profile selection from +CGMI/+CGMM."""

from __future__ import annotations

import pytest

from modem.profiles import PROFILE_NAMES, select_profile


@pytest.mark.parametrize(
    ("manufacturer", "model", "name", "nr"),
    [
        ("Quectel", "EC25", "quectel", False),
        ("Quectel", "EG25", "quectel", False),
        ("Quectel", "RM500Q-GL", "quectel", True),
        (None, "RM520N-GL", "quectel", True),
        ("SIMCOM INCORPORATED", "SIMCOM_SIM7600E-H", "simcom", False),
        ("SIMCOM_Ltd", "SIMCOM_SIM8262E-M2", "simcom", True),
        ("u-blox", "SARA-R510M8S", "ublox", False),
        ("Telit", "LE910C1-EUX", "telit", False),
        ("Telit", "FN980", "telit", True),
        ("Sierra Wireless, Incorporated", "EM7565", "sierra", False),
        ("Sierra Wireless, Incorporated", "EM9191", "sierra", True),
        ("huawei", "ME909s-120", "huawei", False),
        ("Fibocom Wireless Inc.", "FM350-GL", "fibocom", True),
        ("Fibocom", "L850-GL", "fibocom", False),
        ("Cinterion", "PLS8-E", "cinterion", False),
        ("THALES", "EXS82-W", "cinterion", False),
        ("ACME Radio", "X1", "generic", True),
        (None, None, "generic", True),
        ("  quectel  ", None, "quectel", False),
    ],
)
def test_select_profile(manufacturer: str | None, model: str | None, name: str, nr: bool) -> None:
    profile = select_profile(manufacturer, model)
    assert profile.name == name
    assert ("AT+C5GREG?" in profile.registration_queries) is nr
    assert ("AT+C5GREG=2" in profile.urc_enable_commands) is nr
    assert profile.registration_queries[:3] == ("AT+CREG?", "AT+CGREG?", "AT+CEREG?")
    assert all(command.endswith("=2") for command in profile.urc_enable_commands)


def test_manufacturer_wins_over_a_model_prefix_of_another_maker() -> None:
    # A Telit module whose model happens to start like a Quectel one stays Telit.
    assert select_profile("Telit", "EG25-like").name == "telit"


def test_every_family_has_a_profile_and_queries_parse() -> None:
    examples = {
        "quectel": ("Quectel", "EC25"),
        "simcom": ("SIMCOM INCORPORATED", "SIM7600"),
        "ublox": ("u-blox", "SARA-R5"),
        "telit": ("Telit", "LE910"),
        "sierra": ("Sierra Wireless", "EM7565"),
        "huawei": ("Huawei", "ME909s"),
        "fibocom": ("Fibocom", "L850"),
        "cinterion": ("Cinterion", "PLS8"),
        "generic": (None, None),
    }
    assert set(examples) == set(PROFILE_NAMES)
    for name, (maker, model) in examples.items():
        profile = select_profile(maker, model)
        assert profile.name == name
        assert profile.iccid_command.startswith("AT")
        for query in profile.serving_queries + profile.neighbour_queries:
            assert query.command.startswith("AT")
            assert query.prefix.endswith(":")
            assert query.command[2:].upper().startswith(query.prefix[:-1].upper())
            assert query.parse.__module__.startswith("modem.at.cells.")


def test_generic_profile_relies_on_registration() -> None:
    profile = select_profile(None, None)
    assert profile.serving_queries == ()
    assert profile.neighbour_queries == ()
    assert profile.iccid_command == "AT+CRSM=176,12258,0,0,10"


def test_quectel_queries_read_a_real_answer() -> None:
    profile = select_profile("Quectel", "EC25")
    (serving,) = profile.serving_queries
    report = serving.parse(
        '+QENG: "servingcell","NOCONN","LTE","FDD",228,01,1A2B3C4,101,1300,3,5,5,4D2,-95,-10,'
        "-65,15,40"
    )
    assert report.serving is not None
    assert report.serving.ci == 0x1A2B3C4

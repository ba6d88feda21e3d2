"""The JSON-lines control channel, applied to the pure engine."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.sim.control import apply_control, parse_control
from modem.sim.engine import create_modem
from modem.sim.errors import ControlError


def test_each_command_works() -> None:
    modem = create_modem(None, "demo")
    ok = {"ok": True}
    assert apply_control(modem, '{"cmd": "goto", "step": "moved"}', 0.0) == ok
    assert modem.step.name == "moved"
    assert apply_control(modem, '{"cmd": "advance", "seconds": 5}', 0.0) == ok
    assert modem.scenario_time(0.0) == 5.0
    assert apply_control(modem, '{"cmd": "garbage", "data_hex": "00FF"}', 0.0) == ok
    assert modem.output(0.0) == b"\x00\xff"
    assert apply_control(modem, '{"cmd": "remove_sim"}', 0.0) == ok
    assert apply_control(modem, '{"cmd": "insert_sim"}', 0.0) == ok
    swap = {"cmd": "swap_sim", "imsi": "262011234567890", "iccid": "8949011234567890126",
            "msisdn": "+4915112345678"}  # fmt: skip
    assert apply_control(modem, json.dumps(swap), 0.0) == ok
    assert apply_control(modem, b'{"cmd": "unplug", "seconds": 1.5}', 0.0) == ok
    assert not modem.is_plugged(1.0)
    assert modem.is_plugged(1.5)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("not json", "not a JSON line"),
        ("[1, 2]", "expected a JSON object"),
        ('{"cmd": "explode"}', "unknown cmd 'explode' (expected one of: goto, unplug"),
        ('{"step": "x"}', "unknown cmd None"),
        ('{"cmd": "goto"}', "goto: missing key 'step'"),
        ('{"cmd": "goto", "step": "moved", "now": 1}', "goto: unknown key 'now' (allowed: step)"),
        ('{"cmd": "goto", "step": 3}', "goto: step must be a string"),
        ('{"cmd": "goto", "step": "mars"}', "no step named 'mars' (steps: site, moved)"),
        ('{"cmd": "unplug", "seconds": "2"}', "unplug: seconds must be a number"),
        ('{"cmd": "unplug", "seconds": true}', "unplug: seconds must be a number"),
        ('{"cmd": "unplug", "seconds": 0}', "unplug needs a number of seconds > 0"),
        ('{"cmd": "advance", "seconds": -3}', "advance needs a finite number of seconds >= 0"),
        ('{"cmd": "garbage", "data_hex": "xyz"}', "data_hex is not hexadecimal"),
        ('{"cmd": "garbage", "data_hex": ""}', "data_hex holds no bytes"),
        ('{"cmd": "insert_sim"}', "a SIM is already inserted"),
        ('{"cmd": "swap_sim", "imsi": "1", "iccid": "8949011234567890126"}', "imsi must be"),
        ('{"cmd": "swap_sim", "imsi": "262011234567890", "iccid": "1", "msisdn": 5}',
         "msisdn must be a string or null"),
    ],
)  # fmt: skip
def test_bad_commands_are_answered_and_change_nothing(line: str, error: str) -> None:
    modem = create_modem(None, "demo")
    answer = apply_control(modem, line, 0.0)
    assert answer["ok"] is False
    assert error in answer["error"]
    assert modem.step.name == "site"
    assert modem.scenario_time(0.0) == 0.0
    assert modem.is_plugged(0.0)
    assert modem.output(0.0) == b""


def test_parse_control_returns_the_message() -> None:
    assert parse_control('{"cmd": "remove_sim"}') == {"cmd": "remove_sim"}
    with pytest.raises(ControlError):
        parse_control(b"\xff")


@settings(max_examples=80, deadline=None)
@given(st.one_of(st.text(max_size=80), st.binary(max_size=80)))
def test_arbitrary_lines_always_get_an_answer(line: str | bytes) -> None:
    modem = create_modem(None, "demo")
    answer = apply_control(modem, line, 0.0)
    assert set(answer) <= {"ok", "error"}
    json.dumps(answer)

"""``Modem.enter_pin()``, the retry counters of every family, numeric result codes and the
5G NSA leg, through the AT engine against the simulator (``sim://``)."""

from __future__ import annotations

import logging

import pytest

from modem import open_modem
from modem.engine import AT_TRAFFIC
from modem.errors import CmeError, CommandError, ModemStateError
from modem.models import Rat, SimState
from modem.sim.personas import PERSONA_NAMES

# Every family's counter command, read through the profile the driver picks.
COUNTED = [p for p in PERSONA_NAMES if p != "generic"]


@pytest.mark.parametrize("persona", COUNTED)
def test_locked_sim_reports_its_retry_counters(persona: str) -> None:
    with open_modem(f"sim://{persona}?scenario=pin-locked") as modem:
        sim = modem.sim()
    assert sim.state is SimState.SIM_PIN
    assert sim.pin_retries == 2  # the pin-locked scenario leaves two attempts
    if persona != "telit-le910":  # #PCT counts only the password asked for now
        assert sim.puk_retries == 10


def test_ready_sim_reads_its_counters_once_per_connection() -> None:
    with open_modem("sim://quectel-ec25") as modem:
        first = modem.sim()
        before = modem.commands_sent
        second = modem.sim()
        assert (first.pin_retries, first.puk_retries) == (3, 10)
        assert (second.pin_retries, second.puk_retries) == (3, 10)
        # The second read asks everything but the counters again.
        # CPIN?, CIMI, QCCID and CNUM again, but not the counters (+QPINC).
        assert modem.commands_sent - before == 4


def test_right_pin_unlocks_once() -> None:
    with open_modem("sim://quectel-ec25?scenario=pin-locked") as modem:
        sim = modem.enter_pin("4321")
        assert sim.state is SimState.READY
        assert sim.imsi == "228011234567890"
        assert sim.pin_retries == 3  # a right PIN resets the counter
        again = modem.enter_pin("4321")  # already ready: nothing is sent
        assert again.state is SimState.READY


def test_wrong_pin_costs_one_attempt_and_is_not_retried() -> None:
    with open_modem("sim://quectel-ec25?scenario=pin-locked") as modem:
        with pytest.raises(CmeError) as refused:
            modem.enter_pin("1111")
        assert refused.value.code == 16  # incorrect password (Quectel reports +CMEE=1)
        sim = modem.sim()
        assert (sim.state, sim.pin_retries) == (SimState.SIM_PIN, 1)
    with open_modem("sim://simcom-sim7600?scenario=pin-locked") as modem:
        with pytest.raises(CommandError):  # +CMEE=0: a plain ERROR
            modem.enter_pin("1111")
        sim = modem.sim()
        assert (sim.state, sim.pin_retries) == (SimState.SIM_PIN, 1)


def test_the_last_attempt_is_kept_unless_asked_for() -> None:
    with open_modem("sim://huawei-me909s?scenario=pin-locked") as modem:
        with pytest.raises(CommandError):
            modem.enter_pin("1111")
        before = modem.commands_sent
        with pytest.raises(ModemStateError, match="one PIN attempt left"):
            modem.enter_pin("4321")
        assert modem.sim().pin_retries == 1  # nothing was tried
        assert modem.commands_sent > before
        sim = modem.enter_pin("4321", use_last_try=True)
        assert sim.state is SimState.READY


def test_pin_is_refused_for_other_states_and_bad_input() -> None:
    with open_modem("sim://quectel-ec25?scenario=pin-locked") as modem:
        for bad in ("123", "123456789", "12a4", "", "١٢٣٤"):
            with pytest.raises(ValueError):
                modem.enter_pin(bad)
        assert modem.sim().pin_retries == 2  # no attempt was spent
        with pytest.raises(CmeError):
            modem.enter_pin("1111")
        with pytest.raises(ModemStateError):
            modem.enter_pin("2222")  # one left: kept for a person
        with pytest.raises(CmeError):
            modem.enter_pin("2222", use_last_try=True)
        assert modem.sim().state is SimState.SIM_PUK
        with pytest.raises(ModemStateError, match="SIM PUK"):
            modem.enter_pin("4321", use_last_try=True)
    with open_modem("sim://quectel-ec25?scenario=no-sim") as modem:
        with pytest.raises(ModemStateError, match="NOT INSERTED"):
            modem.enter_pin("4321")


def test_the_pin_stays_out_of_traffic_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(AT_TRAFFIC, logger="modem.engine")
    with open_modem("sim://quectel-ec25?scenario=pin-locked") as modem:
        modem.engine.command("ATE1")  # the module echoes the PIN line back
        with pytest.raises(CmeError) as refused:
            modem.enter_pin("1111")
        modem.enter_pin("4321", use_last_try=True)
    assert "4321" not in caplog.text
    assert "1111" not in caplog.text and "1111" not in str(refused.value)
    assert "AT+CPIN=<hidden>" in caplog.text


def test_numeric_result_codes_through_the_engine() -> None:
    with open_modem("sim://quectel-ec25") as modem:
        modem.engine.command("ATV0")
        (csq,) = modem.engine.command("AT+CSQ")
        assert csq.startswith("+CSQ: ")
        with pytest.raises(CommandError) as failed:
            modem.engine.command("AT+NOSUCH")
        assert failed.value.result == "ERROR"
        observation = modem.observe()
        assert observation.serving is not None and observation.serving.ci == 0x1A2B3C4
        modem.engine.command("ATV1")
        assert modem.engine.command("AT+CSQ")[0].startswith("+CSQ: ")


def test_nsa_leg_reaches_the_observation() -> None:
    with open_modem("sim://quectel-rm500q?scenario=nr-nsa") as modem:
        observation = modem.observe()
    assert observation.serving is not None and observation.serving.rat is Rat.LTE
    assert observation.serving.ci == 0x1A2B3C4
    assert observation.nr_leg is not None
    assert (observation.nr_leg.pci, observation.nr_leg.arfcn) == (500, 642016)
    assert observation.nr_leg.nsa_leg
    assert all(n.rat is not Rat.NR for n in observation.neighbours)
    assert observation.to_dict()["nr_leg"]["nsa_leg"] is True


def test_traffic_log_level_is_below_debug() -> None:
    assert logging.DEBUG > AT_TRAFFIC

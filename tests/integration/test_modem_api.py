"""The ``Modem`` API checks, written against a ``port_url`` fixture.

Here ``port_url`` is every simulator persona (see conftest.py); ``hw-tests/`` imports
this module and runs the very same functions against a real module, so a bench run
proves the simulator is faithful.
"""

from __future__ import annotations

import re

from modem import open_modem
from modem.at.identity import luhn_valid
from modem.models import RegistrationDomain, SimState


def test_identity_with_luhn_imei(port_url: str) -> None:
    with open_modem(port_url) as modem:
        identity = modem.identity()
    assert identity.manufacturer
    assert identity.model
    assert identity.imei is not None
    assert re.fullmatch(r"\d{15}", identity.imei), identity.imei
    assert luhn_valid(identity.imei), f"IMEI {identity.imei} fails the Luhn check"


def test_sim_identity(port_url: str) -> None:
    with open_modem(port_url) as modem:
        sim = modem.sim()
    assert sim.state is SimState.READY
    assert sim.imsi is not None
    assert re.fullmatch(r"\d{14,15}", sim.imsi), sim.imsi
    assert sim.iccid is not None
    assert re.fullmatch(r"89\d{16,18}", sim.iccid), sim.iccid
    assert luhn_valid(sim.iccid), f"ICCID {sim.iccid} fails the Luhn check"
    if sim.msisdn is not None:
        assert re.fullmatch(r"\+?\d{3,20}", sim.msisdn), sim.msisdn


def test_registration(port_url: str) -> None:
    with open_modem(port_url) as modem:
        observation = modem.observe()
    domains = {r.domain for r in observation.registrations}
    assert domains & {RegistrationDomain.CEREG, RegistrationDomain.C5GREG, RegistrationDomain.CREG}
    assert observation.is_registered, observation.registrations


def test_serving_cell_present_when_registered(port_url: str) -> None:
    with open_modem(port_url) as modem:
        observation = modem.observe()
    if not observation.is_registered:
        return
    serving = observation.serving
    assert serving is not None
    assert serving.rat is not None
    assert serving.is_identified, serving
    assert serving.mcc is not None
    assert re.fullmatch(r"\d{3}", serving.mcc)
    assert serving.mnc is not None
    assert re.fullmatch(r"\d{2,3}", serving.mnc)
    operator = observation.operator
    if operator is not None and operator.mnc is not None and operator.mcc == serving.mcc:
        # The MNC's width is the network's, never what a vendor dump happened to print.
        assert len(serving.mnc) == len(operator.mnc)


def test_unsupported_commands_cost_nothing_in_later_cycles(port_url: str) -> None:
    with open_modem(port_url) as modem:
        modem.observe()
        before = modem.commands_sent
        modem.observe()
        first_cycle_cost = modem.commands_sent - before
        before = modem.commands_sent
        modem.observe()
        assert modem.commands_sent - before <= first_cycle_cost
        for command in modem.unsupported_commands:
            assert command.upper().startswith("AT")

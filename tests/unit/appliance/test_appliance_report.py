"""Report building: CellObservation + SimIdentity + ModemIdentity -> ObservationReport."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.errors import ReportError
from appliance.report import build_report
from mlp.observation import ObservationReport, sign_observation, verify_observation
from modem.models import (
    CellObservation,
    ModemIdentity,
    NeighbourCell,
    Rat,
    Registration,
    RegistrationDomain,
    RegistrationStatus,
    ServingCell,
    Signal,
    SimIdentity,
    SimState,
)

SIM = SimIdentity(
    SimState.READY, imsi="228011234567890", iccid="8941011234567890128", msisdn="+41791234567"
)
MODEM = ModemIdentity("Quectel", "EC25", "EC25EFAR06A06M4G", "867962041234561")
WHEN = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)


def demo_observation(**changes: object) -> CellObservation:
    values: dict[str, object] = {
        "observed_at": WHEN,
        "registrations": (
            Registration(RegistrationDomain.CREG, RegistrationStatus.NOT_REGISTERED),
            Registration(
                RegistrationDomain.CEREG,
                RegistrationStatus.HOME,
                tac=1234,
                ci=27440068,
                act=7,
                rat=Rat.LTE,
            ),
        ),
        "serving": ServingCell(
            rat=Rat.LTE,
            mcc="228",
            mnc="01",
            tac=1234,
            ci=27440068,
            pci=101,
            earfcn=1300,
            band=3,
            rsrp=-95.0,
            state="NOCONN",
        ),
        "neighbours": (
            NeighbourCell(rat=Rat.LTE, pci=102, earfcn=1300, rsrp=-101.0),
            NeighbourCell(rat=Rat.LTE, pci=210, earfcn=6300, rsrp=-110.5),
        ),
        "signal": Signal(rssi=-65.0, ber=0.2, rsrp=-95.0, rsrq=-10.0),
    }
    values.update(changes)
    return CellObservation(**values)  # type: ignore[arg-type]


def test_demo_observation_maps_every_field() -> None:
    report = build_report(
        appliance_id="dc1-a", seq=7, observation=demo_observation(), sim=SIM, modem=MODEM
    )
    claims = report.to_claims()
    assert claims["appliance"] == "dc1-a"
    assert claims["seq"] == 7
    assert claims["observed_at"] == int(WHEN.timestamp())
    assert claims["sim"] == {
        "imsi": "228011234567890",
        "iccid": "8941011234567890128",
        "msisdn": "+41791234567",
    }
    assert claims["modem"]["model"] == "EC25"
    assert claims["registration"]["state"] == "home"  # best domain wins over CREG 0
    assert claims["registration"]["rat"] == "LTE"
    assert claims["registration"]["domains"][1] == {
        "domain": "CEREG",
        "stat": 1,
        "lac": None,
        "tac": 1234,
        "ci": 27440068,
        "act": 7,
    }
    serving = claims["serving"]
    assert (serving["mcc"], serving["mnc"], serving["tac"], serving["ci"]) == (
        "228",
        "01",
        1234,
        27440068,
    )
    assert serving["pci"] == 101 and serving["earfcn"] == 1300 and serving["band"] == 3
    assert [cell["pci"] for cell in claims["neighbours"]] == [102, 210]
    assert claims["signal"] == {
        "rssi": -65.0,
        "rsrp": -95.0,
        "rsrq": -10.0,
        "sinr": None,
        "rscp": None,
        "ecno": None,
    }
    # The strict reader accepts what we build, and a signature round-trips.
    assert ObservationReport.from_claims(claims) == report
    key = Ed25519PrivateKey.generate()
    assert verify_observation(sign_observation(report, key), key.public_key()) == report


def test_not_registered_has_no_serving_cell_and_searching_state() -> None:
    observation = demo_observation(
        registrations=(Registration(RegistrationDomain.CEREG, RegistrationStatus.SEARCHING),),
        serving=None,
        neighbours=(),
        signal=None,
    )
    claims = build_report(
        appliance_id="a", seq=1, observation=observation, sim=SIM, modem=ModemIdentity()
    ).to_claims()
    assert claims["registration"] == {
        "state": "searching",
        "rat": None,
        "domains": [
            {"domain": "CEREG", "stat": 2, "lac": None, "tac": None, "ci": None, "act": None}
        ],
    }
    assert claims["serving"] is None
    assert claims["signal"]["rssi"] is None


def test_values_the_format_cannot_carry_become_null() -> None:
    odd = ServingCell(rat=Rat.LTE, mcc="22", mnc="1", tac=-1, ci=2**60, rsrp=float("nan"))
    modem = ModemIdentity(manufacturer="Qu\u00e9ctel\x00", model="", revision="r" * 300)
    claims = build_report(
        appliance_id="a",
        seq=1,
        observation=demo_observation(serving=odd),
        sim=SIM,
        modem=modem,
    ).to_claims()
    assert claims["serving"]["mcc"] is None
    assert claims["serving"]["mnc"] is None
    assert claims["serving"]["tac"] is None
    assert claims["serving"]["ci"] is None
    assert claims["serving"]["rsrp"] is None
    assert claims["modem"]["manufacturer"] == "Quctel"
    assert claims["modem"]["model"] is None
    assert len(claims["modem"]["revision"]) == 128


def test_values_outside_their_claim_range_become_null() -> None:
    # The GMLC refuses a report holding one (422); the appliance drops the value instead.
    odd = ServingCell(rat=Rat.LTE, mcc="228", mnc="01", tac=6699, ci=27447297, pci=5000)
    odd = replace(odd, rsrp=-250.0, sinr=99.0, rsrq=-10.0)
    claims = build_report(
        appliance_id="a", seq=1, observation=demo_observation(serving=odd), sim=SIM, modem=MODEM
    ).to_claims()
    assert (claims["serving"]["pci"], claims["serving"]["rsrp"], claims["serving"]["sinr"]) == (
        None,
        None,
        None,
    )
    assert (claims["serving"]["ci"], claims["serving"]["rsrq"]) == (27447297, -10.0)


def test_at_most_32_neighbours() -> None:
    many = tuple(NeighbourCell(rat=Rat.LTE, pci=i, earfcn=1300) for i in range(40))
    report = build_report(
        appliance_id="a", seq=1, observation=demo_observation(neighbours=many), sim=SIM, modem=MODEM
    )
    assert [cell.pci for cell in report.neighbours] == list(range(32))


@pytest.mark.parametrize(
    "sim",
    [
        SimIdentity(SimState.SIM_PIN),
        SimIdentity(SimState.READY, imsi="228011234567890"),
        SimIdentity(SimState.READY, imsi="22801", iccid="8941011234567890128"),
    ],
)
def test_missing_sim_identity_is_a_report_error(sim: SimIdentity) -> None:
    with pytest.raises(ReportError, match="nothing to report"):
        build_report(appliance_id="a", seq=1, observation=demo_observation(), sim=sim, modem=MODEM)


def test_bad_sequence_is_a_report_error() -> None:
    with pytest.raises(ReportError):
        build_report(appliance_id="a", seq=0, observation=demo_observation(), sim=SIM, modem=MODEM)


optional_int = st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63))
optional_float = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))
optional_text = st.one_of(st.none(), st.text(max_size=200))


@settings(max_examples=60, deadline=None)
@given(
    mcc=optional_text,
    mnc=optional_text,
    ints=st.lists(optional_int, min_size=9, max_size=9),
    floats=st.lists(optional_float, min_size=6, max_size=6),
    model=optional_text,
)
def test_any_cell_values_give_a_valid_report(
    mcc: str | None,
    mnc: str | None,
    ints: list[int | None],
    floats: list[float | None],
    model: str | None,
) -> None:
    names = ("lac", "tac", "ci", "pci", "arfcn", "earfcn", "uarfcn", "psc", "band")
    numbers = ("rsrp", "rsrq", "rssi", "sinr", "rscp", "ecio")
    values: dict[str, Any] = {
        **dict(zip(names, ints, strict=True)),
        **dict(zip(numbers, floats, strict=True)),
    }
    cell = ServingCell(rat=Rat.NR, mcc=mcc, mnc=mnc, **values)
    report = build_report(
        appliance_id="a",
        seq=1,
        observation=demo_observation(serving=cell, neighbours=(cell,)),
        sim=SIM,
        modem=ModemIdentity(model=model),
    )
    assert ObservationReport.from_claims(report.to_claims()) == report

"""Turning what the modem saw into the observation report the GMLC verifies.

:func:`build_report` maps ``modem.models`` values (a :class:`CellObservation`, the
:class:`SimIdentity` and the :class:`ModemIdentity`) onto ``mlp.observation``'s
:class:`ObservationReport`. The report format is strict, and modules print odd
things, so each value is brought into the format's range first: a value the format
cannot carry (a negative cell id from a buggy firmware, a non-ASCII model name, an
MCC that is not three digits) becomes ``null`` rather than making the whole report
fail; text is cut to 128 printable characters; at most 32 neighbours are kept. Only
a missing SIM identity is an error, because a report without IMSI and ICCID says
nothing the GMLC can use.
"""

from __future__ import annotations

import math
import re

from appliance.errors import ReportError
from mlp.observation import (
    MAX_NEIGHBOURS,
    ObservationMalformedError,
    ObservationReport,
    ReportCell,
    ReportDomain,
    ReportModem,
    ReportRegistration,
    ReportSignal,
    ReportSim,
    in_claim_range,
    registration_state,
)
from modem.models import Cell, CellObservation, ModemIdentity, Registration, SimIdentity

__all__ = ["build_report"]

_MAX_DOMAINS = 8
_MAX_TEXT = 128
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]")
_MCC = re.compile(r"[0-9]{3}")
_MNC = re.compile(r"[0-9]{2,3}")
_IMSI = re.compile(r"[0-9]{6,15}")
_ICCID = re.compile(r"[0-9]{18,22}")


def build_report(
    *,
    appliance_id: str,
    seq: int,
    observation: CellObservation,
    sim: SimIdentity,
    modem: ModemIdentity,
) -> ObservationReport:
    """Builds the observation report for one cycle.

    Args:
        appliance_id: the appliance's id (also the JWS ``kid``).
        seq: this report's sequence number (>= 1).
        observation: what the modem saw.
        sim: the SIM identity read in the same cycle.
        modem: the modem identity.

    Returns:
        The report, ready for ``mlp.observation.sign_observation``.

    Raises:
        ReportError: the SIM's IMSI or ICCID is missing or malformed, or the id or
            sequence number is invalid.
    """
    if sim.imsi is None or not _IMSI.fullmatch(sim.imsi):
        raise ReportError(f"the SIM's IMSI is not known ({sim.state.value}); nothing to report")
    if sim.iccid is None or not _ICCID.fullmatch(sim.iccid):
        raise ReportError(f"the SIM's ICCID is not known ({sim.state.value}); nothing to report")
    domains = tuple(_domain(r) for r in observation.registrations[:_MAX_DOMAINS])
    serving = _cell(observation.serving) if observation.serving is not None else None
    rat = _registration_rat(observation)
    signal = observation.signal
    try:
        return ObservationReport(
            appliance=appliance_id,
            seq=seq,
            observed_at=int(observation.observed_at.timestamp()),
            sim=ReportSim(imsi=sim.imsi, iccid=sim.iccid, msisdn=_text(sim.msisdn)),
            modem=ReportModem(
                manufacturer=_text(modem.manufacturer),
                model=_text(modem.model),
                revision=_text(modem.revision),
                imei=_text(modem.imei),
            ),
            registration=ReportRegistration(
                state=registration_state(domains), rat=rat, domains=domains
            ),
            serving=serving,
            neighbours=tuple(_cell(cell) for cell in observation.neighbours[:MAX_NEIGHBOURS]),
            signal=ReportSignal(
                rssi=_number(signal.rssi, "signal.rssi") if signal else None,
                rsrp=_number(signal.rsrp, "signal.rsrp") if signal else None,
                rsrq=_number(signal.rsrq, "signal.rsrq") if signal else None,
                sinr=_number(signal.sinr, "signal.sinr") if signal else None,
                rscp=_number(signal.rscp, "signal.rscp") if signal else None,
                ecno=_number(signal.ecno, "signal.ecno") if signal else None,
            ),
        )
    except ObservationMalformedError as error:
        raise ReportError(f"cannot build the observation report: {error}") from None


def _registration_rat(observation: CellObservation) -> str | None:
    if observation.serving is not None and observation.serving.rat is not None:
        return observation.serving.rat.value
    registered = [
        r for r in observation.registrations if r.stat is not None and r.stat.is_registered
    ]
    for record in registered or observation.registrations:
        if record.rat is not None:
            return record.rat.value
    return None


def _domain(record: Registration) -> ReportDomain:
    return ReportDomain(
        domain=record.domain.value,
        stat=_integer(int(record.stat), "registration.domains.stat")
        if record.stat is not None
        else None,
        lac=_integer(record.lac, "registration.domains.lac"),
        tac=_integer(record.tac, "registration.domains.tac"),
        ci=_integer(record.ci, "registration.domains.ci"),
        act=_integer(record.act, "registration.domains.act"),
    )


def _cell(cell: Cell) -> ReportCell:
    return ReportCell(
        rat=cell.rat.value if cell.rat is not None else None,
        mcc=cell.mcc if cell.mcc is not None and _MCC.fullmatch(cell.mcc) else None,
        mnc=cell.mnc if cell.mnc is not None and _MNC.fullmatch(cell.mnc) else None,
        lac=_integer(cell.lac, "cell.lac"),
        tac=_integer(cell.tac, "cell.tac"),
        ci=_integer(cell.ci, "cell.ci"),
        pci=_integer(cell.pci, "cell.pci"),
        arfcn=_integer(cell.arfcn, "cell.arfcn"),
        earfcn=_integer(cell.earfcn, "cell.earfcn"),
        uarfcn=_integer(cell.uarfcn, "cell.uarfcn"),
        psc=_integer(cell.psc, "cell.psc"),
        band=_integer(cell.band, "cell.band"),
        rsrp=_number(cell.rsrp, "cell.rsrp"),
        rsrq=_number(cell.rsrq, "cell.rsrq"),
        rssi=_number(cell.rssi, "cell.rssi"),
        sinr=_number(cell.sinr, "cell.sinr"),
        rscp=_number(cell.rscp, "cell.rscp"),
        ecio=_number(cell.ecio, "cell.ecio"),
    )


def _integer(value: int | None, claim: str) -> int | None:
    # A value outside the claim's range is dropped, not reported: one quirky field must
    # not cost the whole observation.
    if value is None or isinstance(value, bool) or not in_claim_range(claim, value):
        return None
    return int(value)


def _number(value: float | None, claim: str) -> float | None:
    if value is None or isinstance(value, bool) or not math.isfinite(value):
        return None
    if not in_claim_range(claim, value):
        return None
    return float(value)


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = _NOT_PRINTABLE.sub("", value).strip()[:_MAX_TEXT]
    return cleaned or None

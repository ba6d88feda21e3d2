"""What the module reports about the radio: its view, registration and signal quality.

:func:`radio_view` derives the :class:`~modem.sim.dialect.RadioView` of a network step;
pure functions of a view (or its serving cell) give the ``+CxREG`` records and lines
(27.007 §7.2, §10.1.19, §10.1.22, §10.1.37), the access technology of ``+COPS``, and the
``+CSQ`` / ``+CESQ`` reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from modem.sim.dialect import RadioView
from modem.sim.scenario import NetworkStep, SimCell

__all__ = [
    "DOMAINS_BY_RAT",
    "MAX_N",
    "REGISTERED",
    "RegRecord",
    "access_technology",
    "cesq_line",
    "csq_line",
    "format_registration",
    "radio_view",
    "registration_record",
]

DOMAINS_BY_RAT: Final = {
    "GSM": ("CREG", "CGREG"),
    "UMTS": ("CREG", "CGREG"),
    "LTE": ("CREG", "CGREG", "CEREG"),
    "NR": ("C5GREG",),
}
REGISTERED: Final = frozenset({1, 5, 6, 7, 9, 10})
MAX_N: Final = {"CREG": 3, "CGREG": 4, "CEREG": 5, "C5GREG": 3}


@dataclass(frozen=True, slots=True)
class RegRecord:
    """One domain's registration as ``+CxREG`` reports it (area and cell id in hex)."""

    stat: int
    area: str | None = None
    ci: str | None = None
    act: int | None = None
    cause: int | None = None


def radio_view(
    step: NetworkStep,
    *,
    sim_ready: bool,
    deregistered: bool,
    measure: Callable[[SimCell], SimCell] | None = None,
) -> RadioView:
    """The radio environment of a module with its radio on, in the network step ``step``.

    Args:
        step: the network timeline step in force.
        sim_ready: the SIM is ready (``+CPIN: READY``); otherwise: limited service.
        deregistered: ``+COPS=2`` is in force: limited service.
        measure: applied to each cell, serving first, when the answer shows measurements.
    """
    serving = step.serving
    neighbours = step.neighbours
    if measure is not None:
        serving = measure(serving) if serving is not None else None
        neighbours = tuple(measure(n) for n in neighbours)
    operator_long = step.operator
    if operator_long is None and step.serving is not None:
        # Modules print the numeric PLMN when they know no name for it.
        operator_long = (step.serving.mcc or "") + (step.serving.mnc or "") or None
    if not sim_ready or deregistered:
        return RadioView(
            serving=serving,
            neighbours=neighbours,
            limited=serving is not None,
            operator_long=operator_long,
        )
    registered = step.registration in REGISTERED
    cs_stat = step.cs_registration if step.cs_registration is not None else step.registration
    return RadioView(
        serving=serving,
        nr_leg=step.nr_leg,
        neighbours=neighbours,
        stat=step.registration,
        cs_stat=cs_stat,
        registered=registered,
        limited=not registered and serving is not None,
        reject_cause=step.reject_cause,
        operator_long=operator_long,
        operator_short=step.operator_short or operator_long,
    )


def registration_record(domain: str, view: RadioView, *, ci_width: int) -> RegRecord:
    """What ``+CxREG`` of ``domain`` reports for ``view`` (``ci_width``: the persona's)."""
    cell = view.serving
    stat = view.stat
    if cell is None:
        return RegRecord(stat=stat, cause=view.reject_cause if stat == 3 else None)
    if domain not in DOMAINS_BY_RAT[cell.rat]:
        return RegRecord(stat=0)
    if domain == "CREG":
        stat = view.cs_stat
    if stat not in REGISTERED:
        return RegRecord(stat=stat, cause=view.reject_cause if stat == 3 else None)
    if cell.rat == "NR":
        return RegRecord(stat, _hex(cell.tac, 6), _hex(cell.ci, 9), 11)
    if cell.rat == "LTE":
        return RegRecord(stat, _hex(cell.tac, 4), _hex(cell.ci, ci_width), 7)
    width = 4 if cell.rat == "GSM" else ci_width
    return RegRecord(stat, _hex(cell.lac, 4), _hex(cell.ci, width), 0 if cell.rat == "GSM" else 2)


def format_registration(domain: str, n: int, record: RegRecord, *, read: bool) -> str:
    """The ``+CxREG`` line for ``record`` at URC level ``n`` (``read``: the read form)."""
    fields = [str(n)] if read else []
    fields.append(str(record.stat))
    if n >= 2 and record.area is not None:
        fields += [f'"{record.area}"', f'"{record.ci}"', str(record.act)]
    if n in (3, 5) and record.cause is not None:
        if n >= 2 and record.area is None:
            fields += ["", "", ""]
        fields += ["0", str(record.cause)]
    return f"+{domain}: " + ",".join(fields)


def access_technology(view: RadioView) -> int:
    """The ``<AcT>`` of the serving cell (27.007 §7.3; E-UTRA with an NR leg is 13)."""
    cell = view.serving
    assert cell is not None
    if cell.rat == "NR":
        return 11
    if cell.rat == "LTE":
        return 13 if view.nr_leg is not None else 7
    return 0 if cell.rat == "GSM" else 2


def csq_line(cell: SimCell | None) -> str:
    """The ``+CSQ`` answer for the serving cell (27.007 §8.5)."""
    if cell is None or cell.rssi is None:
        return "+CSQ: 99,99"
    rssi = max(0, min(31, round((cell.rssi + 113) / 2)))
    ber = 0 if cell.rat == "GSM" else 99
    return f"+CSQ: {rssi},{ber}"


def cesq_line(cell: SimCell | None) -> str:
    """The ``+CESQ`` answer for the serving cell (27.007 §8.69, with the Rel-15 NR fields)."""
    values = [99, 99, 255, 255, 255, 255]
    if cell is not None:
        if cell.rat == "GSM" and cell.rssi is not None:
            values[0] = _clamp(cell.rssi + 111, 63)
            values[1] = 0
        if cell.rat == "UMTS":
            if cell.rscp is not None:
                values[2] = _clamp(cell.rscp + 121, 96)
            if cell.ecio is not None:
                values[3] = _clamp((cell.ecio + 24.5) * 2, 49)
        if cell.rat == "LTE":
            if cell.rsrq is not None:
                values[4] = _clamp((cell.rsrq + 20) * 2, 34)
            if cell.rsrp is not None:
                values[5] = _clamp(cell.rsrp + 141, 97)
        if cell.rat == "NR":
            # Rel-15 extension: SS-RSRQ, SS-RSRP, SS-SINR (38.133 report mappings).
            values += [
                255 if cell.rsrq is None else _clamp((cell.rsrq + 43.5) * 2, 127),
                255 if cell.rsrp is None else _clamp(cell.rsrp + 157, 126),
                255 if cell.sinr is None else _clamp((cell.sinr + 23.5) * 2, 127),
            ]
    return "+CESQ: " + ",".join(str(v) for v in values)


def _clamp(value: float, high: int) -> int:
    return max(0, min(high, int(value)))


def _hex(value: int | None, width: int) -> str | None:
    return None if value is None else f"{value:0{width}X}"

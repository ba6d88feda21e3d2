"""Vendor command handlers of the simulated modems, printed from the parsers' own layouts.

Every answer a persona gives for a vendor cell, signal or PIN-counter command is rendered
with :func:`~modem.at.cells.layout.render_row` from the same layout tables the parsers
read (:mod:`modem.at.cells`, :mod:`modem.at.pin`, ``^HCSQ`` in :mod:`modem.at.network`),
so a simulated answer and the parser cannot disagree about a field's place, radix or
unit. What is left here is each vendor's arrangement of rows: which layout a RAT uses,
header and caption lines, and how neighbours are grouped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, Final

from modem.at.cells import cinterion, fibocom, huawei, quectel, sierra, simcom, telit, ublox
from modem.at.cells.layout import Layout, render_row
from modem.at.network import HCSQ_LAYOUTS
from modem.at.pin import PIN_COUNTER_QUERIES
from modem.models import Rat
from modem.sim.dialect import AtCommand, CmeFailure, Handler, PersonaContext, SyntaxFailure
from modem.sim.scenario import NrLeg, SimCell

__all__ = [
    "cinterion_smoni",
    "cinterion_smonp",
    "cinterion_spic",
    "fibocom_gtccinfo",
    "huawei_cpin",
    "huawei_hcsq",
    "huawei_monnc",
    "huawei_monsc",
    "pin_counters",
    "quectel_qeng",
    "quectel_qpinc",
    "sierra_gstatus",
    "sierra_lteinfo",
    "simcom_ccinfo",
    "simcom_cpsi",
    "telit_csurvc",
    "telit_moni",
    "telit_pct",
    "telit_rfsts",
    "telit_servinfo",
    "ublox_ucged",
]

_RATS: Final = {"GSM": Rat.GSM, "UMTS": Rat.UMTS, "LTE": Rat.LTE, "NR": Rat.NR}


# --------------------------------------------------------------------------- helpers


def values(cell: SimCell | NrLeg | None, **extra: Any) -> dict[str, Any]:
    """A scenario cell as the attribute values layouts print (``rat`` as a Rat)."""
    found: dict[str, Any] = {}
    if cell is not None:
        found = {f.name: getattr(cell, f.name) for f in dataclasses.fields(cell)}
        if "rat" in found:
            found["rat"] = _RATS.get(found["rat"], found["rat"])
    found.update(extra)
    return found


def row(layout: Layout, vals: Mapping[str, Any], *, skip: int = 0) -> str:
    """One positional row as the vendor prints it (``skip`` leading fields left out)."""
    return ",".join(render_row(layout, vals)[skip:])


def labelled(layout: Layout, vals: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A labelled layout printed as ``(label, text)`` pairs, in the layout's order."""
    printed = [f for f in layout.fields if not (isinstance(f.at, int) and f.at < 0)]
    return [(str(f.at), text) for f, text in zip(printed, render_row(layout, vals), strict=True)]


def _require(command: AtCommand, *kinds: str) -> None:
    if command.kind not in kinds:
        raise SyntaxFailure(command.text)


def _state(ctx: PersonaContext, registered: str, limited: str) -> str:
    return registered if ctx.view.registered else limited


def _neighbours(ctx: PersonaContext, *rats: str) -> list[SimCell]:
    return [n for n in ctx.view.neighbours if n.rat in rats]


def _prefixed(prefix: str, rows: Iterable[str]) -> list[str]:
    return [f"{prefix}: {text}" for text in rows]


# --------------------------------------------------------------------------- PIN counters


def pin_counters(family: str, *, kinds: tuple[str, ...] = ("exec",)) -> Handler:
    """A retry-counter command printed from :data:`~modem.at.pin.PIN_COUNTER_QUERIES`."""
    query = PIN_COUNTER_QUERIES[family][0]

    def handler(command: AtCommand, ctx: PersonaContext) -> list[str]:
        _require(command, *kinds)
        if not ctx.sim_present:
            raise CmeFailure(10)
        counters = {"pin": ctx.pin_retries, "puk": ctx.puk_retries, "pin2": 3, "puk2": 10}
        return [f"{query.prefix}: {row(query.layouts[0], counters)}"]

    return handler


def quectel_qpinc(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``AT+QPINC?`` lists SC and P2; ``AT+QPINC="SC"`` one facility."""
    if not ctx.sim_present:
        raise CmeFailure(10)
    layout = PIN_COUNTER_QUERIES["quectel"][0].layouts[0]
    sc = f"+QPINC: {row(layout, {'pin': ctx.pin_retries, 'puk': ctx.puk_retries})}"
    p2 = '+QPINC: "P2",3,10'
    if command.kind == "read":
        return [sc, p2]
    _require(command, "set")
    facility = command.params[0] if command.params else ""
    if facility == "SC":
        return [sc]
    if facility == "P2":
        return [p2]
    raise CmeFailure(50)


def huawei_cpin(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``^CPIN: <code>,<times>,<puk>,<pin>,<puk2>,<pin2>``."""
    _require(command, "read")
    if not ctx.sim_present:
        raise CmeFailure(10)
    times = ctx.puk_retries if ctx.sim_state == "SIM PUK" else ctx.pin_retries
    counters = {
        "state": ctx.sim_state,
        "current": times,
        "pin": ctx.pin_retries,
        "puk": ctx.puk_retries,
        "pin2": 3,
        "puk2": 10,
    }
    return [f"^CPIN: {row(PIN_COUNTER_QUERIES['huawei'][0].layouts[0], counters)}"]


def telit_pct(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``#PCT: <n>`` for the password the SIM asks for now (its PIN when none is asked)."""
    _require(command, "exec")
    if not ctx.sim_present:
        raise CmeFailure(10)
    current = ctx.puk_retries if ctx.sim_state == "SIM PUK" else ctx.pin_retries
    return [f"#PCT: {row(PIN_COUNTER_QUERIES['telit'][0].layouts[0], {'current': current})}"]


def cinterion_spic(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``^SPIC: <counter>``: ``="SC"`` the PIN, ``="SC",1`` the PUK, bare the one asked for."""
    if not ctx.sim_present:
        raise CmeFailure(10)
    if command.kind == "exec":
        puk = ctx.sim_state == "SIM PUK"
    elif command.kind == "set" and command.params[:1] == ["SC"]:
        puk = command.params[1:] == ["1"]
    else:
        raise CmeFailure(50)
    queries = PIN_COUNTER_QUERIES["cinterion"]
    layout = queries[1 if puk else 0].layouts[0]
    counters = {"pin": ctx.pin_retries, "puk": ctx.puk_retries}
    return [f"^SPIC: {row(layout, counters)}"]


# --------------------------------------------------------------------------- Quectel


def _quectel_serving(ctx: PersonaContext, *, rm5: bool) -> list[str]:
    layouts = quectel.SERVING_LAYOUTS
    cell = ctx.view.serving
    if cell is None:
        return [f"+QENG: {row(layouts['SEARCH'], {'state': 'SEARCH'})}"]
    state = _state(ctx, "NOCONN", "LIMSRV")
    vals = values(cell, state=state)
    lte = layouts["LTE-RM5" if rm5 else "LTE"]
    if cell.rat == "LTE" and ctx.view.nr_leg is not None:
        leg = values(ctx.view.nr_leg, mcc=cell.mcc, mnc=cell.mnc, state=state)
        # EN-DC: the header alone, then the anchor and the leg without it.
        return _prefixed(
            "+QENG",
            (
                row(layouts["SEARCH"], {"state": state}),
                row(lte, vals, skip=2),
                row(layouts["NR-NSA"], leg, skip=2),
            ),
        )
    layout = {"LTE": lte, "NR": layouts["NR"], "UMTS": layouts["UMTS"], "GSM": layouts["GSM"]}
    return [f"+QENG: {row(layout[cell.rat], vals)}"]


def _quectel_neighbours(ctx: PersonaContext) -> list[str]:
    layouts = quectel.NEIGHBOUR_LAYOUTS
    serving = ctx.view.serving
    rows: list[str] = []
    for cell in ctx.view.neighbours:
        if cell.rat == "LTE":
            if serving is not None and serving.rat == "UMTS":
                layout = layouts["LTE-IN-UMTS"]
            elif serving is not None and serving.rat == "LTE" and cell.earfcn == serving.earfcn:
                layout = layouts["LTE-INTRA"]
            else:
                layout = layouts["LTE-INTER"]
        elif cell.rat in ("UMTS", "GSM"):
            layout = layouts[cell.rat]
        else:
            continue
        rows.append(row(layout, values(cell)))
    return _prefixed("+QENG", rows)


def quectel_qeng(*, rm5: bool) -> Handler:
    """``AT+QENG="servingcell"`` / ``"neighbourcell"`` (EC2x, or RM5xx with CQI and TX power)."""

    def qeng(command: AtCommand, ctx: PersonaContext) -> list[str]:
        if command.kind == "test":
            return ['+QENG: ("servingcell","neighbourcell")']
        _require(command, "set")
        params = command.params
        if params == ["servingcell"]:
            return _quectel_serving(ctx, rm5=rm5)
        if params == ["neighbourcell"]:
            return _quectel_neighbours(ctx)
        raise CmeFailure(50)

    return qeng


# --------------------------------------------------------------------------- SIMCom


def simcom_cpsi(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``AT+CPSI?``: SIM7600/SIM82xx wording, signal in tenths of a dB."""
    if command.kind == "set":
        return []
    _require(command, "read")
    layouts = simcom.CPSI_LAYOUTS
    cell = ctx.view.serving
    if cell is None:
        return [f"+CPSI: {row(layouts['NO-SERVICE'], {'state': 'NO SERVICE'})}"]
    vals = values(cell, state=_state(ctx, "Online", "Limited Service"))
    lines = [f"+CPSI: {row(layouts[cell.rat], vals)}"]
    if cell.rat == "LTE" and ctx.view.nr_leg is not None:
        lines.append(f"+CPSI: {row(layouts['NR-NSA'], values(ctx.view.nr_leg))}")
    return lines


def _ccinfo_line(layout: Layout, vals: Mapping[str, Any], tag: str) -> str:
    parts = [
        tag if label == "CELL" else f"{label}:{text}" for label, text in labelled(layout, vals)
    ]
    return "+CCINFO:" + ",".join(parts)


def simcom_ccinfo(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``AT+CCINFO``: the GSM/WCDMA serving cell and neighbours (nothing in LTE service)."""
    _require(command, "exec")
    cell = ctx.view.serving
    if cell is None or cell.rat not in ("GSM", "UMTS"):
        return []
    layouts = simcom.CCINFO_LAYOUTS
    lines = [_ccinfo_line(layouts[f"{cell.rat}-SERVING"], values(cell), "[SCELL]")]
    for index, neighbour in enumerate(_neighbours(ctx, "GSM", "UMTS"), start=1):
        lines.append(_ccinfo_line(layouts[neighbour.rat], values(neighbour), f"[NCell{index}]"))
    return lines


# --------------------------------------------------------------------------- u-blox


def _ucged_short(layout: Layout, vals: Mapping[str, Any]) -> list[str]:
    texts = render_row(layout, vals)
    size = int(texts[0])
    return ["+UCGED: 2", ",".join(texts[1 : 1 + size]), ",".join(texts[1 + size :])]


def _ucged_measurements(ctx: PersonaContext, cell: SimCell) -> list[str]:
    cells = [cell, *_neighbours(ctx, "LTE")]
    layout = ublox.MEASUREMENT_LAYOUT
    return [
        f"+{name}: "
        + ",".join(row(layout, values(c, value=getattr(c, name.lower()))) for c in cells)
        for name in ("RSRP", "RSRQ")
    ]


def ublox_ucged(family: str) -> Handler:
    """``AT+UCGED``: ``sara-r5`` (LTE-M), ``lara-r6`` (2G/3G/LTE) or ``sara-r4`` (``=5``)."""
    modes = ("0", "5") if family == "sara-r4" else ("0", "2")
    short = {
        "sara-r5": {"LTE": ublox.UCGED_LAYOUTS["SARA-R5"]},
        "lara-r6": {
            "GSM": ublox.UCGED_LAYOUTS["LARA-R6-2G"],
            "UMTS": ublox.UCGED_LAYOUTS["LARA-R6-3G"],
            "LTE": ublox.UCGED_LAYOUTS["LARA-R6-LTE"],
        },
    }.get(family, {})

    def ucged(command: AtCommand, ctx: PersonaContext) -> list[str]:
        if command.kind == "test":
            return [f"+UCGED: ({','.join(modes)})"]
        if command.kind == "set":
            if command.params not in ([m] for m in modes):
                raise CmeFailure(50)
            ctx.settings["ucged"] = int(command.params[0])
            return []
        _require(command, "read")
        mode = ctx.settings.get("ucged", int(modes[1]))
        if mode == 0:
            return ["+UCGED: 0"]
        cell = ctx.view.serving
        if cell is None:
            return ["+UCGED: 2"] if mode == 2 else ["+RSRP: ", "+RSRQ: "]
        if mode == 5:
            return _ucged_measurements(ctx, cell)
        return _ucged_short(short[cell.rat], values(cell))

    return ucged


# --------------------------------------------------------------------------- Telit


def telit_servinfo(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``AT#SERVINFO``; field 5 of the LTE row is the hex cell id, as on real firmware."""
    _require(command, "exec")
    cell = ctx.view.serving
    if cell is None:
        raise CmeFailure(30)  # no network service
    vals = values(cell, operator=ctx.view.operator_long or "")
    return [f"#SERVINFO: {row(telit.SERVINFO_LAYOUTS[cell.rat], vals)}"]


def telit_rfsts(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``AT#RFSTS``: ``"<MCC> <MNC>"`` first, then the RAT's fields."""
    _require(command, "exec")
    cell = ctx.view.serving
    if cell is None:
        raise CmeFailure(30)
    vals = values(cell, operator=ctx.view.operator_long or "", imsi=ctx.imsi or "")
    return [f"#RFSTS: {row(telit.RFSTS_LAYOUTS[cell.rat], vals)}"]


def _moni_line(layout: Layout, vals: Mapping[str, Any]) -> str:
    parts = [
        text if label == "NAME" else f"{label}:{text}"
        for label, text in labelled(layout, vals)
        if text or label != "NAME"
    ]
    return "#MONI: " + " ".join(parts)


def telit_moni(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``AT#MONI``: the serving cell and, as after ``AT#MONI=7``, every neighbour."""
    if command.kind == "test":
        return ["#MONI: (0-7)"]
    if command.kind == "set":
        if len(command.params) != 1 or command.params[0] not in {str(n) for n in range(8)}:
            raise CmeFailure(4)
        return []
    _require(command, "exec")
    cell = ctx.view.serving
    if cell is None:
        return ["#MONI: NO SERVICE"]
    layouts = telit.MONI_LAYOUTS
    name = ctx.view.operator_long or f"{cell.mcc}{cell.mnc}"
    lines = [_moni_line(layouts[cell.rat], values(cell, operator=name))]
    for neighbour in _neighbours(ctx, "GSM", "UMTS", "LTE"):
        layout = layouts["LTE-NEIGHBOUR" if neighbour.rat == "LTE" else neighbour.rat]
        lines.append(_moni_line(layout, values(neighbour)))
    return lines


def telit_csurvc(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``AT#CSURVC``: a network survey, one unprefixed line per carrier heard."""
    _require(command, "exec")
    lines = ["Network survey started ..."]
    cells = [c for c in (ctx.view.serving, *ctx.view.neighbours) if c is not None]
    for cell in cells:
        if cell.rat not in ("GSM", "UMTS", "LTE"):
            continue
        if cell.ci is None or cell.mcc is None:
            # No decoded BCCH: the carrier's channel and level only.
            level = cell.rssi if cell.rssi is not None else cell.rsrp
            lines.append(f"{cell.channel},{'-' if level is None else round(level)}")
        else:
            lines.append(row(telit.CSURVC_LAYOUTS[cell.rat], values(cell)))
    lines.append("Network survey ended")
    return lines


# --------------------------------------------------------------------------- Sierra


def _pairs_lines(pairs: list[tuple[str, str]]) -> list[str]:
    """``Label: value`` pairs, two per line separated by tabs, as ``!GSTATUS`` prints."""
    cells = [f"{label + ':':<15}{text}" for label, text in pairs]
    return ["\t\t".join(cells[i : i + 2]) for i in range(0, len(cells), 2)]


def sierra_gstatus(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``AT!GSTATUS?``: labelled pairs for the RAT in service (LTE anchor and NR leg in EN-DC)."""
    _require(command, "read", "exec")
    layouts = sierra.GSTATUS_LAYOUTS
    head = [
        "!GSTATUS: ",
        "Current Time:  1024\t\tTemperature: 38",
        "Reset Counter: 1\t\tMode:        ONLINE",
    ]
    cell = ctx.view.serving
    if cell is None:
        return [*head, *_pairs_lines(labelled(layouts["NO-SERVICE"], {"state": "No service"}))]
    leg = ctx.view.nr_leg
    mode = {"LTE": "ENDC" if leg is not None else "LTE", "NR": "NR5G", "UMTS": "WCDMA"}
    vals = values(
        cell,
        mode=mode.get(cell.rat, cell.rat),
        state=_state(ctx, "Registered", "Limited"),
    )
    pairs = labelled(layouts[cell.rat], vals)
    if leg is not None and cell.rat == "LTE":
        pairs += labelled(layouts["NR-NSA"], values(leg, mode="ENDC"))[1:]
    return [*head, *_pairs_lines(pairs)]


def _table(caption: str, layout: Layout, cells: Iterable[Mapping[str, Any]]) -> list[str]:
    """A ``!LTEINFO`` table: caption and column names, then one row per cell."""
    columns = [label for label, _ in labelled(layout, {}) if label != "Table"]
    lines = [f"{caption + ':':<11}" + " ".join(f"{c:>6}" for c in columns)]
    for vals in cells:
        texts = [text for label, text in labelled(layout, vals) if label != "Table"]
        lines.append(" " * 11 + " ".join(f"{t:>6}" for t in texts))
    return lines


def sierra_lteinfo(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``AT!LTEINFO?``: serving, intra- and inter-frequency and WCDMA tables."""
    _require(command, "read", "exec")
    cell = ctx.view.serving
    if cell is None or cell.rat != "LTE":
        return ["!LTEINFO: ", "Serving: No LTE service"]
    layouts = sierra.LTEINFO_LAYOUTS
    lte = _neighbours(ctx, "LTE")
    return [
        "!LTEINFO: ",
        *_table("Serving", layouts["SERVING"], [values(cell)]),
        "",
        *_table("IntraFreq", layouts["INTRA"], [values(n) for n in lte if n.earfcn == cell.earfcn]),
        "",
        *_table("InterFreq", layouts["INTER"], [values(n) for n in lte if n.earfcn != cell.earfcn]),
        "",
        *_table("WCDMA", layouts["UMTS"], [values(n) for n in _neighbours(ctx, "UMTS")]),
    ]


# --------------------------------------------------------------------------- Huawei


def huawei_monsc(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``AT^MONSC``: the serving cell in the Balong layout (PCI in hex)."""
    _require(command, "exec")
    cell = ctx.view.serving
    if cell is None:
        return [f"^MONSC: {row(huawei.MONSC_LAYOUTS['NONE'], {})}"]
    return [f"^MONSC: {row(huawei.MONSC_LAYOUTS[cell.rat], values(cell))}"]


def huawei_monnc(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``AT^MONNC``: one line per neighbour, or ``NONE``."""
    _require(command, "exec")
    layouts = huawei.MONNC_LAYOUTS
    rows = [row(layouts[n.rat], values(n)) for n in ctx.view.neighbours if n.rat in layouts]
    return _prefixed("^MONNC", rows or [row(layouts["NONE"], {})])


def huawei_hcsq(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``AT^HCSQ?``: the serving cell's signal as Huawei's indexes."""
    _require(command, "read")
    cell = ctx.view.serving
    words = {"GSM": "GSM", "UMTS": "WCDMA", "LTE": "LTE"}
    if cell is None or cell.rat not in words:
        return [f"^HCSQ: {row(HCSQ_LAYOUTS['NOSERVICE'], {})}"]
    return [f"^HCSQ: {row(HCSQ_LAYOUTS[words[cell.rat]], values(cell, ecno=cell.ecio))}"]


# --------------------------------------------------------------------------- Fibocom


def fibocom_gtccinfo(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``AT+GTCCINFO?``: serving row (and the EN-DC NR leg), a blank line, neighbour rows."""
    _require(command, "read")
    layouts = fibocom.GTCCINFO_LAYOUTS
    cell = ctx.view.serving
    if cell is None or cell.rat not in ("LTE", "NR"):
        return ["+GTCCINFO: "]
    lines = ["+GTCCINFO: ", row(layouts[cell.rat], values(cell))]
    if cell.rat == "LTE" and ctx.view.nr_leg is not None:
        lines.append(row(layouts["NR-NSA"], values(ctx.view.nr_leg)))
    neighbours = _neighbours(ctx, "LTE", "NR")
    if neighbours:
        lines.append("")
        lines += [row(layouts[f"{n.rat}-NEIGHBOUR"], values(n)) for n in neighbours]
    return lines


# --------------------------------------------------------------------------- Cinterion


_SMONI_WORD = {"GSM": "2G", "UMTS": "3G", "LTE": "4G"}


def cinterion_smoni(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``AT^SMONI``: the serving cell, ``4G,SEARCH`` without one."""
    _require(command, "exec")
    layouts = cinterion.SMONI_LAYOUTS
    cell = ctx.view.serving
    if cell is None:
        return [f"^SMONI: {row(layouts['SEARCH'], {'rat': Rat.LTE, 'state': 'SEARCH'})}"]
    vals = values(cell, state=_state(ctx, "NOCONN", "LIMSRV"))
    return [f"^SMONI: {row(layouts[cell.rat], vals)}"]


def cinterion_smonp(command: AtCommand, ctx: PersonaContext) -> list[str]:
    """``AT^SMONP``: neighbours under ``2G:``/``3G:``/``4G:`` captions, rows unprefixed."""
    _require(command, "exec")
    layouts = cinterion.SMONP_LAYOUTS
    lines: list[str] = []
    for rat, word in _SMONI_WORD.items():
        cells = _neighbours(ctx, rat)
        if cells:
            lines.append(f"{word}:")
            lines += [row(layouts[rat], values(c), skip=1) for c in cells]
    return lines

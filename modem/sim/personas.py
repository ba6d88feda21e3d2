"""Personas: how each simulated module family words its answers.

Each persona reproduces one vendor's real dialect (see the vendor sections of the
modem research notes): identity strings, the ICCID command, the vendor serving and
neighbour cell commands with their radix and unit quirks, PIN counters, boot URCs,
and how unknown commands fail. The engine supplies the state; a persona only turns
a :class:`~modem.sim.dialect.PersonaContext` into lines.

=================  ==========================================  ============================
profile            cell commands                               RATs
=================  ==========================================  ============================
quectel-ec25       AT+QENG="servingcell" / "neighbourcell"     GSM, UMTS, LTE
quectel-rm500q     AT+QENG="servingcell" / "neighbourcell"     UMTS, LTE, NR NSA, NR SA
simcom-sim7600     AT+CPSI?                                    GSM, UMTS, LTE
ublox-sara-r5      AT+UCGED? (mode 2)                          LTE
telit-le910        AT#SERVINFO, AT#RFSTS, AT#MONI              LTE
sierra-em7565      AT!GSTATUS?, AT!LTEINFO?                    LTE
huawei-me909s      AT^MONSC, AT^MONNC                          GSM, UMTS, LTE
fibocom-l850       AT+GTCCINFO?                                LTE
generic            (27.007 registration only)                  GSM, UMTS, LTE
=================  ==========================================  ============================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from modem.sim.dialect import (
    AtCommand,
    CmeFailure,
    Handler,
    PersonaContext,
    SyntaxFailure,
)
from modem.sim.errors import UnknownPersonaError
from modem.sim.scenario import SimCell

__all__ = ["PERSONA_NAMES", "Persona", "get_persona"]


@dataclass(frozen=True, slots=True)
class Persona:
    """One module family's dialect.

    Attributes:
        name: the profile name (``quectel-ec25``).
        manufacturer: ``AT+CGMI`` answer.
        model: ``AT+CGMM`` answer.
        revision: ``AT+CGMR`` answer.
        imei_tac: the 8-digit type allocation code the simulated IMEIs start with.
        ati: lines of the ``ATI`` answer, given the IMEI.
        handlers: vendor commands by upper-case name (``+QENG``, ``#SERVINFO``).
        registration_domains: which of CREG/CGREG/CEREG/C5GREG the module answers.
        rats: the RATs it can serve on (``GSM``, ``UMTS``, ``LTE``, ``NR``, ``NR-NSA``).
        boot_urcs: URCs after power-on, given the SIM state word.
        sim_removed_urcs: URCs when the SIM is pulled.
        unknown_result: the final result for a command it does not know; ``None`` means
            ``+CME ERROR: 4`` (operation not supported), printed per ``+CMEE``.
        default_cmee: ``+CMEE`` at power-on.
        reg_ci_width: hex digits of an LTE/UMTS cell id in +CxREG answers.
    """

    name: str
    manufacturer: str
    model: str
    revision: str
    imei_tac: str
    ati: Callable[[str], list[str]]
    handlers: Mapping[str, Handler]
    registration_domains: tuple[str, ...] = ("CREG", "CGREG", "CEREG")
    rats: frozenset[str] = frozenset({"GSM", "UMTS", "LTE"})
    boot_urcs: Callable[[str], list[str]] = field(default=lambda state: [])
    sim_removed_urcs: tuple[str, ...] = ()
    unknown_result: str | None = "ERROR"
    default_cmee: int = 0
    reg_ci_width: int = 8


# --------------------------------------------------------------------------- formatting helpers


def _n(value: float | None, missing: str = "-") -> str:
    """A measurement as a whole number, or the vendor's 'unknown' marker."""
    return missing if value is None else str(round(value))


def _tenths(value: float | None, missing: str = "-") -> str:
    return missing if value is None else str(round(value * 10))


def _one_decimal(value: float | None, missing: str = "--") -> str:
    return missing if value is None else f"{value:.1f}"


def _hex(value: int | None, width: int = 1, missing: str = "-", lower: bool = False) -> str:
    if value is None:
        return missing
    text = f"{value:0{width}X}"
    return text.lower() if lower else text


def _require_kind(command: AtCommand, *kinds: str) -> None:
    if command.kind not in kinds:
        raise SyntaxFailure(command.text)


def _srxlev(rsrp: float | None) -> str:
    # Srxlev = measured RSRP - Qrxlevmin; -140 dBm is the usual broadcast Qrxlevmin.
    return "-" if rsrp is None else str(round(rsrp + 140))


def _lte_bandwidth_code(_cell: SimCell) -> str:
    # Quectel bandwidth code 5 = 20 MHz, the common macro-cell carrier width.
    return "5"


# --------------------------------------------------------------------------- Quectel


def _quectel_serving(command: AtCommand, ctx: PersonaContext, *, five_g: bool) -> list[str]:
    view = ctx.view
    cell = view.serving
    if cell is None:
        return ['+QENG: "servingcell","SEARCH"']
    state = "NOCONN" if view.registered else "LIMSRV"
    if cell.rat == "LTE" and view.nr_leg is not None:
        nr = view.nr_leg
        return [
            f'+QENG: "servingcell","{state}"',
            f'+QENG: "LTE","FDD",{cell.mcc},{cell.mnc},{_hex(cell.ci)},{_n(cell.pci)},'
            f"{_n(cell.earfcn)},{_n(cell.band)},5,5,{_hex(cell.tac)},{_n(cell.rsrp)},"
            f"{_n(cell.rsrq)},{_n(cell.rssi)},{_n(cell.sinr)},15,-,{_srxlev(cell.rsrp)}",
            f'+QENG: "NR5G-NSA",{cell.mcc},{cell.mnc},{_n(nr.pci)},{_n(nr.rsrp)},{_n(nr.sinr)},'
            f"{_n(nr.rsrq)},{_n(nr.arfcn)},{_n(nr.band)},12,1",
        ]
    head = f'+QENG: "servingcell","{state}"'
    if cell.rat == "LTE":
        extra = "15,-," if five_g else ""
        return [
            f'{head},"LTE","FDD",{cell.mcc},{cell.mnc},{_hex(cell.ci)},{_n(cell.pci)},'
            f"{_n(cell.earfcn)},{_n(cell.band)},5,5,{_hex(cell.tac)},{_n(cell.rsrp)},"
            f"{_n(cell.rsrq)},{_n(cell.rssi)},{_n(cell.sinr)},{extra}{_srxlev(cell.rsrp)}"
        ]
    if cell.rat == "NR":
        return [
            f'{head},"NR5G-SA","TDD",{cell.mcc},{cell.mnc},{_hex(cell.ci)},{_n(cell.pci)},'
            f"{_hex(cell.tac)},{_n(cell.arfcn)},{_n(cell.band)},12,{_n(cell.rsrp)},"
            f"{_n(cell.rsrq)},{_n(cell.sinr)},1,{_srxlev(cell.rsrp)}"
        ]
    if cell.rat == "UMTS":
        return [
            f'{head},"WCDMA",{cell.mcc},{cell.mnc},{_hex(cell.lac)},{_hex(cell.ci)},'
            f"{_n(cell.uarfcn)},{_n(cell.psc)},1,{_n(cell.rscp)},{_n(cell.ecio)},-,-,-,-,-"
        ]
    # GSM: lac, cellid hex; rxlev in dBm; trailing dedicated-mode fields unknown in idle.
    return [
        f'{head},"GSM",{cell.mcc},{cell.mnc},{_hex(cell.lac)},{_hex(cell.ci)},{_n(cell.bsic)},'
        f"{_n(cell.arfcn)},0,{_n(cell.rssi)},-,-,0,30,30,1,-,-,-,-,-,-,-,-,-,-"
    ]


def _quectel_neighbours(ctx: PersonaContext) -> list[str]:
    view = ctx.view
    serving = view.serving
    lines: list[str] = []
    for cell in view.neighbours:
        if cell.rat == "LTE":
            if serving is not None and serving.rat == "LTE" and cell.earfcn == serving.earfcn:
                lines.append(
                    f'+QENG: "neighbourcell intra","LTE",{_n(cell.earfcn)},{_n(cell.pci)},'
                    f"{_n(cell.rsrq)},{_n(cell.rsrp)},{_n(cell.rssi)},{_n(cell.sinr)},"
                    f"{_srxlev(cell.rsrp)},5,8,6,30"
                )
            else:
                lines.append(
                    f'+QENG: "neighbourcell inter","LTE",{_n(cell.earfcn)},{_n(cell.pci)},'
                    f"{_n(cell.rsrq)},{_n(cell.rsrp)},{_n(cell.rssi)},{_n(cell.sinr)},"
                    f"{_srxlev(cell.rsrp)},4,6,8"
                )
        elif cell.rat == "UMTS":
            lines.append(
                f'+QENG: "neighbourcell","WCDMA",{_n(cell.uarfcn)},3,6,6,{_n(cell.psc)},'
                f"{_n(cell.rscp)},{_n(cell.ecio)},{_srxlev(cell.rscp)}"
            )
        elif cell.rat == "GSM":
            lines.append(
                f'+QENG: "neighbourcell","GSM",{cell.mcc or "-"},{cell.mnc or "-"},'
                f"{_hex(cell.lac)},{_hex(cell.ci)},{_n(cell.bsic)},{_n(cell.arfcn)},"
                f"{_n(cell.rssi)},30,30,-,-"
            )
    return lines


def _quectel_qeng(five_g: bool) -> Handler:
    def qeng(command: AtCommand, ctx: PersonaContext) -> list[str]:
        if command.kind == "test":
            return ['+QENG: ("servingcell","neighbourcell")']
        _require_kind(command, "set")
        params = command.params
        if len(params) != 1:
            raise CmeFailure(50)
        if params[0] == "servingcell":
            return _quectel_serving(command, ctx, five_g=five_g)
        if params[0] == "neighbourcell":
            return _quectel_neighbours(ctx)
        raise CmeFailure(50)

    return qeng


def _quectel_qccid(command: AtCommand, ctx: PersonaContext) -> list[str]:
    _require_kind(command, "exec")
    if ctx.iccid is None:
        raise CmeFailure(10)
    # The SIM stores 20 nibbles; a 19-digit ICCID is padded with F, which Quectel prints.
    return [f"+QCCID: {ctx.iccid.ljust(20, 'F')}"]


def _quectel_qpinc(command: AtCommand, ctx: PersonaContext) -> list[str]:
    if not ctx.sim_present:
        raise CmeFailure(10)
    if command.kind == "read":
        return [f'+QPINC: "SC",{ctx.pin_retries},{ctx.puk_retries}', '+QPINC: "P2",3,10']
    _require_kind(command, "set")
    facility = command.params[0] if command.params else ""
    if facility == "SC":
        return [f'+QPINC: "SC",{ctx.pin_retries},{ctx.puk_retries}']
    if facility == "P2":
        return ['+QPINC: "P2",3,10']
    raise CmeFailure(50)


def _quectel_boot(state: str) -> list[str]:
    urcs = ["RDY", "+CFUN: 1"]
    if state == "NOT INSERTED":
        return [*urcs, "+CPIN: NOT INSERTED", "+QUSIM: 0"]
    urcs.append(f"+CPIN: {state}")
    if state == "READY":
        urcs += ["+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"]
    return urcs


def _quectel_ati(model: str, revision: str) -> Callable[[str], list[str]]:
    return lambda imei: ["Quectel", model, f"Revision: {revision}"]


# --------------------------------------------------------------------------- SIMCom


def _simcom_cpsi(command: AtCommand, ctx: PersonaContext) -> list[str]:
    if command.kind == "set":
        return []
    _require_kind(command, "read")
    cell = ctx.view.serving
    if cell is None:
        return ["+CPSI: NO SERVICE,Online"]
    mode = "Online" if ctx.view.registered else "Limited Service"
    plmn = f"{cell.mcc}-{cell.mnc}"
    if cell.rat == "LTE":
        # Cell id in decimal, TAC 0x-hex, signal in tenths of a dB (SIM7600 firmware).
        return [
            f"+CPSI: LTE,{mode},{plmn},0x{_hex(cell.tac, 4)},{_n(cell.ci)},{_n(cell.pci)},"
            f"EUTRAN-BAND{_n(cell.band)},{_n(cell.earfcn)},5,5,{_tenths(cell.rsrq)},"
            f"{_tenths(cell.rsrp)},{_tenths(cell.rssi)},{_n(cell.sinr)}"
        ]
    if cell.rat == "UMTS":
        return [
            f"+CPSI: WCDMA,{mode},{plmn},0x{_hex(cell.lac, 4)},{_n(cell.ci)},"
            f"WCDMA IMT 2000,{_n(cell.psc)},{_n(cell.uarfcn)},0,{_one_decimal(cell.ecio)},"
            f"{_n(cell.rscp)},0,{_n(cell.rssi)},-"
        ]
    return [
        f"+CPSI: GSM,{mode},{plmn},0x{_hex(cell.lac, 4)},{_n(cell.ci)},"
        f"{_n(cell.arfcn)} EGSM 900,{_n(cell.rssi)},0,30-30"
    ]


def _simcom_ciccid(command: AtCommand, ctx: PersonaContext) -> list[str]:
    _require_kind(command, "exec")
    if ctx.iccid is None:
        raise CmeFailure(10)
    return [f"+ICCID: {ctx.iccid}"]


def _simcom_spic(command: AtCommand, ctx: PersonaContext) -> list[str]:
    _require_kind(command, "exec")
    if not ctx.sim_present:
        raise CmeFailure(10)
    return [f"+SPIC: {ctx.pin_retries},{ctx.puk_retries},3,10"]


def _simcom_boot(state: str) -> list[str]:
    if state == "NOT INSERTED":
        return ["RDY", "+CPIN: NOT INSERTED"]
    urcs = ["RDY", f"+CPIN: {state}"]
    if state == "READY":
        urcs += ["SMS DONE", "PB DONE"]
    return urcs


# --------------------------------------------------------------------------- u-blox


def _ublox_ucged(command: AtCommand, ctx: PersonaContext) -> list[str]:
    if command.kind == "test":
        return ["+UCGED: (0,2)"]
    if command.kind == "set":
        params = command.params
        if params not in (["0"], ["2"]):
            raise CmeFailure(50)
        ctx.settings["ucged"] = int(params[0])
        return []
    _require_kind(command, "read")
    mode = ctx.settings.get("ucged", 2)
    if mode == 0:
        return ["+UCGED: 0"]
    cell = ctx.view.serving
    if cell is None:
        return ["+UCGED: 2"]  # mode line only: no cell to report
    svc = 4 if ctx.view.registered else 2
    # RSRP/RSRQ as 36.133 report indexes; TAC and cell id lower-case hex (SARA-R5 layout).
    rsrp_index = "255" if cell.rsrp is None else str(max(0, min(97, int(cell.rsrp + 141))))
    rsrq_index = "255" if cell.rsrq is None else str(max(0, min(34, int((cell.rsrq + 20) * 2))))
    sinr = "255" if cell.sinr is None else f"{cell.sinr:.2f}"
    return [
        "+UCGED: 2",
        f"6,{svc},{cell.mcc},{cell.mnc}",
        f"{_n(cell.earfcn)},{_n(cell.band)},50,50,{_hex(cell.tac, lower=True)},"
        f"{_hex(cell.ci, 7, lower=True)},{_n(cell.pci)},d60814d1,8001,01,{rsrp_index},"
        f"{rsrq_index},{sinr},0,1,15,{rsrp_index},0,0,128,0,0",
    ]


def _ublox_ccid(command: AtCommand, ctx: PersonaContext) -> list[str]:
    if command.kind not in ("exec", "read"):
        raise SyntaxFailure(command.text)
    if ctx.iccid is None:
        raise CmeFailure(10)
    return [f"+CCID: {ctx.iccid}"]


def _ublox_upincnt(command: AtCommand, ctx: PersonaContext) -> list[str]:
    _require_kind(command, "exec")
    if not ctx.sim_present:
        raise CmeFailure(10)
    return [f"+UPINCNT: {ctx.pin_retries},3,{ctx.puk_retries},10"]


# --------------------------------------------------------------------------- Telit


def _telit_servinfo(command: AtCommand, ctx: PersonaContext) -> list[str]:
    _require_kind(command, "exec")
    cell = ctx.view.serving
    if cell is None:
        raise CmeFailure(30)  # no network service
    name = ctx.view.operator_long or ""
    # Field 5 is the hex cell id on real LTE firmware (the manual calls it PhysicalCellId).
    return [
        f'#SERVINFO: {_n(cell.earfcn)},{_n(cell.rssi)},"{name}","{cell.mcc}{cell.mnc}",'
        f"{_hex(cell.ci)},{_hex(cell.tac, 4)},128,3,{_n(cell.rsrp)}"
    ]


def _telit_rfsts(command: AtCommand, ctx: PersonaContext) -> list[str]:
    _require_kind(command, "exec")
    cell = ctx.view.serving
    if cell is None:
        raise CmeFailure(30)
    name = ctx.view.operator_long or ""
    imsi = ctx.imsi or ""
    mm = 19 if ctx.view.registered else 0
    return [
        f'#RFSTS: "{cell.mcc} {cell.mnc}",{_n(cell.earfcn)},{_n(cell.rsrp)},{_n(cell.rssi)},'
        f"{_n(cell.rsrq)},{_hex(cell.tac, 4)},FF,,128,{mm},0,{_hex(cell.ci, 7)},"
        f'"{imsi}","{name}",3,{_n(cell.band)}'
    ]


def _telit_moni(command: AtCommand, ctx: PersonaContext) -> list[str]:
    if command.kind == "test":
        return ["#MONI: (0-7)"]
    if command.kind == "set":
        # Modes 0-6 pick a cell, 7 asks for all of them (what the Telit profile sets up);
        # the simulated module always answers with its serving cell.
        if len(command.params) != 1 or command.params[0] not in {str(n) for n in range(8)}:
            raise CmeFailure(4)
        return []
    _require_kind(command, "exec")
    cell = ctx.view.serving
    if cell is None:
        return ["#MONI: NO SERVICE"]
    name = ctx.view.operator_long or f"{cell.mcc}{cell.mnc}"
    return [
        f"#MONI: {name} RSRP:{_n(cell.rsrp)} RSRQ:{_n(cell.rsrq)} TAC:{_hex(cell.tac, 4)} "
        f"Id:{_hex(cell.ci, 7)} EARFCN:{_n(cell.earfcn)} PWR:{_n(cell.rssi)}dbm DRX:128 "
        f"pci:{_n(cell.pci)} QRxLevMin:-140"
    ]


def _telit_iccid(prefix: str) -> Handler:
    def iccid(command: AtCommand, ctx: PersonaContext) -> list[str]:
        _require_kind(command, "exec")
        if ctx.iccid is None:
            raise CmeFailure(10)
        return [f"{prefix}: {ctx.iccid}"]

    return iccid


# --------------------------------------------------------------------------- Sierra


def _sierra_gstatus(command: AtCommand, ctx: PersonaContext) -> list[str]:
    _require_kind(command, "read", "exec")
    cell = ctx.view.serving
    head = ["!GSTATUS: ", "Current Time:  1024\t\tTemperature: 38",
            "Reset Counter: 1\t\tMode:        ONLINE         "]  # fmt: skip
    if cell is None:
        return [*head, "System mode:   No service \tPS state:    Not attached",
                "EMM state:     Deregistered   \tNo Service"]  # fmt: skip
    emm = (
        "Registered     \tNormal Service "
        if ctx.view.registered
        else ("Registered     \tLimited Service")
    )
    return [
        *head,
        "System mode:   LTE        \tPS state:    Attached     ",
        f"LTE band:      B{_n(cell.band)}     \t\tLTE bw:      20 MHz  ",
        f"LTE Rx chan:   {_n(cell.earfcn)}\t\tLTE Tx chan:  {_n((cell.earfcn or 0) + 18000)}",
        "LTE CA state:  NOT ASSIGNED",
        f"EMM state:     {emm}",
        "RRC state:     RRC Idle       ",
        "IMS reg state: No Srv \t\t",
        f"PCC RxM RSSI:  {_n(cell.rssi, '--')}\t\tRSRP (dBm):  {_n(cell.rsrp, '--')}",
        f"PCC RxD RSSI:  {_n(cell.rssi, '--')}\t\tRSRP (dBm):  {_n(cell.rsrp, '--')}",
        f"Tx Power:      --\t\tTAC:         {_hex(cell.tac, 4, '--', lower=True)} "
        f"({_n(cell.tac, '--')})",
        f"RSRQ (dB):     {_one_decimal(cell.rsrq)}\t\tCell ID:     "
        f"{_hex(cell.ci, 8, '--', lower=True)} ({_n(cell.ci, '--')})",
        f"SINR (dB):     {_one_decimal(cell.sinr)}",
    ]


def _sierra_lteinfo(command: AtCommand, ctx: PersonaContext) -> list[str]:
    _require_kind(command, "read", "exec")
    cell = ctx.view.serving
    if cell is None:
        return ["!LTEINFO: ", "Serving: No LTE service"]
    lines = [
        "!LTEINFO: ",
        "Serving: EARFCN MCC MNC   TAC      CID Bd D U SNR PCI  RSRQ   RSRP   RSSI RXLV",
        f"         {_n(cell.earfcn):<6} {cell.mcc} {cell.mnc:<3} {_n(cell.tac):>5} "
        f"{_hex(cell.ci, 8)} {_n(cell.band):>2} 5 5 {_n(cell.sinr):>3} {_n(cell.pci):>3} "
        f"{_one_decimal(cell.rsrq):>5} {_one_decimal(cell.rsrp):>6} "
        f"{_one_decimal(cell.rssi):>6} --",
        "",
        "IntraFreq:     PCI  RSRQ   RSRP   RSSI RXLV",
    ]
    inter: list[SimCell] = []
    for neighbour in ctx.view.neighbours:
        if neighbour.rat != "LTE":
            continue
        if neighbour.earfcn == cell.earfcn:
            lines.append(
                f"               {_n(neighbour.pci):>3} {_one_decimal(neighbour.rsrq):>5} "
                f"{_one_decimal(neighbour.rsrp):>6} {_one_decimal(neighbour.rssi):>6} --"
            )
        else:
            inter.append(neighbour)
    lines.append("InterFreq: EARFCN ThresholdLow ThresholdHi Priority PCI  RSRQ   RSRP   RSSI RXLV")
    for neighbour in inter:
        lines.append(
            f"           {_n(neighbour.earfcn):>6}            0           0        0 "
            f"{_n(neighbour.pci):>3} {_one_decimal(neighbour.rsrq):>5} "
            f"{_one_decimal(neighbour.rsrp):>6} {_one_decimal(neighbour.rssi):>6} --"
        )
    lines += ["", "WCDMA:", "GSM:"]
    return lines


def _sierra_iccid(command: AtCommand, ctx: PersonaContext) -> list[str]:
    _require_kind(command, "read", "exec")
    if ctx.iccid is None:
        raise CmeFailure(10)
    return [f"!ICCID: {ctx.iccid}"]


# --------------------------------------------------------------------------- Huawei


def _huawei_monsc(command: AtCommand, ctx: PersonaContext) -> list[str]:
    _require_kind(command, "exec")
    cell = ctx.view.serving
    if cell is None:
        return ["^MONSC: NONE"]
    # Empty field = invalid measurement; PCI in hex; cell id, LAC/TAC hex (Balong format).
    if cell.rat == "LTE":
        return [
            f"^MONSC: LTE,{cell.mcc},{cell.mnc},{_n(cell.earfcn)},{_hex(cell.ci, 7, '')},"
            f"{_hex(cell.pci, missing='')},{_hex(cell.tac, 4, '')},{_n(cell.rsrp, '')},"
            f"{_n(cell.rsrq, '')},{_n(cell.rssi, '')}"
        ]
    if cell.rat == "UMTS":
        return [
            f"^MONSC: WCDMA,{cell.mcc},{cell.mnc},{_n(cell.uarfcn)},{_n(cell.psc, '')},"
            f"{_hex(cell.ci, 7, '')},{_hex(cell.lac, 4, '')},{_n(cell.rscp, '')},"
            f"{_n(cell.rssi, '')},{_n(cell.ecio, '')},6,"
        ]
    return [
        f"^MONSC: GSM,{cell.mcc},{cell.mnc},1,{_n(cell.arfcn)},{_n(cell.bsic, '')},"
        f"{_hex(cell.ci, 4, '')},{_hex(cell.lac, 4, '')},{_n(cell.rssi, '')},,"
    ]


def _huawei_monnc(command: AtCommand, ctx: PersonaContext) -> list[str]:
    _require_kind(command, "exec")
    lines: list[str] = []
    for cell in ctx.view.neighbours:
        if cell.rat == "LTE":
            lines.append(
                f"^MONNC: LTE,{_n(cell.earfcn)},{_hex(cell.pci, missing='')},"
                f"{_n(cell.rsrp, '')},{_n(cell.rsrq, '')},{_n(cell.rssi, '')}"
            )
        elif cell.rat == "UMTS":
            lines.append(
                f"^MONNC: WCDMA,{_n(cell.uarfcn)},{_n(cell.psc, '')},{_n(cell.rscp, '')},"
                f"{_n(cell.ecio, '')}"
            )
        elif cell.rat == "GSM":
            lines.append(
                f"^MONNC: GSM,1,{_n(cell.arfcn)},{_n(cell.bsic, '')},{_hex(cell.ci, 4, '')},"
                f"{_hex(cell.lac, 4, '')},{_n(cell.rssi, '')}"
            )
    return lines or ["^MONNC: NONE"]


def _huawei_iccid(command: AtCommand, ctx: PersonaContext) -> list[str]:
    _require_kind(command, "read")
    if ctx.iccid is None:
        raise CmeFailure(10)
    return [f"^ICCID: {ctx.iccid}"]


def _huawei_cpin(command: AtCommand, ctx: PersonaContext) -> list[str]:
    _require_kind(command, "read")
    if not ctx.sim_present:
        raise CmeFailure(10)
    code = "READY" if ctx.sim_state == "READY" else ctx.sim_state
    times = ctx.pin_retries if ctx.sim_state != "SIM PUK" else ctx.puk_retries
    return [f"^CPIN: {code},{times},{ctx.puk_retries},{ctx.pin_retries},10,3"]


# --------------------------------------------------------------------------- Fibocom


def _fibocom_gtccinfo(command: AtCommand, ctx: PersonaContext) -> list[str]:
    _require_kind(command, "read")
    cell = ctx.view.serving
    if cell is None:
        return ["+GTCCINFO: "]

    def rsrp(value: float | None) -> str:
        return "" if value is None else str(max(0, min(97, round(value + 140))))

    def rsrq(value: float | None) -> str:
        return "" if value is None else str(max(0, min(34, round((value + 19.5) * 2))))

    def rxlev(value: float | None) -> str:
        return "" if value is None else str(max(0, min(63, round(value + 111))))

    # MNC unpadded ("228,1" is MNC 01): the width must come from +COPS or the SIM.
    mnc = str(int(cell.mnc)) if cell.mnc is not None else ""
    lines = [
        "+GTCCINFO: ",
        f"1,4,{cell.mcc},{mnc},{_hex(cell.tac, 4)},{_hex(cell.ci, 9)},{_n(cell.earfcn)},"
        f"{_n(cell.pci)},1{_n(cell.band, ''):0>2},100,{_n(cell.sinr, '')},{rxlev(cell.rssi)},"
        f"{rsrp(cell.rsrp)},{rsrq(cell.rsrq)}",
    ]
    neighbours = [n for n in ctx.view.neighbours if n.rat == "LTE"]
    if neighbours:
        lines.append("")
        for n in neighbours:
            lines.append(
                f"2,4,,,FFFF,00FFFFFFF,{_n(n.earfcn)},{_n(n.pci)},,{rxlev(n.rssi)},"
                f"{rsrp(n.rsrp)},{rsrq(n.rsrq)}"
            )
    return lines


def _plain_iccid(prefix: str, kinds: tuple[str, ...] = ("exec",)) -> Handler:
    def iccid(command: AtCommand, ctx: PersonaContext) -> list[str]:
        _require_kind(command, *kinds)
        if ctx.iccid is None:
            raise CmeFailure(10)
        return [f"{prefix}: {ctx.iccid}"]

    return iccid


# --------------------------------------------------------------------------- the catalogue


def _quectel(model: str, revision: str, tac: str, *, five_g: bool) -> Persona:
    handlers: dict[str, Handler] = {
        "+QENG": _quectel_qeng(five_g),
        "+QCCID": _quectel_qccid,
        "+QPINC": _quectel_qpinc,
    }
    return Persona(
        name="quectel-rm500q" if five_g else "quectel-ec25",
        manufacturer="Quectel",
        model=model,
        revision=revision,
        imei_tac=tac,
        ati=_quectel_ati(model, revision),
        handlers=handlers,
        registration_domains=("CREG", "CGREG", "CEREG", "C5GREG")
        if five_g
        else ("CREG", "CGREG", "CEREG"),
        rats=frozenset({"UMTS", "LTE", "NR", "NR-NSA"})
        if five_g
        else frozenset({"GSM", "UMTS", "LTE"}),
        boot_urcs=_quectel_boot,
        sim_removed_urcs=("+CPIN: NOT READY", "+QUSIM: 0"),
        default_cmee=1,
        reg_ci_width=7,
    )


def _build_catalogue() -> dict[str, Persona]:
    personas = [
        _quectel("EC25", "EC25EFAR06A06M4G", "86781904", five_g=False),
        _quectel("RM500Q-GL", "RM500QGLABR11A06M4G", "86553604", five_g=True),
        Persona(
            name="simcom-sim7600",
            manufacturer="SIMCOM INCORPORATED",
            model="SIMCOM_SIM7600E-H",
            revision="SIM7600M22_V1.1",
            imei_tac="86214704",
            ati=lambda imei: [
                "Manufacturer: SIMCOM INCORPORATED",
                "Model: SIMCOM_SIM7600E-H",
                "Revision: SIM7600M22_V1.1",
                f"IMEI: {imei}",
                "+GCAP: +CGSM",
            ],
            handlers={"+CPSI": _simcom_cpsi, "+CICCID": _simcom_ciccid, "+SPIC": _simcom_spic},
            boot_urcs=_simcom_boot,
            sim_removed_urcs=("+CPIN: NOT READY",),
        ),
        Persona(
            name="ublox-sara-r5",
            manufacturer="u-blox",
            model="SARA-R510M8S",
            revision="03.15",
            imei_tac="35446311",
            ati=lambda imei: ["Manufacturer: u-blox", "Model: SARA-R510M8S", "Revision: 03.15"],
            handlers={"+UCGED": _ublox_ucged, "+CCID": _ublox_ccid, "+UPINCNT": _ublox_upincnt},
            rats=frozenset({"LTE"}),
        ),
        Persona(
            name="telit-le910",
            manufacturer="Telit",
            model="LE910C1-EUX",
            revision="25.21.660",
            imei_tac="35302110",
            ati=lambda imei: ["Telit", "LE910C1-EUX", "25.21.660"],
            handlers={
                "#SERVINFO": _telit_servinfo,
                "#RFSTS": _telit_rfsts,
                "#MONI": _telit_moni,
                "+ICCID": _telit_iccid("+ICCID"),
                "#CCID": _telit_iccid("#CCID"),
            },
            rats=frozenset({"LTE"}),
        ),
        Persona(
            name="sierra-em7565",
            manufacturer="Sierra Wireless, Incorporated",
            model="EM7565",
            revision="SWI9X50C_01.14.02.00",
            imei_tac="35907206",
            ati=lambda imei: [
                "Manufacturer: Sierra Wireless, Incorporated",
                "Model: EM7565",
                "Revision: SWI9X50C_01.14.02.00 6c91bc jenkins 2020/02/13 03:09:05",
                f"IMEI: {imei}",
                "IMEI SV: 16",
                "FSN: UF91234567890",
                "+GCAP: +CGSM",
            ],
            handlers={
                "!GSTATUS": _sierra_gstatus,
                "!LTEINFO": _sierra_lteinfo,
                "!ICCID": _sierra_iccid,
            },
            rats=frozenset({"LTE"}),
        ),
        Persona(
            name="huawei-me909s",
            manufacturer="Huawei",
            model="ME909s-120",
            revision="11.617.01.00.00",
            imei_tac="86733402",
            ati=lambda imei: [
                "Manufacturer: Huawei Technologies Co., Ltd.",
                "Model: ME909s-120",
                "Revision: 11.617.01.00.00",
                f"IMEI: {imei}",
                "+GCAP: +CGSM,+DS,+ES",
            ],
            handlers={
                "^MONSC": _huawei_monsc,
                "^MONNC": _huawei_monnc,
                "^ICCID": _huawei_iccid,
                "^CPIN": _huawei_cpin,
            },
            boot_urcs=lambda state: ["^SIMST: 255"] if state == "NOT INSERTED" else ["^SIMST: 1"],
            unknown_result="COMMAND NOT SUPPORT",
        ),
        Persona(
            name="fibocom-l850",
            manufacturer="Fibocom Wireless Inc.",
            model="L850-GL",
            revision="18500.5001.00.01.27.12",
            imei_tac="35479510",
            ati=lambda imei: [
                "Manufacturer: Fibocom Wireless Inc.",
                "Model: L850-GL",
                "Revision: 18500.5001.00.01.27.12",
            ],
            handlers={"+GTCCINFO": _fibocom_gtccinfo, "+ICCID": _plain_iccid("+ICCID")},
            rats=frozenset({"LTE"}),
            unknown_result=None,
            boot_urcs=lambda state: [] if state == "NOT INSERTED" else ["+PBREADY"],
        ),
        Persona(
            name="generic",
            manufacturer="Generic",
            model="27.007 Module",
            revision="1.0",
            imei_tac="35000000",
            ati=lambda imei: ["Generic 27.007 Module", "Revision: 1.0"],
            handlers={"+CCID": _plain_iccid("+CCID", ("exec", "read"))},
            boot_urcs=lambda state: ["RDY"],
        ),
    ]
    return {p.name: p for p in personas}


#: Every profile name the simulator knows, in catalogue order.
PERSONA_NAMES: Final[tuple[str, ...]] = tuple(_build_catalogue())


def get_persona(name: str) -> Persona:
    """The persona called ``name``.

    Raises:
        UnknownPersonaError: no persona has that name (the message lists them all).
    """
    catalogue = _build_catalogue()
    try:
        return catalogue[name]
    except KeyError:
        raise UnknownPersonaError(
            f"unknown modem profile {name!r} (known: {', '.join(catalogue)})"
        ) from None

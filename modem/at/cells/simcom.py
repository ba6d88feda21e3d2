"""SIMCom ``AT+CPSI?`` and ``AT+CCINFO`` (SIM7000/SIM7100/SIM7500/SIM7600/SIM82xx
"AT Command Manual"), as layout tables.

``+CPSI`` rows by system mode (field 0): ``GSM``, ``WCDMA``, ``LTE`` (also ``LTE
CAT-M1``, ``LTE NB-IOT``), ``NR5G_SA``, ``NR5G_NSA`` (the NR leg in EN-DC, printed after
the LTE row; older firmware prints it as ``NR5G`` without the band, with RSRQ before
RSRP), and ``NO SERVICE``. LAC/TAC are ``0x`` hex, **cell ids decimal**, the PLMN is
``MCC-MNC`` with the MNC as printed.

Units: SIM7600-class firmware prints RSRQ/RSRP/RSSI (and NR SINR) in tenths of a dB
(``-1089`` is -108.9 dBm), SIM7000-class in whole dB; the unit is decided per row from
RSRP, whose whole-dB range (-44..-140) cannot overlap tenths. A positive RSRP is no
level in either unit and is dropped. WCDMA rows print RSCP and Ec/Io without their
sign (``…,12.5,83,…`` is -12.5 dB, -83 dBm): both are negative by definition.

``+CCINFO`` lists the serving cell and neighbours as ``[SCELL]``/``[NCell<n>]`` rows of
``KEY:value`` fields (GSM and WCDMA).
"""

from __future__ import annotations

from typing import Any

from modem.at.cells.layout import (
    Band,
    Choice,
    CommandLayouts,
    Const,
    Dec,
    Hex,
    Layout,
    Leading,
    Level,
    Plmn,
    Role,
    Row,
    fields,
    iter_rows,
    read_cells,
    read_rows,
)
from modem.at.cells.report import CellReport
from modem.at.common import clean, split_fields
from modem.models import Rat

__all__ = ["CCINFO_LAYOUTS", "CPSI_LAYOUTS", "parse_ccinfo", "parse_cpsi"]

_LTE_MODES = {
    "LTE": Rat.LTE,
    "LTE CAT-M1": Rat.LTE_M,
    "LTE CAT-M": Rat.LTE_M,
    "CAT-M": Rat.LTE_M,
    "LTE NB-IOT": Rat.NB_IOT,
    "NB-IOT": Rat.NB_IOT,
}
# Whole-dB RSRP never exceeds this magnitude; tenths always do.
_TENTHS_THRESHOLD = 20.0


def _units(*names: str) -> Any:
    """The per-row unit rule: values were read as tenths; whole-dB rows are scaled back."""

    def finish(values: dict[str, Any]) -> dict[str, Any]:
        rsrp = values.get("rsrp")
        if rsrp is not None and rsrp > 0:
            # Not a level in dBm or tenths (seen on index-printing firmware): drop it.
            return {**values, **dict.fromkeys(names)}
        if rsrp is not None and abs(rsrp) < _TENTHS_THRESHOLD:
            return {
                **values,
                **{n: None if values.get(n) is None else values[n] * 10 for n in names},
            }
        return values

    return finish


def _negative(*names: str) -> Any:
    def finish(values: dict[str, Any]) -> dict[str, Any]:
        return {
            **values,
            **{n: None if values.get(n) is None else -abs(values[n]) for n in names},
        }

    return finish


_CODECS = {
    "modes": Choice(_LTE_MODES),
    "plmn": Plmn(),
    "area": Hex(width=4, prefix="0x"),
    "tac6": Hex(width=6, prefix="0x"),
    "tenths": Level(scale=10),
    "eband": Band("EUTRAN-BAND"),
    "nrband": Band("NR5G_BAND"),
    "lead": Leading(" EGSM 900"),
    "ecio": Level(decimals=1, signless=True),
    "rscp": Level(signless=True),
    "dbm": Level(suffix="dbm"),
    "nomode": Choice({"NO SERVICE": "NO SERVICE", "NONE": "NONE"}),
    "word": r"[A-Za-z][A-Za-z ]*",
    "nrband_word": r"NR5G_BAND\d+",
    "long": r"\d{5,}",
    "digits": r"\d+",
    "ncell": r"NCELL\d*",
    "dec": Dec(),
    "tag": Const("NCell"),
}
_S = Role.SERVING
_N = Role.NEIGHBOUR
_NR_SIGNAL = "rsrp:tenths,rsrq:tenths,sinr:tenths"
_NR_UNITS = _units("rsrp", "rsrq", "sinr")

#: ``+CPSI:`` rows. DL/UL bandwidth code 5 is 20 MHz.
CPSI_LAYOUTS: dict[str, Layout] = {
    "LTE": Layout("SIMCom LTE serving cell", _S, fields(
        "rat:modes,state,mcc+mnc:plmn,tac:area,ci:dec,pci,band:eband,earfcn,=5,=5,"
        "rsrq:tenths,rsrp:tenths,rssi:tenths,sinr", _CODECS),
        sizes=range(12, 40), finish=_units("rsrq", "rsrp", "rssi")),
    "NR": Layout("SIMCom NR5G_SA serving cell", _S, fields(
        "@NR5G_SA|NR5G,state~word,mcc+mnc:plmn,tac:tac6,ci:dec,pci,band:nrband,arfcn,"
        + _NR_SIGNAL,
        _CODECS), rat=Rat.NR, sizes=range(11, 40), finish=_NR_UNITS),
    # The NR leg in EN-DC: PCI, band, NR-ARFCN, RSRP, RSRQ, SINR[, SCS, bandwidth].
    "NR-NSA": Layout("SIMCom NR5G_NSA leg", Role.NR_LEG, fields(
        f"@NR5G_NSA|NR5G,pci,band:nrband~nrband_word,arfcn,{_NR_SIGNAL},=1,=12", _CODECS),
        rat=Rat.NR, sizes=range(7, 40), finish=_NR_UNITS),
    # Early SIM8200 firmware: no band, RSRQ before RSRP.
    "NR-NSA-OLD": Layout("SIMCom NR5G_NSA leg (early firmware)", Role.NR_LEG, fields(
        "@NR5G_NSA|NR5G,pci,arfcn~long,rsrq:tenths,rsrp:tenths,sinr:tenths", _CODECS),
        rat=Rat.NR, sizes=range(6, 7), finish=_NR_UNITS),
    "UMTS": Layout("SIMCom WCDMA serving cell", _S, fields(
        "@WCDMA,state,mcc+mnc:plmn,lac:area,ci:dec,=WCDMA IMT 2000,psc,uarfcn,=0,ecio:ecio,"
        "rscp:rscp,=0,rssi*,=-", _CODECS),
        rat=Rat.UMTS, sizes=range(11, 40), finish=_negative("ecio", "rscp")),
    # GSM: "<ARFCN> <band>" in one field, then RxLev, track LO adjust, C1-C2.
    "GSM": Layout("SIMCom GSM serving cell", _S, fields(
        "@GSM,state,mcc+mnc:plmn,lac:area,ci:dec,arfcn:lead,rssi,=0,=30-30", _CODECS),
        rat=Rat.GSM, sizes=range(7, 40)),
    "NO-SERVICE": Layout("SIMCom no service", Role.NO_CELL,
                         fields("state:nomode,=Online", _CODECS)),
}  # fmt: skip

_CPSI = CommandLayouts("+CPSI", tuple(CPSI_LAYOUTS.values()))


def parse_cpsi(text: str) -> CellReport:
    """Parse the answer to ``AT+CPSI?``.

    Returns:
        The serving cell (``no_cell`` for ``NO SERVICE``); in EN-DC the NR leg is the
        report's ``nr_leg``.

    Raises:
        ParseError: no ``+CPSI:`` line, an unknown system mode, or unreadable fields.
    """
    return read_cells(_CPSI, text)


def _key_values(body: str) -> Row:
    """``[SCELL],UARFCN:4436,MCC:505,…`` as ``{"CELL": "SCELL", "UARFCN": "4436", …}``."""
    row: dict[str, str] = {}
    for item in split_fields(body):
        key, colon, value = clean(item).partition(":")
        if colon:
            row[key.strip().upper()] = value.strip()
        elif item.strip().startswith("["):
            row["CELL"] = clean(item).strip("[]").upper()
    return row


_CCINFO_UMTS = (
    "UARFCN::uarfcn~digits,{}PSC::psc,SSC::=0,RSCP::rscp:rscp,ECIO::ecio:ecio,RXLev::rssi:dbm"
)
_CCINFO_GSM = "ARFCN::arfcn~digits,{}RXLev::rssi:dbm"
_IDENTITY = "MCC::mcc,MNC::mnc,LAC::lac:dec,ID::ci:dec,"

#: ``+CCINFO:`` rows (serving cell first, then neighbours), ``KEY:value`` fields.
CCINFO_LAYOUTS: dict[str, Layout] = {
    "UMTS-SERVING": Layout("SIMCom WCDMA serving cell", _S, fields(
        "CELL::@SCELL," + _CCINFO_UMTS.format(_IDENTITY), _CODECS),
        rat=Rat.UMTS, finish=_negative("rscp", "ecio")),
    "UMTS": Layout("SIMCom WCDMA neighbour", _N, fields(
        "CELL::_:tag~ncell," + _CCINFO_UMTS.format(""), _CODECS),
        rat=Rat.UMTS, finish=_negative("rscp", "ecio")),
    "GSM-SERVING": Layout("SIMCom GSM serving cell", _S, fields(
        "CELL::@SCELL," + _CCINFO_GSM.format(_IDENTITY), _CODECS),
        rat=Rat.GSM),
    "GSM": Layout("SIMCom GSM neighbour", _N, fields(
        "CELL::_:tag~ncell," + _CCINFO_GSM.format(_IDENTITY), _CODECS), rat=Rat.GSM),
}  # fmt: skip

_CCINFO = CommandLayouts("+CCINFO", tuple(CCINFO_LAYOUTS.values()), split=_key_values)


def parse_ccinfo(text: str) -> CellReport:
    """Parse the answer to ``AT+CCINFO`` (serving cell and neighbours, GSM/WCDMA).

    Raises:
        ParseError: no ``+CCINFO:`` line, a row of an unknown kind, or unreadable values.
    """
    # An answer of just OK (in LTE service the module lists no GSM/WCDMA cells) is no cell.
    return read_rows(_CCINFO, iter_rows(_CCINFO, text), seen=True)

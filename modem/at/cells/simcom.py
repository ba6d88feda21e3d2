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
    Digits,
    Field,
    Hex,
    Layout,
    Leading,
    Level,
    Plmn,
    Role,
    Row,
    Text,
    Word,
    constants,
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


_DEC = Dec()
_TENTHS = Level(scale=10)
_DBM = Level()
_STATE = Field("state", 1, Text())
_PLMN = Field(("mcc", "mnc"), 2, Plmn())
_AREA = Hex(width=4, prefix="0x")

#: ``+CPSI:`` rows.
CPSI_LAYOUTS: dict[str, Layout] = {
    "LTE": Layout(
        "SIMCom LTE serving cell",
        Role.SERVING,
        (
            Field("rat", 0, Choice(_LTE_MODES)),
            _STATE,
            _PLMN,
            Field("tac", 3, _AREA),
            Field("ci", 4, _DEC),
            Field("pci", 5, _DEC),
            Field("band", 6, Band("EUTRAN-BAND")),
            Field("earfcn", 7, _DEC),
            # DL bandwidth code, UL bandwidth code
            *constants(8, "5", "5"),
            Field("rsrq", 10, _TENTHS),
            Field("rsrp", 11, _TENTHS),
            Field("rssi", 12, _TENTHS),
            Field("sinr", 13, _DBM),
        ),
        sizes=range(12, 40),
        finish=_units("rsrq", "rsrp", "rssi"),
    ),
    "NR": Layout(
        "SIMCom NR5G_SA serving cell",
        Role.SERVING,
        (
            Field(None, 0, Word(("NR5G_SA", "NR5G"))),
            Field("state", 1, Text(), match=r"[A-Za-z][A-Za-z ]*"),
            _PLMN,
            Field("tac", 3, Hex(width=6, prefix="0x")),
            Field("ci", 4, _DEC),
            Field("pci", 5, _DEC),
            Field("band", 6, Band("NR5G_BAND")),
            Field("arfcn", 7, _DEC),
            Field("rsrp", 8, _TENTHS),
            Field("rsrq", 9, _TENTHS),
            Field("sinr", 10, _TENTHS),
        ),
        rat=Rat.NR,
        sizes=range(11, 40),
        finish=_units("rsrp", "rsrq", "sinr"),
    ),
    "NR-NSA": Layout(
        "SIMCom NR5G_NSA leg",
        Role.NR_LEG,
        (
            Field(None, 0, Word(("NR5G_NSA", "NR5G"))),
            Field("pci", 1, _DEC),
            Field("band", 2, Band("NR5G_BAND"), match=r"NR5G_BAND\d+"),
            Field("arfcn", 3, _DEC),
            Field("rsrp", 4, _TENTHS),
            Field("rsrq", 5, _TENTHS),
            Field("sinr", 6, _TENTHS),
            # SCS, NR DL bandwidth
            *constants(7, "1", "12"),
        ),
        rat=Rat.NR,
        sizes=range(7, 40),
        finish=_units("rsrp", "rsrq", "sinr"),
    ),
    "NR-NSA-OLD": Layout(
        "SIMCom NR5G_NSA leg (early firmware)",
        Role.NR_LEG,
        (
            Field(None, 0, Word(("NR5G_NSA", "NR5G"))),
            Field("pci", 1, _DEC),
            Field("arfcn", 2, _DEC, match=r"\d{5,}"),
            Field("rsrq", 3, _TENTHS),
            Field("rsrp", 4, _TENTHS),
            Field("sinr", 5, _TENTHS),
        ),
        rat=Rat.NR,
        sizes=range(6, 7),
        finish=_units("rsrp", "rsrq", "sinr"),
    ),
    "UMTS": Layout(
        "SIMCom WCDMA serving cell",
        Role.SERVING,
        (
            Field(None, 0, Word(("WCDMA",))),
            _STATE,
            _PLMN,
            Field("lac", 3, _AREA),
            Field("ci", 4, _DEC),
            Field(None, 5, Const("WCDMA IMT 2000")),
            Field("psc", 6, _DEC),
            Field("uarfcn", 7, _DEC),
            Field(None, 8, Const("0")),  # SSC
            Field("ecio", 9, Level(decimals=1, signless=True)),
            Field("rscp", 10, Level(signless=True)),
            Field(None, 11, Const("0")),  # Qual
            Field("rssi", 12, _DBM, read=False),
            Field(None, 13, Const("-")),  # TX power
        ),
        rat=Rat.UMTS,
        sizes=range(11, 40),
        finish=_negative("ecio", "rscp"),
    ),
    "GSM": Layout(
        "SIMCom GSM serving cell",
        Role.SERVING,
        (
            Field(None, 0, Word(("GSM",))),
            _STATE,
            _PLMN,
            Field("lac", 3, _AREA),
            Field("ci", 4, _DEC),
            Field("arfcn", 5, Leading(" EGSM 900")),
            Field("rssi", 6, _DBM),
            # track LO adjust, C1-C2
            *constants(7, "0", "30-30"),
        ),
        rat=Rat.GSM,
        sizes=range(7, 40),
    ),
    "NO-SERVICE": Layout(
        "SIMCom no service",
        Role.NO_CELL,
        (
            Field("state", 0, Choice({"NO SERVICE": "NO SERVICE", "NONE": "NONE"})),
            Field(None, 1, Const("Online")),
        ),
    ),
}

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


_SCELL = Word(("SCELL",))
_NCELL = Field(None, "CELL", Const("NCell"), match=r"NCELL\d*")
_RXLEV = Level(suffix="dbm")


def _ccinfo_wcdma(role: Role, cell: Field, *identity: Field) -> Layout:
    return Layout(
        f"SIMCom WCDMA {'serving cell' if role is Role.SERVING else 'neighbour'}",
        role,
        (
            cell,
            Field("uarfcn", "UARFCN", _DEC, match=r"\d+"),
            *identity,
            Field("psc", "PSC", _DEC),
            Field(None, "SSC", Const("0")),
            Field("rscp", "RSCP", Level(signless=True)),
            Field("ecio", "ECIO", Level(decimals=1, signless=True)),
            Field("rssi", "RXLev", _RXLEV),
        ),
        rat=Rat.UMTS,
        finish=_negative("rscp", "ecio"),
    )


def _ccinfo_gsm(role: Role, cell: Field, *identity: Field) -> Layout:
    return Layout(
        f"SIMCom GSM {'serving cell' if role is Role.SERVING else 'neighbour'}",
        role,
        (
            cell,
            Field("arfcn", "ARFCN", _DEC, match=r"\d+"),
            *identity,
            Field("rssi", "RXLev", _RXLEV),
        ),
        rat=Rat.GSM,
    )


_IDENTITY = (
    Field("mcc", "MCC", Digits()),
    Field("mnc", "MNC", Digits()),
    Field("lac", "LAC", _DEC),
    Field("ci", "ID", _DEC),
)

#: ``+CCINFO:`` rows (serving cell first, then neighbours).
CCINFO_LAYOUTS: dict[str, Layout] = {
    "UMTS-SERVING": _ccinfo_wcdma(Role.SERVING, Field(None, "CELL", _SCELL), *_IDENTITY),
    "UMTS": _ccinfo_wcdma(Role.NEIGHBOUR, _NCELL),
    "GSM-SERVING": _ccinfo_gsm(Role.SERVING, Field(None, "CELL", _SCELL), *_IDENTITY),
    "GSM": _ccinfo_gsm(Role.NEIGHBOUR, _NCELL, *_IDENTITY),
}

_CCINFO = CommandLayouts("+CCINFO", tuple(CCINFO_LAYOUTS.values()), split=_key_values)


def parse_ccinfo(text: str) -> CellReport:
    """Parse the answer to ``AT+CCINFO`` (serving cell and neighbours, GSM/WCDMA).

    Raises:
        ParseError: no ``+CCINFO:`` line, a row of an unknown kind, or unreadable values.
    """
    # An answer of just OK (in LTE service the module lists no GSM/WCDMA cells) is no cell.
    return read_rows(_CCINFO, iter_rows(_CCINFO, text), seen=True)

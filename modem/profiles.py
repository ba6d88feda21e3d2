"""Vendor profiles: which read commands give the richest cell data on a module family.

A profile is chosen from the ``AT+CGMI`` and ``AT+CGMM`` answers (:func:`select_profile`).
Unknown modules get the generic 27.007 profile, which relies on registration reports
alone. Profiles only *read*: the one exception is ``urc_enable_commands``, which the
driver sends only when the user asks for registration reports (``+CxREG=2``: unsolicited
registration changes with location, 27.007 §7.2).

The profile table is data, built fresh by :func:`select_profile`; nothing here holds
state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from modem.at.cells import (
    CellReport,
    parse_ccinfo,
    parse_cpsi,
    parse_gstatus,
    parse_gtccinfo,
    parse_lteinfo,
    parse_moni,
    parse_monnc,
    parse_monsc,
    parse_qeng_neighbourcell,
    parse_qeng_servingcell,
    parse_rfsts,
    parse_servinfo,
    parse_smoni,
    parse_smonp,
    parse_ucged,
    parse_ucged_measurements,
)

__all__ = ["PROFILE_NAMES", "CellQuery", "VendorProfile", "select_profile"]


@dataclass(frozen=True, slots=True)
class CellQuery:
    """One read command that reports cells, and how to understand its answer.

    Attributes:
        command: the command line to send, e.g. ``AT+QENG="servingcell"``.
        prefix: the prefix (or prefixes) of the answer's information lines, with the
            colon (``+QENG:``); lines without a prefix (u-blox, Fibocom, Sierra tables)
            also belong to the answer.
        parse: the parser for the whole answer.
        setup: commands that select the report format this query needs (``AT+UCGED=2``
            on u-blox). They change only how the module reports, never the radio; the
            driver sends them once before the first query.
    """

    command: str
    prefix: str | tuple[str, ...]
    parse: Callable[[str], CellReport]
    setup: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VendorProfile:
    """What to ask a module family for cell and registration data.

    Attributes:
        name: the family (``quectel``, ``simcom``… or ``generic``).
        serving_queries: serving-cell queries, richest first.
        neighbour_queries: neighbour-cell queries (empty when the family's serving query
            already lists neighbours or the family has none).
        iccid_command: the command that prints the ICCID on this family.
        urc_enable_commands: commands that turn on registration reports with location.
        registration_queries: ``AT+CxREG?`` read commands the family answers.
    """

    name: str
    serving_queries: tuple[CellQuery, ...]
    neighbour_queries: tuple[CellQuery, ...]
    iccid_command: str
    urc_enable_commands: tuple[str, ...]
    registration_queries: tuple[str, ...]


_LTE_REG = ("AT+CREG?", "AT+CGREG?", "AT+CEREG?")
_NR_REG = (*_LTE_REG, "AT+C5GREG?")
_LTE_URC = ("AT+CREG=2", "AT+CGREG=2", "AT+CEREG=2")
_NR_URC = (*_LTE_URC, "AT+C5GREG=2")
_GENERIC_ICCID = "AT+CRSM=176,12258,0,0,10"

#: Every family name :func:`select_profile` can return.
PROFILE_NAMES = (
    "quectel",
    "simcom",
    "ublox",
    "telit",
    "sierra",
    "huawei",
    "fibocom",
    "cinterion",
    "generic",
)


def _profile(
    name: str,
    serving: tuple[CellQuery, ...],
    neighbours: tuple[CellQuery, ...],
    iccid: str,
    *,
    nr: bool,
) -> VendorProfile:
    return VendorProfile(
        name=name,
        serving_queries=serving,
        neighbour_queries=neighbours,
        iccid_command=iccid,
        urc_enable_commands=_NR_URC if nr else _LTE_URC,
        registration_queries=_NR_REG if nr else _LTE_REG,
    )


def _family_profile(family: str, *, nr: bool, model: str = "") -> VendorProfile:
    if family == "quectel":
        return _profile(
            family,
            (CellQuery('AT+QENG="servingcell"', "+QENG:", parse_qeng_servingcell),),
            (CellQuery('AT+QENG="neighbourcell"', "+QENG:", parse_qeng_neighbourcell),),
            "AT+QCCID",
            nr=nr,
        )
    if family == "simcom":
        return _profile(
            family,
            (CellQuery("AT+CPSI?", "+CPSI:", parse_cpsi),),
            (CellQuery("AT+CCINFO", "+CCINFO:", parse_ccinfo),),
            "AT+CICCID",
            nr=nr,
        )
    if family == "ublox":
        if model.startswith("SARA-R4") and not model.startswith("SARA-R422"):
            # SARA-R4 has no short form: its measurement form lists every cell it hears.
            query = CellQuery(
                "AT+UCGED?",
                ("+UCGED:", "+RSRP:", "+RSRQ:"),
                parse_ucged_measurements,
                setup=("AT+UCGED=5",),
            )
        else:
            query = CellQuery("AT+UCGED?", "+UCGED:", parse_ucged, setup=("AT+UCGED=2",))
        return _profile(family, (query,), (), "AT+CCID", nr=nr)
    if family == "telit":
        return _profile(
            family,
            (
                CellQuery("AT#RFSTS", "#RFSTS:", parse_rfsts),
                CellQuery("AT#SERVINFO", "#SERVINFO:", parse_servinfo),
            ),
            (CellQuery("AT#MONI", "#MONI:", parse_moni, setup=("AT#MONI=7",)),),
            "AT+ICCID",
            nr=nr,
        )
    if family == "sierra":
        return _profile(
            family,
            (
                CellQuery("AT!LTEINFO?", "!LTEINFO:", parse_lteinfo),
                CellQuery("AT!GSTATUS?", "!GSTATUS:", parse_gstatus),
            ),
            (),
            "AT!ICCID?",
            nr=nr,
        )
    if family == "huawei":
        return _profile(
            family,
            (CellQuery("AT^MONSC", "^MONSC:", parse_monsc),),
            (CellQuery("AT^MONNC", "^MONNC:", parse_monnc),),
            "AT^ICCID?",
            nr=nr,
        )
    if family == "fibocom":
        return _profile(
            family,
            (CellQuery("AT+GTCCINFO?", "+GTCCINFO:", parse_gtccinfo),),
            (),
            "AT+ICCID",
            nr=nr,
        )
    if family == "cinterion":
        return _profile(
            family,
            (CellQuery("AT^SMONI", "^SMONI:", parse_smoni),),
            (CellQuery("AT^SMONP", "^SMONP:", parse_smonp),),
            "AT+CCID",
            nr=nr,
        )
    return _profile("generic", (), (), _GENERIC_ICCID, nr=True)


# (family, words in +CGMI, model prefixes in +CGMM, model prefixes of its 5G modules)
_FAMILIES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "quectel",
        ("quectel",),
        ("EC2", "EG2", "EG9", "EG0", "EG1", "EM0", "EM1", "EP0", "BG9", "BG7", "RM5", "RG5"),
        ("RM5", "RG5", "RM2", "RG2"),
    ),
    ("simcom", ("simcom", "simtech"), ("SIMCOM_SIM", "SIM7", "SIM8", "A76"), ("SIM82", "SIM83")),
    ("ublox", ("u-blox", "ublox"), ("SARA", "LARA", "TOBY", "LISA"), ()),
    ("telit", ("telit",), ("LE910", "LE866", "LM960", "ME910", "ME310", "LN9", "FN9"), ("FN9",)),
    ("sierra", ("sierra",), ("EM74", "EM75", "EM91", "MC73", "MC74", "MC77", "EM7"), ("EM91",)),
    ("huawei", ("huawei",), ("ME909", "ME906", "MU709", "MH50"), ("MH50",)),
    (
        "fibocom",
        ("fibocom",),
        ("L850", "L860", "FM350", "FM150", "FM160", "NL668", "FG1"),
        (
            "FM350",
            "FM150",
            "FM160",
            "FG1",
        ),
    ),
    ("cinterion", ("cinterion", "thales", "gemalto", "siemens"), ("PLS", "ELS", "EXS", "BGS"), ()),
)


def select_profile(manufacturer: str | None, model: str | None) -> VendorProfile:
    """Pick the profile for a module from its ``+CGMI`` and ``+CGMM`` answers.

    The manufacturer decides when it names a known maker; otherwise the model's prefix
    does (some modules answer ``+CGMI`` with their chipset maker). 5G models also get
    ``+C5GREG``.

    Args:
        manufacturer: the ``+CGMI`` answer, or None when the module gave none.
        model: the ``+CGMM`` answer, or None.

    Returns:
        The family profile, or the generic 27.007 profile for unknown modules.
    """
    maker = (manufacturer or "").strip().lower()
    name = (model or "").strip().upper()
    bare_model = name.removeprefix("SIMCOM_")
    for family, makers, models, nr_models in _FAMILIES:
        by_maker = any(word in maker for word in makers)
        by_model = name.startswith(models) or bare_model.startswith(models)
        if by_maker or (by_model and not _names_other_maker(maker, family)):
            nr = bool(nr_models) and bare_model.startswith(nr_models)
            return _family_profile(family, nr=nr, model=bare_model)
    return _family_profile("generic", nr=True)


def _names_other_maker(maker: str, family: str) -> bool:
    """True when the manufacturer string names a known maker other than ``family``."""
    return any(
        word in maker for other, makers, _, _ in _FAMILIES if other != family for word in makers
    )

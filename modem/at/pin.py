"""PIN and PUK retry counters: which command each module family answers, and its layout.

27.007 has ``AT+CPINR`` (§8.65) for this, but most modules answer only their vendor's
command, each with its own field order:

==========  ===================  =========================================================
family      command              answer
==========  ===================  =========================================================
quectel     ``AT+QPINC="SC"``    ``+QPINC: "SC",<pin>,<puk>``
simcom      ``AT+SPIC``          ``+SPIC: <pin1>,<puk1>,<pin2>,<puk2>`` (SIM7x00, SIM8200)
simcom 2G   ``AT+SPIC``          ``+SPIC: <pin1>,<pin2>,<puk1>,<puk2>`` (SIM800, SIM900)
huawei      ``AT^CPIN?``         ``^CPIN: <code>,[<times>],<puk>,<pin>,<puk2>,<pin2>``
sierra      ``AT+CPINC?``        ``+CPINC: <pin1>,<pin2>,<puk1>,<puk2>``
ublox       ``AT+UPINCNT``       ``+UPINCNT: <pin>,<pin2>,<puk>,<puk2>``
telit       ``AT#PCT``           ``#PCT: <n>``, for the password ``+CPIN?`` asks for now
fibocom     ``AT+GTPINCNT``      ``+GTPINCNT: <pin1>,<pin2>,<puk1>,<puk2>``
cinterion   ``AT^SPIC="SC"``     ``^SPIC: <counter>`` (PIN); ``AT^SPIC="SC",1`` the PUK
generic     ``AT+CPINR="SIM*"``  ``+CPINR: <code>,<retries>,<default retries>`` per code
==========  ===================  =========================================================

Sources: the vendors' AT command manuals as restated by ModemManager (Huawei, Sierra,
u-blox, Cinterion plugins), oFono's ``drivers/atmodem/sim.c`` (SIMCom, Telit, Huawei) and
the SIM7500/SIM7600 manual's ``AT+SPIC`` example (``+SPIC: 3,10,0,10``).
"""

from __future__ import annotations

from dataclasses import dataclass

from modem.at.cells.layout import Layout, Role, fields, read_row, select_layout
from modem.at.common import payload, split_fields, split_lines
from modem.errors import ParseError

__all__ = [
    "CURRENT_COUNTER_QUERIES",
    "PIN_COUNTER_QUERIES",
    "PinCounterQuery",
    "PinCounters",
    "pin_counter_queries",
    "read_pin_counters",
]


@dataclass(frozen=True, slots=True)
class PinCounters:
    """Attempts left, as far as the module says.

    Attributes:
        pin: PIN attempts left (0 means the PUK is needed).
        puk: PUK attempts left (0 means the SIM is blocked).
        current: attempts left for the password the SIM asks for now (Telit ``#PCT``,
            which does not say which one); the driver files it under PIN or PUK.
    """

    pin: int | None = None
    puk: int | None = None
    current: int | None = None


@dataclass(frozen=True, slots=True)
class PinCounterQuery:
    """One command that reports retry counters, and the layouts of its answer lines.

    Attributes:
        command: the command line to send.
        prefix: the answer prefix without the colon.
        layouts: tried in order on each answer line; their fields hold ``pin``, ``puk``
            or ``current``.
    """

    command: str
    prefix: str
    layouts: tuple[Layout, ...]


def _query(command: str, prefix: str, name: str, *specs: str) -> PinCounterQuery:
    """A query whose answer lines each fit one of ``specs`` (layout specs, see
    :func:`~modem.at.cells.layout.fields`); PIN2/PUK2 and the like are printed, not kept."""
    return PinCounterQuery(
        command, prefix, tuple(Layout(name, Role.IGNORE, fields(spec)) for spec in specs)
    )


#: The retry-counter queries of each module family (several for Cinterion).
PIN_COUNTER_QUERIES: dict[str, tuple[PinCounterQuery, ...]] = {
    "quectel": (_query('AT+QPINC="SC"', "+QPINC", "Quectel +QPINC", '"SC",pin,puk'),),
    "simcom": (_query("AT+SPIC", "+SPIC", "SIMCom +SPIC", "pin,puk,pin2*,puk2*"),),
    "simcom-2g": (_query("AT+SPIC", "+SPIC", "SIMCom 2G +SPIC", "pin,pin2*,puk,puk2*"),),
    "huawei": (_query("AT^CPIN?", "^CPIN", "Huawei ^CPIN", "state*,current,puk,pin,puk2*,pin2*"),),
    "sierra": (_query("AT+CPINC?", "+CPINC", "Sierra +CPINC", "pin,pin2*,puk,puk2*"),),
    "ublox": (_query("AT+UPINCNT", "+UPINCNT", "u-blox +UPINCNT", "pin,pin2*,puk,puk2*"),),
    "telit": (_query("AT#PCT", "#PCT", "Telit #PCT", "current"),),
    "fibocom": (_query("AT+GTPINCNT", "+GTPINCNT", "Fibocom +GTPINCNT", "pin,pin2*,puk,puk2*"),),
    "cinterion": (
        _query('AT^SPIC="SC"', "^SPIC", "Cinterion ^SPIC", "pin"),
        _query('AT^SPIC="SC",1', "^SPIC", "Cinterion ^SPIC PUK", "puk"),
    ),
    # 27.007 §8.65: one line per code; other codes (SIM PIN2…) are skipped.
    "generic": (
        _query(
            'AT+CPINR="SIM*"',
            "+CPINR",
            "+CPINR",
            "@SIM PIN,pin,pin2*",
            "@SIM PUK,puk,puk2*",
            "state",
        ),
    ),
}

#: Queries whose single counter is for the password the SIM asks for now, by family.
CURRENT_COUNTER_QUERIES: dict[str, PinCounterQuery] = {
    "telit": PIN_COUNTER_QUERIES["telit"][0],
    "cinterion": _query("AT^SPIC", "^SPIC", "Cinterion ^SPIC", "current"),
}

# SIMCom's 2G modules print PIN2 before PUK1; their model names start like this.
_SIMCOM_2G_MODELS = ("SIM800", "SIM808", "SIM868", "SIM900", "SIM908")


def pin_counter_queries(family: str, model: str | None = None) -> tuple[PinCounterQuery, ...]:
    """The retry-counter queries for a module family (and, for SIMCom, its model).

    Args:
        family: a profile name (``quectel``…); unknown names get the 27.007 query.
        model: the ``+CGMM`` answer, which tells SIMCom's 2G modules apart.
    """
    name = (model or "").upper().removeprefix("SIMCOM_")
    if family == "simcom" and name.startswith(_SIMCOM_2G_MODELS):
        family = "simcom-2g"
    return PIN_COUNTER_QUERIES.get(family, PIN_COUNTER_QUERIES["generic"])


def read_pin_counters(query: PinCounterQuery, text: str) -> PinCounters:
    """Read the answer to one retry-counter query.

    Raises:
        ParseError: no answer line with the query's prefix, or unreadable counters.
    """
    values: dict[str, int | None] = {}
    seen = False
    for line in split_lines(text):
        body = payload(line, (query.prefix,))
        if body is None:
            continue
        seen = True
        fields = split_fields(body)
        layout = select_layout(query.layouts, fields)
        if layout is None:
            continue  # another facility's line (+QPINC: "P2",…)
        for name, value in read_row(layout, fields, line).items():
            if value is not None:
                values.setdefault(name, value)
    if not seen:
        raise ParseError(f"no {query.prefix} line in the answer", text)
    return PinCounters(pin=values.get("pin"), puk=values.get("puk"), current=values.get("current"))

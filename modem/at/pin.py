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

from modem.at.cells.layout import Dec, Field, Layout, Role, Text, Word, read_row, select_layout
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

_DEC = Dec()


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


def _counters(name: str, *fields: Field) -> Layout:
    return Layout(name, Role.IGNORE, fields)


def _four(name: str, order: tuple[str, ...]) -> Layout:
    """A layout of four counters in the given order; PIN2/PUK2 are printed, not kept."""
    return _counters(
        name,
        *(
            Field(attr, index, _DEC, read=attr in ("pin", "puk"))
            for index, attr in enumerate(order)
        ),
    )


_SIMCOM = PinCounterQuery(
    "AT+SPIC",
    "+SPIC",
    (_four("SIMCom +SPIC", ("pin", "puk", "pin2", "puk2")),),
)
_SIMCOM_2G = PinCounterQuery(
    "AT+SPIC",
    "+SPIC",
    (_four("SIMCom 2G +SPIC", ("pin", "pin2", "puk", "puk2")),),
)

#: The retry-counter queries of each module family (several for Cinterion).
PIN_COUNTER_QUERIES: dict[str, tuple[PinCounterQuery, ...]] = {
    "quectel": (
        PinCounterQuery(
            'AT+QPINC="SC"',
            "+QPINC",
            (
                _counters(
                    "Quectel +QPINC",
                    Field(None, 0, Word(("SC",), quoted=True)),
                    Field("pin", 1, _DEC),
                    Field("puk", 2, _DEC),
                ),
            ),
        ),
    ),
    "simcom": (_SIMCOM,),
    "simcom-2g": (_SIMCOM_2G,),
    "huawei": (
        PinCounterQuery(
            "AT^CPIN?",
            "^CPIN",
            (
                _counters(
                    "Huawei ^CPIN",
                    Field("state", 0, Text(), read=False),
                    Field("current", 1, _DEC),
                    Field("puk", 2, _DEC),
                    Field("pin", 3, _DEC),
                    Field("puk2", 4, _DEC, read=False),
                    Field("pin2", 5, _DEC, read=False),
                ),
            ),
        ),
    ),
    "sierra": (
        PinCounterQuery(
            "AT+CPINC?", "+CPINC", (_four("Sierra +CPINC", ("pin", "pin2", "puk", "puk2")),)
        ),
    ),
    "ublox": (
        PinCounterQuery(
            "AT+UPINCNT", "+UPINCNT", (_four("u-blox +UPINCNT", ("pin", "pin2", "puk", "puk2")),)
        ),
    ),
    "telit": (
        PinCounterQuery("AT#PCT", "#PCT", (_counters("Telit #PCT", Field("current", 0, _DEC)),)),
    ),
    "fibocom": (
        PinCounterQuery(
            "AT+GTPINCNT",
            "+GTPINCNT",
            (_four("Fibocom +GTPINCNT", ("pin", "pin2", "puk", "puk2")),),
        ),
    ),
    "cinterion": (
        PinCounterQuery(
            'AT^SPIC="SC"', "^SPIC", (_counters("Cinterion ^SPIC", Field("pin", 0, _DEC)),)
        ),
        PinCounterQuery(
            'AT^SPIC="SC",1', "^SPIC", (_counters("Cinterion ^SPIC PUK", Field("puk", 0, _DEC)),)
        ),
    ),
    "generic": (
        PinCounterQuery(
            'AT+CPINR="SIM*"',
            "+CPINR",
            (
                _counters(
                    "+CPINR SIM PIN",
                    Field(None, 0, Word(("SIM PIN",))),
                    Field("pin", 1, _DEC),
                    Field(None, 2, Dec(), read=False),
                ),
                _counters(
                    "+CPINR SIM PUK",
                    Field(None, 0, Word(("SIM PUK",))),
                    Field("puk", 1, _DEC),
                    Field(None, 2, Dec(), read=False),
                ),
                _counters("+CPINR other code", Field(None, 0, Text())),
            ),
        ),
    ),
}

#: Queries whose single counter is for the password the SIM asks for now, by family.
CURRENT_COUNTER_QUERIES: dict[str, PinCounterQuery] = {
    "telit": PIN_COUNTER_QUERIES["telit"][0],
    "cinterion": PinCounterQuery(
        "AT^SPIC", "^SPIC", (_counters("Cinterion ^SPIC", Field("current", 0, _DEC)),)
    ),
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

"""Personas: how each simulated module family words its answers.

Each persona reproduces one vendor's real dialect: identity strings, the ICCID command,
the vendor serving and neighbour cell commands, signal and PIN-counter commands, boot
URCs, and how unknown commands fail. The cell, signal and counter answers are printed
by :mod:`modem.sim.vendors` from the parsers' own layout tables. The engine supplies the
state; a persona only turns a :class:`~modem.sim.dialect.PersonaContext` into lines.

=================  ====================================================  =====================
profile            cell commands                                         RATs
=================  ====================================================  =====================
quectel-ec25       AT+QENG="servingcell" / "neighbourcell"               GSM, UMTS, LTE
quectel-rm500q     AT+QENG="servingcell" / "neighbourcell"               UMTS, LTE, NR, NR NSA
simcom-sim7600     AT+CPSI?, AT+CCINFO                                   GSM, UMTS, LTE
simcom-sim8262     AT+CPSI?, AT+CCINFO                                   UMTS, LTE, NR, NR NSA
ublox-sara-r5      AT+UCGED? (mode 2)                                    LTE (LTE-M)
ublox-sara-r4      AT+UCGED? (mode 5: every cell's RSRP/RSRQ)            LTE
ublox-lara-r6      AT+UCGED? (mode 2)                                    GSM, UMTS, LTE
telit-le910        AT#SERVINFO, AT#RFSTS, AT#MONI, AT#CSURVC             GSM, UMTS, LTE
sierra-em7565      AT!GSTATUS?, AT!LTEINFO?                              UMTS, LTE
sierra-em9191      AT!GSTATUS?, AT!LTEINFO?                              UMTS, LTE, NR, NR NSA
huawei-me909s      AT^MONSC, AT^MONNC, AT^HCSQ?                          GSM, UMTS, LTE
huawei-mh5000      AT^MONSC, AT^MONNC, AT^HCSQ?                          UMTS, LTE, NR
fibocom-l850       AT+GTCCINFO?                                          LTE
fibocom-fm350      AT+GTCCINFO?                                          LTE, NR, NR NSA
cinterion-pls8     AT^SMONI, AT^SMONP                                    GSM, UMTS, LTE
generic            (27.007 registration only)                            GSM, UMTS, LTE
=================  ====================================================  =====================

Neighbours are printed in each vendor's layout for every RAT that layout has (Fibocom and
Huawei MONNC list LTE/NR and all RATs respectively; SIMCom's ``+CCINFO`` lists GSM and
WCDMA only, as the real command does).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from modem.sim import vendors
from modem.sim.dialect import AtCommand, CmeFailure, Handler, PersonaContext, SyntaxFailure
from modem.sim.errors import UnknownPersonaError

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
    rats: frozenset[str] = frozenset({"GSM", "UMTS", "LTE"})
    boot_urcs: Callable[[str], list[str]] = field(default=lambda state: [])
    sim_removed_urcs: tuple[str, ...] = ()
    unknown_result: str | None = "ERROR"
    default_cmee: int = 0
    reg_ci_width: int = 8

    @property
    def registration_domains(self) -> tuple[str, ...]:
        """Which of CREG/CGREG/CEREG/C5GREG the module answers: C5GREG only with NR."""
        return _NR_DOMAINS if "NR" in self.rats else _DOMAINS


_DOMAINS = ("CREG", "CGREG", "CEREG")
_NR_DOMAINS = (*_DOMAINS, "C5GREG")
_FIVE_G = frozenset({"UMTS", "LTE", "NR", "NR-NSA"})


def _iccid(prefix: str, kinds: tuple[str, ...] = ("exec",), *, padded: bool = False) -> Handler:
    """The family's ICCID command (readable while the SIM is PIN-locked)."""

    def iccid(command: AtCommand, ctx: PersonaContext) -> list[str]:
        if command.kind not in kinds:
            raise SyntaxFailure(command.text)
        if ctx.iccid is None:
            raise CmeFailure(10)
        # The SIM stores 20 nibbles; a 19-digit ICCID is padded with F, which Quectel prints.
        return [f"{prefix}: {ctx.iccid.ljust(20, 'F') if padded else ctx.iccid}"]

    return iccid


def _quectel_boot(state: str) -> list[str]:
    urcs = ["RDY", "+CFUN: 1"]
    if state == "NOT INSERTED":
        return [*urcs, "+CPIN: NOT INSERTED", "+QUSIM: 0"]
    urcs.append(f"+CPIN: {state}")
    if state == "READY":
        urcs += ["+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"]
    return urcs


def _simcom_boot(state: str) -> list[str]:
    if state == "NOT INSERTED":
        return ["RDY", "+CPIN: NOT INSERTED"]
    urcs = ["RDY", f"+CPIN: {state}"]
    if state == "READY":
        urcs += ["SMS DONE", "PB DONE"]
    return urcs


def _labelled_ati(
    manufacturer: str,
    model: str,
    revision: str,
    *,
    after_imei: tuple[str, ...] | None = ("+GCAP: +CGSM",),
) -> Callable[[str], list[str]]:
    """An ``ATI`` answer of labelled lines; ``after_imei`` None: the family prints no IMEI."""
    head = [f"Manufacturer: {manufacturer}", f"Model: {model}", f"Revision: {revision}"]
    if after_imei is None:
        return lambda imei: list(head)
    return lambda imei: [*head, f"IMEI: {imei}", *after_imei]


def _plain_ati(*lines: str) -> Callable[[str], list[str]]:
    """An ``ATI`` answer of fixed, unlabelled lines."""
    return lambda imei: list(lines)


def _quectel(name: str, model: str, revision: str, tac: str, *, five_g: bool) -> Persona:
    return Persona(
        name=name,
        manufacturer="Quectel",
        model=model,
        revision=revision,
        imei_tac=tac,
        ati=_plain_ati("Quectel", model, f"Revision: {revision}"),
        handlers={
            "+QENG": vendors.quectel_qeng(rm5=five_g),
            "+QCCID": _iccid("+QCCID", padded=True),
            "+QPINC": vendors.quectel_qpinc,
        },
        rats=_FIVE_G if five_g else frozenset({"GSM", "UMTS", "LTE"}),
        boot_urcs=_quectel_boot,
        sim_removed_urcs=("+CPIN: NOT READY", "+QUSIM: 0"),
        default_cmee=1,
        reg_ci_width=7,
    )


def _simcom(name: str, model: str, revision: str, tac: str, *, five_g: bool) -> Persona:
    return Persona(
        name=name,
        manufacturer="SIMCOM INCORPORATED",
        model=model,
        revision=revision,
        imei_tac=tac,
        ati=_labelled_ati("SIMCOM INCORPORATED", model, revision),
        handlers={
            "+CPSI": vendors.simcom_cpsi,
            "+CCINFO": vendors.simcom_ccinfo,
            "+CICCID": _iccid("+ICCID"),
            "+SPIC": vendors.pin_counters("simcom"),
        },
        rats=_FIVE_G if five_g else frozenset({"GSM", "UMTS", "LTE"}),
        boot_urcs=_simcom_boot,
        sim_removed_urcs=("+CPIN: NOT READY",),
    )


def _ublox(name: str, model: str, family: str, rats: frozenset[str]) -> Persona:
    return Persona(
        name=name,
        manufacturer="u-blox",
        model=model,
        revision="03.15",
        imei_tac="35446311",
        ati=_labelled_ati("u-blox", model, "03.15", after_imei=None),
        handlers={
            "+UCGED": vendors.ublox_ucged(family),
            "+CCID": _iccid("+CCID", ("exec", "read")),
            "+UPINCNT": vendors.pin_counters("ublox"),
        },
        rats=rats,
    )


def _sierra(name: str, model: str, revision: str, tac: str, *, five_g: bool) -> Persona:
    return Persona(
        name=name,
        manufacturer="Sierra Wireless, Incorporated",
        model=model,
        revision=revision,
        imei_tac=tac,
        ati=_labelled_ati(
            "Sierra Wireless, Incorporated",
            model,
            f"{revision} 6c91bc jenkins 2020/02/13 03:09:05",
            after_imei=("IMEI SV: 16", "FSN: UF91234567890", "+GCAP: +CGSM"),
        ),
        handlers={
            "!GSTATUS": vendors.sierra_gstatus,
            "!LTEINFO": vendors.sierra_lteinfo,
            "!ICCID": _iccid("!ICCID", ("read", "exec")),
            "+CPINC": vendors.pin_counters("sierra", kinds=("read", "exec")),
        },
        rats=_FIVE_G if five_g else frozenset({"UMTS", "LTE"}),
    )


def _huawei(name: str, model: str, revision: str, tac: str, rats: frozenset[str]) -> Persona:
    return Persona(
        name=name,
        manufacturer="Huawei",
        model=model,
        revision=revision,
        imei_tac=tac,
        ati=_labelled_ati(
            "Huawei Technologies Co., Ltd.", model, revision, after_imei=("+GCAP: +CGSM,+DS,+ES",)
        ),
        handlers={
            "^MONSC": vendors.huawei_monsc,
            "^MONNC": vendors.huawei_monnc,
            "^HCSQ": vendors.huawei_hcsq,
            "^ICCID": _iccid("^ICCID", ("read",)),
            "^CPIN": vendors.huawei_cpin,
        },
        rats=rats,
        boot_urcs=lambda state: ["^SIMST: 255"] if state == "NOT INSERTED" else ["^SIMST: 1"],
        unknown_result="COMMAND NOT SUPPORT",
    )


def _fibocom(name: str, model: str, revision: str, tac: str, *, five_g: bool) -> Persona:
    return Persona(
        name=name,
        manufacturer="Fibocom Wireless Inc.",
        model=model,
        revision=revision,
        imei_tac=tac,
        ati=_labelled_ati("Fibocom Wireless Inc.", model, revision, after_imei=None),
        handlers={
            "+GTCCINFO": vendors.fibocom_gtccinfo,
            "+ICCID": _iccid("+ICCID"),
            "+GTPINCNT": vendors.pin_counters("fibocom", kinds=("exec", "read")),
        },
        rats=frozenset({"LTE", "NR", "NR-NSA"}) if five_g else frozenset({"LTE"}),
        unknown_result=None,
        boot_urcs=lambda state: [] if state == "NOT INSERTED" else ["+PBREADY"],
    )


def _build_catalogue() -> dict[str, Persona]:
    telit_model = "LE910C1-EUX"
    cinterion_model = "PLS8-E"
    personas = [
        _quectel("quectel-ec25", "EC25", "EC25EFAR06A06M4G", "86781904", five_g=False),
        _quectel("quectel-rm500q", "RM500Q-GL", "RM500QGLABR11A06M4G", "86553604", five_g=True),
        _simcom("simcom-sim7600", "SIMCOM_SIM7600E-H", "SIM7600M22_V1.1", "86214704", five_g=False),
        _simcom("simcom-sim8262", "SIMCOM_SIM8262E-M2", "SIM8262M2_V1.0", "86214905", five_g=True),
        _ublox("ublox-sara-r5", "SARA-R510M8S", "sara-r5", frozenset({"LTE"})),
        _ublox("ublox-sara-r4", "SARA-R410M-02B", "sara-r4", frozenset({"LTE"})),
        _ublox("ublox-lara-r6", "LARA-R6401", "lara-r6", frozenset({"GSM", "UMTS", "LTE"})),
        Persona(
            name="telit-le910",
            manufacturer="Telit",
            model=telit_model,
            revision="25.21.660",
            imei_tac="35302110",
            ati=_plain_ati("Telit", telit_model, "25.21.660"),
            handlers={
                "#SERVINFO": vendors.telit_servinfo,
                "#RFSTS": vendors.telit_rfsts,
                "#MONI": vendors.telit_moni,
                "#CSURVC": vendors.telit_csurvc,
                "#PCT": vendors.telit_pct,
                "+ICCID": _iccid("+ICCID"),
                "#CCID": _iccid("#CCID"),
            },
        ),
        _sierra("sierra-em7565", "EM7565", "SWI9X50C_01.14.02.00", "35907206", five_g=False),
        _sierra("sierra-em9191", "EM9191", "SWIX55C_03.09.06.00", "35907210", five_g=True),
        _huawei(
            "huawei-me909s",
            "ME909s-120",
            "11.617.01.00.00",
            "86733402",
            frozenset({"GSM", "UMTS", "LTE"}),
        ),
        _huawei(
            "huawei-mh5000",
            "MH5000-31",
            "11.203.07.00.00",
            "86733410",
            frozenset({"UMTS", "LTE", "NR"}),
        ),
        _fibocom("fibocom-l850", "L850-GL", "18500.5001.00.01.27.12", "35479510", five_g=False),
        _fibocom("fibocom-fm350", "FM350-GL", "81600.0000.00.29.21.02", "35479512", five_g=True),
        Persona(
            name="cinterion-pls8",
            manufacturer="Cinterion",
            model=cinterion_model,
            revision="REVISION 03.017",
            imei_tac="35732405",
            ati=_plain_ati("Cinterion", cinterion_model, "REVISION 03.017"),
            handlers={
                "^SMONI": vendors.cinterion_smoni,
                "^SMONP": vendors.cinterion_smonp,
                "^SPIC": vendors.cinterion_spic,
                "+CCID": _iccid("+CCID", ("exec", "read")),
            },
            boot_urcs=lambda state: ["^SYSSTART"],
        ),
        Persona(
            name="generic",
            manufacturer="Generic",
            model="27.007 Module",
            revision="1.0",
            imei_tac="35000000",
            ati=_plain_ati("Generic 27.007 Module", "Revision: 1.0"),
            handlers={"+CCID": _iccid("+CCID", ("exec", "read"))},
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

"""The simulated SIM: its slot state and the 27.007 commands answered from the card.

The engine owns one :class:`SimSlot`; the SIM commands (``+CPIN``, ``+CIMI``, ``+CNUM``,
``+CRSM``) read and change only the card, so they live here, listed in
:data:`SIM_COMMANDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from modem.sim.dialect import AtCommand, CmeFailure, SyntaxFailure
from modem.sim.errors import ControlError
from modem.sim.scenario import SimCard, luhn_check_digit

__all__ = ["SIM_COMMANDS", "SimSlot"]


@dataclass(slots=True)
class SimSlot:
    """The SIM in the module's slot: its identities, PIN/PUK counters and ``+CPIN`` state."""

    present: bool
    imsi: str
    iccid: str
    msisdn: str | None
    pin: str
    puk: str
    pin_enabled: bool
    pin_retries: int
    puk_retries: int
    mnc_length: int
    state: str = "READY"

    def power_on(self) -> None:
        """Set the state a SIM reaches at power-on (PIN asked again if enabled)."""
        if not self.present:
            self.state = "NOT INSERTED"
        elif self.puk_retries == 0:
            self.state = "BLOCKED"
        elif self.pin_retries == 0:
            self.state = "SIM PUK"
        elif self.pin_enabled:
            self.state = "SIM PIN"
        else:
            self.state = "READY"

    @classmethod
    def from_card(cls, card: SimCard) -> SimSlot:
        """The slot holding the scenario's card, before power-on."""
        return cls(
            present=card.present,
            imsi=card.imsi,
            iccid=card.iccid,
            msisdn=card.msisdn,
            pin=card.pin,
            puk=card.puk,
            pin_enabled=card.lock != "none",
            pin_retries=0 if card.lock == "puk" else card.pin_retries,
            puk_retries=card.puk_retries,
            mnc_length=card.mnc_length,
        )

    def swapped(self, *, imsi: str, iccid: str, msisdn: str | None) -> SimSlot:
        """An unlocked card with these identities in this slot, before power-on.

        Raises:
            ControlError: an identity is malformed (IMSI 6..15 digits, ICCID 19..20 digits
                with a valid Luhn check digit, MSISDN optional ``+`` and 3..15 digits).
        """
        if not (imsi.isascii() and imsi.isdigit() and 6 <= len(imsi) <= 15):
            raise ControlError(f"imsi must be 6..15 digits, got {imsi!r}")
        if not (iccid.isascii() and iccid.isdigit() and 19 <= len(iccid) <= 20):
            raise ControlError(f"iccid must be 19..20 digits, got {iccid!r}")
        if luhn_check_digit(iccid[:-1]) != iccid[-1]:
            raise ControlError(f"iccid {iccid!r} has a wrong Luhn check digit")
        if msisdn is not None:
            digits = msisdn.removeprefix("+")
            if not (digits.isascii() and digits.isdigit() and 3 <= len(digits) <= 15):
                raise ControlError(f"msisdn must be an optional '+' and 3..15 digits: {msisdn!r}")
        return SimSlot(
            present=True,
            imsi=imsi,
            iccid=iccid,
            msisdn=msisdn,
            pin=self.pin,
            puk=self.puk,
            pin_enabled=False,
            pin_retries=3,
            puk_retries=10,
            mnc_length=self.mnc_length,
        )

    def require_ready(self) -> None:
        """Raise the +CME ERROR of a SIM that is missing, locked or blocked."""
        state = self.state
        if state == "NOT INSERTED":
            raise CmeFailure(10)
        if state == "SIM PIN":
            raise CmeFailure(11)
        if state == "SIM PUK":
            raise CmeFailure(12)
        if state == "BLOCKED":
            raise CmeFailure(13)

    def cpin(self, command: AtCommand) -> list[str]:
        """``AT+CPIN``: the state, or PIN / PUK entry (27.007 §8.3)."""
        sim = self
        if command.kind == "test":
            return []
        if command.kind == "read":
            if sim.state == "NOT INSERTED":
                raise CmeFailure(10)
            if sim.state == "BLOCKED":
                raise CmeFailure(13)
            return [f"+CPIN: {sim.state}"]
        if command.kind != "set":
            raise SyntaxFailure(command.text)
        params = command.params
        if not params or len(params) > 2 or not all(p.isascii() and p.isdigit() for p in params):
            raise CmeFailure(50)
        if sim.state == "NOT INSERTED":
            raise CmeFailure(10)
        if sim.state == "BLOCKED":
            raise CmeFailure(13)
        if sim.state == "READY":
            raise CmeFailure(3)
        if sim.state == "SIM PIN":
            if len(params) != 1 or not 4 <= len(params[0]) <= 8:
                raise CmeFailure(50)
            if params[0] != sim.pin:
                sim.pin_retries -= 1
                if sim.pin_retries == 0:
                    sim.state = "SIM PUK"
                raise CmeFailure(16)
            sim.pin_retries = 3
            sim.state = "READY"
            return []
        # SIM PUK: <puk>,<newpin>
        if len(params) != 2 or len(params[0]) != 8 or not 4 <= len(params[1]) <= 8:
            raise CmeFailure(50)
        if params[0] != sim.puk:
            sim.puk_retries -= 1
            if sim.puk_retries == 0:
                sim.state = "BLOCKED"
            raise CmeFailure(16)
        sim.pin = params[1]
        sim.pin_retries = 3
        sim.puk_retries = 10
        sim.state = "READY"
        return []

    def cimi(self, command: AtCommand) -> list[str]:
        """``AT+CIMI``: the IMSI of a ready SIM."""
        if command.kind == "test":
            return []
        if command.kind != "exec":
            raise SyntaxFailure(command.text)
        self.require_ready()
        return [self.imsi]

    def cnum(self, command: AtCommand) -> list[str]:
        """``AT+CNUM``: the subscriber number, if the SIM has one."""
        if command.kind == "test":
            return []
        if command.kind != "exec":
            raise SyntaxFailure(command.text)
        self.require_ready()
        msisdn = self.msisdn
        if msisdn is None:
            return []
        number_type = 145 if msisdn.startswith("+") else 129
        return [f'+CNUM: "","{msisdn}",{number_type}']

    def crsm(self, command: AtCommand) -> list[str]:
        """``AT+CRSM``: READ BINARY of EF_ICCID and EF_AD (27.007 §8.18)."""
        if command.kind == "test":
            return []
        if command.kind != "set":
            raise SyntaxFailure(command.text)
        params = command.params
        if len(params) < 2 or not all(p.isdigit() for p in params[:5] if p):
            raise CmeFailure(50)
        if not self.present:
            raise CmeFailure(10)
        if params[0] != "176":  # READ BINARY only
            return ["+CRSM: 109,0"]
        if params[1] == "12258":  # EF_ICCID, BCD with swapped nibbles
            padded = self.iccid.ljust(20, "F")
            swapped = "".join(padded[i + 1] + padded[i] for i in range(0, 20, 2))
            return [f'+CRSM: 144,0,"{swapped}"']
        if params[1] == "28589":  # EF_AD: byte 4 is the MNC length
            self.require_ready()
            return [f'+CRSM: 144,0,"000000{self.mnc_length:02X}"']
        return ["+CRSM: 106,130"]


#: The SIM commands by name: each answers from the slot alone.
SIM_COMMANDS: Final[dict[str, Callable[[SimSlot, AtCommand], list[str]]]] = {
    "+CPIN": SimSlot.cpin,
    "+CIMI": SimSlot.cimi,
    "+CNUM": SimSlot.cnum,
    "+CRSM": SimSlot.crsm,
}

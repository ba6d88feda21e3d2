"""SMS submission (``AT+CMGS``, 27.005 §3.5.1): the messages the host sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from modem.sim.dialect import CmsFailure

__all__ = ["SentMessage", "SmsPrompt", "sms_prompt", "submitted_message"]


@dataclass(frozen=True, slots=True)
class SentMessage:
    """An SMS the host submitted with ``AT+CMGS``.

    Attributes:
        reference: the message reference the modem answered (``+CMGS: <mr>``).
        mode: ``"pdu"`` or ``"text"`` (``+CMGF``).
        length: the ``<length>`` argument (PDU mode) or ``None``.
        pdu: the hex PDU as sent (PDU mode), upper-cased.
        number: the destination (text mode).
        text: the message text (text mode).
    """

    reference: int
    mode: str
    length: int | None = None
    pdu: str | None = None
    number: str | None = None
    text: str | None = None


def submitted_message(
    reference: int, mode: str, length: int | None, number: str | None, body: str
) -> SentMessage:
    """The message the host typed after the ``AT+CMGS`` prompt.

    Raises:
        CmsFailure: 304, a PDU that is not hex or whose ``<length>`` does not match.
    """
    if mode == "text":
        return SentMessage(reference=reference, mode="text", number=number, text=body)
    pdu = "".join(body.split()).upper()
    try:
        octets = bytes.fromhex(pdu)
    except ValueError:
        raise CmsFailure(304) from None
    # <length> counts the TPDU only: total octets minus the SMSC field (27.005 §3.5.1).
    if not octets or octets[0] + 1 > len(octets) or len(octets) - octets[0] - 1 != length:
        raise CmsFailure(304)
    return SentMessage(reference=reference, mode="pdu", length=length, pdu=pdu)


#: An open ``AT+CMGS`` prompt: mode (``pdu``/``text``), ``<length>`` (PDU), number (text).
SmsPrompt: TypeAlias = tuple[str, int | None, str | None]


def sms_prompt(params: list[str], *, text_mode: bool, sim_state: str) -> SmsPrompt:
    """The prompt ``AT+CMGS=<params>`` opens, given ``+CMGF`` and the SIM's ``+CPIN`` state.

    Raises:
        CmsFailure: 310/311/316 for a missing or locked SIM, 304/305 for a bad ``<length>``
            (PDU mode) or destination (text mode).
    """
    if sim_state == "NOT INSERTED":
        raise CmsFailure(310)
    if sim_state == "SIM PIN":
        raise CmsFailure(311)
    if sim_state in ("SIM PUK", "BLOCKED"):
        raise CmsFailure(316)
    if not text_mode:
        if len(params) != 1 or not params[0].isdigit() or not 7 <= int(params[0]) <= 164:
            raise CmsFailure(304)
        return ("pdu", int(params[0]), None)
    number = params[0]
    if not number or not number.removeprefix("+").isdigit():
        raise CmsFailure(305)
    return ("text", None, number)

"""Identities: IMSI (``+CIMI``, 27.007 §7.1), ICCID (vendor commands and ``+CRSM`` on
EF_ICCID), IMEI (``+CGSN``, §5.4), own number (``+CNUM``, §7.1), SIM state (``+CPIN``,
§8.3), and the manufacturer/model/revision strings (``+CGMI``/``+CGMM``/``+CGMR``, §5.1-5.3).

Identities are checked, not just copied: an IMEI must pass its Luhn check, an ICCID must
start with the telecom MII ``89`` and have 18 to 20 characters (hex letters only after the
issuer digits), an IMSI must be 6 to 15 digits. Text that fails is a ``ParseError``,
never a wrong identity. An ICCID's Luhn check digit is *not* enforced: E.118 check digits
are not reliable across issuers (ModemManager does not check them either); whether it
holds is reported by :func:`iccid_luhn_ok`.
"""

from __future__ import annotations

import re

from modem.at.common import clean, dec, payload, split_fields, split_lines
from modem.errors import ParseError
from modem.models import SimState

__all__ = [
    "iccid_luhn_ok",
    "luhn_check_digit",
    "luhn_valid",
    "parse_cgmi",
    "parse_cgmm",
    "parse_cgmr",
    "parse_cgsn",
    "parse_cimi",
    "parse_cnum",
    "parse_cpin",
    "parse_crsm_iccid",
    "parse_crsm_mnc_length",
    "parse_iccid",
]

# Lines that are framing, not answers; echo lines start with "AT".
_FINALS = frozenset({"OK", "ERROR"})

_ICCID_PREFIXES = ("+CCID", "+ICCID", "+QCCID", "+CICCID", "^ICCID", "!ICCID", "#CCID", "^SCID")

# +CPIN codes, longest first so "SIM PUK2" is not read as "SIM PUK" (ModemManager's rule).
_CPIN_STATES: tuple[tuple[str, SimState], ...] = (
    ("PH-NETSUB PIN", SimState.PH_NET_PIN),
    ("PH-NETSUB PUK", SimState.PH_NET_PIN),
    ("PH-FSIM PIN", SimState.PH_SIM_PIN),
    ("PH-FSIM PUK", SimState.PH_SIM_PIN),
    ("PH-CORP PIN", SimState.PH_NET_PIN),
    ("PH-CORP PUK", SimState.PH_NET_PIN),
    ("PH-SIM PIN", SimState.PH_SIM_PIN),
    ("PH-NET PIN", SimState.PH_NET_PIN),
    ("PH-NET PUK", SimState.PH_NET_PIN),
    ("PH-SP PIN", SimState.PH_NET_PIN),
    ("PH-SP PUK", SimState.PH_NET_PIN),
    ("NOT INSERTED", SimState.NOT_INSERTED),
    ("NOT READY", SimState.UNKNOWN),
    ("SIM PIN2", SimState.SIM_PIN2),
    ("SIM PUK2", SimState.SIM_PUK2),
    ("SIM PIN", SimState.SIM_PIN),
    ("SIM PUK", SimState.SIM_PUK),
    ("SIM FAILURE", SimState.FAILURE),
    ("SIM BUSY", SimState.BUSY),
    ("READY", SimState.READY),
)

# CRSM status words that mean success (ModemManager): 90 00, 91 xx, 92 xx, 9F xx.
_CRSM_OK_SW1 = frozenset({0x90, 0x91, 0x92, 0x9F})


def luhn_valid(number: str) -> bool:
    """True when a digit string passes the Luhn (mod 10) check."""
    if not number.isdigit() or not number.isascii():
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def luhn_check_digit(digits: str) -> str:
    """The Luhn check digit that makes ``digits + check`` valid (ISO/IEC 7812).

    Args:
        digits: the payload digits, without the check digit.

    Returns:
        One digit as a string.

    Raises:
        ValueError: ``digits`` is empty or not all decimal digits.
    """
    if not digits or not digits.isdigit():
        raise ValueError(f"Luhn payload must be decimal digits, got {digits!r}")
    total = 0
    # Double every second digit counting from the right of the payload, because the
    # check digit itself will take the rightmost (undoubled) position.
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def _answer_lines(text: str) -> list[str]:
    """Information lines of an answer: echo (``AT…``) and final results removed."""
    return [
        line
        for line in split_lines(text)
        if line.upper() not in _FINALS and not line.upper().startswith("AT")
    ]


def parse_cimi(text: str) -> str:
    """Parse the IMSI from ``AT+CIMI`` (bare digits, or ``+CIMI: <imsi>`` on some modules).

    Raises:
        ParseError: no line of 6 to 15 digits.
    """
    for line in _answer_lines(text):
        value = payload(line, ("+CIMI",))
        candidate = clean(value if value is not None else line)
        if candidate.isdigit() and candidate.isascii() and 6 <= len(candidate) <= 15:
            return candidate
        raise ParseError("IMSI must be 6 to 15 digits", line)
    raise ParseError("no IMSI in the answer", text)


def _normalise_iccid(raw: str, source: str) -> str:
    """Check and normalise one ICCID value (ModemManager's ``mm_3gpp_parse_iccid`` rules).

    Spaces and quotes are dropped; a nibble-swapped value (starting ``98``) is swapped back;
    trailing ``F`` padding is removed; hex letters are allowed only from position 6 on
    (some operators issue such ICCIDs); the result must be 18 to 20 characters and start
    with the telecom MII ``89``. The Luhn check digit is not enforced (see the module
    docstring).
    """
    value = clean(raw).replace(" ", "").upper()
    if value.startswith("98"):
        if len(value) != 20:
            raise ParseError("a swapped ICCID must have 20 digits", source)
        value = "".join(value[i + 1] + value[i] for i in range(0, 20, 2))
    value = value.rstrip("F")
    if not 18 <= len(value) <= 20:
        raise ParseError("ICCID must have 18 to 20 digits", source)
    if not value[:6].isdigit() or not all(c in "0123456789ABCDEF" for c in value):
        raise ParseError("ICCID holds characters other than digits", source)
    if not value.startswith("89"):
        raise ParseError("ICCID does not start with the telecom MII 89", source)
    return value


def iccid_luhn_ok(iccid: str) -> bool | None:
    """Whether an ICCID's last digit is its Luhn check digit (E.118).

    Returns:
        True or False for an all-digit ICCID, None when it holds hex letters (no Luhn
        check is defined then). Many issuers print ICCIDs whose check digit does not
        hold, so False is information, not an error.
    """
    return luhn_valid(iccid) if iccid.isdigit() else None


def parse_crsm_iccid(text: str) -> str:
    """Parse ``+CRSM: <sw1>,<sw2>,"<data>"`` from ``AT+CRSM=176,12258,0,0,10`` (EF_ICCID).

    The data is nibble-swapped BCD (``98231420…`` is ``89324102…``).

    Raises:
        ParseError: no ``+CRSM:`` line, a failing status word, or an invalid ICCID.
    """
    data = _crsm_data(text)
    if not all(c in "0123456789abcdefABCDEF" for c in data) or len(data) % 2:
        raise ParseError("+CRSM data is not hex bytes", text)
    swapped = "".join(data[i + 1] + data[i] for i in range(0, len(data), 2))
    return _normalise_iccid(swapped, text)


def _crsm_data(text: str) -> str:
    for line in split_lines(text):
        body = payload(line, ("+CRSM",))
        if body is None:
            continue
        fields = split_fields(body)
        if len(fields) < 3:
            raise ParseError("+CRSM answer without data", text)
        sw1 = dec(fields[0], "+CRSM <sw1>")
        if sw1 not in _CRSM_OK_SW1:
            raise ParseError(f"+CRSM status word {sw1} is not success", text)
        return clean(fields[2])
    raise ParseError("no +CRSM line in the answer", text)


def parse_crsm_mnc_length(text: str) -> int:
    """Read the MNC length from ``AT+CRSM=176,28589,0,0,4`` (EF_AD, 31.102 §4.2.18), byte 4.

    Returns:
        2 or 3.

    Raises:
        ParseError: no ``+CRSM:`` line, failing status, or byte 4 is not 2 or 3.
    """
    data = _crsm_data(text)
    if len(data) < 8 or not all(c in "0123456789abcdefABCDEF" for c in data):
        raise ParseError("EF_AD answer shorter than four bytes", text)
    length = int(data[6:8], 16) & 0x0F
    if length not in (2, 3):
        raise ParseError(f"EF_AD MNC length {length} is not 2 or 3", text)
    return length


def parse_iccid(text: str) -> str:
    """Parse an ICCID in any vendor form.

    Accepts ``+CCID:``, ``+ICCID:``, ``+QCCID:``, ``+CICCID:``, ``^ICCID:``, ``!ICCID:``,
    ``#CCID:``, ``^SCID:``, a bare (possibly quoted) number, and ``+CRSM:`` reads of EF_ICCID.

    Raises:
        ParseError: no ICCID in the answer, or one with a wrong MII, a wrong length or
            characters that are not hex digits.
    """
    for line in _answer_lines(text):
        if payload(line, ("+CRSM",)) is not None:
            return parse_crsm_iccid(line)
        value = payload(line, _ICCID_PREFIXES)
        if value is None:
            if ":" in line:
                continue  # some other prefixed line (an unsolicited report)
            value = line
        return _normalise_iccid(value, line)
    raise ParseError("no ICCID in the answer", text)


def parse_cgsn(text: str) -> str:
    """Parse the IMEI from ``AT+CGSN``/``AT+GSN``/``AT+CGSN=1``.

    Accepts bare digits, ``+CGSN: "<imei>"``, ``IMEI: <imei>`` and ``<imei>,<serial>``.
    A 14-digit answer (no check digit) gets its Luhn digit appended.

    Raises:
        ParseError: no 14/15-digit IMEI, or one that fails its Luhn check.
    """
    for line in _answer_lines(text):
        value = payload(line, ("+CGSN", "+GSN", "IMEI"))
        candidate = clean(split_fields(value if value is not None else line)[0])
        if not candidate.isdigit() or not candidate.isascii() or len(candidate) not in (14, 15):
            raise ParseError("IMEI must be 15 digits", line)
        if len(candidate) == 14:
            candidate += luhn_check_digit(candidate)
        if not luhn_valid(candidate):
            raise ParseError("IMEI fails its Luhn check", line)
        return candidate
    raise ParseError("no IMEI in the answer", text)


def parse_cnum(text: str) -> str | None:
    """Parse the first own number from ``AT+CNUM`` (``+CNUM: [<alpha>],"<number>",<type>``).

    Type 145 (international) numbers get a leading ``+`` when the module left it out.

    Returns:
        The number, or None when the SIM holds none (an answer of just ``OK``).

    Raises:
        ParseError: a ``+CNUM:`` line whose number holds characters other than digits
            (and ``+``, ``*``, ``#``).
    """
    for line in split_lines(text):
        body = payload(line, ("+CNUM",))
        if body is None:
            continue
        fields = split_fields(body)
        if len(fields) < 2:
            raise ParseError("+CNUM line without a number", line)
        number = clean(fields[1]).replace(" ", "")
        if not number:
            continue
        if not re.fullmatch(r"\+?[0-9*#]+", number):
            raise ParseError("+CNUM number holds other characters", line)
        kind = dec(fields[2], "+CNUM <type>") if len(fields) > 2 else None
        if kind == 145 and not number.startswith("+"):
            number = "+" + number
        return number
    return None


def parse_cpin(text: str) -> SimState:
    """Parse ``+CPIN: <code>`` into a :class:`~modem.models.SimState`.

    Vendor forms: quoted codes, a code without the ``+CPIN:`` prefix (a line that is just
    ``READY`` or ``SIM PIN``), ``NOT INSERTED`` (SIMCom, Quectel), ``NOT READY`` (SIM
    removed or radio off; mapped to ``UNKNOWN``). Personalisation locks other than
    PH-SIM map to ``PH_NET_PIN``; PH-FSIM maps to ``PH_SIM_PIN``.

    Raises:
        ParseError: no ``+CPIN:`` line or an unknown code.
    """
    for line in split_lines(text):
        body = payload(line, ("+CPIN",))
        if body is None:
            continue
        code = " ".join(clean(body).upper().split())
        for name, state in _CPIN_STATES:
            if code.startswith(name):
                return state
        raise ParseError(f"unknown +CPIN code {code!r}", line)
    # Some modules print the code without its prefix: the whole line is a known code.
    for line in _answer_lines(text):
        code = " ".join(clean(line).upper().split())
        for name, state in _CPIN_STATES:
            if code == name:
                return state
    raise ParseError("no +CPIN line in the answer", text)


def _info_string(text: str, prefixes: tuple[str, ...], what: str) -> str:
    """The labelled line's value when one carries a prefix (``ATI``-style answers), else
    the first non-empty information line."""
    lines = _answer_lines(text)
    for line in lines:
        value = payload(line, prefixes)
        if value is not None and clean(value):
            return clean(value)
    for line in lines:
        if clean(line):
            return clean(line)
    raise ParseError(f"no {what} in the answer", text)


def parse_cgmi(text: str) -> str:
    """Parse the manufacturer from ``AT+CGMI``/``AT+GMI`` (prefix and quotes removed).

    Raises:
        ParseError: the answer holds no text.
    """
    return _info_string(text, ("+CGMI", "+GMI", "Manufacturer"), "manufacturer")


def parse_cgmm(text: str) -> str:
    """Parse the model from ``AT+CGMM``/``AT+GMM`` (prefix and quotes removed).

    Raises:
        ParseError: the answer holds no text.
    """
    return _info_string(text, ("+CGMM", "+GMM", "Model"), "model")


def parse_cgmr(text: str) -> str:
    """Parse the firmware revision from ``AT+CGMR``/``AT+GMR`` (prefix and quotes removed).

    Raises:
        ParseError: the answer holds no text.
    """
    return _info_string(text, ("+CGMR", "+GMR", "Revision"), "revision")

"""Final result codes of AT commands (ITU-T V.250 §5.7, 3GPP TS 27.007 §9.2, TS 27.005 §3.2.5).

A command ends with exactly one final result line. This module recognises every
form met on real modules and turns a failing one into the matching ``CommandError``:

* ``OK`` and ``CONNECT [<text>]`` succeed;
* ``ERROR``, ``COMMAND NOT SUPPORT`` (Huawei), ``TOO MANY PARAMETERS`` (Huawei),
  and the call-end codes ``NO CARRIER``, ``BUSY``, ``NO ANSWER``, ``NO DIALTONE`` fail;
* ``+CME ERROR: <err>`` and ``+CMS ERROR: <err>`` fail with a numeric code
  (``AT+CMEE=1``) or a verbose text (``AT+CMEE=2``); both forms are resolved to a
  code *and* a name through the tables in :mod:`modem.at.cme` where the table knows
  them, and unknown codes or texts are kept as they came.

Numeric result codes (``ATV0``, V.250 §5.7.1: ``0`` OK, ``1`` CONNECT, ``3`` NO CARRIER,
``4`` ERROR, ``6`` NO DIALTONE, ``7`` BUSY, ``8`` NO ANSWER; ``2`` is RING) are classified by
:func:`classify_numeric`. A bare ``0`` cannot be told from an information line by its
text alone, so the session decides when a line may be one (see :mod:`modem.at.session`);
the classified result carries the verbose word as its ``line``, so errors read the same
in both modes. ``+CME ERROR`` stays textual in ``V0`` mode.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from modem.at import cme
from modem.errors import CmeError, CmsError, CommandError

__all__ = [
    "NUMERIC_RESULTS",
    "FinalResult",
    "ResultKind",
    "classify_final",
    "classify_numeric",
    "error_for",
]


class ResultKind(enum.Enum):
    """What a final result line means."""

    OK = "OK"
    CONNECT = "CONNECT"
    ERROR = "ERROR"
    NOT_SUPPORTED = "NOT SUPPORTED"
    CME_ERROR = "+CME ERROR"
    CMS_ERROR = "+CMS ERROR"
    CALL_ENDED = "CALL ENDED"


@dataclass(frozen=True, slots=True)
class FinalResult:
    """One classified final result line.

    Attributes:
        kind: the class of result.
        line: the line exactly as received (stripped of its framing).
        code: the numeric ``+CME``/``+CMS`` error code when known.
        name: the error's name (the 27.007/27.005 text, or the verbose text as sent).
    """

    kind: ResultKind
    line: str
    code: int | None = None
    name: str | None = None

    @property
    def ok(self) -> bool:
        """True for a successful result (``OK``, ``CONNECT``)."""
        return self.kind in (ResultKind.OK, ResultKind.CONNECT)

    @property
    def not_supported(self) -> bool:
        """True when the module says it does not know or support the command.

        That is plain ``ERROR``, ``COMMAND NOT SUPPORT`` and ``+CME ERROR: 4``
        ("operation not supported"); a caller may skip the command from then on.
        """
        if self.kind in (ResultKind.ERROR, ResultKind.NOT_SUPPORTED):
            return True
        return self.kind is ResultKind.CME_ERROR and self.code == 4


_PLAIN_FINALS: dict[str, ResultKind] = {
    "OK": ResultKind.OK,
    "ERROR": ResultKind.ERROR,
    "COMMAND NOT SUPPORT": ResultKind.NOT_SUPPORTED,
    "TOO MANY PARAMETERS": ResultKind.NOT_SUPPORTED,
    "NO CARRIER": ResultKind.CALL_ENDED,
    "BUSY": ResultKind.CALL_ENDED,
    "NO ANSWER": ResultKind.CALL_ENDED,
    "NO DIALTONE": ResultKind.CALL_ENDED,
}

#: Numeric result codes (``ATV0``) and the verbose word each stands for (V.250 §5.7.1).
NUMERIC_RESULTS: dict[str, str] = {
    "0": "OK",
    "1": "CONNECT",
    "3": "NO CARRIER",
    "4": "ERROR",
    "6": "NO DIALTONE",
    "7": "BUSY",
    "8": "NO ANSWER",
}

_CME_PREFIX = "+CME ERROR:"
_CMS_PREFIX = "+CMS ERROR:"


def classify_final(line: str) -> FinalResult | None:
    """Classify one received line as a final result, or return None when it is not one.

    Args:
        line: a complete line without its CR/LF framing.

    Returns:
        The classified result, or None for information text and unsolicited lines.
    """
    text = line.strip()
    upper = text.upper()
    kind = _PLAIN_FINALS.get(upper)
    if kind is not None:
        return FinalResult(kind, text)
    if upper == "CONNECT" or upper.startswith("CONNECT "):
        return FinalResult(ResultKind.CONNECT, text)
    if upper.startswith(_CME_PREFIX):
        code, name = _resolve(text[len(_CME_PREFIX) :], cms=False)
        return FinalResult(ResultKind.CME_ERROR, text, code, name)
    if upper.startswith(_CMS_PREFIX):
        code, name = _resolve(text[len(_CMS_PREFIX) :], cms=True)
        return FinalResult(ResultKind.CMS_ERROR, text, code, name)
    return None


def classify_numeric(line: str) -> FinalResult | None:
    """Classify a numeric (``ATV0``) final result code, or return None for other lines.

    The result's ``line`` is the verbose word (``4`` gives ``ERROR``), so a failing
    numeric result raises the same error as its verbose form.
    """
    word = NUMERIC_RESULTS.get(line.strip())
    return None if word is None else classify_final(word)


def _resolve(detail: str, *, cms: bool) -> tuple[int | None, str | None]:
    """Turn the text after ``+CME ERROR:`` into (code, name), whichever form it came in."""
    value = detail.strip().strip('"').strip()
    if not value:
        return None, None
    if value.isdigit():
        code = int(value)
        return code, (cme.cms_name(code) if cms else cme.cme_name(code))
    known = cme.cms_code(value) if cms else cme.cme_code(value)
    return known, value


def error_for(command: str, final: FinalResult, lines: tuple[str, ...] = ()) -> CommandError:
    """Build the typed error for a failing final result.

    Args:
        command: the command line that was sent.
        final: the failing final result (``final.ok`` is False).
        lines: information lines received before the final result.

    Returns:
        ``CmeError`` or ``CmsError`` for coded errors, ``CommandError`` otherwise.

    Raises:
        ValueError: ``final`` is a successful result.
    """
    if final.ok:
        raise ValueError(f"{final.line!r} is not an error result")
    if final.kind is ResultKind.CME_ERROR:
        return CmeError(command, final.line, final.code, final.name, lines)
    if final.kind is ResultKind.CMS_ERROR:
        return CmsError(command, final.line, final.code, final.name, lines)
    return CommandError(command, final.line, lines)

"""What goes on the line: V.250 framing, final result codes, and the output queue.

* Framing (V.250 §5.7, verbose ``V1``): information text ``\\r\\n<line>\\r\\n``, final
  result ``\\r\\nOK\\r\\n``; with ``V0``: ``<line>\\r\\n`` and ``0\\r``; ``Q1`` drops the
  final result.
* Errors: a handler raises a :class:`~modem.sim.dialect.CommandFailure`;
  :func:`final_result` words it per ``+CMEE`` (0 ``ERROR``, 1 numeric, 2 verbose,
  27.007 §9.2) and the persona's word for unknown commands.
* :class:`OutputQueue` holds the bytes for the host with their release times; slow-answer
  faults only change release times, so a byte-by-byte modem is many small releases.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from modem.sim.dialect import CmeFailure, CmsFailure, CommandFailure, SyntaxFailure
from modem.sim.scenario import Faults

__all__ = [
    "CME_TEXT",
    "CMS_TEXT",
    "OutputQueue",
    "UnknownCommand",
    "final_result",
    "frame_answer",
    "frame_urc",
]

#: Verbose texts of the +CME ERROR codes the simulator uses (27.007 §9.2.1).
CME_TEXT: Final[dict[int, str]] = {
    0: "phone failure",
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    13: "SIM failure",
    14: "SIM busy",
    16: "incorrect password",
    30: "no network service",
    50: "incorrect parameters",
    100: "unknown",
}

#: Verbose texts of the +CMS ERROR codes the simulator uses (27.005 §3.2.5).
CMS_TEXT: Final[dict[int, str]] = {
    302: "operation not allowed",
    304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
    310: "SIM not inserted",
    311: "SIM PIN required",
    316: "SIM PUK required",
    331: "no network service",
    500: "unknown error",
}


class UnknownCommand(SyntaxFailure):
    """A command the persona does not know: answered with the persona's own word."""


def final_result(failure: CommandFailure, cmee: int, unknown_result: str | None) -> str:
    """The final result code that ends a failed command.

    Args:
        failure: what the handler raised.
        cmee: the ``+CMEE`` setting (0 plain, 1 numeric, 2 verbose).
        unknown_result: the persona's word for an unknown command; None: ``+CME ERROR: 4``.
    """
    if isinstance(failure, CmsFailure):
        text = CMS_TEXT.get(failure.code, "unknown error")
        return f"+CMS ERROR: {text if cmee == 2 else failure.code}"
    if isinstance(failure, CmeFailure):
        if cmee == 0:
            return "ERROR"
        if cmee == 1:
            return f"+CME ERROR: {failure.code}"
        return f"+CME ERROR: {CME_TEXT.get(failure.code, 'unknown')}"
    unknown = isinstance(failure, UnknownCommand)
    if unknown and unknown_result is None:
        return final_result(CmeFailure(4), cmee, None)  # "operation not supported"
    return (unknown_result or "ERROR") if unknown else "ERROR"


def frame_answer(lines: list[str], final: str, *, verbose: bool, quiet: bool) -> bytes:
    """Information lines and a final result (``""``: none) framed per ``V`` and ``Q``."""
    if quiet:
        final = ""
    if verbose:
        body = "".join(f"{line}\r\n" for line in lines)
        text = (f"\r\n{body}" if lines else "") + (f"\r\n{final}\r\n" if final else "")
    else:
        numeric = {"OK": "0", "ERROR": "4"}.get(final, final)
        text = "".join(f"{line}\r\n" for line in lines) + (f"{numeric}\r" if final else "")
    return text.encode("latin-1", "replace")


def frame_urc(line: str, *, verbose: bool) -> bytes:
    """An unsolicited result code framed per ``V``."""
    text = f"\r\n{line}\r\n" if verbose else f"{line}\r\n"
    return text.encode("latin-1", "replace")


class OutputQueue:
    """The bytes due for the host, each with its release time on the scenario clock.

    Args:
        faults: the scenario's faults; answer delay and byte pacing set release times.
    """

    def __init__(self, faults: Faults) -> None:
        self._faults = faults
        self._queue: deque[tuple[float, bytes]] = deque()
        self._last_release = 0.0

    def push(self, data: bytes, t: float, *, delay: bool) -> None:
        """Queue ``data`` at ``t``, behind what is queued (``delay``: an answer, not a URC)."""
        faults = self._faults
        start = max(t + (faults.answer_delay if delay else 0.0), self._last_release, t)
        if faults.byte_interval > 0 and self._queue:
            # The line is still busy with earlier bytes: queue behind them.
            start = max(start, self._last_release + faults.byte_interval)
        if faults.byte_interval > 0:
            for index, byte in enumerate(data):
                self._queue.append((start + index * faults.byte_interval, bytes([byte])))
            self._last_release = start + max(len(data) - 1, 0) * faults.byte_interval
        else:
            self._queue.append((start, data))
            self._last_release = start

    def release(self, t: float) -> bytes:
        """Take the bytes due at ``t`` (empty when nothing is due)."""
        chunks: list[bytes] = []
        while self._queue and self._queue[0][0] <= t + 1e-9:
            chunks.append(self._queue.popleft()[1])
        return b"".join(chunks)

    def next_release(self) -> float | None:
        """The release time of the next queued bytes, if any."""
        return self._queue[0][0] if self._queue else None

    def clear(self) -> None:
        """Drop everything queued (the port vanished)."""
        self._queue.clear()

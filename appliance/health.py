"""The appliance's status line: the worst current problem, in plain words (pure).

systemd shows one line per service (``systemctl status``), and so does the first line
of ``salve-appliance status``. "observing: registered on …" is true of the modem while
the GMLC refuses every report, so the line is chosen from *every* part that can stop
the GMLC from getting fresh observations, worst first:

1. the modem is missing or does not answer;
2. the GMLC refuses this appliance's reports (SIM mismatch, unknown key …): nothing
   will be accepted until a person acts;
3. the SIM is missing or locked;
4. the modem waits for the SIM or for network service;
5. the GMLC rejected the last report for good (a wrong clock, most often);
6. the GMLC cannot be reached (reports queue on disk meanwhile).

With none of these the line is the modem's own ("observing: registered on …").
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GmlcHealth", "Problem", "assess", "status_line"]

#: What the GMLC's refusal codes mean for the person reading the status line.
REFUSAL_WORDS = {
    "sim_mismatch": "the SIM in the modem is not the one enrolled: put it back, or enrol the "
    "new one (salve-appliance enroll)",
    "unknown_key": "this appliance is not (or no longer) enrolled: run the salve-gmlc "
    "command that salve-appliance enroll prints",
    "bad_signature": "the GMLC holds another key for this appliance: enrol it again",
    "clock_skew": "the appliance's clock is wrong: check timedatectl and NTP",
}

_MODEM_STATES = frozenset({"no_modem"})
_SIM_STATES = frozenset({"no_sim", "sim_locked"})
_WAITING_STATES = frozenset({"waiting_for_sim", "waiting_for_network"})


@dataclass(frozen=True, slots=True)
class GmlcHealth:
    """What the delivery worker knows about the GMLC.

    Attributes:
        url: the GMLC's base URL.
        reachable: True/False after the last attempt, None before the first.
        refused: the code of a standing refusal (reports stay queued), or None.
        rejected: the code of the last report rejected for good, or None once one
            is accepted again.
        last_error: the last failure in words.
        queued: reports waiting on disk.
    """

    url: str | None
    reachable: bool | None
    refused: str | None
    rejected: str | None
    last_error: str | None
    queued: int


@dataclass(frozen=True, slots=True)
class Problem:
    """One current problem: a machine-readable kind and plain words."""

    kind: str
    words: str


def _refusal(prefix: str, code: str) -> str:
    meaning = REFUSAL_WORDS.get(code)
    return f"{prefix} ({code})" + (f": {meaning}" if meaning else "")


def assess(state: str, modem_line: str, gmlc: GmlcHealth) -> tuple[Problem, ...]:
    """Lists the current problems, worst first (see the module docstring).

    Args:
        state: the modem side's state (``no_modem``, ``no_sim``, ``observing`` …).
        modem_line: the modem side's own words for that state.
        gmlc: the delivery side.
    """
    problems: list[Problem] = []
    if state in _MODEM_STATES:
        problems.append(Problem("modem", modem_line))
    if gmlc.refused is not None:
        problems.append(
            Problem(
                "gmlc_refused", _refusal("the GMLC refuses this appliance's reports", gmlc.refused)
            )
        )
    if state in _SIM_STATES:
        problems.append(Problem("sim", modem_line))
    if state in _WAITING_STATES:
        problems.append(Problem("waiting", modem_line))
    if gmlc.rejected is not None and gmlc.refused is None:
        problems.append(
            Problem("gmlc_rejected", _refusal("the GMLC rejected the last report", gmlc.rejected))
        )
    if gmlc.reachable is False:
        queued = f"{gmlc.queued} report(s) queued"
        problems.append(
            Problem(
                "gmlc_unreachable",
                f"the GMLC at {gmlc.url} is unreachable ({gmlc.last_error}); {queued}",
            )
        )
    return tuple(problems)


def status_line(modem_line: str, problems: tuple[Problem, ...]) -> str:
    """The one line for systemd's STATUS= and the top of ``salve-appliance status``."""
    if not problems:
        return modem_line
    line = problems[0].words
    if len(problems) > 1:
        line += f" (and {len(problems) - 1} more: salve-appliance status)"
    return line

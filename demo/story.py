"""The demo's story, told one line per step.

1. The set-up: every part started through its own tool, one line each.
2. A client checks the site with ``salve-verify``: VERIFIED, with the distance and ages.
3. The attacker's moves (:data:`demo.moves.MOVES`), each one line starting with REFUSED
   and the verifier's own reason (for the verifier's exit codes 1, 4, 5 and 6).
4. The map: the legitimate site, the genuine statement's circle and the attacker's.
"""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Final, TextIO

from demo.lab import Check, DnsKind, Lab
from demo.moves import MOVES
from demo.processes import DemoError, live_groups
from demo.world import SITE
from verifier.position import format_distance

__all__ = ["REFUSED_EXITS", "describe_verified", "run"]

#: The verifier's exit codes that mean REFUSED: a failed check, DNS, TLS, the GMLC.
REFUSED_EXITS: Final = frozenset({1, 4, 5, 6})


def describe_verified(check: Check) -> str:
    """The VERIFIED line: the site, how far the statement's circle is from it, the ages."""
    document = check.document
    site = document["sites"][0]
    circle = document["position"]["circles"][0]
    ages = document["ages"]
    return (
        f"VERIFIED {document['url']}: the statement places it "
        f"{format_distance(circle['distance_m'])} from its legitimate site "
        f"({site['lat']:.4f}°N {site['lon']:.4f}°E, ±{format_distance(site['hp_m'] / 2)}), "
        f"±{format_distance(circle['r'])}, {format_distance(circle['margin_m'])} inside; "
        f"statement {ages['statement_s']} s old, position {ages['position_s']} s old "
        f"(the policy allows {ages['max_position_s']} s), on this client's own TLS session"
    )


def _say(stream: TextIO, line: str) -> None:
    stream.write(line + "\n")
    stream.flush()


def _story(lab: Lab, map_path: Path, out: TextIO) -> bool:
    """Start the lab, check the site, play the moves; whether it all went as it should."""
    _say(out, f"SALVE: {SITE} proves where it is; an attacker holding its TLS key cannot.")
    lab.start()
    genuine = lab.verify_genuine()
    if genuine.verdict != "VERIFIED":
        _say(out, f"NOT VERIFIED {lab.site_url}: {genuine.reason} (exit {genuine.exit_code})")
        return False
    _say(out, describe_verified(genuine))
    _say(out, "The attacker, elsewhere (127.0.0.2), holding the site's TLS key and certificate:")
    ok = True
    drawn = False
    for number, move in enumerate(MOVES, 1):
        check = move.stage(lab)
        if check.verdict == "REFUSED" and check.exit_code in REFUSED_EXITS:
            _say(out, f"REFUSED  {number}. it {move.title}: {check.reason}")
        else:
            ok = False
            _say(
                out,
                f"NOT REFUSED  {number}. it {move.title}: {check.verdict} "
                f"(exit {check.exit_code}) {check.reason}",
            )
        if check.map_path is not None:
            map_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(check.map_path, map_path)
            drawn = True
    if drawn:
        _say(
            out,
            f"map      {map_path}: the legitimate site (green), the genuine statement's circle "
            "(blue) and the attacker's (red), drawn by salve-verify --map",
        )
    return ok


def run(*, dns_kind: DnsKind | None, map_path: Path, keep: bool, out: TextIO) -> int:
    """Tell the whole story; the exit status (0: verified, and every move refused)."""
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="salve-demo-"))
    lab = Lab(workdir, dns_kind=dns_kind, say=lambda line: _say(out, line))
    status = 1
    try:
        status = 0 if _story(lab, map_path, out) else 1
    except DemoError as exc:
        sys.stderr.write(f"demo failed: {exc}\nlogs: {workdir / 'logs'}\n")
        keep = True
    except Exception as exc:  # no traceback reaches a person; the logs stay for a look
        sys.stderr.write(f"demo failed: {type(exc).__name__}: {exc}\nlogs: {workdir / 'logs'}\n")
        keep = True
    except KeyboardInterrupt:
        sys.stderr.write("demo interrupted; stopping everything it started\n")
        status = 130
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        lab.close()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    leftovers = live_groups(lab.processes.groups)
    if leftovers:
        sys.stderr.write(f"demo: processes still running in groups {leftovers}\n")
        return 1
    if status == 0:
        elapsed = time.monotonic() - started
        _say(
            out,
            f"done in {elapsed:.0f} s: the site verified, every move was refused, and "
            "everything the demo started has stopped",
        )
    elif status == 1 and not keep:
        _say(out, "done: the story did not go as it should (see the lines above)")
    return status

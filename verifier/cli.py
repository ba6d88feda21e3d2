"""``salve-verify``: check that a site is where its DNS says, on this very TLS connection.

::

    salve-verify https://www.example.com
    salve-verify --dns 127.0.0.1:5300 --trust-anchor lab-anchor.txt https://www.lab.test:8443
    salve-verify --json https://www.example.com | jq .reason
    salve-verify --get /api/balance https://www.example.com      # over the verified connection
    salve-verify --watch 60 --metrics 127.0.0.1:9477 https://www.example.com
    salve-verify --map now.svg --map-with before.json https://www.example.com

The conventions (``--version``, ``--log-level``, ``salve-verify: message``, the exit codes
at the end of ``--help``, no traceback, Ctrl-C) are :mod:`runtime.cli`'s. This module
imports nothing heavy at the top: the checker, DNS and TLS stacks load inside the guard.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import argparse
    from pathlib import Path
    from types import FrameType
    from typing import TextIO

    from runtime.cli import Program
    from verifier.checker import Verifier
    from verifier.svgmap import MapVerdict
    from verifier.verdict import Verdict

__all__ = ["PROG", "build_parser", "main", "program"]

PROG: Final = "salve-verify"
EXIT_USAGE: Final = 2
DEFAULT_METRICS: Final = "127.0.0.1:9477"
#: What each exit code means; a verdict's class is its exit code (verifier.errors.Failure).
EXIT_CODES: Final = {
    0: "VERIFIED: the statement places the site within its legitimate sites, on this\nconnection",
    1: "REFUSED: DNS and TLS worked, but a check failed (M2DMRT, keys, statement,\n"
    "position, or a remembered policy is missing now)",
    3: "NOT PROTECTED: DNSSEC proves the site publishes no SALVE policy",
    4: "DNS failure: records missing a valid DNSSEC signature or proof",
    5: "TLS failure: no TLS 1.3 connection with a valid certificate for the site",
    6: "the GMLC or its key set cannot be reached",
}


class _UsageError(Exception):
    pass


def program() -> Program:
    """``salve-verify`` as :mod:`runtime.cli` describes a program."""
    from runtime.cli import Program

    return Program(
        name=PROG,
        description="Check a SALVE site: DNSSEC-validated policy and locations, TLS 1.3, "
        "the GMLC's key pins, the M2DMRT declarations, and a location statement bound to "
        "this client's own TLS session.",
        exit_codes=EXIT_CODES,
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the docs)."""
    from pathlib import Path

    from runtime.cli import program_parser
    from verifier.state import default_state_path

    described = program()
    parser = program_parser(described)
    parser.epilog = f"With --watch, the exit code is the last check's.\n\n{described.epilog}"
    parser.add_argument("url", help="the site, https://HOST[:PORT]")
    dns = parser.add_argument_group("DNS")
    dns.add_argument(
        "--dns",
        metavar="HOST:PORT",
        help="ask this resolver or authoritative server (DO bit, TCP on truncation); "
        "default: resolve iteratively from the trust anchor's servers",
    )
    dns.add_argument(
        "--trust-anchor",
        metavar="FILE",
        type=Path,
        help="RFC 7958 XML or DS/DNSKEY lines (default: the shipped IANA root anchor)",
    )
    dns.add_argument(
        "--zone-file",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="validate over this signed zone file instead of the network (repeatable)",
    )
    dns.add_argument(
        "--iterative-port",
        metavar="PORT",
        type=int,
        default=53,
        help="the port iterative resolution asks servers on (default 53)",
    )
    connect = parser.add_argument_group("connections")
    connect.add_argument(
        "--ca", metavar="FILE", type=Path, help="trust this CA file instead of the system store"
    )
    connect.add_argument(
        "--resolve",
        metavar="HOST:ADDRESS",
        action="append",
        default=[],
        help="connect to ADDRESS for HOST instead of its DNS addresses (repeatable)",
    )
    connect.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=10.0,
        help="for each DNS question, connection and exchange (default 10)",
    )
    state = parser.add_argument_group("memory")
    state.add_argument(
        "--state",
        metavar="FILE",
        type=Path,
        help=f"remembered policies and cached key sets (default {default_state_path()})",
    )
    state.add_argument("--no-state", action="store_true", help="remember nothing between runs")
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="the verdict as JSON (salve-verify/1)")
    out.add_argument(
        "--get",
        metavar="PATH",
        help="once VERIFIED, GET PATH on the verified connection and write the body to "
        "stdout (the verdict then goes to stderr)",
    )
    out.add_argument(
        "--map", metavar="FILE.svg", type=Path, help="draw the sites and the statement's circles"
    )
    out.add_argument(
        "--map-with",
        metavar="FILE.json",
        type=Path,
        action="append",
        default=[],
        help="also draw the checks in this file (salve-verify --json output, one per line) "
        "on the --map, e.g. an earlier check beside this one (repeatable)",
    )
    watching = parser.add_argument_group("monitoring")
    watching.add_argument(
        "--watch", metavar="SECONDS", type=float, help="check again every SECONDS"
    )
    watching.add_argument(
        "--metrics",
        metavar="ADDR:PORT",
        default=DEFAULT_METRICS,
        help=f"where --watch serves Prometheus metrics (default {DEFAULT_METRICS}; 'off')",
    )
    watching.add_argument(
        "--count", metavar="N", type=int, help="with --watch, stop after N checks"
    )
    return parser


def _addresses(entries: Sequence[str]) -> dict[str, str]:
    found = {}
    for entry in entries:
        host, sep, address = entry.partition(":")
        if not sep or not host or not address:
            raise _UsageError(f"--resolve {entry!r}: give HOST:ADDRESS")
        found[host.lower().rstrip(".")] = address.strip("[]")
    return found


def _listen(text: str) -> tuple[str, int] | None:
    from verifier.sources import parse_server

    if text == "off":
        return None
    try:
        host, port = parse_server(text, default_port=0)
    except ValueError as exc:
        raise _UsageError(f"--metrics: {exc}") from None
    if port == 0:
        raise _UsageError("--metrics: give ADDR:PORT")
    return host, port


def _verifier(args: argparse.Namespace) -> Verifier:
    from verifier.anchors import TrustAnchorError
    from verifier.checker import Verifier
    from verifier.dns import open_resolver
    from verifier.errors import DnsValidationError
    from verifier.state import VerifierState, default_state_path

    if args.dns and args.zone_file:
        raise _UsageError("--dns and --zone-file exclude each other")
    if not args.timeout > 0:
        raise _UsageError("--timeout must be positive")
    try:
        resolver = open_resolver(
            server=args.dns,
            trust_anchor=args.trust_anchor,
            zone_files=args.zone_file,
            timeout=args.timeout,
            iterative_port=args.iterative_port,
        )
    except (TrustAnchorError, ValueError) as exc:
        raise _UsageError(str(exc)) from None
    except DnsValidationError as exc:
        raise _UsageError(exc.reason) from None
    state_path = None if args.no_state else (args.state or default_state_path())
    try:
        state = VerifierState(state_path)
    except OSError as exc:
        raise _UsageError(f"cannot use the state file {state_path}: {exc}") from None
    if state.problem:
        _say(state.problem)
    try:
        return Verifier(
            resolver,
            ca=args.ca,
            state=state,
            addresses=_addresses(args.resolve),
            timeout=args.timeout,
        )
    except ValueError as exc:
        raise _UsageError(str(exc)) from None


def _say(words: str) -> None:
    sys.stderr.write(f"{PROG}: {words}\n")


def _print_verdict(verdict: Verdict, *, as_json: bool, stream: TextIO) -> None:
    import json

    if as_json:
        stream.write(json.dumps(verdict.to_json(), ensure_ascii=False, separators=(",", ":")))
        stream.write("\n")
    else:
        stream.write("\n".join(verdict.lines(PROG)) + "\n")
    stream.flush()


def _earlier_checks(args: argparse.Namespace) -> list[MapVerdict]:
    """The checks ``--map-with`` names, read before anything is checked.

    Raises:
        _UsageError: A file that cannot be read, or that holds no salve-verify document.
    """
    import json

    from verifier.svgmap import MapVerdict

    if args.map_with and args.map is None:
        raise _UsageError("--map-with goes with --map")
    found = []
    for path in args.map_with:
        try:
            lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
            found += [MapVerdict.from_json(json.loads(line)) for line in lines]
        except OSError as exc:
            raise _UsageError(f"--map-with {path}: {exc.strerror}") from None
        except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError too
            raise _UsageError(f"--map-with {path}: {exc}") from None
        if not lines:
            raise _UsageError(f"--map-with {path}: the file is empty")
    return found


def _write_map(path: Path, verdict: Verdict, earlier: Sequence[MapVerdict] = ()) -> None:
    from verifier.svgmap import render_map

    try:
        # This check first: it gives the map its title.
        path.write_text(render_map([verdict, *earlier]), encoding="utf-8")
    except OSError as exc:
        _say(f"cannot write the map {path}: {exc.strerror}")


def _once(args: argparse.Namespace, verifier: Verifier) -> int:
    from verifier.errors import TlsError

    earlier = _earlier_checks(args)
    result = verifier.check(args.url)
    verdict = result.verdict
    if verifier.state.problem:
        _say(verifier.state.problem)
    with result:
        stream = sys.stderr if args.get else sys.stdout
        _print_verdict(verdict, as_json=args.json, stream=stream)
        if args.map is not None:
            _write_map(args.map, verdict, earlier)
        if args.get is None or result.connection is None:
            return verdict.exit_code
        try:
            response = result.connection.request("GET", args.get)
        except TlsError as exc:
            _say(f"GET {args.get} failed: {exc.reason}")
            return exc.failure.value
        _say(f"GET {args.get}: HTTP {response.status}")
        sys.stdout.buffer.write(response.body)
        sys.stdout.flush()
    return verdict.exit_code


def _watch(args: argparse.Namespace, verifier: Verifier) -> int:
    import signal
    import threading

    from verifier.watch import WatchMetrics, watch

    if not args.watch > 0:
        raise _UsageError("--watch needs a positive number of seconds")
    if args.count is not None and args.count < 1:
        raise _UsageError("--count must be at least 1")
    listen = _listen(args.metrics)
    earlier = _earlier_checks(args)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)

    def check() -> Verdict:
        with verifier.check(args.url) as result:
            return result.verdict

    def report(verdict: Verdict) -> None:
        if args.json:
            _print_verdict(verdict, as_json=True, stream=sys.stdout)
        else:
            line = f"{PROG}: {verdict.outcome.value} {verdict.url}"
            sys.stdout.write(line + (f": {verdict.reason}" if verdict.reason else "") + "\n")
            sys.stdout.flush()
        if args.map is not None:
            _write_map(args.map, verdict, earlier)

    try:
        last = watch(
            check,
            interval_s=args.watch,
            metrics=WatchMetrics.create(),
            listen=listen,
            report=report,
            stop=stop,
            count=args.count,
        )
    except OSError as exc:
        _say(f"cannot serve metrics on {args.metrics}: {exc.strerror}")
        return 1
    return last.exit_code if last is not None else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``salve-verify``; returns the exit code."""
    try:
        from runtime.cli import run
    except KeyboardInterrupt:
        # Ctrl-C while the guard itself loads: the guard's words, and 130 (128 + SIGINT).
        _say("interrupted")
        return 130

    def body() -> int:
        from runtime.logs import configure_logging
        from verifier.checker import parse_site_url

        described = program()
        args = build_parser().parse_args(argv)
        configure_logging(described.log_level(args))
        parse_site_url(args.url)
        verifier = _verifier(args)
        if args.watch is not None:
            return _watch(args, verifier)
        if args.count is not None:
            raise _UsageError("--count goes with --watch")
        return _once(args, verifier)

    return run(program(), body, describe=_describe)


def _describe(error: BaseException) -> tuple[str, int] | None:
    if isinstance(error, _UsageError | ValueError):
        return str(error), EXIT_USAGE
    return None

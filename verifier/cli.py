"""``salve-verify``: check that a site is where its DNS says, on this very TLS connection.

::

    salve-verify https://www.example.com
    salve-verify --dns 127.0.0.1:5300 --trust-anchor lab-anchor.txt https://www.lab.test:8443
    salve-verify --json https://www.example.com | jq .reason
    salve-verify --get /api/balance https://www.example.com      # over the verified connection
    salve-verify --watch 60 --metrics 127.0.0.1:9477 https://www.example.com
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Final, TextIO

from verifier.anchors import TrustAnchorError
from verifier.checker import Verifier, parse_site_url
from verifier.dns import open_resolver
from verifier.errors import DnsValidationError, TlsError
from verifier.sources import parse_server
from verifier.state import VerifierState, default_state_path
from verifier.svgmap import render_map
from verifier.verdict import Verdict
from verifier.watch import WatchMetrics, watch

__all__ = ["main"]

PROG: Final = "salve-verify"
EXIT_USAGE: Final = 2
DEFAULT_METRICS: Final = "127.0.0.1:9477"
EPILOG: Final = """\
exit codes:
  0  VERIFIED: the statement places the site within its legitimate sites, on this connection
  1  REFUSED: DNS and TLS worked, but a check failed (M2DMRT, keys, statement, position,
     or a remembered policy is missing now)
  2  usage error
  3  NOT PROTECTED: DNSSEC proves the site publishes no SALVE policy
  4  DNS failure: records missing a valid DNSSEC signature or proof
  5  TLS failure: no TLS 1.3 connection with a valid certificate for the site
  6  the GMLC or its key set cannot be reached

With --watch, the exit code is the last check's.
"""

logger = logging.getLogger("salve.verify")


class _UsageError(Exception):
    pass


def _version() -> str:
    try:
        return metadata.version("salve")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the docs)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Check a SALVE site: DNSSEC-validated policy and locations, TLS 1.3, "
        "the GMLC's key pins, the M2DMRT declarations, and a location statement bound to "
        "this client's own TLS session.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
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
        logger.warning(state.problem)
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


def _print_verdict(verdict: Verdict, *, as_json: bool, stream: TextIO) -> None:
    if as_json:
        stream.write(json.dumps(verdict.to_json(), ensure_ascii=False, separators=(",", ":")))
        stream.write("\n")
    else:
        stream.write("\n".join(verdict.lines(PROG)) + "\n")
    stream.flush()


def _write_map(path: Path, verdict: Verdict) -> None:
    try:
        path.write_text(render_map(verdict), encoding="utf-8")
    except OSError as exc:
        sys.stderr.write(f"{PROG}: cannot write the map {path}: {exc.strerror}\n")


def _once(args: argparse.Namespace, verifier: Verifier) -> int:
    result = verifier.check(args.url)
    verdict = result.verdict
    if verifier.state.problem:
        logger.warning(verifier.state.problem)
    with result:
        stream = sys.stderr if args.get else sys.stdout
        _print_verdict(verdict, as_json=args.json, stream=stream)
        if args.map is not None:
            _write_map(args.map, verdict)
        if args.get is None or result.connection is None:
            return verdict.exit_code
        try:
            response = result.connection.request("GET", args.get)
        except TlsError as exc:
            sys.stderr.write(f"{PROG}: GET {args.get} failed: {exc.reason}\n")
            return exc.failure.value
        sys.stderr.write(f"{PROG}: GET {args.get}: HTTP {response.status}\n")
        sys.stdout.buffer.write(response.body)
        sys.stdout.flush()
    return verdict.exit_code


def _watch(args: argparse.Namespace, verifier: Verifier) -> int:
    if not args.watch > 0:
        raise _UsageError("--watch needs a positive number of seconds")
    if args.count is not None and args.count < 1:
        raise _UsageError("--count must be at least 1")
    listen = _listen(args.metrics)
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
            _write_map(args.map, verdict)

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
        sys.stderr.write(f"{PROG}: cannot serve metrics on {args.metrics}: {exc.strerror}\n")
        return 1
    return last.exit_code if last is not None else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``salve-verify``; returns the exit code."""
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(message)s", stream=sys.stderr)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        parse_site_url(args.url)
        verifier = _verifier(args)
        if args.watch is not None:
            return _watch(args, verifier)
        if args.count is not None:
            raise _UsageError("--count goes with --watch")
        return _once(args, verifier)
    except (_UsageError, ValueError) as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # no traceback reaches a user, and an error never exits 0
        sys.stderr.write(f"{PROG}: internal error ({type(exc).__name__}): {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())

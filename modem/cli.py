"""``salve-modem``: look at a cellular module from a shell.

Commands::

    salve-modem list [--json]            candidate AT ports: vendor, model, by-id path, holders
    salve-modem probe PORT [--json]      identify modem and SIM, registration, cells, signal
    salve-modem watch PORT [--json]      one line per registration/cell change, until Ctrl-C
    salve-modem parse COMMAND < answer   what we understand of a module's raw answer (JSON Lines);
                                         COMMAND ``URC`` reads a log of unsolicited lines
    salve-modem simulate --pty|--tcp …   serve the simulated modem

PORT is a device path (``/dev/ttyUSB2``, ``/dev/serial/by-id/…``, ``/dev/wwan0at0``) or a
URL (``socket://HOST:PORT``, ``spy://…``, ``sim://PROFILE?scenario=NAME``).

The command-line conventions (``--version``, ``--log-level``, exit codes, no tracebacks)
are :mod:`runtime.cli`'s. The engine, pyserial and the simulator are imported by the
commands that use them, inside that guard.
"""

from __future__ import annotations

import argparse
import json
import logging
import queue
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from modem.errors import (
    CommandError,
    ModemError,
    ModemTimeoutError,
    ModemUnavailableError,
)
from modem.models import (
    Cell,
    CellObservation,
    ModemIdentity,
    Registration,
    Signal,
    SimIdentity,
    SimState,
)
from runtime.cli import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    CommandFailedError,
    Program,
    add_command,
    add_commands,
    program_parser,
    run,
)
from runtime.logs import LOG_LEVELS, configure_logging

if TYPE_CHECKING:
    from modem.driver import Modem

__all__ = [
    "EXIT_NO_SERVICE",
    "EXIT_OK",
    "EXIT_OTHER",
    "EXIT_PORT",
    "EXIT_SIM",
    "EXIT_USAGE",
    "PROGRAM",
    "TRACE",
    "ProbeReport",
    "main",
    "probe",
    "render_probe",
]

EXIT_OTHER = EXIT_ERROR
EXIT_PORT = 3
EXIT_SIM = 4
EXIT_NO_SERVICE = 5

#: The level of raw AT traffic (``modem.engine.AT_TRAFFIC``; the engine is not imported
#: here, so that start-up stays inside the guard).
TRACE = 5

PROGRAM = Program(
    name="salve-modem",
    description="Probe, watch, list and simulate the cellular module of a SALVE appliance.",
    exit_codes={
        EXIT_PORT: "port unavailable: missing, busy (e.g. held by ModemManager), permission\n"
        "denied (join the 'dialout' group), or the module does not answer",
        EXIT_SIM: "SIM problem: not inserted, PIN or PUK needed, SIM failure",
        EXIT_NO_SERVICE: "no service: the module is not registered on any network",
    },
    log_levels={"trace": TRACE, **LOG_LEVELS},
    default_log_level="warning",
)

_SIM_WORDS = {
    SimState.NOT_INSERTED: "no SIM card is inserted (or it is not seated properly)",
    SimState.SIM_PIN: "the SIM needs its PIN; set the PIN in the appliance configuration",
    SimState.SIM_PUK: "the SIM is blocked and needs its PUK (too many wrong PINs)",
    SimState.SIM_PIN2: "the SIM asks for PIN2",
    SimState.SIM_PUK2: "the SIM asks for PUK2",
    SimState.PH_SIM_PIN: "the modem is locked to another SIM (PH-SIM PIN)",
    SimState.PH_NET_PIN: "the modem is network-locked (PH-NET PIN)",
    SimState.FAILURE: "the SIM card failed; reseat or replace it",
    SimState.BUSY: "the SIM is still initialising; try again in a few seconds",
    SimState.UNKNOWN: "the SIM state could not be read",
}


# -- probe -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProbeReport:
    """Everything one probe learned.

    Attributes:
        port: the port string.
        profile: the vendor profile chosen for the module.
        identity: manufacturer, model, revision, IMEI.
        sim: SIM state and identities.
        observation: registration, operator, cells, signal (None when the SIM is not
            ready, since the module cannot register then).
        commands_sent: AT commands the probe needed.
    """

    port: str
    profile: str
    identity: ModemIdentity
    sim: SimIdentity
    observation: CellObservation | None
    commands_sent: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, with the serving cell's global id added."""
        observation = self.observation.to_dict() if self.observation is not None else None
        if observation is not None and self.observation is not None:
            serving = self.observation.serving
            observation["registered"] = self.observation.is_registered
            if serving is not None and observation["serving"] is not None:
                observation["serving"]["global_id"] = _global_id(serving)
        return {
            "port": self.port,
            "profile": self.profile,
            "identity": self.identity.to_dict(),
            "sim": self.sim.to_dict(),
            "observation": observation,
            "commands_sent": self.commands_sent,
        }

    @property
    def exit_code(self) -> int:
        """0 when all is well, 4 for SIM trouble, 5 when not registered."""
        if self.sim.state is not SimState.READY:
            return EXIT_SIM
        if self.observation is None or not self.observation.is_registered:
            return EXIT_NO_SERVICE
        return EXIT_OK


def probe(modem: Modem) -> ProbeReport:
    """Read identity, SIM and (when the SIM is ready) one observation.

    Raises:
        ModemError: port trouble; see :func:`main` for how each maps to words.
    """
    identity = modem.identity()
    sim = modem.sim()
    observation = modem.observe() if sim.state is SimState.READY else None
    return ProbeReport(
        port=modem.port,
        profile=modem.profile.name,
        identity=identity,
        sim=sim,
        observation=observation,
        commands_sent=modem.commands_sent,
    )


def _global_id(cell: Cell) -> str | None:
    if not cell.is_identified:
        return None
    try:
        from modem.gci import global_cell_id_str
    except ImportError:
        return f"{cell.mcc}-{cell.mnc}-{cell.area}-{cell.ci}"
    return global_cell_id_str(cell)


def _num(value: int | None, *, hex_too: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value} (0x{value:X})" if hex_too else str(value)


def _db(value: float | None, unit: str) -> str | None:
    return None if value is None else f"{value:g} {unit}"


def _cell_words(cell: Cell) -> str:
    parts = [cell.rat.value if cell.rat is not None else "?"]
    if cell.mcc is not None or cell.mnc is not None:
        parts.append(f"{cell.mcc or '?'}-{cell.mnc or '?'}")
    if cell.tac is not None:
        parts.append(f"TAC {_num(cell.tac, hex_too=True)}")
    elif cell.lac is not None:
        parts.append(f"LAC {_num(cell.lac, hex_too=True)}")
    if cell.ci is not None:
        parts.append(f"CI {_num(cell.ci, hex_too=True)}")
    for label, value in (
        ("PCI", cell.pci),
        ("PSC", cell.psc),
        ("EARFCN", cell.earfcn),
        ("UARFCN", cell.uarfcn),
        ("ARFCN", cell.arfcn),
        ("band", cell.band),
    ):
        if value is not None:
            parts.append(f"{label} {value}")
    for label, level, unit in (
        ("RSRP", cell.rsrp, "dBm"),
        ("RSRQ", cell.rsrq, "dB"),
        ("RSCP", cell.rscp, "dBm"),
        ("RSSI", cell.rssi, "dBm"),
        ("SINR", cell.sinr, "dB"),
    ):
        text = _db(level, unit)
        if text is not None:
            parts.append(f"{label} {text}")
    return "  ".join(parts)


def _registration_words(record: Registration) -> str:
    stat = record.stat.name.lower().replace("_", " ") if record.stat is not None else "unknown"
    parts = [f"{record.domain.value:<7} {stat}"]
    if record.tac is not None:
        parts.append(f"TAC {_num(record.tac, hex_too=True)}")
    if record.lac is not None:
        parts.append(f"LAC {_num(record.lac, hex_too=True)}")
    if record.ci is not None:
        parts.append(f"CI {_num(record.ci, hex_too=True)}")
    if record.rat is not None:
        parts.append(record.rat.value)
    return "  ".join(parts)


def _signal_words(signal: Signal) -> str:
    parts = [
        f"{label} {text}"
        for label, text in (
            ("RSSI", _db(signal.rssi, "dBm")),
            ("RSRP", _db(signal.rsrp, "dBm")),
            ("RSRQ", _db(signal.rsrq, "dB")),
            ("RSCP", _db(signal.rscp, "dBm")),
            ("Ec/No", _db(signal.ecno, "dB")),
            ("SINR", _db(signal.sinr, "dB")),
        )
        if text is not None
    ]
    return ", ".join(parts) if parts else "not reported"


def _attempts_words(sim: SimIdentity) -> str:
    parts = []
    if sim.pin_retries is not None:
        parts.append(f"PIN {sim.pin_retries}")
    if sim.puk_retries is not None:
        parts.append(f"PUK {sim.puk_retries}")
    return ", ".join(parts)


def render_probe(report: ProbeReport) -> str:
    """Render a probe as a readable table (what ``salve-modem probe`` prints).

    Args:
        report: the probe result.

    Returns:
        Multi-line text ending in a newline.
    """
    rows: list[tuple[str, str]] = []
    ident = report.identity
    rows.append(("Port", report.port))
    rows.append(
        (
            "Modem",
            " ".join(p for p in (ident.manufacturer, ident.model) if p) or "unknown",
        )
    )
    rows.append(("Firmware", ident.revision or "-"))
    rows.append(("IMEI", ident.imei or "-"))
    rows.append(("Profile", report.profile))
    sim = report.sim
    rows.append(("SIM", sim.state.value))
    if sim.state is SimState.READY:
        rows.append(("IMSI", sim.imsi or "-"))
        rows.append(("ICCID", sim.iccid or "-"))
        rows.append(("MSISDN", sim.msisdn or "not stored on the SIM"))
    else:
        rows.append(("", _SIM_WORDS.get(sim.state, "")))
    if sim.pin_retries is not None or sim.puk_retries is not None:
        rows.append(("Attempts left", _attempts_words(sim)))
    observation = report.observation
    if observation is not None:
        if observation.registrations:
            for index, record in enumerate(observation.registrations):
                rows.append(("Registration" if index == 0 else "", _registration_words(record)))
        else:
            rows.append(("Registration", "not reported"))
        operator = observation.operator
        if operator is not None:
            numeric = f"{operator.mcc}{operator.mnc}" if operator.mcc and operator.mnc else None
            name = operator.oper if operator.oper and operator.oper != numeric else None
            rows.append(("Operator", " ".join(p for p in (numeric, name and f"({name})") if p)))
        serving = observation.serving
        if serving is not None:
            rows.append(("Serving cell", _cell_words(serving)))
            rows.append(("Global id", _global_id(serving) or "not identified"))
        else:
            rows.append(("Serving cell", "none reported"))
        if observation.neighbours:
            for index, cell in enumerate(observation.neighbours):
                rows.append(("Neighbours" if index == 0 else "", _cell_words(cell)))
        else:
            rows.append(("Neighbours", "none reported"))
        rows.append(("Signal", _signal_words(observation.signal or Signal())))
        rows.append(("Service", "registered" if observation.is_registered else "NO SERVICE"))
    rows.append(("AT commands", str(report.commands_sent)))
    width = max(len(label) for label, _ in rows)
    return "".join(f"{label:<{width}}  {value}".rstrip() + "\n" for label, value in rows)


# -- watch ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _PortChange:
    """The engine lost the port (``connected`` False) or has it back."""

    connected: bool
    reason: str


def _change_key(observation: CellObservation) -> tuple[object, ...]:
    serving = observation.serving
    return (
        tuple((r.domain, r.stat, r.lac, r.tac, r.ci, r.rat) for r in observation.registrations),
        None
        if serving is None
        else (serving.rat, serving.mcc, serving.mnc, serving.area, serving.ci, serving.pci),
    )


def _watch(modem: Modem, *, as_json: bool, interval: float, out: TextIO) -> int:
    """Print one line per change of registration or serving cell until interrupted.

    Changes are noticed from the module's own reports (``+CxREG`` URCs) and from a poll
    every ``interval`` seconds; each line says which. Signal drift is not a change.
    When the port goes away (unplug, USB reset) a ``modem_lost`` line says so, the
    watch waits for the engine to reopen it, and a ``modem_back`` line (with how long it
    was gone) is followed by a fresh observation.
    """
    events: queue.SimpleQueue[Registration | _PortChange] = queue.SimpleQueue()
    modem.on_change(events.put)
    modem.engine.add_port_handler(lambda up, reason: events.put(_PortChange(up, reason)))
    modem.enable_registration_urcs()
    last: tuple[object, ...] | None = None
    lost_at: float | None = None

    def write(record: dict[str, Any], text: str) -> None:
        out.write((json.dumps(record) if as_json else text) + "\n")
        out.flush()

    def emit(observation: CellObservation, trigger: str, report: Registration | None) -> None:
        nonlocal last
        key = _change_key(observation)
        if key == last:
            return
        last = key
        record: dict[str, Any] = {"type": "change", "trigger": trigger}
        record["report"] = report.to_dict() if report is not None else None
        record.update(observation.to_dict())
        serving = observation.serving
        where = _cell_words(serving) if serving is not None else "no serving cell"
        state = "registered" if observation.is_registered else "NO SERVICE"
        write(record, f"{observation.observed_at:%H:%M:%S}  {trigger:<5}  {state:<10}  {where}")

    def port_lost(reason: str) -> None:
        nonlocal lost_at
        if lost_at is not None:
            return
        lost_at = time.monotonic()
        now = datetime.now(UTC)
        write(
            {"type": "modem_lost", "at": now.isoformat(), "reason": reason},
            f"{now:%H:%M:%S}  lost   the modem port is gone ({reason}); "
            "waiting for it to come back",
        )

    def port_back() -> None:
        nonlocal lost_at, last
        if lost_at is None:
            return
        gone_s = round(time.monotonic() - lost_at, 1)
        lost_at, last = None, None
        now = datetime.now(UTC)
        write(
            {"type": "modem_back", "at": now.isoformat(), "gone_s": gone_s},
            f"{now:%H:%M:%S}  back   the modem port is back after {gone_s:g} s",
        )

    def look(trigger: str, report: Registration | None) -> None:
        try:
            emit(modem.observe(), trigger, report)
        except ModemUnavailableError as error:
            # The engine's own report of the loss is on its way; say it now either way.
            port_lost(str(error))
        except ModemTimeoutError as error:
            # A module that just came back may still be booting: the next poll retries.
            logging.getLogger(__name__).warning("no observation: %s", error)

    look("start", None)
    try:
        while True:
            try:
                item: Registration | _PortChange | None = events.get(timeout=interval)
            except queue.Empty:
                item = None
            if isinstance(item, _PortChange):
                if item.connected:
                    port_back()
                    look("back", None)
                else:
                    port_lost(item.reason)
            elif lost_at is None:
                look("poll" if item is None else "urc", item)
    except KeyboardInterrupt:
        # Ctrl-C is how a watch ends.
        return EXIT_OK


# -- list ------------------------------------------------------------------------------------


def _list(as_json: bool, out: TextIO) -> int:
    from modem.portlist import list_ports, render_ports

    ports = list_ports()
    if as_json:
        out.write(json.dumps([port.to_dict() for port in ports], indent=2) + "\n")
    else:
        out.write(render_ports(ports))
    return EXIT_OK


# -- parse ---------------------------------------------------------------------------------


def _parse(command: str, stream: TextIO, out: TextIO) -> int:
    from modem.at.dump import parse_dump

    text = stream.read()
    try:
        records = parse_dump(command, text)
    except ValueError as exc:
        raise CommandFailedError(f"parse: {exc}", EXIT_USAGE) from None
    if not records:
        raise CommandFailedError(
            f"parse: nothing in the input is an answer to {command} that we understand",
            EXIT_OTHER,
        )
    for record in records:
        out.write(json.dumps(record) + "\n")
    return EXIT_OK


# -- simulate ------------------------------------------------------------------------------


def _tcp_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, e.g. 127.0.0.1:7700, got {value!r}")
    return host.strip("[]"), int(port)


def _simulate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from modem.sim.engine import create_modem
    from modem.sim.errors import SimulatorError
    from modem.sim.scenario import load_scenario
    from modem.sim.serve import run_simulator

    try:
        # Checked here so that a wrong name is a usage error in this program's words.
        create_modem(args.profile, load_scenario(args.scenario), seed=args.seed)
    except (SimulatorError, ValueError) as error:
        raise CommandFailedError(str(error), EXIT_USAGE) from None
    return run_simulator(
        args.profile,
        args.scenario,
        args.seed,
        pty=args.pty,
        link=Path(args.link) if args.link else None,
        tcp=args.tcp,
        control_stream=sys.stdin,
        announce=lambda text: print(text, flush=True),
    )


# -- argument parsing ------------------------------------------------------------------------


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    """The options every port-using command spells the same way."""
    parser.add_argument("port", metavar="PORT", help="device path or URL of the AT port")
    parser.add_argument(
        "--baudrate",
        type=_positive_int,
        default=115200,
        help="line speed for real UARTs (default 115200)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive,
        default=5.0,
        help="seconds each AT command may take (default 5)",
    )


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value!r}")
    return number


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) == 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value!r}")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``salve-modem``."""
    parser = program_parser(PROGRAM)
    commands = add_commands(parser)

    list_parser = add_command(
        commands,
        PROGRAM,
        "list",
        help="list candidate AT ports: vendor, model, by-id path, who holds them",
        description=(
            "List the serial and WWAN ports of USB and PCIe modems, with vendor, model, USB "
            "interface, the stable /dev/serial/by-id path, and whether ModemManager (or "
            "another program) holds the port or udev tells ModemManager to ignore it."
        ),
    )
    list_parser.add_argument("--json", action="store_true", help="print a JSON list")

    probe_parser = add_command(
        commands,
        PROGRAM,
        "probe",
        help="identify modem and SIM; show registration, cells and signal",
    )
    _add_common_options(probe_parser)
    probe_parser.add_argument("--json", action="store_true", help="print one JSON object")

    watch_parser = add_command(
        commands,
        PROGRAM,
        "watch",
        help="print one line per registration or cell change, until Ctrl-C",
        description=(
            "Print one line per registration or serving-cell change, until Ctrl-C. When the "
            "port goes away, a 'lost' line says so and the watch waits for it; a 'back' line "
            "says how long it was gone."
        ),
    )
    _add_common_options(watch_parser)
    watch_parser.add_argument("--json", action="store_true", help="print JSON Lines")
    watch_parser.add_argument(
        "--interval",
        type=_positive,
        default=10.0,
        help="seconds between polls besides the module's own reports (default 10)",
    )

    parse_parser = add_command(
        commands,
        PROGRAM,
        "parse",
        help="read a module's raw answer on stdin and print what we understand (JSON Lines)",
        description=(
            "Read the text a module printed in answer to COMMAND from stdin and print one "
            "JSON object per record understood. COMMAND URC reads a log of unsolicited "
            "lines (registration changes, +CPIN, ^HCSQ, RDY...) each by its own prefix, as "
            "the AT engine routes them. Exit 0 when something was understood, 1 when "
            "nothing was, 2 on usage errors."
        ),
    )
    parse_parser.add_argument(
        "at_command",
        metavar="COMMAND",
        help="the command the text answers, e.g. 'AT+CEREG?', or URC for unsolicited lines",
    )

    simulate_parser = add_command(
        commands,
        PROGRAM,
        "simulate",
        help="serve the simulated modem on a pty or a loopback TCP port",
        description=(
            "Serve the simulated modem. The pty path or TCP address is printed on stdout; "
            "JSON-lines control commands are read from stdin."
        ),
    )
    mode = simulate_parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal")
    mode.add_argument(
        "--tcp", type=_tcp_address, metavar="HOST:PORT", help="serve on a loopback TCP port"
    )
    simulate_parser.add_argument(
        "--link", metavar="PATH", help="with --pty: keep a symlink to the pty at PATH"
    )
    simulate_parser.add_argument(
        "--profile",
        default=None,
        help="persona to simulate, e.g. quectel-ec25 (default: the scenario's persona)",
    )
    simulate_parser.add_argument(
        "--scenario", default=None, help="scenario name or TOML file (default: the built-in one)"
    )
    simulate_parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return parser


def _explain(error: ModemError, port: str | None) -> tuple[str, int]:
    """Plain words and an exit code for a modem error."""
    from modem.transport import PortUrlError

    if isinstance(error, PortUrlError):
        return str(error), EXIT_USAGE
    if isinstance(error, ModemUnavailableError):
        return str(error), EXIT_PORT
    if isinstance(error, ModemTimeoutError):
        return (
            f"{port}: the module did not answer {error.command} within {error.timeout:g} s "
            "(wrong port? still booting? another program such as ModemManager using it?)",
            EXIT_PORT,
        )
    if isinstance(error, CommandError):
        return f"{port}: the module refused {error.command}: {error.result}", EXIT_OTHER
    return f"{port}: {error}", EXIT_OTHER


def _with_modem(args: argparse.Namespace, action: Callable[[Modem], int]) -> int:
    from modem.driver import open_modem

    modem = open_modem(args.port, baudrate=args.baudrate, command_timeout=args.timeout)
    with modem:
        return action(modem)


def _run(args: argparse.Namespace) -> int:
    if args.command == "probe":

        def do_probe(modem: Modem) -> int:
            report = probe(modem)
            if args.json:
                print(json.dumps(report.to_dict(), indent=2))
            else:
                sys.stdout.write(render_probe(report))
            if report.exit_code == EXIT_SIM:
                print(f"salve-modem: {_SIM_WORDS.get(report.sim.state, '')}", file=sys.stderr)
            elif report.exit_code == EXIT_NO_SERVICE:
                print(
                    "salve-modem: no service: the module is not registered on any network "
                    "(antenna, coverage, SIM plan or roaming?)",
                    file=sys.stderr,
                )
            return report.exit_code

        return _with_modem(args, do_probe)
    if args.command == "watch":
        return _with_modem(
            args,
            lambda modem: _watch(modem, as_json=args.json, interval=args.interval, out=sys.stdout),
        )
    if args.command == "list":
        return _list(args.json, sys.stdout)
    if args.command == "parse":
        return _parse(args.at_command, sys.stdin, sys.stdout)
    return _simulate(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``salve-modem``; returns the exit code (see ``--help``)."""
    port: list[str | None] = [None]

    def body() -> int:
        args = build_parser().parse_args(argv)
        if args.command == "simulate" and args.link and not args.pty:
            raise CommandFailedError("--link needs --pty", EXIT_USAGE)
        logging.addLevelName(TRACE, "TRACE")
        configure_logging(PROGRAM.log_level(args))
        port[0] = getattr(args, "port", None)
        return _run(args)

    def describe(error: BaseException) -> tuple[str, int] | None:
        return _explain(error, port[0]) if isinstance(error, ModemError) else None

    return run(PROGRAM, body, describe=describe)

"""``salve-appliance``: the appliance daemon and its operator commands.

Commands (each takes ``--config FILE``; default ``$SALVE_APPLIANCE_CONFIG`` or
``/etc/salve/appliance.toml`` when present, plus ``SALVE_APPLIANCE_*`` variables):

* ``init``    create the state directory (0700) and the Ed25519 key (0600); never
  replaces an existing key.
* ``enroll``  read the SIM and print the one ``salve-gmlc appliance add`` command the
  GMLC operator runs (``--json`` for machines).
* ``run``     the daemon (systemd ``Type=notify``).
* ``status``  ask the running daemon (``--json`` for machines).
* ``probe``   one-shot look at the modem, as ``salve-modem probe`` shows it.

Exit codes: 0 ok; 1 error; 2 usage or configuration; 3 daemon not running (status) or
modem port unavailable; 4 SIM problem; 5 no network service (probe); 130 interrupted.
The conventions (``--version``, ``--log-level``, messages, the guard) are
:mod:`runtime.cli`'s.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from appliance.config import ApplianceConfig, load_config
from appliance.control import query_status
from appliance.errors import ApplianceError, ConfigError, DaemonNotRunningError
from runtime.cli import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    CommandFailedError,
    Program,
    add_command,
    add_commands,
    config_option,
    program_parser,
    run,
)
from runtime.logs import configure_logging

if TYPE_CHECKING:
    from modem.driver import Modem
    from modem.engine import AtEngine
    from modem.errors import ModemError
    from modem.models import SimIdentity

# The modem, crypto and HTTP stacks are imported by the commands that use them, so
# `salve-appliance status` (run by monitoring every few seconds) starts quickly.

__all__ = ["PROGRAM", "build_parser", "main"]

EXIT_UNAVAILABLE = 3
EXIT_SIM = 4
EXIT_NO_SERVICE = 5

PROGRAM = Program(
    name="salve-appliance",
    description="The SALVE appliance: reports the modem's cell observations to the GMLC.",
    exit_codes={
        EXIT_UNAVAILABLE: "daemon not running (status), or modem port unavailable",
        EXIT_SIM: "SIM problem: not inserted, PIN or PUK needed, SIM failure",
        EXIT_NO_SERVICE: "no network service (probe)",
    },
    default_log_level="warning",
)
_PROG = PROGRAM.name
_SIM_WAIT_S = 30.0
#: Plain words for SIM states that need a person (keys are modem.models.SimState values).
_SIM_WORDS = {
    "NOT INSERTED": "there is no SIM in the modem (or it is not seated properly)",
    "SIM PIN": "the SIM needs its PIN: set [modem] pin in the configuration",
    "SIM PUK": "the SIM is PUK-locked after wrong PINs: unlock it with the PUK first",
    "PH-SIM PIN": "the modem is locked to another SIM (PH-SIM PIN)",
    "FAILURE": "the SIM has failed or is not readable",
}


# -- commands ------------------------------------------------------------------------


def _init(config: ApplianceConfig, args: argparse.Namespace) -> int:
    from appliance.state import create_key, ensure_state_dir
    from mlp.observation import encode_public_key

    state_dir = config.appliance.state_dir
    ensure_state_dir(state_dir)
    key, created = create_key(config.appliance.key_path)
    public_key = encode_public_key(key.public_key())
    if args.json:
        print(
            json.dumps(
                {
                    "appliance_id": config.appliance.id,
                    "state_dir": str(state_dir),
                    "key": str(config.appliance.key_path),
                    "created": created,
                    "public_key": public_key,
                },
                indent=2,
            )
        )
        return EXIT_OK
    verb = "created" if created else "kept the existing"
    print(f"appliance id   {config.appliance.id}")
    print(f"state dir      {state_dir} (mode 0700)")
    print(f"signing key    {verb} Ed25519 key {config.appliance.key_path} (mode 0600)")
    print(f"public key     {public_key}")
    print(f"next: `{_PROG} enroll` reads the SIM and prints the GMLC enrolment command")
    return EXIT_OK


def _open(config: ApplianceConfig) -> tuple[AtEngine, Modem]:
    from modem.driver import Modem
    from modem.engine import AtEngine

    port = config.require_port()
    engine = AtEngine(port, baudrate=config.modem.baudrate, reconnect=False)
    try:
        modem = Modem(engine, command_timeout=config.modem.command_timeout_s, ready_timeout=10.0)
    except BaseException:
        engine.close()
        raise
    return engine, modem


def _ready_sim(config: ApplianceConfig, modem: Modem, wait_s: float) -> SimIdentity:
    """Reads the SIM, entering the configured PIN once and waiting while it initialises."""
    from modem.errors import CommandError, ModemStateError
    from modem.models import SimState

    deadline = time.monotonic() + wait_s
    pin_tried = False
    pause = threading.Event()
    while True:
        sim = modem.sim()
        if sim.state is SimState.SIM_PIN and config.modem.pin is not None and not pin_tried:
            pin_tried = True
            try:
                modem.enter_pin(config.modem.pin)
            except CommandError as error:
                raise CommandFailedError(
                    f"the SIM refused the configured PIN ({error.result}); check [modem] pin "
                    "before trying again: a few wrong PINs lock the SIM",
                    EXIT_SIM,
                ) from None
            except ModemStateError as error:
                raise CommandFailedError(f"the PIN was not entered: {error}", EXIT_SIM) from None
            continue
        if sim.state is SimState.READY and sim.imsi and sim.iccid:
            return sim
        if sim.state.value in _SIM_WORDS or time.monotonic() >= deadline:
            words = _SIM_WORDS.get(sim.state.value, f"the SIM is not ready ({sim.state.value})")
            if sim.state is SimState.READY:
                words = "the SIM is ready but did not give its IMSI and ICCID"
            raise CommandFailedError(words, EXIT_SIM)
        # The SIM is still initialising after power-up (BUSY/UNKNOWN): ask again shortly.
        pause.wait(1.0)


def _enroll(config: ApplianceConfig, args: argparse.Namespace) -> int:
    from appliance.state import load_key
    from mlp.observation import encode_public_key

    key = load_key(config.appliance.key_path)
    if config.appliance.site is None:
        raise ConfigError(
            "appliance.site is not set: the GMLC records where the appliance stands; add "
            "`site = ...` under [appliance] or set SALVE_APPLIANCE_APPLIANCE_SITE",
            "appliance.site",
        )
    _, modem = _open(config)
    with modem:
        sim = _ready_sim(config, modem, args.wait)
    assert sim.imsi is not None and sim.iccid is not None
    public_key = encode_public_key(key.public_key())
    words = [
        "salve-gmlc",
        "appliance",
        "add",
        config.appliance.id,
        # "=" form: a base64url key may begin with "-", which argparse would take for
        # an option if it stood on its own.
        f"--public-key={public_key}",
        "--imsi",
        sim.imsi,
        "--iccid",
        sim.iccid,
    ]
    if sim.msisdn:
        words += ["--msisdn", sim.msisdn]
    words += ["--site", config.appliance.site]
    command = shlex.join(words)
    if args.json:
        print(
            json.dumps(
                {
                    "appliance_id": config.appliance.id,
                    "public_key": public_key,
                    "imsi": sim.imsi,
                    "iccid": sim.iccid,
                    "msisdn": sim.msisdn,
                    "site": config.appliance.site,
                    "command": command,
                },
                indent=2,
            )
        )
    else:
        print("Give the GMLC operator this command (it binds this appliance's key to its SIM):")
        print()
        print(f"    {command}")
    return EXIT_OK


def _probe(config: ApplianceConfig, args: argparse.Namespace) -> int:
    # The same report and rendering as `salve-modem probe`, on the configured port.
    from modem.cli import probe, render_probe
    from modem.models import SimState

    _, modem = _open(config)
    with modem:
        report = probe(modem)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        sys.stdout.write(render_probe(report))
    if report.sim.state is not SimState.READY:
        words = _SIM_WORDS.get(report.sim.state.value, f"SIM state {report.sim.state.value}")
        print(f"{_PROG}: {words}", file=sys.stderr)
        return EXIT_SIM
    if report.observation is None or not report.observation.is_registered:
        print(f"{_PROG}: no service: the modem is not registered on any network", file=sys.stderr)
        return EXIT_NO_SERVICE
    return EXIT_OK


def _status(config: ApplianceConfig, args: argparse.Namespace) -> int:
    try:
        status = query_status(config.appliance.status_socket, timeout=args.timeout)
    except DaemonNotRunningError as error:
        if args.json:
            print(json.dumps({"running": False, "error": str(error)}, indent=2))
        else:
            print(f"{_PROG}: {error}", file=sys.stderr)
            print(f"{_PROG}: start it with `systemctl start salve-appliance`", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if args.json:
        print(json.dumps({"running": True, **status}, indent=2))
    else:
        sys.stdout.write(render_status(status))
    return EXIT_OK


def _run(config: ApplianceConfig, args: argparse.Namespace) -> int:
    from appliance.daemon import Daemon

    return Daemon(config).run()


# -- rendering -------------------------------------------------------------------------


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def _cell_words(cell: dict[str, Any]) -> str:
    area = cell.get("tac") if cell.get("tac") is not None else cell.get("lac")
    parts = [
        f"{cell.get('rat') or '?'} {cell.get('mcc') or '?'}-{cell.get('mnc') or '?'}",
        f"area {area if area is not None else '?'}",
        f"cell {cell.get('ci') if cell.get('ci') is not None else '?'}",
    ]
    for name, label in (("pci", "PCI"), ("psc", "PSC"), ("earfcn", "EARFCN"), ("band", "band")):
        if cell.get(name) is not None:
            parts.append(f"{label} {cell[name]}")
    if cell.get("rsrp") is not None:
        parts.append(f"RSRP {cell['rsrp']:g} dBm")
    return ", ".join(parts)


def render_status(status: dict[str, Any]) -> str:
    """The readable form of the daemon's status (``salve-appliance status``)."""
    lines: list[str] = []
    appliance = status.get("appliance", {})
    site = f" at {appliance['site']}" if appliance.get("site") else ""
    lines.append(f"salve-appliance {appliance.get('id')}{site}: {status.get('status')}")

    def row(label: str, value: str) -> None:
        lines.append(f"  {label:<13} {value}")

    modem = status.get("modem") or {}
    identity = modem.get("identity") or {}
    if modem.get("present"):
        row(
            "modem",
            f"{identity.get('manufacturer') or '?'} {identity.get('model') or '?'} "
            f"(IMEI {identity.get('imei') or '?'}) on {modem.get('port')}, "
            f"profile {modem.get('profile')}",
        )
    else:
        row("modem", f"not available on {modem.get('port')}")
    sim = status.get("sim")
    if sim:
        text = sim.get("state", "?")
        if sim.get("imsi"):
            text += f", IMSI {sim['imsi']}, ICCID {sim.get('iccid')}"
        if sim.get("msisdn"):
            text += f", MSISDN {sim['msisdn']}"
        row("SIM", text)
    else:
        row("SIM", "not read yet")
    registration = status.get("registration")
    if registration:
        word = "registered" if registration.get("registered") else "not registered"
        row(
            "registration", f"{word}{', ' + registration['rat'] if registration.get('rat') else ''}"
        )
    serving = status.get("serving")
    row("serving cell", _cell_words(serving) if serving else "none")
    report = status.get("last_report")
    if report:
        row("last report", f"seq {report['seq']}, observed {_age(report.get('age_s'))}")
    else:
        row("last report", "none yet")
    gmlc = status.get("gmlc") or {}
    reachable = gmlc.get("reachable")
    if gmlc.get("refused"):
        state = f"REFUSES this appliance ({gmlc.get('last_error')})"
    elif reachable is True:
        state = "reachable"
    elif reachable is False:
        state = f"UNREACHABLE ({gmlc.get('last_error')}), retry in {gmlc.get('retry_in_s')} s"
    else:
        state = "not contacted yet"
    delivered = gmlc.get("last_delivered_seq")
    if delivered is not None:
        state += f"; last delivered seq {delivered}"
    row("GMLC", f"{gmlc.get('url')}: {state}")
    queue = status.get("queue") or {}
    row(
        "queue",
        f"{queue.get('depth', 0)} waiting (max {queue.get('max_items')}), "
        f"{queue.get('dropped_total', 0)} dropped, {queue.get('quarantined_total', 0)} quarantined",
    )
    counters = status.get("counters") or {}
    events = ", ".join(f"{name} {count}" for name, count in sorted(counters.items()) if count)
    row("counters", events or "none")
    return "\n".join(lines) + "\n"


# -- plumbing --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every ``salve-appliance`` command."""
    parser = program_parser(PROGRAM)
    common = config_option(
        "TOML file (default: $SALVE_APPLIANCE_CONFIG or /etc/salve/appliance.toml)"
    )
    commands = add_commands(parser)
    init = add_command(
        commands,
        PROGRAM,
        "init",
        parents=[common],
        help="create the state directory and signing key",
    )
    init.add_argument("--json", action="store_true", help="machine-readable output")
    enroll = add_command(
        commands,
        PROGRAM,
        "enroll",
        parents=[common],
        help="print the GMLC command that enrols this appliance",
    )
    enroll.add_argument("--json", action="store_true", help="machine-readable output")
    enroll.add_argument(
        "--wait",
        type=float,
        default=_SIM_WAIT_S,
        metavar="SECONDS",
        help=f"how long to wait for the SIM to initialise (default {_SIM_WAIT_S:g})",
    )
    add_command(
        commands,
        PROGRAM,
        "run",
        parents=[common],
        help="run the daemon (systemd Type=notify; default log level info)",
    )
    status = add_command(
        commands, PROGRAM, "status", parents=[common], help="ask the running daemon"
    )
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument(
        "--timeout", type=float, default=5.0, metavar="SECONDS", help="answer timeout"
    )
    probe = add_command(
        commands, PROGRAM, "probe", parents=[common], help="one-shot look at the modem"
    )
    probe.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


_COMMANDS = {
    "init": _init,
    "enroll": _enroll,
    "run": _run,
    "status": _status,
    "probe": _probe,
}


def _modem_words(error: ModemError, config: ApplianceConfig | None) -> tuple[str, int]:
    from modem.errors import CommandError, ModemTimeoutError, ModemUnavailableError
    from modem.transport import PortUrlError

    port = config.modem.port if config is not None else None
    if isinstance(error, PortUrlError):
        return f"configuration: modem.port: {error}", EXIT_USAGE
    if isinstance(error, ModemUnavailableError):
        return str(error), EXIT_UNAVAILABLE
    if isinstance(error, ModemTimeoutError):
        return (
            f"{port}: the modem did not answer {error.command} in {error.timeout:g} s (wrong "
            "port? still booting? is the salve-appliance service or ModemManager using it?)",
            EXIT_UNAVAILABLE,
        )
    if isinstance(error, CommandError):
        return f"{port}: the modem refused {error.command}: {error.result}", EXIT_ERROR
    return f"{port}: {error}", EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``salve-appliance``; returns the exit code (see the module docstring)."""
    loaded: list[ApplianceConfig] = []

    def body() -> int:
        args = build_parser().parse_args(argv)
        if args.log_level is None and args.command == "run":
            args.log_level = "info"
        configure_logging(PROGRAM.log_level(args))
        config = load_config(args.config)
        loaded.append(config)
        return _COMMANDS[args.command](config, args)

    def describe(error: BaseException) -> tuple[str, int] | None:
        if isinstance(error, ConfigError):
            return f"configuration: {error}", EXIT_USAGE
        if isinstance(error, ApplianceError):
            return str(error), EXIT_ERROR
        # Only commands that talked to the modem can raise its errors; it is imported then.
        modem_errors = sys.modules.get("modem.errors")
        if modem_errors is not None and isinstance(error, modem_errors.ModemError):
            return _modem_words(error, loaded[0] if loaded else None)
        return None

    return run(PROGRAM, body, describe=describe)

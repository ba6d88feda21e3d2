"""The appliance daemon: keeps the GMLC supplied with fresh, signed cell observations.

Theory of operation. One main loop owns the modem; worker threads do the waiting:

* **main loop** (this module): opens the modem (retrying with backoff while it is
  missing), waits for the SIM (entering the configured PIN once per locked episode,
  never again after a wrong one) and for registration, then observes on every
  registration/cell-change URC and every ``interval_s``. Each cycle is reduced to a
  :class:`~appliance.changes.Snapshot`; what changed becomes a log event, a counter
  and an alert. Each observation with a known SIM becomes a signed report with the
  next durable sequence number and goes into the on-disk queue. The loop also sends
  queued SMS alerts and pings the systemd watchdog; it pings only when it has come
  round, so a hung loop gets the service restarted.
* **shipper thread** (:mod:`appliance.shipper`): drains the queue to the GMLC in order.
* **alert thread** (:mod:`appliance.alerts`): posts webhook alerts.
* **status thread** (:mod:`appliance.control`): answers ``salve-appliance status``.

The engine tells the loop at once when the modem's port goes away and when it is back
(:meth:`~modem.engine.AtEngine.add_port_handler`), so even an unplug shorter than one
interval becomes a ``modem_lost`` and a ``modem_back`` event, each with its alert.

systemd integration (:mod:`runtime.sdnotify`): ``READY=1`` as soon as the daemon runs
(its status socket answers, the shipper works), whether or not the modem is there yet,
so ``systemctl enable --now`` never blocks on a missing modem; ``STATUS=`` names the
worst current problem (:mod:`appliance.health`) or what the daemon waits for;
``WATCHDOG=1`` from the loop; ``RELOADING=1`` … ``READY=1`` around a SIGHUP reload;
``STOPPING=1`` on SIGTERM/SIGINT, after which the daemon stops its threads, closes the
modem and returns 0. Undelivered observations stay in the queue for the next start.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import signal
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.alerts import Alert, AlertDispatcher, RateLimiter
from appliance.changes import (
    Change,
    EventKind,
    Snapshot,
    detect_changes,
    identity_change,
    take_snapshot,
)
from appliance.config import ApplianceConfig, load_config
from appliance.control import StatusServer
from appliance.errors import ApplianceError, ReportError
from appliance.health import GmlcHealth, Problem, assess, status_line
from appliance.queue import ObservationQueue
from appliance.report import build_report
from appliance.shipper import Shipper
from appliance.state import SequenceCounter, SimMemory, ensure_state_dir, load_key
from mlp.observation import sign_observation
from modem.driver import Modem
from modem.engine import AtEngine
from modem.errors import CommandError, ModemError, ModemStateError, ModemUnavailableError
from modem.models import (
    CellObservation,
    ModemIdentity,
    Registration,
    SimIdentity,
    SimState,
)
from runtime.logs import log_event
from runtime.sdnotify import SystemdNotifier

__all__ = ["Daemon"]

_log = logging.getLogger(__name__)

#: How long opening the modem may wait for a booting module before trying again.
_READY_TIMEOUT_S = 5.0
#: Waits between attempts to open a missing modem: doubles up to the cap.
_OPEN_RETRY_S = (1.0, 15.0)
#: After this long without a working port, the engine is rebuilt from scratch.
_REBUILD_AFTER_S = 60.0
#: Consecutive failed cycles (timeouts, errors) before the modem counts as gone.
_FAILED_CYCLES_LIMIT = 3
#: The loop never sleeps longer than this, so the watchdog and signals stay prompt.
_MAX_SLEEP_S = 5.0
#: After a failed cycle the next one comes this soon (or at the interval, if sooner).
_RETRY_FAILED_CYCLE_S = 5.0


class Daemon:
    """The long-running service; :meth:`run` is the whole life of the process."""

    def __init__(
        self,
        config: ApplianceConfig,
        *,
        config_path: Path | None = None,
        notifier: SystemdNotifier | None = None,
    ) -> None:
        """Prepares the daemon (nothing is opened until :meth:`run`).

        Args:
            config: the validated configuration.
            config_path: the file to re-read on SIGHUP (``config.source`` by default).
            notifier: the systemd notifier (built from the environment by default).
        """
        self._config = config
        self._config_path = config_path if config_path is not None else config.source
        self._notifier = notifier if notifier is not None else SystemdNotifier()
        self._wake = threading.Event()
        self._stop_requested = threading.Event()
        self._reload_requested = threading.Event()
        self._change_pending = threading.Event()
        self._lock = threading.Lock()
        self._counters: Counter[str] = Counter({kind.value: 0 for kind in EventKind})
        self._counters["observations"] = 0
        self._counters["modem_errors"] = 0
        self._counters["cycles"] = 0
        self._modem: Modem | None = None
        self._engine: AtEngine | None = None
        self._modem_identity: ModemIdentity | None = None
        self._modem_lost_since: float | None = None
        self._failed_cycles = 0
        self._open_delay = _OPEN_RETRY_S[0]
        self._next_open = 0.0
        #: (engine, connected, reason) from the engine's dispatcher thread.
        self._port_events: queue.SimpleQueue[tuple[AtEngine, bool, str]] = queue.SimpleQueue()
        self._snapshot: Snapshot | None = None
        self._sim: SimIdentity | None = None
        self._observation: CellObservation | None = None
        self._pin_attempted = False
        self._next_observation = 0.0
        self._state = "starting"
        self._modem_line = "starting"
        self._status_line = "starting"
        self._sent_status: str | None = None
        self._reload_failure: str | None = None
        self._last_report: dict[str, Any] | None = None
        self._started_at = datetime.now(UTC)
        self._key: Ed25519PrivateKey | None = None
        self._seq: SequenceCounter | None = None
        self._queue: ObservationQueue | None = None
        self._shipper: Shipper | None = None
        self._alerts: AlertDispatcher | None = None
        self._status_server: StatusServer | None = None
        self._sim_memory: SimMemory | None = None
        self._missing_at_start = False

    # -- life cycle --------------------------------------------------------------------

    def run(self) -> int:
        """Runs until SIGTERM/SIGINT; returns the process exit status.

        Raises:
            ApplianceError: start-up failed (state, key, queue, status socket, GMLC URL).
        """
        self._start()
        previous = self._install_signal_handlers()
        try:
            while not self._stop_requested.is_set():
                if self._reload_requested.is_set():
                    self._reload_requested.clear()
                    self._reload()
                self._loop_once()
                self._publish_status()
                self._notifier.watchdog()
                self._sleep()
        finally:
            self._shutdown()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return 0

    def request_stop(self) -> None:
        """Asks the main loop to finish (what SIGTERM does)."""
        self._stop_requested.set()
        self._wake.set()

    def request_reload(self) -> None:
        """Asks the main loop to re-read the configuration (what SIGHUP does)."""
        self._reload_requested.set()
        self._wake.set()

    def _install_signal_handlers(self) -> dict[int, Any]:
        previous: dict[int, Any] = {}

        def on_stop(signum: int, frame: FrameType | None) -> None:
            self.request_stop()

        def on_reload(signum: int, frame: FrameType | None) -> None:
            self.request_reload()

        if threading.current_thread() is threading.main_thread():
            for signum, handler in (
                (signal.SIGTERM, on_stop),
                (signal.SIGINT, on_stop),
                (signal.SIGHUP, on_reload),
            ):
                previous[signum] = signal.signal(signum, handler)
        return previous

    def _start(self) -> None:
        config = self._config
        url = config.require_gmlc_url()
        config.require_port()
        ensure_state_dir(config.appliance.state_dir)
        self._key = load_key(config.appliance.key_path)
        self._seq = SequenceCounter(config.appliance.state_dir / "seq")
        self._queue = ObservationQueue(config.appliance.state_dir / "queue", config.queue.max_items)
        self._alerts = AlertDispatcher(
            webhook_url=config.alerts.webhook_url,
            sms_numbers=config.alerts.sms_numbers,
            limiter=RateLimiter(config.alerts.min_interval_s),
            timeout_s=config.gmlc.timeout_s,
        )
        try:
            self._shipper = Shipper(
                self._queue,
                url=url,
                ca_file=config.gmlc.ca_file,
                timeout_s=config.gmlc.timeout_s,
                max_backoff_s=_max_backoff(config),
                on_event=self._on_shipper_event,
            )
        except OSError as error:
            raise ApplianceError(
                f"cannot load gmlc.ca_file {config.gmlc.ca_file}: {error}"
            ) from None
        self._status_server = StatusServer(config.appliance.status_socket, self.status)
        self._status_server.start()
        self._alerts.start()
        self._shipper.start()
        self._sim_memory = SimMemory(config.appliance.state_dir / "sim.json")
        log_event(
            _log,
            logging.INFO,
            "daemon_started",
            "salve-appliance started",
            appliance=config.appliance.id,
            port=config.modem.port,
            gmlc=url,
            queued=len(self._queue),
            last_seq=self._seq.last,
        )
        self._set_status(f"opening the modem on {config.modem.port}", state="opening_modem")
        # Ready as soon as the daemon runs: a missing modem is a state to report, not a
        # start-up that systemd should wait for (and restart in a loop).
        self._notifier.ready(self._status_line)
        self._sent_status = self._status_line

    def _shutdown(self) -> None:
        self._notifier.stopping("stopping: closing the modem, undelivered observations stay queued")
        log_event(_log, logging.INFO, "daemon_stopping", "salve-appliance stopping")
        if self._shipper is not None:
            self._shipper.close(timeout=2.0)
        if self._alerts is not None:
            self._alerts.close(timeout=1.0)
        self._close_modem()
        if self._status_server is not None:
            self._status_server.close()
        queued = len(self._queue) if self._queue is not None else 0
        log_event(_log, logging.INFO, "daemon_stopped", "salve-appliance stopped", queued=queued)

    def _sleep(self) -> None:
        now = time.monotonic()
        if self._modem is None:
            timeout = self._next_open - now
        elif self._change_pending.is_set():
            timeout = 0.0
        else:
            timeout = self._next_observation - now
        watchdog = self._notifier.watchdog_interval_s
        cap = min(_MAX_SLEEP_S, watchdog / 3) if watchdog else _MAX_SLEEP_S
        timeout = max(0.0, min(timeout, cap))
        if timeout > 0:
            self._wake.wait(timeout)
        self._wake.clear()

    # -- the modem ---------------------------------------------------------------------

    def _loop_once(self) -> None:
        self._take_port_events()
        if self._modem is None:
            if time.monotonic() >= self._next_open:
                self._open_modem()
            return
        if self._modem_lost_since is not None and (
            time.monotonic() - self._modem_lost_since > _REBUILD_AFTER_S
        ):
            # The engine reconnects by itself; after this long, start from scratch in
            # case the device came back under conditions it could not recover from.
            log_event(_log, logging.WARNING, "modem_rebuild", "reopening the modem port")
            self._close_modem()
            self._next_open = time.monotonic()
            return
        due = time.monotonic() >= self._next_observation
        if due or self._change_pending.is_set():
            self._change_pending.clear()
            interval = self._config.appliance.interval_s
            if not self._cycle():
                # A module that just came back may still be booting: look again soon
                # rather than a whole interval later.
                interval = min(interval, _RETRY_FAILED_CYCLE_S)
            self._next_observation = time.monotonic() + interval
        if self._modem is not None and self._alerts is not None and self._modem_lost_since is None:
            self._alerts.drain_sms(self._modem.send_sms)

    def _open_modem(self) -> None:
        config = self._config
        port = config.require_port()
        try:
            engine = AtEngine(port, baudrate=config.modem.baudrate)
        except ModemError as error:
            self._open_failed(error)
            return
        try:
            modem = Modem(
                engine,
                command_timeout=config.modem.command_timeout_s,
                ready_timeout=_READY_TIMEOUT_S,
            )
            identity = modem.identity()
            modem.enable_registration_urcs()
        except ModemError as error:
            engine.close()
            self._open_failed(error)
            return
        modem.on_change(self._on_registration_urc)
        engine.add_port_handler(
            lambda connected, reason: self._on_port_change(engine, connected, reason)
        )
        self._engine, self._modem, self._modem_identity = engine, modem, identity
        if self._missing_at_start:
            self._missing_at_start = False
            self._event(EventKind.MODEM_BACK, "the modem is back", {"port": port})
        self._open_delay = _OPEN_RETRY_S[0]
        self._modem_lost_since = None
        self._failed_cycles = 0
        self._next_observation = 0.0
        log_event(
            _log,
            logging.INFO,
            "modem_opened",
            f"modem open on {port}",
            manufacturer=identity.manufacturer,
            model=identity.model,
            revision=identity.revision,
            imei=identity.imei,
            profile=modem.profile.name,
        )
        self._set_status(
            f"modem open on {port} ({identity.manufacturer} {identity.model})",
            state="opening_modem",
        )

    def _open_failed(self, error: ModemError) -> None:
        self._mark_modem_gone(str(error))
        if self._snapshot is None and not self._missing_at_start:
            # No earlier snapshot to compare with: say it once, in the same words as
            # a modem that disappears later.
            self._missing_at_start = True
            self._event(
                EventKind.MODEM_LOST,
                f"the modem cannot be opened: {error}",
                {"port": self._config.modem.port},
            )
        self._next_open = time.monotonic() + self._open_delay
        self._open_delay = min(self._open_delay * 2, _OPEN_RETRY_S[1])
        port = self._config.modem.port
        words = str(error).removeprefix(f"{port}: ")
        self._set_status(f"waiting for the modem on {port}: {words}", state="no_modem")

    def _close_modem(self) -> None:
        modem, self._modem, self._engine = self._modem, None, None
        if modem is not None:
            try:
                modem.close()
            except ModemError as error:
                log_event(_log, logging.DEBUG, "modem_close_failed", str(error))

    def _on_registration_urc(self, registration: Registration) -> None:
        # Runs on the engine's URC thread: only flag the change, the main loop observes.
        self._change_pending.set()
        self._wake.set()

    def _on_port_change(self, engine: AtEngine, connected: bool, reason: str) -> None:
        # Runs on the engine's dispatcher thread: hand over to the main loop.
        self._port_events.put((engine, connected, reason))
        self._wake.set()

    def _take_port_events(self) -> None:
        """Turns the engine's port reports into modem_lost/modem_back, in order."""
        while True:
            try:
                engine, connected, reason = self._port_events.get_nowait()
            except queue.Empty:
                return
            if engine is not self._engine:
                continue  # from an engine closed since (reload, rebuild)
            if connected:
                # The next cycle finds the modem present again: that is modem_back.
                self._change_pending.set()
                continue
            with self._lock:
                self._counters["modem_errors"] += 1
            self._mark_modem_gone(reason)
            self._set_status(
                f"the modem's port is gone ({reason}); waiting for it to come back",
                state="no_modem",
            )

    def _mark_modem_gone(self, reason: str) -> None:
        if self._modem_lost_since is None:
            self._modem_lost_since = time.monotonic()
        if self._snapshot is not None and self._snapshot.modem_present:
            gone = self._snapshot.modem_gone()
            self._apply_changes(detect_changes(self._snapshot, gone), extra={"reason": reason})
            self._snapshot = gone

    def _cycle(self) -> bool:
        """One look at the modem; False when the modem failed to answer."""
        modem = self._modem
        assert modem is not None
        with self._lock:
            self._counters["cycles"] += 1
        try:
            sim = modem.sim()
            if sim.state is SimState.SIM_PIN:
                sim = self._enter_pin(sim)
            observation = modem.observe() if sim.state is SimState.READY else None
        except ModemUnavailableError as error:
            self._counters["modem_errors"] += 1
            self._mark_modem_gone(str(error))
            self._set_status(f"the modem is gone: {error}", state="no_modem")
            return False
        except ModemError as error:
            self._counters["modem_errors"] += 1
            self._failed_cycles += 1
            log_event(
                _log,
                logging.WARNING,
                "modem_error",
                f"observation cycle failed: {error}",
                consecutive=self._failed_cycles,
            )
            if self._failed_cycles >= _FAILED_CYCLES_LIMIT:
                self._mark_modem_gone(str(error))
                self._set_status(f"the modem does not answer: {error}", state="no_modem")
            return False
        self._failed_cycles = 0
        self._modem_lost_since = None
        before = self._snapshot
        after = take_snapshot(before, sim, observation)
        changes = list(detect_changes(before, after))
        stored = self._sim_memory.last if self._sim_memory is not None else None
        if before is None and stored is not None:
            swapped = identity_change(stored[0], stored[1], after)
            if swapped is not None:
                changes.append(swapped)
        self._apply_changes(tuple(changes))
        self._snapshot = after
        with self._lock:
            self._sim, self._observation = sim, observation
        if sim.state is SimState.READY and sim.imsi and sim.iccid:
            assert self._sim_memory is not None
            self._sim_memory.remember(sim.imsi, sim.iccid)
        self._describe(sim, observation, after)
        if observation is not None and sim.state is SimState.READY:
            self._report(sim, observation)
        return True

    def _enter_pin(self, sim: SimIdentity) -> SimIdentity:
        pin = self._config.modem.pin
        if pin is None or self._pin_attempted or self._modem is None:
            return sim
        # One attempt per locked episode: a wrong PIN retried burns the SIM's tries
        # and ends in a PUK lock that needs a person on site. enter_pin() also keeps
        # the SIM's last attempt for a person.
        self._pin_attempted = True
        try:
            unlocked = self._modem.enter_pin(pin)
        except CommandError as error:
            log_event(
                _log,
                logging.ERROR,
                "pin_rejected",
                f"the SIM refused the configured PIN ({error.result}); not trying again",
            )
            return sim
        except ModemStateError as error:
            log_event(_log, logging.ERROR, "pin_not_entered", f"the PIN was not entered: {error}")
            return sim
        log_event(_log, logging.INFO, "pin_entered", "the configured PIN unlocked the SIM")
        # Accepted: a later locked episode (SIM reinserted) may use the PIN again.
        self._pin_attempted = False
        return unlocked

    def _describe(
        self, sim: SimIdentity, observation: CellObservation | None, after: Snapshot
    ) -> None:
        if sim.state is SimState.NOT_INSERTED:
            self._set_status("no SIM in the modem", state="no_sim")
        elif sim.state in (SimState.SIM_PIN, SimState.SIM_PUK, SimState.PH_SIM_PIN):
            self._set_status(f"the SIM is locked ({sim.state.value})", state="sim_locked")
        elif sim.state is not SimState.READY:
            self._set_status(f"waiting for the SIM ({sim.state.value})", state="waiting_for_sim")
        elif not after.registered:
            word = _registration_word(observation)
            self._set_status(f"waiting for registration ({word})", state="waiting_for_network")
        else:
            where = after.cell.describe() if after.cell is not None else "an unidentified cell"
            self._set_status(f"observing: registered on {where}", state="observing")

    # -- reports -----------------------------------------------------------------------

    def _report(self, sim: SimIdentity, observation: CellObservation) -> None:
        assert self._seq is not None and self._key is not None and self._queue is not None
        identity = self._modem_identity or ModemIdentity()
        seq = self._seq.next()
        try:
            report = build_report(
                appliance_id=self._config.appliance.id,
                seq=seq,
                observation=observation,
                sim=sim,
                modem=identity,
            )
        except ReportError as error:
            log_event(_log, logging.WARNING, "report_skipped", str(error), seq=seq)
            return
        token = sign_observation(report, self._key)
        dropped = self._queue.put(seq, token)
        with self._lock:
            self._counters["observations"] += 1
            self._last_report = {
                "seq": seq,
                "observed_at": observation.observed_at.isoformat(),
                "observed_monotonic": time.monotonic(),
                "registration": report.registration.state,
            }
        log_event(_log, logging.DEBUG, "observation_queued", seq=seq)
        if dropped:
            self._event(
                EventKind.QUEUE_DROPPED,
                f"the delivery queue is full: dropped the {dropped} oldest observation(s)",
                {"dropped": dropped, "dropped_total": self._queue.dropped_total},
            )
        if self._shipper is not None:
            self._shipper.wake()

    # -- events ------------------------------------------------------------------------

    def _apply_changes(
        self, changes: tuple[Change, ...], extra: dict[str, Any] | None = None
    ) -> None:
        for change in changes:
            self._event(change.kind, change.message, {**change.details, **(extra or {})})

    def _on_shipper_event(self, kind: EventKind, message: str, details: dict[str, Any]) -> None:
        self._event(kind, message, details)
        # The GMLC side changed: let the main loop republish the status line now.
        self._wake.set()

    def _event(self, kind: EventKind, message: str, details: dict[str, Any]) -> None:
        with self._lock:
            self._counters[kind.value] += 1
        level = {"critical": logging.ERROR, "warning": logging.WARNING}.get(
            kind.severity, logging.INFO
        )
        log_event(_log, level, kind.value, message, **details)
        if self._alerts is not None:
            self._alerts.raise_alert(
                Alert(
                    kind=kind.value,
                    severity=kind.severity,
                    message=message,
                    appliance_id=self._config.appliance.id,
                    site=self._config.appliance.site,
                    details=details,
                )
            )

    def _set_status(self, line: str, *, state: str) -> None:
        """Records the modem side's state and words, then republishes the status line."""
        with self._lock:
            self._modem_line, self._state = line, state
        self._publish_status()

    def _gmlc_health(self) -> GmlcHealth:
        shipper, queue_ = self._shipper, self._queue
        return GmlcHealth(
            url=self._config.gmlc.url,
            reachable=shipper.reachable if shipper is not None else None,
            refused=shipper.refused if shipper is not None else None,
            rejected=shipper.rejected if shipper is not None else None,
            last_error=shipper.last_error if shipper is not None else None,
            queued=len(queue_) if queue_ is not None else 0,
        )

    def _current_status(self) -> tuple[str, str, tuple[Problem, ...]]:
        """(state, status line, problems), computed from every part as they are now."""
        with self._lock:
            state, modem_line = self._state, self._modem_line
        problems = assess(state, modem_line, self._gmlc_health())
        if self._reload_failure is not None:
            problems += (Problem("reload_failed", self._reload_failure),)
        return state, status_line(modem_line, problems), problems

    def _publish_status(self) -> None:
        """Recomputes the status line; sends STATUS= when it changed (main loop only)."""
        _, line, _ = self._current_status()
        with self._lock:
            self._status_line = line
        if line != self._sent_status:
            self._sent_status = line
            self._notifier.status(line)

    # -- reload ------------------------------------------------------------------------

    def _reload(self) -> None:
        self._notifier.reloading()
        log_event(
            _log, logging.INFO, "reload", "re-reading the configuration", path=self._config_path
        )
        try:
            new = load_config(self._config_path)
            new.require_port()
            url = new.require_gmlc_url()
        except ApplianceError as error:
            self._reload_failed(f"{error}")
            return
        old = self._config
        for name in ("id", "state_dir", "status_socket"):
            if getattr(old.appliance, name) != getattr(new.appliance, name):
                log_event(
                    _log,
                    logging.WARNING,
                    "reload_needs_restart",
                    f"appliance.{name} changes only on restart; keeping the running value",
                )
        new = dataclasses.replace(
            new,
            appliance=dataclasses.replace(
                new.appliance,
                id=old.appliance.id,
                state_dir=old.appliance.state_dir,
                status_socket=old.appliance.status_socket,
            ),
        )
        assert self._shipper is not None and self._alerts is not None and self._queue is not None
        if old.gmlc != new.gmlc or old.appliance.interval_s != new.appliance.interval_s:
            try:
                self._shipper.reconfigure(
                    url=url,
                    ca_file=new.gmlc.ca_file,
                    timeout_s=new.gmlc.timeout_s,
                    max_backoff_s=_max_backoff(new),
                )
            except OSError as error:
                self._reload_failed(f"cannot load gmlc.ca_file: {error}")
                return
        self._alerts.reconfigure(
            webhook_url=new.alerts.webhook_url,
            sms_numbers=new.alerts.sms_numbers,
            min_interval_s=new.alerts.min_interval_s,
        )
        dropped = self._queue.set_max_items(new.queue.max_items)
        if dropped:
            self._event(
                EventKind.QUEUE_DROPPED,
                f"the smaller queue.max_items dropped the {dropped} oldest observation(s)",
                {"dropped": dropped},
            )
        if new.modem != old.modem:
            self._pin_attempted = False
            if (new.modem.port, new.modem.baudrate) != (old.modem.port, old.modem.baudrate):
                self._close_modem()
                self._next_open = 0.0
                self._open_delay = _OPEN_RETRY_S[0]
                self._set_status(f"opening the modem on {new.modem.port}", state="opening_modem")
        self._config = new
        self._next_observation = 0.0
        self._reload_failure = None
        log_event(_log, logging.INFO, "reloaded", "configuration reloaded")
        self._ready_after_reload()

    def _reload_failed(self, reason: str) -> None:
        log_event(
            _log, logging.ERROR, "reload_failed", f"{reason}; keeping the running configuration"
        )
        self._reload_failure = f"reload failed, running the previous configuration: {reason}"
        self._ready_after_reload()

    def _ready_after_reload(self) -> None:
        # READY=1 ends the reload; its STATUS= is the current line, recomputed, so that a
        # reload while waiting for the modem never reports a state the daemon is not in.
        self._publish_status()
        self._notifier.ready(self._status_line)

    # -- status ------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The daemon's state as a JSON-ready dict (served on the status socket)."""
        config = self._config
        with self._lock:
            counters = dict(self._counters)
            sim, observation = self._sim, self._observation
            last_report = dict(self._last_report) if self._last_report else None
        state, line, problems = self._current_status()
        snapshot = self._snapshot
        modem_present = snapshot.modem_present if snapshot is not None else self._modem is not None
        if last_report is not None:
            last_report["age_s"] = round(
                time.monotonic() - last_report.pop("observed_monotonic"), 1
            )
        shipper = self._shipper
        queue = self._queue
        identity = self._modem_identity
        serving = observation.serving if observation is not None else None
        registration: dict[str, Any] | None = None
        if observation is not None:
            registration = {
                "registered": observation.is_registered,
                "rat": snapshot.rat.value if snapshot is not None and snapshot.rat else None,
                "domains": [r.to_dict() for r in observation.registrations],
                "operator": observation.operator.to_dict() if observation.operator else None,
            }
        if shipper is not None:
            counters.update({f"gmlc_{k}": v for k, v in shipper.counters.items()})
        if self._alerts is not None:
            counters.update({f"alerts_{k}": v for k, v in self._alerts.counters.items()})
        return {
            "appliance": {"id": config.appliance.id, "site": config.appliance.site},
            "pid": os.getpid(),
            "started_at": self._started_at.isoformat(),
            "state": state,
            "status": line,
            "problems": [{"kind": p.kind, "words": p.words} for p in problems],
            "modem": {
                "port": config.modem.port,
                "present": bool(modem_present and self._modem is not None),
                "identity": identity.to_dict() if identity is not None else None,
                "profile": self._modem.profile.name if self._modem is not None else None,
            },
            "sim": sim.to_dict() if sim is not None else None,
            "registration": registration,
            "serving": serving.to_dict() if serving is not None else None,
            "signal": observation.signal.to_dict()
            if observation is not None and observation.signal is not None
            else None,
            "last_report": last_report,
            "gmlc": {
                "url": config.gmlc.url,
                "reachable": shipper.reachable if shipper is not None else None,
                "refused": shipper.refused if shipper is not None else None,
                "last_error": shipper.last_error if shipper is not None else None,
                "last_delivered_seq": shipper.last_delivered_seq if shipper is not None else None,
                "last_delivered_at": shipper.last_delivered_at.isoformat()
                if shipper is not None and shipper.last_delivered_at is not None
                else None,
                "retry_in_s": round(shipper.retry_in_s, 1) if shipper is not None else None,
            },
            "queue": {
                "depth": len(queue) if queue is not None else 0,
                "max_items": config.queue.max_items,
                "dropped_total": queue.dropped_total if queue is not None else 0,
                "quarantined_total": queue.quarantined_total if queue is not None else 0,
                "seqs": queue.seqs()[:5] if queue is not None else [],
            },
            "last_seq": self._seq.last if self._seq is not None else None,
            "counters": counters,
        }


def _max_backoff(config: ApplianceConfig) -> float:
    # Waiting longer than one observation interval between attempts buys nothing: new
    # observations keep arriving at that pace anyway.
    return min(300.0, max(5.0, config.appliance.interval_s))


def _registration_word(observation: CellObservation | None) -> str:
    if observation is None or not observation.registrations:
        return "no registration information"
    stats = {r.stat for r in observation.registrations if r.stat is not None}
    if not stats:
        return "registration state unknown"
    best = min(stats, key=lambda stat: (stat.value != 2, stat.value != 3, stat.value))
    return best.name.lower().replace("_", " ")

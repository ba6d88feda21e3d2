"""The change feed: keeps a worker's read model current and shares its failed logins.

One thread per worker process follows the change log (:mod:`gmlc.store.changes`):

* **SQLite** (one node, any number of workers): it polls for rows above the last id it
  applied, every ``interval_s``. A gap below the oldest row kept (the log was pruned
  past this worker) reloads everything.
* **PostgreSQL** (several nodes): it listens on the ``salve_changes`` channel, which
  delivers each change at commit, in commit order. On (re)connecting it loads everything
  again, after LISTEN, so nothing committed in between is missed.

Either way a change committed anywhere (a CLI command, another worker, another node) is
applied here within ``interval_s`` plus the time to reload the changed entry: that is the
bound within which a disabled client is refused and a new observation is used everywhere.

Failed logins travel the same way. :meth:`ChangeFeed.publish_failure` queues the throttle
key; the thread writes the queue as ``failure`` rows tagged with this worker's ``origin``,
and every other worker and node adds them to its own throttle. The shared throttle is
thus eventually consistent within the same bound.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from typing import Final

from gmlc.errors import GmlcError, StoreError
from gmlc.readmodel import ReadModel
from gmlc.store import Change, ChangeListener, Store
from runtime.logs import log_event

__all__ = ["ChangeFeed", "FailureSink"]

logger = logging.getLogger(__name__)

FailureSink = Callable[[Sequence[tuple[str, ...]]], None]
"""Receives throttle keys of failures counted by other workers and nodes."""

_KEEP_CHANGES: Final = 100_000
_PRUNE_EVERY_S: Final = 60.0


class ChangeFeed:
    """Follows the change log for one worker (see the module docstring).

    Args:
        store: The database.
        read_model: The model to keep current.
        interval_s: Poll interval on SQLite; longest wait between two flushes of the
            failure queue on both.
        on_failures: Where other workers' and nodes' failures go (the throttle).
        origin: This worker's name in the failures it publishes; random when None.
    """

    def __init__(
        self,
        store: Store,
        read_model: ReadModel,
        *,
        interval_s: float = 0.1,
        on_failures: FailureSink | None = None,
        origin: str | None = None,
    ) -> None:
        self._store = store
        self._model = read_model
        self._interval_s = interval_s
        self._on_failures = on_failures
        self.origin = origin or secrets.token_hex(8)
        self._position = 0
        self._queued: list[str] = []
        self._queue_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: ChangeListener | None = None
        self._since_prune = 0.0

    @property
    def listening(self) -> bool:
        """Whether changes arrive by notification (PostgreSQL) rather than by polling."""
        return self._store.dialect == "postgresql"

    def start(self) -> None:
        """Load the read model, then follow changes in a background thread.

        A first load that fails (the database is unreachable or not migrated yet) is
        logged and tried again by the thread; until it succeeds the read model is empty
        and the service is not ready (:attr:`ReadModel.loaded_at` is None).
        """
        try:
            self._load()
        except GmlcError as exc:
            log_event(logger, logging.ERROR, "read_model_not_loaded", problem=str(exc))
        self._thread = threading.Thread(target=self._run, name="change-feed", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        # Listen (or note the position) first, then load: whatever commits in between is
        # applied again afterwards, never missed.
        if self.listening and self._listener is None:
            self._listener = self._store.listener()
        self._position = self._store.last_change_id()
        self._model.load()

    def close(self) -> None:
        """Stop the thread, writing the failures still queued."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._flush()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def publish_failure(self, key: tuple[str, ...]) -> None:
        """Queue a failure this worker counted, for every other worker and node."""
        with self._queue_lock:
            self._queued.append(json.dumps(list(key), separators=(",", ":")))

    def catch_up(self) -> int:
        """Apply every change committed so far (SQLite; a no-op wait on PostgreSQL).

        The thread calls this every interval; tests call it to apply changes at once.

        Returns:
            How many changes were applied.

        Raises:
            StoreError: the database cannot be read.
        """
        self._flush()
        if self.listening:
            return self._receive(0.0)
        applied = 0
        while True:
            changes = self._store.changes_since(self._position)
            if not changes:
                return applied
            if changes[0].id > self._position + 1 and self._store.oldest_change_id() > (
                self._position + 1
            ):
                # Pruned past this worker: what it missed is unknown, so start over.
                self._position = changes[-1].id
                self._model.load()
                log_event(logger, logging.WARNING, "read_model_reloaded", reason="change_gap")
            else:
                self._apply(changes)
                self._position = changes[-1].id
            applied += len(changes)

    def _receive(self, timeout_s: float) -> int:
        if self._listener is None:
            self._load()
            log_event(logger, logging.INFO, "read_model_reloaded", reason="listening_again")
        if self._listener is None:
            raise StoreError("no change listener")  # _load sets it on PostgreSQL
        changes = self._listener.wait(timeout_s)
        if changes:
            self._apply(changes)
        return len(changes)

    def _apply(self, changes: Sequence[Change]) -> None:
        self._model.apply(changes)
        if self._on_failures is None:
            return
        failures = []
        for change in changes:
            if change.kind == "failure" and change.origin != self.origin:
                try:
                    key = json.loads(change.key)
                except ValueError:
                    continue
                if isinstance(key, list) and all(isinstance(part, str) for part in key):
                    failures.append(tuple(key))
        if failures:
            self._on_failures(failures)

    def _flush(self) -> None:
        with self._queue_lock:
            queued, self._queued = self._queued, []
        if queued:
            try:
                self._store.publish("failure", queued, origin=self.origin)
            except (GmlcError, ValueError) as exc:
                log_event(logger, logging.ERROR, "failures_not_shared", problem=str(exc))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._model.loaded_at is None:
                    self._load()
                if self.listening:
                    self._flush()
                    self._receive(self._interval_s)
                else:
                    self.catch_up()
                    self._stop.wait(self._interval_s)
                self._maybe_prune()
            except GmlcError as exc:
                log_event(logger, logging.ERROR, "change_feed_failed", problem=str(exc))
                if self._listener is not None:
                    self._listener.close()
                    self._listener = None  # the next round listens again and reloads
                self._stop.wait(max(self._interval_s, 1.0))

    def _maybe_prune(self) -> None:
        self._since_prune += self._interval_s
        if self._since_prune < _PRUNE_EVERY_S:
            return
        self._since_prune = 0.0
        self._store.prune_changes(keep=_KEEP_CHANGES)

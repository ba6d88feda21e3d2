"""A bounded, ordered, on-disk queue of signed observations waiting for the GMLC.

Theory of operation: one file per observation, named by its zero-padded sequence
number (``00000000000000000042.json``), so the directory listing *is* the order and
a restart finds exactly what was waiting. Each file is written to a temporary name,
fsync'd and renamed, so a crash leaves either the whole entry or none.

Invariants:

* at most ``max_items`` entries; putting one more drops the *oldest* (the freshest
  observations matter most for a location check) and adds to ``dropped_total``;
* an entry that cannot be read back (damaged, truncated, foreign file) is moved to
  ``quarantine/`` and counted in ``quarantined_total``: it never blocks the queue
  and is never deleted silently;
* both totals live in ``counters.json`` and survive restarts.

All methods are thread-safe: the daemon's main loop puts, the shipper thread reads
and removes.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import QueueError
from appliance.state import write_file_durably

__all__ = ["ObservationQueue", "QueuedObservation"]

_ENTRY_NAME = re.compile(r"[0-9]{20}\.json")
_COUNTERS = "counters.json"
_QUARANTINE = "quarantine"
#: Quarantined files kept for inspection; older ones are deleted (they stay counted).
_QUARANTINE_KEEP = 100


@dataclass(frozen=True, slots=True)
class QueuedObservation:
    """One signed observation waiting for delivery."""

    seq: int
    token: str


class ObservationQueue:
    """The queue directory; see the module docstring for the invariants."""

    def __init__(self, directory: Path, max_items: int) -> None:
        """Opens (creating if needed) the queue in ``directory``.

        Args:
            directory: the queue's own directory (created with mode 0700).
            max_items: the bound; must be at least 1.

        Raises:
            ValueError: ``max_items`` is below 1.
            QueueError: the directory cannot be created or read.
        """
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self._directory = directory
        self._quarantine = directory / _QUARANTINE
        self._max_items = max_items
        self._lock = threading.Lock()
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            names = sorted(os.listdir(directory))
        except OSError as error:
            raise QueueError(f"cannot open the queue directory {directory}: {error}") from None
        self._dropped, self._quarantined = self._read_counters()
        quarantined_before = self._quarantined
        self._seqs: list[int] = []
        for name in names:
            if name in (_COUNTERS, _QUARANTINE):
                continue
            if name.startswith("."):
                # A temporary file from a write interrupted by a crash: never renamed,
                # so never part of the queue.
                self._unlink_quietly(directory / name)
            elif _ENTRY_NAME.fullmatch(name):
                self._seqs.append(int(name[:20]))
            else:
                self._move_to_quarantine(name)
        with self._lock:
            if self._trim_locked(self._max_items) == 0 and self._quarantined != quarantined_before:
                self._write_counters_locked()

    # -- counters -----------------------------------------------------------------

    def _read_counters(self) -> tuple[int, int]:
        path = self._directory / _COUNTERS
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            dropped, quarantined = data["dropped"], data["quarantined"]
            if type(dropped) is int and type(quarantined) is int:
                return max(dropped, 0), max(quarantined, 0)
        except FileNotFoundError:
            return 0, 0
        except (OSError, ValueError, KeyError, TypeError):
            pass
        # Damaged counters: the entries themselves are intact; start the totals again
        # but keep the evidence.
        self._move_to_quarantine(_COUNTERS, count=False)
        return 0, 0

    def _write_counters_locked(self) -> None:
        data = json.dumps({"dropped": self._dropped, "quarantined": self._quarantined})
        try:
            write_file_durably(self._directory / _COUNTERS, data.encode("utf-8"))
        except OSError as error:
            raise QueueError(f"cannot write the queue counters: {error.strerror}") from None

    # -- public API ----------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return len(self._seqs)

    @property
    def max_items(self) -> int:
        """The bound on the number of entries."""
        return self._max_items

    @property
    def dropped_total(self) -> int:
        """Entries dropped because the queue was full, since the queue was created."""
        with self._lock:
            return self._dropped

    @property
    def quarantined_total(self) -> int:
        """Entries moved to ``quarantine/`` because they could not be read back."""
        with self._lock:
            return self._quarantined

    def set_max_items(self, max_items: int) -> int:
        """Changes the bound (on reload); returns how many oldest entries were dropped.

        Raises:
            ValueError: ``max_items`` is below 1.
            QueueError: the counters cannot be written.
        """
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        with self._lock:
            self._max_items = max_items
            return self._trim_locked(max_items)

    def put(self, seq: int, token: str) -> int:
        """Appends an observation; returns how many oldest entries were dropped for room.

        Raises:
            ValueError: ``seq`` is not above every queued seq (the order would break).
            QueueError: the entry cannot be written.
        """
        with self._lock:
            if self._seqs and seq <= self._seqs[-1]:
                raise ValueError(f"seq {seq} is not above the last queued seq {self._seqs[-1]}")
            dropped = self._trim_locked(self._max_items - 1)
            data = json.dumps({"seq": seq, "token": token}).encode("utf-8")
            try:
                write_file_durably(self._entry_path(seq), data)
            except OSError as error:
                raise QueueError(f"cannot write queue entry {seq}: {error.strerror}") from None
            self._seqs.append(seq)
            return dropped

    def head(self) -> QueuedObservation | None:
        """The oldest readable entry, or ``None`` when the queue is empty.

        Damaged entries met on the way are quarantined and counted.
        """
        with self._lock:
            while self._seqs:
                seq = self._seqs[0]
                entry = self._read_entry(seq)
                if entry is not None:
                    return entry
                self._seqs.pop(0)
                self._move_to_quarantine(self._entry_path(seq).name)
                self._write_counters_locked()
            return None

    def remove(self, seq: int) -> None:
        """Removes a delivered (or deliberately discarded) entry; unknown seqs are ignored."""
        with self._lock:
            if seq in self._seqs:
                self._seqs.remove(seq)
                self._unlink_quietly(self._entry_path(seq))

    def seqs(self) -> list[int]:
        """The queued sequence numbers, oldest first."""
        with self._lock:
            return list(self._seqs)

    # -- internals -----------------------------------------------------------------

    def _entry_path(self, seq: int) -> Path:
        return self._directory / f"{seq:020d}.json"

    def _read_entry(self, seq: int) -> QueuedObservation | None:
        try:
            data = json.loads(self._entry_path(seq).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None
        if (
            not isinstance(data, dict)
            or set(data) != {"seq", "token"}
            or type(data["seq"]) is not int
            or data["seq"] != seq
            or not isinstance(data["token"], str)
            or not data["token"]
        ):
            return None
        return QueuedObservation(seq=seq, token=data["token"])

    def _trim_locked(self, keep: int) -> int:
        dropped = 0
        while len(self._seqs) > max(keep, 0):
            seq = self._seqs.pop(0)
            self._unlink_quietly(self._entry_path(seq))
            dropped += 1
        if dropped:
            self._dropped += dropped
            self._write_counters_locked()
        return dropped

    def _move_to_quarantine(self, name: str, *, count: bool = True) -> None:
        try:
            self._quarantine.mkdir(mode=0o700, exist_ok=True)
            os.replace(self._directory / name, self._quarantine / name)
            kept = sorted(self._quarantine.iterdir(), key=lambda p: p.stat().st_mtime)
            for old in kept[:-_QUARANTINE_KEEP]:
                self._unlink_quietly(old)
        except FileNotFoundError:
            pass
        except OSError:
            # Cannot move it: remove it rather than block the queue; it is still counted.
            self._unlink_quietly(self._directory / name)
        if count:
            self._quarantined += 1

    @staticmethod
    def _unlink_quietly(path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            pass

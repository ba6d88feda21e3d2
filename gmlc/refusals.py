"""Keeping floods of refused requests from flooding the audit log and the service.

Unauthenticated garbage costs its sender nothing, so each refusal must cost the GMLC little
too. Two tools, used by the observation intake:

:class:`RefusalFolder` writes repeated refusals as one audit row with a count. The audit
log is append-only, so folding cannot rewrite a row; instead, the first refusal with a
given key (source address, reason, appliance) is written at once, in full, and the ones
that follow within ``window_s`` are only counted. The count is written as one more row
(``detail.repeated``, with the first and last time) when the window has passed: by the
next refusal with that key, by :meth:`RefusalFolder.flush` (which the app calls every few
seconds, so a count is never more than a window and a few seconds late), and for all keys
at shutdown. Nothing is lost: every refusal is in exactly one row or one count, and the
metrics count each one.

:class:`SourceBuckets` is a token bucket per source address. Every refusal takes a token;
tokens come back at a steady rate up to the bucket's capacity. A source with an empty
bucket is refused before its request is read (HTTP 429 with ``Retry-After``), which costs
nothing to verify and is itself folded. Accepted requests take no token, so an appliance
sending its backlog after an outage is never slowed down.

Both bound their memory: the least recently used keys go first (a folded count is
written before its key is dropped).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from gmlc.store import AuditEntry

__all__ = ["RefusalFolder", "SourceBuckets"]


@dataclass
class _Fold:
    entry: AuditEntry
    opened: float
    repeated: int = 0
    first_repeat: datetime | None = None
    last_repeat: datetime | None = None


class RefusalFolder:
    """Writes the first refusal of a key at once and counts the repeats of a window.

    Args:
        write: Appends audit entries (the store's ``append_audits``).
        window_s: How long repeats are counted before their row is written.
        clock: Wall clock (UTC, tz-aware) for the times in the count row.
        monotonic: Clock for the window.
        max_keys: Keys followed at once; the least recently used is written and dropped.
    """

    def __init__(
        self,
        write: Callable[[Sequence[AuditEntry]], None],
        *,
        window_s: float,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        max_keys: int = 10000,
    ) -> None:
        if window_s <= 0 or max_keys < 1:
            raise ValueError("window_s must be positive and max_keys at least 1")
        self._write = write
        self._window_s = window_s
        self._clock = clock
        self._monotonic = monotonic
        self._max_keys = max_keys
        self._folds: OrderedDict[Hashable, _Fold] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, key: Hashable, entry: AuditEntry) -> bool:
        """Audit one refusal, folded with the others of its key.

        Returns:
            True when ``entry`` itself was written (the first of its window), False when it
            was only counted.

        Raises:
            StoreError, ValueError, TypeError: from writing (the refusal is then not counted).
        """
        now = self._monotonic()
        with self._lock:
            due = self._take_due(now, only=key)
            fold = self._folds.get(key)
            if fold is None:
                self._folds[key] = _Fold(entry, now)
                while len(self._folds) > self._max_keys:
                    due.append(self._folds.popitem(last=False)[1])
                written = True
            else:
                moment = self._clock()
                fold.repeated += 1
                fold.first_repeat = fold.first_repeat or moment
                fold.last_repeat = moment
                self._folds.move_to_end(key)
                written = False
        rows = [self._count_row(f) for f in due if f.repeated]
        self._write([*rows, entry] if written else rows)
        return written

    def flush(self, *, everything: bool = False) -> int:
        """Write the counts whose window has passed (or all of them); returns rows written."""
        with self._lock:
            if everything:
                due = list(self._folds.values())
                self._folds.clear()
            else:
                due = self._take_due(self._monotonic())
        rows = [self._count_row(f) for f in due if f.repeated]
        if rows:
            self._write(rows)
        return len(rows)

    def _take_due(self, now: float, only: Hashable | None = None) -> list[_Fold]:
        keys = [only] if only is not None else list(self._folds)
        due = []
        for key in keys:
            fold = self._folds.get(key)
            if fold is not None and now - fold.opened >= self._window_s:
                due.append(self._folds.pop(key))
        return due

    def _count_row(self, fold: _Fold) -> AuditEntry:
        assert fold.first_repeat is not None and fold.last_repeat is not None
        detail = dict(fold.entry.detail or {})
        detail.update(
            repeated=fold.repeated,
            first=fold.first_repeat.isoformat(),
            last=fold.last_repeat.isoformat(),
        )
        return replace(fold.entry, detail=detail, at=fold.last_repeat)


class SourceBuckets:
    """One token bucket per source address: refusals spend tokens, time refills them.

    Args:
        capacity: Tokens a bucket holds (the burst of refusals allowed).
        per_second: Tokens added per second.
        monotonic: Clock for the refill.
        max_keys: Buckets kept; the least recently used is dropped (a full bucket again).
    """

    def __init__(
        self,
        capacity: int,
        per_second: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        max_keys: int = 65536,
    ) -> None:
        if capacity < 1 or per_second <= 0:
            raise ValueError("capacity must be >= 1 and per_second positive")
        self._capacity = float(capacity)
        self._per_second = per_second
        self._monotonic = monotonic
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at
        self._lock = threading.Lock()

    def _tokens(self, source: str, now: float) -> float:
        tokens, at = self._buckets.get(source, (self._capacity, now))
        return min(self._capacity, tokens + (now - at) * self._per_second)

    def retry_after_s(self, source: str | None) -> int:
        """0 when ``source`` may be served, else whole seconds until its next token."""
        if source is None:
            return 0
        with self._lock:
            tokens = self._tokens(source, self._monotonic())
        if tokens >= 1:
            return 0
        return max(1, math.ceil((1 - tokens) / self._per_second))

    def spend(self, source: str | None) -> None:
        """Take one token from the source's bucket (a refusal)."""
        if source is None:
            return
        now = self._monotonic()
        with self._lock:
            self._buckets[source] = (max(self._tokens(source, now) - 1, 0.0), now)
            self._buckets.move_to_end(source)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)

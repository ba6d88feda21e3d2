"""Group commit for the audit log.

Every SLIR writes audit rows before its answer leaves (a statement is never handed out
unless its audit row is committed). One transaction per request makes the database's
write lock the bottleneck under concurrency: with SQLite, writers queue on one lock and
wait in its busy handler's sleeps. Here concurrent requests hand their rows to one
writer thread, which commits everything waiting in a single transaction and then
releases every request in that batch. Each request still returns only after its rows
are durable, so nothing about the audit guarantee changes; only the number of commits
does.

If a shared transaction fails, each request's rows are retried on their own, so one
request's problem is reported to that request alone.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from gmlc.errors import StoreError
from gmlc.store import AuditEntry, Store

__all__ = ["AuditWriter"]


@dataclass
class _Pending:
    entries: Sequence[AuditEntry]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class AuditWriter:
    """Writes audit entries through one thread that batches concurrent writers.

    Args:
        store: The store to append to.
        max_batch: Upper bound on the requests committed in one transaction.
    """

    def __init__(self, store: Store, *, max_batch: int = 512) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._store = store
        self._max_batch = max_batch
        self._pending: list[_Pending] = []
        self._condition = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def write(self, entries: Sequence[AuditEntry]) -> None:
        """Append ``entries`` in one transaction (possibly shared) and wait for the commit.

        Raises:
            StoreError: the entries could not be written, or the writer is closed.
            ValueError, TypeError: a malformed entry (nothing of this call is written).
        """
        if not entries:
            return
        pending = _Pending(entries)
        with self._condition:
            if self._closed:
                raise StoreError("the audit writer is closed")
            self._pending.append(pending)
            self._condition.notify()
        pending.done.wait()
        if pending.error is not None:
            raise pending.error

    def close(self) -> None:
        """Commit what is waiting, then stop the writer thread."""
        with self._condition:
            self._closed = True
            self._condition.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._closed:
                    self._condition.wait()
                if not self._pending:
                    return
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            self._store.append_audits([entry for item in batch for entry in item.entries])
        except Exception:
            if len(batch) == 1:
                self._settle(batch[0])
                return
            # Find whose rows failed: each request's rows on their own.
            for item in batch:
                self._settle(item)
            return
        for item in batch:
            item.done.set()

    def _settle(self, item: _Pending) -> None:
        try:
            self._store.append_audits(item.entries)
        except Exception as exc:  # handed to the waiting request, which raises it
            item.error = exc
        item.done.set()

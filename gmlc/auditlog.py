"""Group commit for the audit log, off the request path.

Every SLIR writes audit rows before its answer leaves (a statement is never handed out
unless its audit row is committed). One transaction per request makes the database's
write lock the bottleneck under concurrency: with SQLite, writers queue on one lock and
wait in its busy handler's sleeps. Here concurrent requests hand their rows to one
writer thread, which commits everything waiting in a single transaction and then
releases every request in that batch. Each request still answers only after its rows
are durable, so nothing about the audit guarantee changes; only the number of commits
does.

:meth:`AuditWriter.submit` returns a future, so a request on the event loop awaits the
commit without holding a thread; :meth:`AuditWriter.write` waits in the calling thread.
On SQLite the database runs in WAL mode at ``synchronous = NORMAL`` (see
:mod:`gmlc.store.database`): a released batch survives a crash of the process, and only a
power loss or an operating-system crash can take back the last commits.

If a shared transaction fails, each request's rows are retried on their own, so one
request's problem is reported to that request alone.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from gmlc.errors import StoreError
from gmlc.store import AuditEntry, Store

__all__ = ["AuditWriter"]


@dataclass
class _Pending:
    entries: Sequence[AuditEntry]
    done: Future[None] = field(default_factory=Future)


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

    def submit(self, entries: Sequence[AuditEntry]) -> Future[None]:
        """Queue ``entries`` for one transaction (possibly shared); the future completes
        when they are committed, or fails with the reason they were not.

        Failures of the future: StoreError (not written, or the writer is closed),
        ValueError/TypeError (a malformed entry: nothing of this call is written).
        """
        pending = _Pending(entries)
        if not entries:
            pending.done.set_result(None)
            return pending.done
        with self._condition:
            if self._closed:
                pending.done.set_exception(StoreError("the audit writer is closed"))
                return pending.done
            self._pending.append(pending)
            self._condition.notify()
        return pending.done

    def write(self, entries: Sequence[AuditEntry]) -> None:
        """Append ``entries`` in one transaction (possibly shared) and wait for the commit.

        Raises:
            StoreError: the entries could not be written, or the writer is closed.
            ValueError, TypeError: a malformed entry (nothing of this call is written).
        """
        self.submit(entries).result()

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
            item.done.set_result(None)

    def _settle(self, item: _Pending) -> None:
        try:
            self._store.append_audits(item.entries)
        except Exception as exc:  # handed to the waiting request, which raises it
            item.done.set_exception(exc)
            return
        item.done.set_result(None)

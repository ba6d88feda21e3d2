"""Group commit for the audit log, off the request path.

Every SLIR writes audit rows before its answer leaves (a statement is never handed out
unless its audit row is committed). One transaction per request makes the database's
write lock the bottleneck under concurrency: with SQLite, writers queue on one lock and
wait in its busy handler's sleeps. Here concurrent requests hand their rows to one
writer thread, which commits everything waiting in a single transaction and then
releases every request in that batch. Each request still answers only after its rows
are durable, so nothing about the audit guarantee changes; only the number of commits
does.

A request on the event loop awaits :meth:`AuditWriter.commit`, holding no thread: the
requests that reach it in one turn of the loop are handed to the writer thread together,
and the writer wakes the loop once per batch, not once per request (each hand-over and
wake-up is a lock, a futex and a self-pipe write). :meth:`AuditWriter.write` waits in the
calling thread; :meth:`AuditWriter.submit` returns a future for other threads.
On SQLite the database runs in WAL mode at ``synchronous = NORMAL`` (see
:mod:`gmlc.store.database`): a released batch survives a crash of the process, and only a
power loss or an operating-system crash can take back the last commits.

If a shared transaction fails, each request's rows are retried on their own, so one
request's problem is reported to that request alone.
"""

from __future__ import annotations

import abc
import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from gmlc.errors import StoreError
from gmlc.store import AuditEntry, Store

__all__ = ["AuditWriter"]


@dataclass(slots=True)
class _Request:
    """One caller's entries (one transaction's worth) and, once tried, why they failed."""

    entries: Sequence[AuditEntry]
    error: BaseException | None = None


class _Handover(abc.ABC):
    """Requests handed to the writer thread together, told their outcome together."""

    def __init__(self, requests: list[_Request]) -> None:
        self.requests = requests

    @abc.abstractmethod
    def settle(self) -> None:
        """Tell the callers (in the writer thread, after the commit or its failure)."""


class _ThreadHandover(_Handover):
    def __init__(self, request: _Request, done: Future[None]) -> None:
        super().__init__([request])
        self.done = done

    def settle(self) -> None:
        error = self.requests[0].error
        if error is None:
            self.done.set_result(None)
        else:
            self.done.set_exception(error)


class _LoopHandover(_Handover):
    """The requests of one turn of an event loop: one wake-up of the loop settles them all."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__([])
        self.loop = loop
        self.waiters: list[asyncio.Future[None]] = []

    def settle(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self._wake)
        except RuntimeError:
            pass  # the loop is closed: nobody is left waiting

    def _wake(self) -> None:
        for request, waiter in zip(self.requests, self.waiters, strict=True):
            if waiter.done():
                continue  # the caller was cancelled; its rows are written all the same
            if request.error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(request.error)


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
        self._pending: list[_Handover] = []
        self._gathering: dict[asyncio.AbstractEventLoop, _LoopHandover] = {}
        self._condition = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    async def commit(self, entries: Sequence[AuditEntry]) -> None:
        """Append ``entries`` in one transaction (possibly shared); returns once committed.

        For the event loop: every request that calls this in the same turn of the loop
        goes to the writer thread in one hand-over.

        Raises:
            StoreError: the entries could not be written, or the writer is closed.
            ValueError, TypeError: a malformed entry (nothing of this call is written).
        """
        if not entries:
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        handover = self._gathering.get(loop)
        if handover is None:
            handover = self._gathering[loop] = _LoopHandover(loop)
            loop.call_soon(self._hand_over, loop)
        handover.requests.append(_Request(entries))
        handover.waiters.append(waiter)
        await waiter

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        handover = self._gathering.pop(loop)
        if not self._queue(handover):
            for request in handover.requests:
                request.error = StoreError("the audit writer is closed")
            handover._wake()

    def submit(self, entries: Sequence[AuditEntry]) -> Future[None]:
        """Queue ``entries`` for one transaction (possibly shared); the future completes
        when they are committed, or fails with the reason they were not.

        Failures of the future: StoreError (not written, or the writer is closed),
        ValueError/TypeError (a malformed entry: nothing of this call is written).
        """
        done: Future[None] = Future()
        if not entries:
            done.set_result(None)
        elif not self._queue(_ThreadHandover(_Request(entries), done)):
            done.set_exception(StoreError("the audit writer is closed"))
        return done

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

    def _queue(self, handover: _Handover) -> bool:
        with self._condition:
            if self._closed:
                return False
            self._pending.append(handover)
            self._condition.notify()
        return True

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._closed:
                    self._condition.wait()
                if not self._pending:
                    return
                # Whole hand-overs, up to max_batch requests (at least one hand-over).
                taken, count = 0, 0
                while taken < len(self._pending) and (
                    taken == 0 or count + len(self._pending[taken].requests) <= self._max_batch
                ):
                    count += len(self._pending[taken].requests)
                    taken += 1
                batch = self._pending[:taken]
                del self._pending[:taken]
            self._commit(batch)

    def _commit(self, batch: list[_Handover]) -> None:
        requests = [request for handover in batch for request in handover.requests]
        try:
            self._store.append_audits([entry for r in requests for entry in r.entries])
        except Exception:
            if len(requests) > 1:
                # Find whose rows failed: each request's rows on their own.
                for request in requests:
                    self._try_alone(request)
            else:
                self._try_alone(requests[0])
        for handover in batch:
            handover.settle()

    def _try_alone(self, request: _Request) -> None:
        try:
            self._store.append_audits(request.entries)
        except Exception as exc:  # handed to the waiting request, which raises it
            request.error = exc

"""Group commit of audit entries: every caller's rows are durable when write() returns."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from gmlc.auditlog import AuditWriter
from gmlc.errors import StoreError
from gmlc.store import AuditEntry, Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store.open(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    opened.migrate()
    return opened


def test_concurrent_writers_are_all_committed_before_returning(store: Store) -> None:
    writer = AuditWriter(store)
    threads_count, per_thread = 16, 25
    not_durable: list[tuple[int, int]] = []

    def request(index: int) -> None:
        for n in range(per_thread):
            writer.write(
                [
                    AuditEntry("statement", client_id=f"c{index}", detail={"n": n}),
                    AuditEntry("slir", client_id=f"c{index}", result=0, detail={"n": n}),
                ]
            )
            # This caller's rows must be readable the moment write() returns.
            mine = sum(1 for r in store.list_audit(kind="slir") if r.client_id == f"c{index}")
            if mine != n + 1:
                not_durable.append((index, n))

    threads = [threading.Thread(target=request, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()

    assert store.count_audit("slir") == threads_count * per_thread
    assert store.count_audit("statement") == threads_count * per_thread
    assert not_durable == []
    rows = list(store.list_audit())
    for index in range(threads_count):
        mine = [r for r in rows if r.client_id == f"c{index}"]
        assert len(mine) == 2 * per_thread


def test_a_malformed_entry_fails_only_its_own_request(store: Store) -> None:
    writer = AuditWriter(store)
    errors: list[BaseException] = []
    barrier = threading.Barrier(9)

    def good(index: int) -> None:
        barrier.wait()
        writer.write([AuditEntry("slir", client_id=f"good{index}", result=0)])

    def bad() -> None:
        barrier.wait()
        try:
            writer.write([AuditEntry("NOT A KIND", client_id="bad")])
        except ValueError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=good, args=(i,)) for i in range(8)]
    threads.append(threading.Thread(target=bad))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()

    assert len(errors) == 1
    assert store.count_audit("slir") == 8
    assert all(r.client_id != "bad" for r in store.list_audit())


def test_closed_writer_refuses_and_empty_writes_are_free(store: Store) -> None:
    writer = AuditWriter(store)
    writer.write([])
    writer.close()
    assert store.count_audit() == 0
    with pytest.raises(StoreError):
        writer.write([AuditEntry("slir")])
    with pytest.raises(ValueError):
        AuditWriter(store, max_batch=0)


def test_requests_of_one_loop_turn_are_committed_together_before_they_return(
    store: Store,
) -> None:
    writer = AuditWriter(store)
    commits: list[int] = []
    append = store.append_audits

    def counting(entries: list[AuditEntry]) -> None:
        commits.append(len(entries))
        append(entries)

    store.append_audits = counting  # type: ignore[method-assign]

    async def request(index: int) -> int:
        await writer.commit([AuditEntry("slir", client_id=f"c{index}", result=0)])
        # Durable the moment commit() returns.
        return sum(1 for r in store.list_audit() if r.client_id == f"c{index}")

    async def all_requests() -> list[int]:
        return await asyncio.gather(*(request(i) for i in range(20)))

    seen = asyncio.run(all_requests())
    writer.close()
    assert seen == [1] * 20
    assert commits == [20], "one hand-over, one transaction for the whole turn"


def test_a_malformed_entry_fails_only_its_own_coroutine(store: Store) -> None:
    writer = AuditWriter(store)

    async def requests() -> list[BaseException | None]:
        results = await asyncio.gather(
            writer.commit([AuditEntry("slir", client_id="good1")]),
            writer.commit([AuditEntry("NOT A KIND", client_id="bad")]),
            writer.commit([AuditEntry("slir", client_id="good2")]),
            return_exceptions=True,
        )
        return list(results)

    good1, bad, good2 = asyncio.run(requests())
    writer.close()
    assert good1 is None and good2 is None
    assert isinstance(bad, ValueError)
    assert sorted(r.client_id or "" for r in store.list_audit()) == ["good1", "good2"]


def test_a_closed_writer_refuses_coroutines_too(store: Store) -> None:
    writer = AuditWriter(store)
    writer.close()

    async def request() -> None:
        await writer.commit([AuditEntry("slir")])

    with pytest.raises(StoreError, match="closed"):
        asyncio.run(request())
    assert store.count_audit() == 0

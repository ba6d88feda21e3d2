"""Folding repeated refusals into counted audit rows, and per-source refusal budgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gmlc.refusals import RefusalFolder, SourceBuckets
from gmlc.store import AuditEntry, Store

T0 = datetime(2026, 12, 1, tzinfo=UTC)


class Clocks:
    def __init__(self) -> None:
        self.mono = 100.0

    def wall(self) -> datetime:
        return T0 + timedelta(seconds=self.mono - 100.0)

    def monotonic(self) -> float:
        return self.mono


def refusal(reason: str, source: str = "192.0.2.1") -> AuditEntry:
    return AuditEntry("observation_rejected", source=source, result=400, detail={"reason": reason})


def rows(store: Store) -> list[tuple[str | None, str, int | None]]:
    return [
        (r.source, r.detail["reason"], r.detail.get("repeated"))
        for r in store.list_audit(kind="observation_rejected")
    ]


def test_first_refusal_is_written_at_once_and_repeats_as_one_counted_row(store: Store) -> None:
    clocks = Clocks()
    folder = RefusalFolder(
        store.append_audits, window_s=60, clock=clocks.wall, monotonic=clocks.monotonic
    )
    key = ("192.0.2.1", "malformed")
    assert folder.record(key, refusal("malformed"))
    for _ in range(499):
        clocks.mono += 0.001
        assert not folder.record(key, refusal("malformed"))
    assert rows(store) == [("192.0.2.1", "malformed", None)]
    assert folder.flush() == 0  # the window is still open
    clocks.mono += 60
    assert folder.flush() == 1
    assert rows(store) == [("192.0.2.1", "malformed", None), ("192.0.2.1", "malformed", 499)]
    count_row = list(store.list_audit(kind="observation_rejected"))[-1]
    assert count_row.detail["first"] == (T0 + timedelta(seconds=0.001)).isoformat()
    assert count_row.at == T0 + timedelta(seconds=0.499)
    # The next window starts with a full row again.
    assert folder.record(key, refusal("malformed"))
    assert len(rows(store)) == 3


def test_keys_fold_separately_and_the_next_refusal_writes_a_due_count(store: Store) -> None:
    clocks = Clocks()
    folder = RefusalFolder(
        store.append_audits, window_s=10, clock=clocks.wall, monotonic=clocks.monotonic
    )
    for reason in ("malformed", "bad_signature", "malformed", "bad_signature", "malformed"):
        folder.record(("s", reason), refusal(reason))
    assert [r[1:] for r in rows(store)] == [("malformed", None), ("bad_signature", None)]
    clocks.mono += 11
    assert folder.record(("s", "malformed"), refusal("malformed"))
    assert [r[1:] for r in rows(store)][2:] == [("malformed", 2), ("malformed", None)]
    assert folder.flush(everything=True) == 1  # bad_signature's count, at shutdown
    assert [r[1:] for r in rows(store)][-1] == ("bad_signature", 1)


def test_memory_is_bounded_and_dropped_counts_are_written(store: Store) -> None:
    clocks = Clocks()
    folder = RefusalFolder(
        store.append_audits, window_s=60, clock=clocks.wall, monotonic=clocks.monotonic, max_keys=2
    )
    for source in ("a", "a", "b", "c"):
        folder.record((source,), refusal("malformed", source))
    assert rows(store) == [
        ("a", "malformed", None),
        ("b", "malformed", None),
        ("a", "malformed", 1),  # pushed out by c
        ("c", "malformed", None),
    ]


def test_buckets_refuse_after_the_burst_and_refill_with_time() -> None:
    clocks = Clocks()
    buckets = SourceBuckets(3, 0.5, monotonic=clocks.monotonic)
    for _ in range(3):
        assert buckets.retry_after_s("192.0.2.1") == 0
        buckets.spend("192.0.2.1")
    assert buckets.retry_after_s("192.0.2.1") == 2  # one token every 2 s
    assert buckets.retry_after_s("192.0.2.2") == 0  # another source has its own bucket
    clocks.mono += 2
    assert buckets.retry_after_s("192.0.2.1") == 0
    clocks.mono += 1000
    for _ in range(3):  # refilled to capacity, not beyond
        buckets.spend("192.0.2.1")
    assert buckets.retry_after_s("192.0.2.1") > 0
    assert buckets.retry_after_s(None) == 0
    with pytest.raises(ValueError, match="capacity"):
        SourceBuckets(0, 1.0)

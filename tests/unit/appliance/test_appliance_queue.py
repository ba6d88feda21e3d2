"""The on-disk observation queue: bounded, ordered, counted, durable, robust."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.queue import ObservationQueue


def drain(queue: ObservationQueue) -> list[tuple[int, str]]:
    items = []
    while (head := queue.head()) is not None:
        items.append((head.seq, head.token))
        queue.remove(head.seq)
    return items


def test_items_come_out_in_order(tmp_path: Path) -> None:
    queue = ObservationQueue(tmp_path / "q", max_items=10)
    for seq in (3, 4, 9):
        assert queue.put(seq, f"token-{seq}") == 0
    assert len(queue) == 3
    assert drain(queue) == [(3, "token-3"), (4, "token-4"), (9, "token-9")]
    assert len(queue) == 0


def test_full_queue_drops_the_oldest_and_counts(tmp_path: Path) -> None:
    queue = ObservationQueue(tmp_path / "q", max_items=3)
    dropped = [queue.put(seq, f"t{seq}") for seq in range(1, 7)]
    assert dropped == [0, 0, 0, 1, 1, 1]
    assert queue.dropped_total == 3
    assert queue.seqs() == [4, 5, 6]


def test_survives_restart_with_counters(tmp_path: Path) -> None:
    queue = ObservationQueue(tmp_path / "q", max_items=2)
    for seq in range(1, 5):
        queue.put(seq, f"t{seq}")
    reopened = ObservationQueue(tmp_path / "q", max_items=2)
    assert reopened.seqs() == [3, 4]
    assert reopened.dropped_total == 2
    assert drain(reopened) == [(3, "t3"), (4, "t4")]


def test_smaller_bound_on_reopen_or_reload_drops_and_counts(tmp_path: Path) -> None:
    queue = ObservationQueue(tmp_path / "q", max_items=10)
    for seq in range(1, 6):
        queue.put(seq, "t")
    assert ObservationQueue(tmp_path / "q", max_items=3).dropped_total == 2
    queue = ObservationQueue(tmp_path / "q", max_items=3)
    assert queue.set_max_items(1) == 2
    assert queue.seqs() == [5]
    assert queue.dropped_total == 4


def test_corrupt_entry_is_quarantined_not_fatal(tmp_path: Path) -> None:
    directory = tmp_path / "q"
    queue = ObservationQueue(directory, max_items=10)
    for seq in (1, 2, 3):
        queue.put(seq, f"t{seq}")
    (directory / f"{2:020d}.json").write_bytes(b'{"seq": 2, "tok')
    (directory / f"{3:020d}.json").write_text('{"seq": 4, "token": "wrong seq"}')
    assert drain(queue) == [(1, "t1")]
    assert queue.quarantined_total == 2
    assert sorted(p.name for p in (directory / "quarantine").iterdir()) == [
        f"{2:020d}.json",
        f"{3:020d}.json",
    ]
    assert ObservationQueue(directory, max_items=10).quarantined_total == 2


def test_foreign_files_and_leftover_temporaries_on_open(tmp_path: Path) -> None:
    directory = tmp_path / "q"
    directory.mkdir()
    (directory / "notes.txt").write_text("hello")
    (directory / f".{5:020d}.json.tmp").write_text("half written")
    (directory / f"{7:020d}.json").write_text('{"seq": 7, "token": "t7"}')
    queue = ObservationQueue(directory, max_items=10)
    assert queue.seqs() == [7]
    assert queue.quarantined_total == 1
    assert not (directory / f".{5:020d}.json.tmp").exists()
    assert (directory / "quarantine" / "notes.txt").read_text() == "hello"


def test_damaged_counters_do_not_lose_entries(tmp_path: Path) -> None:
    directory = tmp_path / "q"
    queue = ObservationQueue(directory, max_items=10)
    queue.put(1, "t1")
    (directory / "counters.json").write_text("{broken")
    reopened = ObservationQueue(directory, max_items=10)
    assert reopened.seqs() == [1]
    assert reopened.dropped_total == 0


def test_out_of_order_put_is_refused(tmp_path: Path) -> None:
    queue = ObservationQueue(tmp_path / "q", max_items=10)
    queue.put(5, "t5")
    with pytest.raises(ValueError, match="not above"):
        queue.put(5, "again")
    assert queue.seqs() == [5]
    with pytest.raises(ValueError):
        ObservationQueue(tmp_path / "other", max_items=0)


@settings(max_examples=30, deadline=None)
@given(
    bound=st.integers(min_value=1, max_value=6),
    operations=st.lists(st.sampled_from(["put", "take"]), max_size=30),
)
def test_model_of_the_queue(
    tmp_path_factory: pytest.TempPathFactory, bound: int, operations: list[str]
) -> None:
    directory = tmp_path_factory.mktemp("q")
    queue = ObservationQueue(directory, max_items=bound)
    model: list[int] = []
    dropped = 0
    seq = 0
    for operation in operations:
        if operation == "put":
            seq += 1
            queue.put(seq, str(seq))
            model.append(seq)
            if len(model) > bound:
                model.pop(0)
                dropped += 1
        else:
            head = queue.head()
            assert (head.seq if head else None) == (model[0] if model else None)
            if head is not None:
                queue.remove(head.seq)
                model.pop(0)
    assert queue.seqs() == model
    assert queue.dropped_total == dropped
    assert ObservationQueue(directory, max_items=bound).seqs() == model

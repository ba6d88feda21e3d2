"""SQLite writers from several processes queue on the writer gate instead of busy-sleeping."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from pathlib import Path

from gmlc.store import Store

_WRITER = textwrap.dedent(
    """
    import sys
    from gmlc.store import Store
    store = Store.open(sys.argv[1])
    print("writing", flush=True)
    store.append_audit("slir", client_id="other-process")
    print("written", flush=True)
    store.close()
    """
)


def test_a_write_from_another_process_waits_for_the_gate_and_then_lands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gate.sqlite3'}"
    store = Store.open(url)
    store.migrate()
    assert (tmp_path / "gate.sqlite3.writers").exists()
    gate = store._writer_gate
    assert gate is not None
    holding = contextlib.ExitStack()
    holding.enter_context(gate.held())  # held before the other process exists
    with (
        holding,
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, url], stdout=subprocess.PIPE, text=True
        ) as writer,
    ):
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "writing"
        try:
            writer.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            pass
        # While the gate is held the other process cannot commit: its write is queued.
        assert writer.poll() is None
        assert store.count_audit() == 0
        holding.close()  # release the gate: the queued write goes through
        assert writer.stdout.readline().strip() == "written"
        assert writer.wait(timeout=30) == 0
    assert [r.client_id for r in store.list_audit()] == ["other-process"]
    store.close()


def test_nested_writes_in_one_thread_do_not_deadlock(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'nested.sqlite3'}")
    store.migrate()
    gate = store._writer_gate
    assert gate is not None
    with gate.held():
        store.append_audit("slir", client_id="inside")
    store.append_audit("slir", client_id="after")
    assert store.count_audit() == 2
    store.close()

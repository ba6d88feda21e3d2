"""The signing key and the sequence counter in the state directory."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.errors import StateError
from appliance.state import SequenceCounter, create_key, ensure_state_dir, load_key


def test_state_dir_and_key_modes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    ensure_state_dir(state)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    key, created = create_key(state / "appliance.key")
    assert created
    assert isinstance(key, Ed25519PrivateKey)
    assert stat.S_IMODE((state / "appliance.key").stat().st_mode) == 0o600


def test_create_key_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "appliance.key"
    first, _ = create_key(path)
    content = path.read_bytes()
    second, created = create_key(path)
    assert not created
    assert path.read_bytes() == content
    assert second.public_key() == first.public_key()


def test_existing_state_dir_is_tightened(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    ensure_state_dir(state)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "appliance.key"
    create_key(path)
    path.chmod(0o644)
    with pytest.raises(StateError, match="chmod 600"):
        load_key(path)


def test_missing_or_foreign_key_is_a_state_error(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="salve-appliance init"):
        load_key(tmp_path / "none.key")
    junk = tmp_path / "junk.key"
    junk.write_text("not a key")
    junk.chmod(0o600)
    with pytest.raises(StateError, match="PEM"):
        load_key(junk)


def test_sequence_survives_restarts(tmp_path: Path) -> None:
    path = tmp_path / "seq"
    counter = SequenceCounter(path)
    assert counter.last == 0
    assert [counter.next() for _ in range(3)] == [1, 2, 3]
    reopened = SequenceCounter(path)
    assert reopened.last == 3
    assert reopened.next() == 4
    assert SequenceCounter(path).next() == 5


def test_sequence_is_unique_across_threads(tmp_path: Path) -> None:
    counter = SequenceCounter(tmp_path / "seq")
    seen: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(20):
            value = counter.next()
            with lock:
                seen.append(value)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 81))
    assert SequenceCounter(tmp_path / "seq").last == 80


def test_damaged_counter_is_refused_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "seq"
    path.write_text("12x\n")
    with pytest.raises(StateError, match="damaged"):
        SequenceCounter(path)

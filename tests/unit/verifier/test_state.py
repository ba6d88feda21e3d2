"""Remembered policies (HSTS-like) and the state file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from mlp.dnsrecords import SalvePolicy
from verifier.state import VerifierState, default_state_path

POLICY = SalvePolicy.parse("v=salve1; gmlc=gmlc.example.net:9211; age=300; mode=one; max-age=3600")
NOW = 1_800_000_000


def test_a_policy_is_remembered_for_its_max_age(tmp_path: Path) -> None:
    state = VerifierState(tmp_path / "state.json")
    state.remember_policy("www.example.com", POLICY, NOW)

    remembered = VerifierState(tmp_path / "state.json").remembered_policy(
        "www.example.com", NOW + 3599
    )
    assert remembered is not None and remembered.policy == POLICY and remembered.until == NOW + 3600
    assert state.remembered_policy("www.example.com", NOW + 3600) is None
    assert stat.S_IMODE(os.stat(tmp_path / "state.json").st_mode) == 0o600


def test_max_age_zero_forgets_and_no_max_age_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = VerifierState(path)
    state.remember_policy("www.example.com", POLICY, NOW)
    state.remember_policy("www.example.com", SalvePolicy(POLICY.gmlcs, 300, "one"), NOW + 10)
    assert state.remembered_policy("www.example.com", NOW + 20) is not None

    state.remember_policy("www.example.com", SalvePolicy(POLICY.gmlcs, 300, "one", 0), NOW + 30)
    assert VerifierState(path).remembered_policy("www.example.com", NOW + 40) is None


def test_two_processes_keep_each_others_entries(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    first, second = VerifierState(path), VerifierState(path)
    first.remember_policy("a.example.com", POLICY, NOW)
    second.remember_policy("b.example.com", POLICY, NOW)

    merged = VerifierState(path)
    assert merged.remembered_policy("a.example.com", NOW) is not None
    assert merged.remembered_policy("b.example.com", NOW) is not None


def test_an_unreadable_state_file_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    state = VerifierState(path)

    assert state.problem is not None and "moved to" in state.problem
    assert (tmp_path / "state.json.corrupt").read_text() == "{not json"
    state.remember_policy("www.example.com", POLICY, NOW)
    assert json.loads(path.read_text())["version"] == 1


def test_memory_only_state_writes_nothing(tmp_path: Path) -> None:
    state = VerifierState(None)
    state.remember_policy("www.example.com", POLICY, NOW)
    assert state.remembered_policy("www.example.com", NOW) is not None
    assert list(tmp_path.iterdir()) == []


def test_the_default_path_follows_xdg(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_state_path() == tmp_path / "salve" / "verify-state.json"


def test_an_unwritable_state_file_keeps_the_state_in_memory(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("x")
    state = VerifierState(blocked / "state.json")
    state.remember_policy("www.example.com", POLICY, NOW)

    assert state.problem is not None and "cannot write the state file" in state.problem
    assert state.remembered_policy("www.example.com", NOW) is not None

"""Observation intake in the store: replay protection, retention, and concurrency."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta

import pytest

from gmlc.errors import NotFoundError
from gmlc.store import Store
from tests.support.concurrency import all_at_once

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
KEY = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()


def _enrol(store: Store, appliance_id: str = "app-1", n: int = 1) -> None:
    store.add_appliance(
        appliance_id,
        public_key=KEY,
        imsi=f"22801000000{n:04d}",
        iccid=f"894100000000000{n:04d}",
        msisdn=None,
        site="zrh-dc1",
    )


def _accept(store: Store, seq: int, *, appliance_id: str = "app-1", at: datetime = T0) -> bool:
    return store.accept_observation(appliance_id, seq, at, {"seq": seq}, at + timedelta(seconds=1))


def test_increasing_sequence_is_stored_and_advances_last_seq(store: Store) -> None:
    _enrol(store)
    assert _accept(store, 1)
    assert _accept(store, 5)
    latest = store.latest_observation("app-1")
    assert latest is not None
    assert (latest.seq, latest.report, latest.observed_at) == (5, {"seq": 5}, T0)
    assert latest.received_at == T0 + timedelta(seconds=1)
    appliance = store.get_appliance("app-1")
    assert appliance is not None and appliance.last_seq == 5


def test_replay_and_older_sequence_are_refused_without_change(store: Store) -> None:
    _enrol(store)
    assert _accept(store, 7)
    assert not _accept(store, 7)
    assert not _accept(store, 3)
    assert [o.seq for o in store.list_observations("app-1")] == [7]
    appliance = store.get_appliance("app-1")
    assert appliance is not None and appliance.last_seq == 7


def test_unknown_appliance_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="ghost"):
        _accept(store, 1, appliance_id="ghost")
    assert store.latest_observation("ghost") is None


@pytest.mark.parametrize(
    ("seq", "observed_at", "report", "error"),
    [
        (0, T0, {}, ValueError),
        (-1, T0, {}, ValueError),
        (True, T0, {}, ValueError),
        (2**63, T0, {}, ValueError),
        ("1", T0, {}, ValueError),
        (1, T0.replace(tzinfo=None), {}, ValueError),
        (1, "2026-01-01", {}, TypeError),
        (1, T0, [], TypeError),
        (1, T0, {"x": float("nan")}, ValueError),
        (1, T0, {"x": object()}, ValueError),
    ],
)
def test_malformed_observation_changes_nothing(
    store: Store, seq: object, observed_at: object, report: object, error: type[Exception]
) -> None:
    _enrol(store)
    with pytest.raises(error):
        store.accept_observation("app-1", seq, observed_at, report, T0)  # type: ignore[arg-type]
    appliance = store.get_appliance("app-1")
    assert appliance is not None and appliance.last_seq == 0
    assert store.count_observations() == 0


def test_prune_by_age_and_per_appliance_count_keeps_last_seq(store: Store) -> None:
    _enrol(store, "app-1", 1)
    _enrol(store, "app-2", 2)
    for seq in range(1, 11):
        _accept(store, seq, at=T0 + timedelta(minutes=seq))
    for seq in range(1, 4):
        _accept(store, seq, appliance_id="app-2", at=T0 + timedelta(minutes=seq))
    # Received at T0+seq min+1 s: the age cut removes seq 1-2 of both appliances.
    deleted = store.prune_observations(older_than=T0 + timedelta(minutes=3), keep_per_appliance=5)
    assert deleted == 2 + 3 + 2
    assert [o.seq for o in store.list_observations("app-1")] == [10, 9, 8, 7, 6]
    assert [o.seq for o in store.list_observations("app-2")] == [3]
    assert not _accept(store, 4), "last_seq survives pruning, so replays stay refused"
    assert store.prune_observations(older_than=T0, keep_per_appliance=5) == 0


def test_prune_rejects_nonsense_arguments(store: Store) -> None:
    with pytest.raises(ValueError, match="keep_per_appliance"):
        store.prune_observations(older_than=T0, keep_per_appliance=0)
    with pytest.raises(ValueError, match="aware"):
        store.prune_observations(older_than=T0.replace(tzinfo=None), keep_per_appliance=1)


def test_concurrent_interleaved_sequences_store_each_accepted_seq_once(store: Store) -> None:
    _enrol(store)
    highest, threads = 240, 8
    offered = list(range(1, highest + 1)) * 2  # every seq delivered twice
    random.Random(7).shuffle(offered)
    lanes = [offered[i::threads] for i in range(threads)]

    def deliver(lane: int) -> list[int]:
        return [seq for seq in lanes[lane] if _accept(store, seq)]

    accepted = [seq for lane in all_at_once(deliver, threads) for seq in lane]

    stored = [o.seq for o in store.list_observations("app-1")]
    assert len(accepted) == len(set(accepted)), "a seq was accepted twice"
    assert sorted(stored) == sorted(accepted)
    assert max(stored) == highest
    appliance = store.get_appliance("app-1")
    assert appliance is not None and appliance.last_seq == highest

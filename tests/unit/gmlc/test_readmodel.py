"""The read model and the change feed: what changes in the database reaches every worker.

Over a real store on SQLite and PostgreSQL; changes are made through the store's public
methods, never with SQL, and applied with ``catch_up`` (what the feed's thread does every
interval) or, on PostgreSQL, received as notifications.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from gmlc.changefeed import ChangeFeed
from gmlc.positioning import PositioningLimits
from gmlc.readmodel import ReadModel
from gmlc.store import ANYWHERE, CellRecord, Store
from mlp.codes import MsidType

MSISDN, IMSI, ICCID = "41790000001", "228011234567890", "8941010000000000001"
LIMITS = PositioningLimits(
    max_age_s=300,
    radius_floor_m=1000,
    radius_ceiling_m=50000,
    area_fallback_radius_m=10000,
    lev_conf=68,
)
HASH = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("secret")


def _report(seq: int, ci: int = 123456) -> dict[str, object]:
    return {
        "appliance": "app-1",
        "seq": seq,
        "registration": {"state": "home", "rat": "LTE"},
        "serving": {"rat": "LTE", "mcc": "228", "mnc": "01", "tac": 1000, "ci": ci},
        "neighbours": [],
    }


@pytest.fixture
def feeds() -> Iterator[list[ChangeFeed]]:
    """Feeds to close after the test (on PostgreSQL each holds a listening connection)."""
    opened: list[ChangeFeed] = []
    yield opened
    for feed in opened:
        feed.close()


def _world(store: Store, feeds: list[ChangeFeed]) -> tuple[ReadModel, ChangeFeed]:
    store.add_client("web-1", HASH, networks=ANYWHERE, msisdns=[MSISDN])
    store.add_appliance(
        "app-1", public_key="A" * 43, imsi=IMSI, iccid=ICCID, msisdn=MSISDN, site="dc-1"
    )
    store.upsert_cells([CellRecord("LTE", 228, 1, 1000, 123456, 47.3769, 8.5417, 2500, 40)])
    model = ReadModel(store, LIMITS)
    feed = ChangeFeed(store, model)
    feeds.append(feed)
    feed.catch_up()
    model.load()
    return model, feed


def _observe(store: Store, seq: int) -> None:
    now = datetime.now(UTC)
    assert store.accept_observation("app-1", seq, now - timedelta(seconds=2), _report(seq), now)


def test_changes_reach_the_model_only_when_applied(store: Store, feeds: list[ChangeFeed]) -> None:
    model, feed = _world(store, feeds)
    client = model.client("web-1")
    assert client is not None and client.enabled and client.msisdns == {MSISDN}
    view = model.target(MsidType.MSISDN, MSISDN)
    assert view is not None and view.observation is None

    store.set_client_enabled("web-1", False)
    store.authorize_client("web-1", imsis=[IMSI])
    _observe(store, 1)
    # Nothing is read on the request path: the model still holds what it loaded.
    assert model.client("web-1").enabled  # type: ignore[union-attr]
    if feed.listening:
        feed.start()  # PostgreSQL: the thread receives the notifications
    else:
        assert feed.catch_up() > 0
    _eventually(lambda: not model.client("web-1").enabled)  # type: ignore[union-attr]
    assert model.client("web-1").imsis == {IMSI}  # type: ignore[union-attr]
    _eventually(lambda: model.target(MsidType.IMSI, IMSI).observation is not None)  # type: ignore[union-attr]
    prepared = model.target(MsidType.IMSI, IMSI).observation  # type: ignore[union-attr]
    assert prepared is not None and prepared.record.seq == 1
    # The cells positioning needs were looked up once, when the observation arrived.
    assert list(prepared.cells) == [("LTE", 228, 1, 1000, 123456)]

    store.set_appliance_enabled("app-1", False)
    if not feed.listening:
        feed.catch_up()
    _eventually(lambda: model.target(MsidType.MSISDN, MSISDN) is None)


def _eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the change did not arrive"
        time.sleep(0.01)  # polling interval, not a race hider


def test_a_worker_pruned_past_reloads_everything(store: Store, feeds: list[ChangeFeed]) -> None:
    if store.dialect != "sqlite":
        pytest.skip("PostgreSQL nodes are notified, not polling by id")
    model, feed = _world(store, feeds)
    store.set_client_enabled("web-1", False)
    store.set_client_enabled("web-1", True)
    store.set_client_enabled("web-1", False)
    assert store.prune_changes(keep=1) > 0
    feed.catch_up()
    assert not model.client("web-1").enabled  # type: ignore[union-attr]


def test_failures_are_shared_with_other_workers_but_not_echoed(
    store: Store, feeds: list[ChangeFeed]
) -> None:
    model, _ = _world(store, feeds)
    received: dict[str, list[tuple[str, ...]]] = {"first": [], "second": []}

    def sink(name: str) -> Callable[[Sequence[tuple[str, ...]]], None]:
        return lambda keys: received[name].extend(keys)

    first = ChangeFeed(store, model, on_failures=sink("first"), origin="first")
    second = ChangeFeed(store, model, on_failures=sink("second"), origin="second")
    feeds += [first, second]
    for feed in (first, second):
        feed.catch_up()
    first.publish_failure(("source", "192.0.2.7"))
    first.catch_up()  # writes the queue, reads its own row back
    _eventually(lambda: second.catch_up() >= 0 and bool(received["second"]))
    first.catch_up()
    assert received == {"first": [], "second": [("source", "192.0.2.7")]}

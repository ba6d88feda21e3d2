"""The append-only audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from gmlc.errors import StoreError
from gmlc.schema import AUDIT
from gmlc.store import AuditEntry, Store
from tests.support.concurrency import all_at_once

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_entries_round_trip_with_every_field(store: Store) -> None:
    store.append_audit(
        "statement",
        client_id="web-1",
        appliance_id="app-1",
        source="192.0.2.7",
        targets=["41790000001"],
        result=0,
        detail={"jti": "abc", "position": {"lat": 47.1, "lon": 8.5, "r": 1000}, "kid": "k1"},
        at=T0,
    )
    (entry,) = store.list_audit()
    assert entry.id >= 1
    assert (entry.at, entry.kind, entry.client_id, entry.appliance_id, entry.source) == (
        T0,
        "statement",
        "web-1",
        "app-1",
        "192.0.2.7",
    )
    assert entry.targets == ["41790000001"]
    assert entry.result == 0
    assert entry.detail["position"] == {"lat": 47.1, "lon": 8.5, "r": 1000}
    assert entry.to_json()["at"] == "2026-01-01T00:00:00Z"


def test_filters_limit_and_order(store: Store) -> None:
    for minute in range(6):
        kind = "slir" if minute % 2 == 0 else "auth_failure"
        store.append_audit(kind, client_id=f"c{minute}", at=T0 + timedelta(minutes=minute))
    assert [e.client_id for e in store.list_audit(kind="slir")] == ["c0", "c2", "c4"]
    assert [e.client_id for e in store.list_audit(since=T0 + timedelta(minutes=4))] == ["c4", "c5"]
    assert [e.client_id for e in store.list_audit(limit=2)] == ["c0", "c1"]
    assert [e.client_id for e in store.list_audit(limit=2, newest_first=True)] == ["c5", "c4"]
    assert store.count_audit() == 6
    assert store.count_audit("auth_failure") == 3


def test_listing_pages_through_more_entries_than_one_page() -> None:
    # Paging is plain SQL on the id column; one backend is enough, and memory is quick.
    store = Store.open("sqlite://")
    store.migrate()
    total = 1005  # more than one page of 1000
    for n in range(total):
        store.append_audit("slir", detail={"n": n}, at=T0)
    assert [e.detail["n"] for e in store.list_audit()] == list(range(total))
    backwards = [e.detail["n"] for e in store.list_audit(newest_first=True, limit=1002)]
    assert backwards == list(range(total - 1, total - 1003, -1))
    store.close()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"kind": ""}, ValueError),
        ({"kind": "Slir"}, ValueError),
        ({"kind": "x" * 33}, ValueError),
        ({"targets": "41790000001"}, TypeError),
        ({"targets": [1]}, TypeError),
        ({"result": "0"}, TypeError),
        ({"result": True}, TypeError),
        ({"detail": {"x": {1, 2}}}, ValueError),
        ({"source": 7}, TypeError),
        ({"at": datetime(2026, 1, 1)}, ValueError),  # naive on purpose
    ],
)
def test_malformed_entries_are_refused_and_nothing_is_written(
    store: Store, kwargs: dict[str, object], error: type[Exception]
) -> None:
    arguments: dict[str, object] = {"kind": "slir", **kwargs}
    kind = arguments.pop("kind")
    with pytest.raises(error):
        store.append_audit(kind, **arguments)  # type: ignore[arg-type]
    assert store.count_audit() == 0


def test_concurrent_appends_are_all_kept(store: Store) -> None:
    threads, per_thread = 8, 40

    def append(worker: int) -> None:
        for n in range(per_thread):
            store.append_audit("slir", client_id=f"w{worker}", detail={"n": n})

    all_at_once(append, threads)
    entries = list(store.list_audit())
    assert store.count_audit() == threads * per_thread == len(entries)
    assert len({e.id for e in entries}) == len(entries)
    for worker in range(threads):
        mine = [e.detail["n"] for e in entries if e.client_id == f"w{worker}"]
        assert mine == list(range(per_thread)), "one writer's entries keep their order"


def test_overlong_request_values_are_cut_and_the_cut_is_recorded(store: Store) -> None:
    store.append_audit("auth_failure", client_id="c" * 5000, source="s" * 300, detail={"x": 1})
    (entry,) = store.list_audit()
    assert entry.client_id == "c" * 255 and entry.source == "s" * 255
    assert entry.detail == {"x": 1, "truncated": {"client_id": 5000, "source": 300}}


def test_nul_characters_from_requests_are_stored_visibly_replaced(store: Store) -> None:
    store.append_audit(
        "auth_failure", client_id="we\x00b", targets=["4179\x00"], detail={"k\x00": ["v\x00"]}
    )
    (entry,) = store.list_audit()
    assert entry.client_id == "we\ufffdb"
    assert entry.targets == ["4179\ufffd"]
    assert entry.detail == {"k\ufffd": ["v\ufffd"]}
    assert store.get_client("we\x00b") is None
    assert store.get_appliance("a\x00") is None


def test_rows_are_stored_exactly_as_sqlalchemy_stores_them(store: Store) -> None:
    # The audit insert bypasses SQLAlchemy's execution layer for speed; what it stores
    # must not differ by a byte from the same entry written through SQLAlchemy Core.
    detail = {"jti": "j", "position": {"lat": 47.1, "lon": 8.5, "r": 1000}, "none": None}
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)  # no microseconds: the format keeps them
    store.append_audit(
        "statement", client_id="web-1", targets=["t1"], result=0, detail=detail, at=at
    )
    with store._write() as conn:
        conn.execute(
            AUDIT.insert(),
            {
                "at": at,
                "kind": "statement",
                "client_id": "web-1",
                "appliance_id": None,
                "source": None,
                "targets": ["t1"],
                "result": 0,
                "detail": detail,
            },
        )
    columns = [sa.cast(column, sa.Text) for column in AUDIT.c if column.name != "id"]
    with store._read() as conn:
        fast, core = conn.execute(sa.select(*columns).order_by(AUDIT.c.id)).all()
    assert fast == core
    first, second = store.list_audit()
    assert (first.at, first.targets, first.detail) == (at, ["t1"], detail)
    assert (second.at, second.targets, second.detail) == (at, ["t1"], detail)


def test_a_batch_is_written_whole_or_not_at_all(store: Store) -> None:
    with pytest.raises(ValueError, match="32 bits"):
        store.append_audits([AuditEntry("slir", result=0), AuditEntry("slir", result=2**31)])
    assert store.count_audit() == 0


def test_a_driver_write_the_database_refuses_is_rolled_back_and_reported(store: Store) -> None:
    # The driver-level transaction under the audit insert: a statement the database
    # refuses after a row went in leaves nothing, reads as a StoreError, and the pooled
    # connection stays usable.
    with pytest.raises(StoreError, match="while writing the audit log"):
        with store._driver_write("writing the audit log") as cursor:
            cursor.execute(
                "INSERT INTO audit (at, kind, targets, detail) VALUES "
                + ("('2026-01-01 00:00:00', 'slir', '[]', '{}')")
            )
            cursor.execute("INSERT INTO no_such_table VALUES (1)")
    assert store.count_audit() == 0
    store.append_audits([AuditEntry("slir", result=0)])
    assert store.count_audit() == 1

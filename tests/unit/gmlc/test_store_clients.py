"""Clients and appliances in the store."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gmlc.errors import DuplicateError, NotFoundError
from gmlc.store import ANYWHERE, ClientRecord, Store
from tests.support.concurrency import all_at_once
from tests.support.gmlc import client_from_previous_version


def _public_key() -> str:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _enrol(store: Store, appliance_id: str, n: int, *, msisdn: str | None = None) -> None:
    store.add_appliance(
        appliance_id,
        public_key=_public_key(),
        imsi=f"22801000000{n:04d}",
        iccid=f"894100000000000{n:04d}",
        msisdn=msisdn,
        site="zrh-dc1",
    )


def test_client_round_trip_with_targets(store: Store) -> None:
    added = store.add_client(
        "web-1", "$argon2id$x", networks=ANYWHERE, msisdns=["+41790000001"], imsis=["228011"]
    )
    assert added == store.get_client("web-1")
    assert added.enabled
    assert added.msisdns == frozenset({"41790000001"})
    assert added.imsis == frozenset({"228011"})
    assert added.created_at.tzinfo is UTC


def test_duplicate_client_is_refused_and_the_first_is_untouched(store: Store) -> None:
    store.add_client("web-1", "first", networks=ANYWHERE)
    with pytest.raises(DuplicateError, match="web-1"):
        store.add_client("web-1", "second", networks=ANYWHERE, msisdns=["41790000009"])
    client = store.get_client("web-1")
    assert client is not None
    assert client.password_hash == "first"
    assert client.msisdns == frozenset()


def test_clients_are_listed_by_id_with_their_own_targets(store: Store) -> None:
    store.add_client("web-b", "h", networks=ANYWHERE, msisdns=["41790000002"])
    store.add_client("web-a", "h", networks=ANYWHERE, imsis=["228010000000001"])
    listed = store.list_clients()
    assert [c.client_id for c in listed] == ["web-a", "web-b"]
    assert listed[0].imsis == frozenset({"228010000000001"}) and not listed[0].msisdns
    assert listed[1].msisdns == frozenset({"41790000002"}) and not listed[1].imsis


def test_disable_enable_and_password_change(store: Store) -> None:
    store.add_client("web-1", "old", networks=ANYWHERE)
    store.set_client_enabled("web-1", False)
    store.set_client_password("web-1", "new")
    client = store.get_client("web-1")
    assert client is not None and not client.enabled and client.password_hash == "new"
    store.set_client_enabled("web-1", True)
    client = store.get_client("web-1")
    assert client is not None and client.enabled


def test_unknown_client_operations_raise_not_found(store: Store) -> None:
    assert store.get_client("ghost") is None
    with pytest.raises(NotFoundError):
        store.set_client_enabled("ghost", False)
    with pytest.raises(NotFoundError):
        store.set_client_password("ghost", "h")
    with pytest.raises(NotFoundError):
        store.authorize_client("ghost", msisdns=["41790000001"])


def test_authorize_adds_targets_and_keeps_existing_ones(store: Store) -> None:
    store.add_client("web-1", "h", networks=ANYWHERE, msisdns=["41790000001"])
    updated = store.authorize_client(
        "web-1", msisdns=["41790000001", "41790000002"], imsis=["1234567"]
    )
    assert updated.msisdns == frozenset({"41790000001", "41790000002"})
    assert updated.imsis == frozenset({"1234567"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"client_id": ""}, "client id"),
        ({"client_id": "has space"}, "client id"),
        ({"client_id": "x" * 65}, "client id"),
        ({"password_hash": ""}, "password hash"),
        ({"msisdns": ["12"]}, "MSISDN"),
        ({"msisdns": ["4179abc"]}, "MSISDN"),
        ({"imsis": ["12345"]}, "IMSI"),
        ({"imsis": "228011234567890"}, "single string"),
    ],
)
def test_malformed_client_input_is_refused_and_nothing_is_stored(
    store: Store, kwargs: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {
        "client_id": "web-1",
        "password_hash": "h",
        "networks": ANYWHERE,
        **kwargs,
    }
    with pytest.raises((ValueError, TypeError), match=message):
        store.add_client(**arguments)  # type: ignore[arg-type]
    assert store.list_clients() == []


def test_appliance_round_trip(store: Store) -> None:
    key = _public_key()
    added = store.add_appliance(
        "app-1",
        public_key=key,
        imsi="228011234567890",
        iccid="8941000000000000001",
        msisdn="+41790000001",
        site="zrh-dc1",
    )
    assert added == store.get_appliance("app-1")
    assert (added.public_key, added.msisdn, added.last_seq, added.enabled) == (
        key,
        "41790000001",
        0,
        True,
    )


def test_appliance_lookup_by_target_finds_enabled_only(store: Store) -> None:
    _enrol(store, "app-1", 1, msisdn="41790000001")
    found = store.find_appliance_for_target(msisdn="+41790000001")
    assert found is not None and found.appliance_id == "app-1"
    found = store.find_appliance_for_target(imsi="228010000000001")
    assert found is not None and found.appliance_id == "app-1"
    store.set_appliance_enabled("app-1", False)
    assert store.find_appliance_for_target(msisdn="41790000001") is None
    assert store.find_appliance_for_target(imsi="not-an-imsi") is None
    with pytest.raises(ValueError, match="exactly one"):
        store.find_appliance_for_target()


def test_duplicate_appliance_id_or_bound_sim_is_refused(store: Store) -> None:
    _enrol(store, "app-1", 1, msisdn="41790000001")
    with pytest.raises(DuplicateError, match="app-1"):
        _enrol(store, "app-1", 2)
    with pytest.raises(DuplicateError, match="IMSI"):
        _enrol(store, "app-2", 1)
    with pytest.raises(DuplicateError, match="MSISDN"):
        _enrol(store, "app-2", 2, msisdn="41790000001")
    assert [a.appliance_id for a in store.list_appliances()] == ["app-1"]


def test_sim_moves_to_a_new_appliance_after_the_old_one_is_disabled(store: Store) -> None:
    _enrol(store, "app-1", 1)
    store.set_appliance_enabled("app-1", False)
    _enrol(store, "app-2", 1)
    with pytest.raises(DuplicateError, match="bound"):
        store.set_appliance_enabled("app-1", True)
    old = store.get_appliance("app-1")
    assert old is not None and not old.enabled
    with pytest.raises(NotFoundError):
        store.set_appliance_enabled("ghost", True)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("appliance_id", "bad id"),
        ("public_key", "short"),
        ("public_key", "!" * 43),
        ("imsi", "22801"),
        ("iccid", "89410000"),
        ("msisdn", "+41-79"),
        ("site", ""),
        ("site", "line\nbreak"),
    ],
)
def test_malformed_appliance_input_is_refused(store: Store, field: str, value: str) -> None:
    arguments: dict[str, object] = {
        "appliance_id": "app-1",
        "public_key": _public_key(),
        "imsi": "228011234567890",
        "iccid": "8941000000000000001",
        "msisdn": None,
        "site": "zrh",
        field: value,
    }
    with pytest.raises(ValueError):
        store.add_appliance(**arguments)  # type: ignore[arg-type]
    assert store.list_appliances() == []


def test_injected_clock_sets_creation_time(store_url: str) -> None:
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with Store.open(store_url, clock=lambda: moment) as store:
        store.migrate()
        assert store.add_client("web-1", "h", networks=ANYWHERE).created_at == moment
        client = store.get_client("web-1")
        assert client is not None and client.created_at == moment


def test_concurrent_enrolments_of_one_sim_leave_exactly_one_appliance(store: Store) -> None:
    def enrol(n: int) -> str:
        try:
            store.add_appliance(
                f"app-{n}",
                public_key=_public_key(),
                imsi="228019999999999",
                iccid=f"894100000000000{n:04d}",
                msisdn=None,
                site="zrh-dc1",
            )
        except DuplicateError:
            return "refused"
        return "enrolled"

    threads = 8
    assert sorted(all_at_once(enrol, threads)) == ["enrolled"] + ["refused"] * (threads - 1)
    assert len(store.list_appliances()) == 1


# -- source networks ---------------------------------------------------------------------------


def _texts(record: ClientRecord | None) -> list[str]:
    assert record is not None
    return sorted(str(network) for network in record.networks)


def test_networks_round_trip_in_canonical_form(store: Store) -> None:
    added = store.add_client(
        "web-1",
        "h",
        networks=["203.0.113.0/24", "2001:DB8:0:0::/48", "198.51.100.7"],
        msisdns=["41790000001"],
    )
    expected = ["198.51.100.7/32", "2001:db8::/48", "203.0.113.0/24"]
    assert _texts(added) == _texts(store.get_client("web-1")) == expected
    assert not added.from_anywhere
    # Targets and networks come back side by side (one statement builds the record).
    fetched = store.get_client("web-1")
    assert fetched is not None and fetched.msisdns == {"41790000001"}
    assert _texts(store.list_clients()[0]) == expected
    assert store.add_client("web-2", "h", networks=ANYWHERE).from_anywhere


@pytest.mark.parametrize(
    ("networks", "message"),
    [
        ((), "at least one network"),
        (["203.0.113.7/24"], "did you mean 203.0.113.0/24"),
        (["not-a-network"], "not an IP network"),
        ("203.0.113.0/24", "single string"),
    ],
)
def test_a_client_without_valid_networks_is_refused(
    store: Store, networks: object, message: str
) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        store.add_client("web-1", "h", networks=networks)  # type: ignore[arg-type]
    assert store.list_clients() == []


def test_networks_are_added_removed_and_replaced(store: Store) -> None:
    store.add_client("web-1", "h", networks=["203.0.113.0/24"])
    changed = store.set_client_networks("web-1", add=["198.51.100.0/24", "203.0.113.0/24"])
    assert _texts(changed) == ["198.51.100.0/24", "203.0.113.0/24"]
    changed = store.set_client_networks("web-1", remove=["203.0.113.0/24"])
    assert _texts(changed) == ["198.51.100.0/24"]
    with pytest.raises(ValueError, match="without any network"):
        store.set_client_networks("web-1", remove=["198.51.100.0/24"])
    with pytest.raises(NotFoundError, match=r"192\.0\.2\.0/24"):
        store.set_client_networks("web-1", remove=["192.0.2.0/24"])
    assert _texts(store.get_client("web-1")) == ["198.51.100.0/24"]  # refusals changed nothing
    replaced = store.set_client_networks("web-1", add=ANYWHERE, replace=True)
    assert replaced.from_anywhere and len(replaced.networks) == 2
    with pytest.raises(NotFoundError):
        store.set_client_networks("nobody", add=["192.0.2.0/24"])


def test_upgrade_keeps_existing_clients_reachable_from_anywhere(store_url: str) -> None:
    upgraded = client_from_previous_version(store_url, "0001")
    assert upgraded is not None and upgraded.from_anywhere


def test_certificate_pins_are_added_and_removed(store: Store) -> None:
    added = store.add_client("web-1", "h", networks=ANYWHERE)
    assert added.certificates == frozenset()
    pin = "AB:" * 31 + "CD"  # colons and upper case, as tools print fingerprints
    changed = store.set_client_certificates("web-1", add=[pin, "0" * 64])
    assert changed.certificates == {"ab" * 31 + "cd", "0" * 64}
    fetched = store.get_client("web-1")
    assert fetched is not None and fetched.certificates == changed.certificates
    assert fetched.from_anywhere  # networks and pins side by side in one record
    assert store.set_client_certificates("web-1", remove=["0" * 64]).certificates == {
        "ab" * 31 + "cd"
    }
    assert store.set_client_certificates("web-1", replace=True).certificates == frozenset()
    with pytest.raises(ValueError, match="SHA-256"):
        store.set_client_certificates("web-1", add=["abc"])
    with pytest.raises(NotFoundError, match="no certificate"):
        store.set_client_certificates("web-1", remove=["1" * 64])

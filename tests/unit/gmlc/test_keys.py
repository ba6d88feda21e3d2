"""The statement-signing key ring: generation, rotation, grace period, file permissions."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gmlc.errors import DuplicateError, KeyFileError, NotFoundError
from gmlc.keys import KeyInfo, KeyRing
from gmlc.service import KeyHolder
from mlp.keys import KeySet, jwk_thumbprint

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_generate_creates_private_files_and_one_active_key(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    info = ring.generate(now=T0)
    assert info.status == "active"
    assert info.alg == "ES256"
    assert stat.S_IMODE(os.stat(tmp_path / "keys").st_mode) == 0o700
    pem_files = list((tmp_path / "keys").glob("*.pem"))
    assert len(pem_files) == 1
    assert stat.S_IMODE(pem_files[0].stat().st_mode) == 0o600
    key = ring.active_signing_key()
    assert key.kid == info.kid
    assert key.alg == "ES256"
    # The metadata holds public material only.
    metadata = (tmp_path / "keys" / "keyring.json").read_text()
    assert "PRIVATE" not in metadata
    assert '"d"' not in metadata


def test_generate_twice_is_a_conflict(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    ring.generate()
    with pytest.raises(DuplicateError, match="rotate"):
        ring.generate()


def test_unsupported_algorithm_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        KeyRing(tmp_path / "keys").generate("HS256")
    assert not (tmp_path / "keys" / "keyring.json").exists()


def test_rotation_retires_previous_key_and_grace_period_expires_it(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys", grace_period_s=3600)
    first = ring.generate(now=T0)
    second = ring.rotate("EdDSA", now=T0 + timedelta(hours=1))
    assert second.alg == "EdDSA"
    assert ring.active_signing_key().kid == second.kid
    statuses = {k.kid: k.status for k in ring.list(now=T0 + timedelta(hours=1, minutes=30))}
    assert statuses == {second.kid: "active", first.kid: "retired"}
    statuses = {k.kid: k.status for k in ring.list(now=T0 + timedelta(hours=3))}
    assert statuses == {second.kid: "active", first.kid: "expired"}

    within = ring.jwks(T0 + timedelta(hours=1, minutes=59), 3600)
    assert [k["kid"] for k in within["keys"]] == [second.kid, first.kid]
    after = ring.jwks(T0 + timedelta(hours=2, seconds=1), 3600)
    assert [k["kid"] for k in after["keys"]] == [second.kid]
    # The published document is a valid JWKS with public members only.
    keyset = KeySet.from_jwks(within)
    assert set(keyset.kids) == {first.kid, second.kid}
    assert all("d" not in k for k in within["keys"])


def test_rotate_keeps_algorithm_by_default(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    ring.generate("EdDSA")
    assert ring.rotate().alg == "EdDSA"


def test_rotate_without_ring_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="keys generate"):
        KeyRing(tmp_path / "keys").rotate()


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    ring.generate()
    pem = next((tmp_path / "keys").glob("*.pem"))
    pem.chmod(0o644)
    with pytest.raises(KeyFileError) as caught:
        ring.active_signing_key()
    message = str(caught.value)
    assert str(pem) in message
    assert f"chmod 600 {pem}" in message
    assert "PRIVATE" not in message


def test_missing_or_corrupt_key_files(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    with pytest.raises(KeyFileError, match="no key ring"):
        ring.active_signing_key()
    ring.generate()
    pem = next((tmp_path / "keys").glob("*.pem"))
    pem.write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyFileError, match="valid ES256"):
        ring.active_signing_key()
    pem.unlink()
    with pytest.raises(KeyFileError, match="missing"):
        ring.active_signing_key()
    (tmp_path / "keys" / "keyring.json").write_text("{not json")
    with pytest.raises(KeyFileError, match="not valid JSON"):
        ring.list()


def test_metadata_with_two_active_keys_is_refused(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    ring.generate()
    ring.rotate()
    path = tmp_path / "keys" / "keyring.json"
    document = json.loads(path.read_text())
    for entry in document["keys"]:
        entry["retired_at"] = None
    path.write_text(json.dumps(document))
    with pytest.raises(KeyFileError, match="exactly one active key"):
        ring.active_signing_key()


def test_metadata_version_changes_on_rotation(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    assert ring.metadata_version() is None
    ring.generate()
    before = ring.metadata_version()
    ring.rotate()
    assert ring.metadata_version() != before


class _Clocks:
    def __init__(self) -> None:
        self.wall = T0
        self.mono = 100.0


def _ring_with_a_key(tmp_path: Path) -> tuple[_Clocks, KeyRing, KeyInfo]:
    """Clocks at T0 and a key ring in ``tmp_path`` with the key it generated then."""
    ring = KeyRing(tmp_path / "keys")
    return _Clocks(), ring, ring.generate(now=T0)


def _holder(ring: KeyRing, clocks: _Clocks, grace_s: int = 3600) -> KeyHolder:
    return KeyHolder(
        ring,
        grace_period_s=grace_s,
        clock=lambda: clocks.wall,
        monotonic=lambda: clocks.mono,
        check_interval_s=1.0,
    )


def test_holder_signs_with_the_new_key_from_the_first_statement_after_a_rotation(
    tmp_path: Path,
) -> None:
    clocks, ring, first = _ring_with_a_key(tmp_path)
    holder = _holder(ring, clocks)
    assert holder.load().kid == first.kid
    second = ring.rotate(now=T0)
    assert holder.current().kid == second.kid  # no interval: the clock has not moved


def test_holder_keeps_the_previous_key_when_the_new_one_is_unusable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clocks, ring, first = _ring_with_a_key(tmp_path)
    holder = _holder(ring, clocks)
    holder.load()
    second = ring.rotate(now=T0)
    pem = tmp_path / "keys" / f"key-{second.kid}.pem"
    pem.chmod(0o640)
    with caplog.at_level("ERROR"):
        assert holder.current().kid == first.kid
        assert holder.current().kid == first.kid
    failures = [r for r in caplog.records if r.getMessage() == "signing_key_reload_failed"]
    assert len(failures) == 1  # tried again once per interval, not per statement
    pem.chmod(0o600)  # the operator fixes the mode; the ring itself does not change
    assert holder.current().kid == first.kid
    clocks.mono += 1.0
    assert holder.current().kid == second.kid


def test_holder_jwks_drops_keys_when_their_grace_ends(tmp_path: Path) -> None:
    clocks, ring, first = _ring_with_a_key(tmp_path)
    second = ring.rotate(now=T0)
    holder = _holder(ring, clocks, grace_s=60)
    holder.load()
    assert [k["kid"] for k in holder.jwks()["keys"]] == [second.kid, first.kid]
    clocks.wall = T0 + timedelta(seconds=61)
    assert len(holder.jwks()["keys"]) == 2  # recomputed at most once per interval
    clocks.mono += 1.0
    assert [k["kid"] for k in holder.jwks()["keys"]] == [second.kid]


def test_holder_without_a_key_refuses_to_sign(tmp_path: Path) -> None:
    holder = _holder(KeyRing(tmp_path / "keys"), _Clocks())
    assert not holder.loaded
    with pytest.raises(KeyFileError):
        holder.current()


# -- revocation ------------------------------------------------------------------------------


def _published(ring: KeyRing, now: datetime, grace_s: int = 3600) -> list[str]:
    return [key["kid"] for key in ring.jwks(now, grace_s)["keys"]]


def test_revoking_a_retired_key_drops_it_from_the_jwks_at_once(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys", grace_period_s=3600)
    first = ring.generate(now=T0)
    retired_at = T0 + timedelta(minutes=10, microseconds=250_000)
    second = ring.rotate(now=retired_at)
    assert _published(ring, retired_at) == [second.kid, first.kid]  # within its grace
    assert ring.pin_until(first.kid) == int(retired_at.timestamp()) + 1  # rounded up
    assert ring.pin_until(second.kid) is None

    revoked = ring.revoke(first.kid, now=retired_at + timedelta(minutes=1))
    assert revoked.status == "revoked"
    assert revoked.revoked_at == retired_at + timedelta(minutes=1)
    # Its statements were all issued before it was retired, whenever it was revoked.
    assert revoked.until == ring.pin_until(first.kid) == int(retired_at.timestamp()) + 1
    assert _published(ring, retired_at + timedelta(minutes=1)) == [second.kid]
    assert ring.active_signing_key().kid == second.kid


def test_revoking_the_active_key_rotates_first(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    first = ring.generate("EdDSA", now=T0)
    revoked = ring.revoke(first.kid, now=T0 + timedelta(hours=1))
    assert (revoked.status, revoked.until) == ("revoked", int(T0.timestamp()) + 3600)
    statuses = {key.kid: (key.status, key.alg) for key in ring.list(now=T0 + timedelta(hours=1))}
    (new_kid,) = set(statuses) - {first.kid}
    assert statuses == {first.kid: ("revoked", "EdDSA"), new_kid: ("active", "EdDSA")}
    assert ring.active_signing_key().kid == new_kid
    assert _published(ring, T0 + timedelta(hours=1)) == [new_kid]


def test_revoke_is_idempotent_and_names_unknown_keys(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    first = ring.generate(now=T0)
    ring.revoke(first.kid, now=T0 + timedelta(hours=1))
    version = ring.metadata_version()
    again = ring.revoke(first.kid, now=T0 + timedelta(hours=2))
    assert again.revoked_at == T0 + timedelta(hours=1)
    assert ring.metadata_version() == version  # nothing rewritten
    assert len(ring.list()) == 2  # no second rotation either
    with pytest.raises(NotFoundError, match="nokey"):
        ring.revoke("nokey")
    with pytest.raises(NotFoundError, match="nokey"):
        ring.pin_until("nokey")


def test_a_ring_written_before_revocation_existed_still_loads(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    first = ring.generate(now=T0)
    document = json.loads(ring.metadata_path.read_text())
    for entry in document["keys"]:
        del entry["revoked_at"]
    ring.metadata_path.write_text(json.dumps(document))
    assert [(k.kid, k.status, k.until) for k in ring.list()] == [(first.kid, "active", None)]


def test_a_revoked_key_that_is_still_active_is_a_corrupt_ring(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    ring.generate(now=T0)
    document = json.loads(ring.metadata_path.read_text())
    document["keys"][0]["revoked_at"] = T0.isoformat()
    ring.metadata_path.write_text(json.dumps(document))
    with pytest.raises(KeyFileError, match="revoked but still active"):
        ring.active_signing_key()


def test_holder_never_signs_with_a_revoked_key(tmp_path: Path) -> None:
    clocks, ring, first = _ring_with_a_key(tmp_path)
    holder = _holder(ring, clocks)
    assert holder.load().kid == first.kid
    ring.revoke(first.kid, now=T0)
    # The very next statement, with no time passing, uses the replacement key.
    replacement = holder.current()
    assert replacement.kid != first.kid
    assert [k["kid"] for k in holder.jwks()["keys"]] == [replacement.kid]


def test_holder_stops_signing_when_the_revoked_key_has_no_usable_successor(
    tmp_path: Path,
) -> None:
    clocks, ring, first = _ring_with_a_key(tmp_path)
    holder = _holder(ring, clocks)
    holder.load()
    ring.revoke(first.kid, now=T0)
    (successor,) = [k for k in ring.list() if k.status == "active"]
    (tmp_path / "keys" / f"key-{successor.kid}.pem").chmod(0o640)
    # Unlike a failed rotation, the previous key is not kept: it is revoked.
    with pytest.raises(KeyFileError):
        holder.current()
    assert not holder.loaded


def test_dns_pins_name_every_key_a_client_may_still_meet(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys", grace_period_s=3600)
    first = ring.generate("ES256", now=T0)
    second = ring.rotate("EdDSA", now=T0 + timedelta(seconds=10))
    third = ring.rotate("PS256", now=T0 + timedelta(seconds=20))
    ring.revoke(second.kid, now=T0 + timedelta(seconds=30))
    pins = {pin.kid: pin for pin in ring.dns_pins(now=T0 + timedelta(seconds=40))}
    assert list(pins) == [third.kid, second.kid, first.kid]  # newest first
    assert pins[third.kid].until is None
    # A retired key verifies only what it signed before it was retired.
    assert pins[first.kid].until == int((T0 + timedelta(seconds=10)).timestamp())
    assert pins[second.kid].until == int((T0 + timedelta(seconds=20)).timestamp())
    # The pins carry the thumbprints and algorithms of the published keys.
    published = KeySet.from_jwks(ring.jwks(T0 + timedelta(seconds=40), 3600))
    active = published.get(third.kid)
    assert active is not None
    assert (pins[third.kid].jkt, pins[third.kid].alg) == (
        jwk_thumbprint(active.public_key),
        "PS256",
    )
    assert pins[third.kid].to_text().startswith(f"v=salve1; kid={third.kid}; jkt=")
    # After the grace period only the active key keeps a pin.
    later = ring.dns_pins(now=T0 + timedelta(seconds=20 + 3601))
    assert [pin.kid for pin in later] == [third.kid]

"""Statement keys in a PKCS#11 token (SoftHSM2): generated non-extractable, used through
the token, published from the public half the token gave."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gmlc.errors import KeyFileError
from gmlc.keys import KeyRing
from mlp.keys import KeySet
from mlp.statement import StatementPosition, issue_statement, verify_statement

NOW = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)
SESSION_HASH = hashlib.sha256(b"a session").digest()


@pytest.fixture
def token(softhsm: Any) -> Any:
    from gmlc.hsm import Pkcs11Token

    opened = Pkcs11Token(softhsm.module, softhsm.token_label, softhsm.pin)
    yield opened
    opened.close()


def _statement(ring: KeyRing) -> str:
    token, _ = issue_statement(
        key=ring.active_signing_key(),
        issuer="gmlc.example.net",
        subject="www.example.com",
        session_hash=SESSION_HASH,
        positions=StatementPosition(47.37, 8.54, 1000),
        position_time=NOW - timedelta(seconds=5),
        now=NOW,
        validity_s=60,
    )
    return token


def _verifies(ring: KeyRing, statement: str) -> bool:
    verify_statement(
        statement,
        KeySet.from_jwks(ring.jwks(NOW, 3600)),
        issuers=["gmlc.example.net"],
        subject="www.example.com",
        session_hash=SESSION_HASH,
        proof=None,
        now=NOW,
        max_position_age_s=60,
    )
    return True


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "PS256"])
def test_a_key_generated_in_the_token_never_leaves_it_and_signs_statements(
    tmp_path: Path, token: Any, alg: str
) -> None:
    ring = KeyRing(tmp_path / "keys", token=token)
    info = ring.generate(alg, now=NOW, in_token=True)
    (entry,) = ring._read_entries()
    assert entry.file is None and entry.pkcs11_label is not None
    assert not list((tmp_path / "keys").glob("*.pem"))  # no private key on disk
    assert token.private_attributes(entry.pkcs11_label) == {
        "sensitive": True,
        "extractable": False,
    }
    signer = ring.active_signing_key()
    assert (signer.kid, signer.alg) == (info.kid, alg)
    assert _verifies(ring, _statement(ring))


def test_rotation_and_revocation_stay_in_the_token(tmp_path: Path, token: Any) -> None:
    ring = KeyRing(tmp_path / "keys", token=token)
    first = ring.generate("ES256", now=NOW, in_token=True)
    old_statement = _statement(ring)
    second = ring.rotate(now=NOW + timedelta(seconds=1))
    assert all(e.pkcs11_label for e in ring._read_entries())
    assert ring.active_signing_key().kid == second.kid
    assert _verifies(ring, old_statement)  # the retired key is still published
    ring.revoke(second.kid, now=NOW + timedelta(seconds=2))
    third = ring.active_signing_key()
    assert third.kid not in (first.kid, second.kid)
    assert [k["kid"] for k in ring.jwks(NOW, 3600)["keys"]] == [third.kid, first.kid]


def test_a_token_key_without_a_configured_token_is_a_plain_error(
    tmp_path: Path, token: Any
) -> None:
    KeyRing(tmp_path / "keys", token=token).generate("ES256", now=NOW, in_token=True)
    with pytest.raises(KeyFileError, match="in a PKCS#11 token; configure pkcs11_module"):
        KeyRing(tmp_path / "keys").active_signing_key()
    with pytest.raises(KeyFileError, match="no PKCS#11 token is configured"):
        KeyRing(tmp_path / "other").generate("ES256", in_token=True)


def test_a_wrong_pin_is_refused_in_plain_words(softhsm: Any) -> None:
    # In a process of its own, as a node starting: PKCS#11 logs in once per process, so a
    # process that already logged in (this one, in other tests) is not asked again.
    script = (
        "import sys\n"
        "from gmlc.errors import KeyFileError\n"
        "from gmlc.hsm import Pkcs11Token\n"
        "try:\n"
        f"    Pkcs11Token(__import__('pathlib').Path({str(softhsm.module)!r}), "
        f"{softhsm.token_label!r}, '0000-wrong')\n"
        "except KeyFileError as exc:\n"
        "    print(exc)\n"
        "    sys.exit(1)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1, done.stderr
    assert "cannot open PKCS#11 token 'salve-test'" in done.stdout
    assert "PinIncorrect" in done.stdout

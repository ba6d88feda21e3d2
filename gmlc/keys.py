"""The statement-signing key ring kept in the state directory.

Layout of ``keys_dir`` (mode 0700)::

    keyring.json        metadata: one entry per key (kid, alg, file, created_at,
                        retired_at, revoked_at, public JWK); exactly one entry has no
                        retired_at
    <kid>.pem           private key, PKCS#8 PEM, mode 0600
    .lock               advisory lock taken while the ring changes

A key may instead live in a PKCS#11 token (:mod:`gmlc.hsm`): its entry then names the
token object's label (``pkcs11``) instead of a file, the private half is generated inside
the token as non-extractable and never leaves it, and statements are signed through the
token. A new key made by ``rotate`` or ``revoke`` goes where the active key is.

Life of a key: ``generate`` creates the first key, which is active. ``rotate`` creates a
new active key and retires the previous one (``retired_at`` = now). A retired key stays
in the published JWKS for a grace period, so statements it signed shortly before the
rotation still verify; after that it is "expired" and only kept on disk for the record.
``revoke`` is for a key that must stop verifying at once (it leaked, or its holder is
gone): the key leaves the JWKS immediately and for good; revoking the active key first
rotates to a new one, so the GMLC never signs with a revoked key and never stops signing.

The ``until`` of a key (:attr:`KeyInfo.until`, :meth:`KeyRing.pin_until`) is what its DNS
pin (``_salve-keys.G TXT ...; until=UNIX``) must carry: a client refuses a statement whose
``iat`` is at or after it. A retired key signs nothing after its retirement, so its
statements all have an earlier ``iat``; a statement claiming a later one was forged with
a stolen key. For a revoked key ``until`` is the revocation (or the earlier retirement).
Combined with the statements' short validity, a stolen retired or revoked key can only
produce statements that have already expired.

Invariants: keyring.json is replaced atomically (write to a temporary file, then rename),
and only after the new private key is safely on disk, so a reader sees either the old or
the new ring, never a ring naming a key that is not there. A private key file readable by
group or others is refused when loaded. Private key material never appears in errors,
logs or the JWKS.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import fcntl
import json
import math
import os
import re
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from gmlc.errors import DuplicateError, KeyFileError, NotFoundError
from mlp.dnsrecords import KeyPin
from mlp.keys import (
    KID_LENGTH,
    KeyAlgorithm,
    KeyMaterialError,
    KeySet,
    Signer,
    SigningKey,
    VerificationKey,
    jwk_thumbprint,
)

if TYPE_CHECKING:
    from gmlc.hsm import Pkcs11Token
    from gmlc.settings import Settings

__all__ = ["ALGORITHMS", "KeyInfo", "KeyRing", "KeyStatus", "open_key_ring"]

ALGORITHMS = ("ES256", "EdDSA", "PS256")
METADATA_NAME = "keyring.json"
LOCK_NAME = ".lock"
FORMAT_VERSION = 1
DEFAULT_GRACE_PERIOD_S = 7 * 24 * 3600

KeyStatus = Literal["active", "retired", "expired", "revoked"]

_SAFE_KID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """Public facts about one key of the ring.

    Attributes:
        kid: Key id, as written in the JWS header and the JWKS.
        alg: JWS algorithm pinned to this key.
        status: "active" (signs new statements), "retired" (published during the grace
            period), "expired" (no longer published) or "revoked" (withdrawn at once).
        created_at: When the key was generated (UTC).
        retired_at: When a newer key replaced it, None for the active key.
        revoked_at: When it was revoked, None unless revoked.
    """

    kid: str
    alg: str
    status: KeyStatus
    created_at: datetime
    retired_at: datetime | None
    revoked_at: datetime | None = None

    @property
    def until(self) -> int | None:
        """The ``until`` its DNS pin must carry (Unix seconds), None for the active key.

        The earlier of retirement and revocation, rounded up to a whole second: statement
        ``iat`` values are whole seconds (rounded down), so a statement signed in the last
        fraction of a second before the retirement still verifies.
        """
        ends = [moment for moment in (self.retired_at, self.revoked_at) if moment is not None]
        if not ends:
            return None
        return math.ceil(min(ends).timestamp())


@dataclass(frozen=True, slots=True)
class _Entry:
    kid: str
    alg: str
    file: str | None  # None for a key in a PKCS#11 token
    created_at: datetime
    retired_at: datetime | None
    public_jwk: dict[str, Any]
    revoked_at: datetime | None = None
    pkcs11_label: str | None = None

    def to_json(self) -> dict[str, Any]:
        placed: dict[str, Any] = (
            {"pkcs11": {"label": self.pkcs11_label}} if self.pkcs11_label is not None else {}
        )
        return {
            **placed,
            "kid": self.kid,
            "alg": self.alg,
            "file": self.file,
            "created_at": self.created_at.isoformat(),
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "public_jwk": self.public_jwk,
        }


def _parse_time(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise KeyFileError(f"{where} is not a timestamp")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise KeyFileError(f"{where} is not a timestamp") from None
    if parsed.tzinfo is None:
        raise KeyFileError(f"{where} has no time zone")
    return parsed.astimezone(UTC)


def _entry_from_json(raw: object, metadata_path: Path) -> _Entry:
    where = f"{metadata_path}: key entry"
    if not isinstance(raw, dict):
        raise KeyFileError(f"{where} is not an object")
    kid, alg, file, jwk = raw.get("kid"), raw.get("alg"), raw.get("file"), raw.get("public_jwk")
    if not isinstance(kid, str) or not _SAFE_KID.match(kid):
        raise KeyFileError(f"{where} has an invalid kid")
    if alg not in ALGORITHMS:
        raise KeyFileError(f"{where} {kid} has an unsupported alg")
    token_object = raw.get("pkcs11")
    label: str | None = None
    if token_object is not None:
        label = token_object.get("label") if isinstance(token_object, dict) else None
        if not isinstance(label, str) or not _SAFE_KID.match(label) or file is not None:
            raise KeyFileError(f"{where} {kid} has an invalid PKCS#11 label")
    elif not isinstance(file, str) or file != Path(file).name or not file.endswith(".pem"):
        raise KeyFileError(f"{where} {kid} has an invalid file name")
    if not isinstance(jwk, dict):
        raise KeyFileError(f"{where} {kid} has no public key")
    retired_raw = raw.get("retired_at")
    # Absent in rings written before revocation existed: such a key was never revoked.
    revoked_raw = raw.get("revoked_at")
    revoked_at = (
        None if revoked_raw is None else _parse_time(revoked_raw, f"{where} {kid} revoked_at")
    )
    retired_at = (
        None if retired_raw is None else _parse_time(retired_raw, f"{where} {kid} retired_at")
    )
    if revoked_at is not None and retired_at is None:
        raise KeyFileError(f"{where} {kid} is revoked but still active")
    return _Entry(
        kid=kid,
        alg=str(alg),
        file=file,
        created_at=_parse_time(raw.get("created_at"), f"{where} {kid} created_at"),
        retired_at=retired_at,
        public_jwk=jwk,
        revoked_at=revoked_at,
        pkcs11_label=label,
    )


class KeyRing:
    """The signing keys in one directory.

    Args:
        keys_dir: Directory holding the private keys and keyring.json.
        grace_period_s: How long a retired key is reported as "retired" rather than
            "expired" by :meth:`list`.
        token: The PKCS#11 token keys may live in; None: keys in files only.
    """

    def __init__(
        self,
        keys_dir: Path,
        *,
        grace_period_s: int = DEFAULT_GRACE_PERIOD_S,
        token: Pkcs11Token | None = None,
    ) -> None:
        self.keys_dir = Path(keys_dir)
        self.grace_period_s = grace_period_s
        self.token = token

    @property
    def metadata_path(self) -> Path:
        """Path of keyring.json."""
        return self.keys_dir / METADATA_NAME

    def exists(self) -> bool:
        """Whether a key ring (keyring.json) exists in the directory."""
        return self.metadata_path.is_file()

    def metadata_version(self) -> tuple[int, int, int] | None:
        """A cheap fingerprint of keyring.json that changes whenever the ring changes.

        Returns:
            (inode, mtime in ns, size), or None when there is no ring. The file is replaced
            by rename on every change, so the inode alone already differs.
        """
        try:
            # os.stat on a string: this runs before every statement, and pathlib's joining
            # and wrapping cost more than the stat itself.
            info = os.stat(os.path.join(self.keys_dir, METADATA_NAME))
        except FileNotFoundError:
            return None
        return (info.st_ino, info.st_mtime_ns, info.st_size)

    # -- changing the ring -------------------------------------------------------------

    def generate(
        self, alg: str = "ES256", *, now: datetime | None = None, in_token: bool = False
    ) -> KeyInfo:
        """Create the ring's first key, which becomes the active key.

        Args:
            alg: "ES256" (default), "EdDSA" or "PS256".
            now: Creation time; the current time when None.
            in_token: Generate it in the ring's PKCS#11 token (non-extractable).

        Returns:
            The new key's facts.

        Raises:
            ValueError: ``alg`` is not supported.
            DuplicateError: the ring already has keys (use :meth:`rotate`).
            KeyFileError: the directory or files cannot be written.
        """
        self._check_alg(alg)
        with self._locked():
            if self.exists():
                raise DuplicateError(
                    f"a key ring already exists in {self.keys_dir}; use rotate for a new key"
                )
            entry = self._create_key(alg, now or datetime.now(UTC), in_token=in_token)
            self._write_entries([entry])
        return self._info(entry, now or datetime.now(UTC))

    def rotate(
        self, alg: str | None = None, *, now: datetime | None = None, in_token: bool | None = None
    ) -> KeyInfo:
        """Create a new active key and retire the current one.

        Args:
            alg: Algorithm of the new key; the current key's algorithm when None.
            now: Rotation time; the current time when None.
            in_token: Make the new key in the PKCS#11 token (True) or in a file (False);
                None: where the current key is (moving into an HSM is one rotation).

        Returns:
            The new active key's facts.

        Raises:
            ValueError: ``alg`` is not supported.
            KeyFileError: there is no ring yet, it is corrupt, or files cannot be written.
        """
        if alg is not None:
            self._check_alg(alg)
        moment = now or datetime.now(UTC)
        with self._locked():
            entries = self._read_entries()
            current = self._active_entry(entries)
            place = current.pkcs11_label is not None if in_token is None else in_token
            new_entry = self._create_key(alg or current.alg, moment, in_token=place)
            self._write_entries([new_entry, *self._retired(entries, moment)])
        return self._info(new_entry, moment)

    def revoke(self, kid: str, *, now: datetime | None = None) -> KeyInfo:
        """Revoke a key: it leaves the JWKS at once, and its DNS pin gets ``until``.

        Revoking the active key first makes a new active key of the same algorithm, in the
        same change of the ring, so no node ever signs with the revoked key and signing
        never stops. Revoking a key again changes nothing and returns it as it is.

        Args:
            kid: The key to revoke.
            now: Revocation time; the current time when None.

        Returns:
            The revoked key's facts (``until`` is what its DNS pin must now carry).

        Raises:
            NotFoundError: the ring has no key with that kid.
            KeyFileError: there is no ring yet, it is corrupt, or files cannot be written.
        """
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        with self._locked():
            entries = self._read_entries()
            target = self._entry(entries, kid)
            if target.revoked_at is not None:
                return self._info(target, moment)
            if target.retired_at is None:
                replacement = self._create_key(
                    target.alg, moment, in_token=target.pkcs11_label is not None
                )
                entries = [replacement, *self._retired(entries, moment)]
            revoked = [
                dataclasses.replace(e, revoked_at=moment) if e.kid == kid else e for e in entries
            ]
            self._write_entries(revoked)
        return self._info(self._entry(revoked, kid), moment)

    def pin_until(self, kid: str) -> int | None:
        """The ``until`` (Unix seconds) the key's DNS pin must carry; None for the active key.

        Raises:
            NotFoundError: the ring has no key with that kid.
            KeyFileError: there is no ring or it is corrupt.
        """
        entry = self._entry(self._read_entries(), kid)
        return self._info(entry, datetime.now(UTC)).until

    def dns_pins(self, *, now: datetime | None = None) -> builtins.list[KeyPin]:
        """The ``_salve-keys.G`` pins to publish: one per key a client may still meet.

        The active key (no ``until``), and every retired or revoked key within the grace
        period after it stopped signing, with its ``until``: a client holding a cached
        JWKS then accepts from it only statements issued before that time. A key whose
        grace period is over loses its pin, so clients refuse it altogether.

        Args:
            now: Reference time; the current time when None.

        Raises:
            KeyFileError: there is no ring, it is corrupt, or a stored public key is
                unusable.
        """
        moment = now or datetime.now(UTC)
        grace = timedelta(seconds=self.grace_period_s)
        pins = []
        for entry in sorted(self._read_entries(), key=lambda e: e.created_at, reverse=True):
            info = self._info(entry, moment)
            ended = [t for t in (entry.retired_at, entry.revoked_at) if t is not None]
            if ended and moment - min(ended) > grace:
                continue
            try:
                public = KeySet.from_jwks({"keys": [entry.public_jwk]}).get(entry.kid)
            except KeyMaterialError as error:
                raise KeyFileError(
                    f"{self.metadata_path}: the public key of {entry.kid} is unusable: {error}"
                ) from None
            if public is None:
                raise KeyFileError(
                    f"{self.metadata_path}: the public key of {entry.kid} is missing"
                )
            pins.append(
                KeyPin(entry.kid, jwk_thumbprint(public.public_key), public.alg, info.until)
            )
        return pins

    # -- reading the ring --------------------------------------------------------------

    def list(self, *, now: datetime | None = None) -> builtins.list[KeyInfo]:
        """List the keys, newest first.

        Args:
            now: Reference time for "expired"; the current time when None.

        Raises:
            KeyFileError: there is no ring or it is corrupt.
        """
        moment = now or datetime.now(UTC)
        entries = self._read_entries()
        ordered = sorted(entries, key=lambda e: e.created_at, reverse=True)
        return [self._info(entry, moment) for entry in ordered]

    def active_signing_key(self) -> Signer:
        """Load the active private key (or reach it in its PKCS#11 token).

        Raises:
            KeyFileError: no ring, no active key, the key file is missing, unreadable,
                readable by group or others, or not a valid key of its algorithm; for a
                key in a token: no token configured, or the token has no such key.
        """
        entry = self._active_entry(self._read_entries())
        if entry.pkcs11_label is not None:
            return self._token_signer(entry)
        if entry.file is None:
            raise KeyFileError(f"{self.metadata_path}: key {entry.kid} names no file")
        pem = self._read_private_file(self.keys_dir / entry.file)
        try:
            return SigningKey.from_pem(pem, kid=entry.kid, alg=entry.alg)
        except Exception:
            # The foreign error text could quote key material; say what is wrong instead.
            raise KeyFileError(
                f"key file {self.keys_dir / entry.file} does not hold a valid {entry.alg} "
                "private key"
            ) from None

    def _token_signer(self, entry: _Entry) -> Signer:
        if self.token is None:
            raise KeyFileError(
                f"key {entry.kid} is in a PKCS#11 token; configure pkcs11_module, "
                "pkcs11_token and pkcs11_pin_file"
            )
        try:
            public = KeySet.from_jwks({"keys": [entry.public_jwk]}).get(entry.kid)
        except KeyMaterialError as error:
            raise KeyFileError(f"the public key of {entry.kid} is unusable: {error}") from None
        if public is None:
            raise KeyFileError(f"{self.metadata_path}: the public key of {entry.kid} is missing")
        return self.token.signer(
            entry.pkcs11_label or "",
            kid=entry.kid,
            alg=cast(KeyAlgorithm, entry.alg),
            public_key=public.public_key,
        )

    def jwks(self, now: datetime, grace_period_s: int) -> dict[str, Any]:
        """The public keys to publish: the active key and keys retired within the grace.

        A revoked key is never published, whatever its grace period.

        Args:
            now: Reference time.
            grace_period_s: How long a retired key stays published.

        Returns:
            A JWKS document ``{"keys": [...]}``, active key first.

        Raises:
            KeyFileError: there is no ring or it is corrupt.
        """
        entries = self._read_entries()
        limit = timedelta(seconds=grace_period_s)
        published = [e for e in entries if e.retired_at is None]
        published += sorted(
            (
                e
                for e in entries
                if e.retired_at is not None and e.revoked_at is None and now - e.retired_at <= limit
            ),
            key=lambda e: e.created_at,
            reverse=True,
        )
        return {"keys": [dict(e.public_jwk) for e in published]}

    # -- internals ---------------------------------------------------------------------

    @staticmethod
    def _check_alg(alg: str) -> None:
        if alg not in ALGORITHMS:
            raise ValueError(f"unsupported algorithm {alg!r}; choose one of {ALGORITHMS}")

    @staticmethod
    def _retired(entries: builtins.list[_Entry], moment: datetime) -> builtins.list[_Entry]:
        """The entries with the active one retired at ``moment``."""
        return [
            dataclasses.replace(e, retired_at=moment) if e.retired_at is None else e
            for e in entries
        ]

    @staticmethod
    def _entry(entries: builtins.list[_Entry], kid: str) -> _Entry:
        for entry in entries:
            if entry.kid == kid:
                return entry
        raise NotFoundError(f"the key ring has no key {kid!r}; see: salve-gmlc keys list")

    def _info(self, entry: _Entry, now: datetime) -> KeyInfo:
        status: KeyStatus
        if entry.revoked_at is not None:
            status = "revoked"
        elif entry.retired_at is None:
            status = "active"
        elif now - entry.retired_at <= timedelta(seconds=self.grace_period_s):
            status = "retired"
        else:
            status = "expired"
        return KeyInfo(
            entry.kid, entry.alg, status, entry.created_at, entry.retired_at, entry.revoked_at
        )

    def _ensure_dir(self) -> None:
        try:
            self.keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise KeyFileError(
                f"cannot create key directory {self.keys_dir}: {exc.strerror}"
            ) from None
        mode = stat.S_IMODE(self.keys_dir.stat().st_mode)
        if mode & 0o077:
            try:
                os.chmod(self.keys_dir, 0o700)
            except OSError as exc:
                raise KeyFileError(
                    f"key directory {self.keys_dir} is accessible by others and cannot be "
                    f"restricted ({exc.strerror}); run: chmod 700 {self.keys_dir}"
                ) from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._ensure_dir()
        fd = os.open(self.keys_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _create_key(self, alg: str, now: datetime, *, in_token: bool = False) -> _Entry:
        if in_token:
            return self._create_token_key(alg, now)
        key = SigningKey.generate(alg)
        if not _SAFE_KID.match(key.kid):
            raise KeyFileError(f"generated kid {key.kid!r} is not usable as a file name")
        file_name = f"key-{key.kid}.pem"
        path = self.keys_dir / file_name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            raise DuplicateError(f"key file {path} already exists") from None
        except OSError as exc:
            raise KeyFileError(f"cannot create key file {path}: {exc.strerror}") from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.private_pem())
            handle.flush()
            os.fsync(handle.fileno())
        return _Entry(
            kid=key.kid,
            alg=alg,
            file=file_name,
            created_at=now.astimezone(UTC),
            retired_at=None,
            public_jwk=key.public_jwk(),
        )

    def _create_token_key(self, alg: str, now: datetime) -> _Entry:
        if self.token is None:
            raise KeyFileError(
                "no PKCS#11 token is configured (pkcs11_module, pkcs11_token, pkcs11_pin_file)"
            )
        label = f"salve-gmlc-{secrets.token_hex(6)}"
        public_key = self.token.generate(cast(KeyAlgorithm, alg), label)
        kid = jwk_thumbprint(public_key)[:KID_LENGTH]
        return _Entry(
            kid=kid,
            alg=alg,
            file=None,
            created_at=now.astimezone(UTC),
            retired_at=None,
            public_jwk=VerificationKey.create(kid, alg, public_key).public_jwk(),
            pkcs11_label=label,
        )

    def _write_entries(self, entries: builtins.list[_Entry]) -> None:
        document = {"format": FORMAT_VERSION, "keys": [e.to_json() for e in entries]}
        temporary = self.keys_dir / f".{METADATA_NAME}.tmp"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.metadata_path)
        except OSError as exc:
            raise KeyFileError(f"cannot write {self.metadata_path}: {exc.strerror}") from None

    def _read_entries(self) -> builtins.list[_Entry]:
        path = self.metadata_path
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KeyFileError(
                f"no key ring in {self.keys_dir}; create one with: salve-gmlc keys generate"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyFileError(f"cannot read {path}: {exc}") from None
        except json.JSONDecodeError:
            raise KeyFileError(f"{path} is not valid JSON") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT_VERSION:
            raise KeyFileError(f"{path} is not a key ring of format {FORMAT_VERSION}")
        keys = raw.get("keys")
        if not isinstance(keys, list) or not keys:
            raise KeyFileError(f"{path} lists no keys")
        entries = [_entry_from_json(item, path) for item in keys]
        if len({e.kid for e in entries}) != len(entries):
            raise KeyFileError(f"{path} lists a kid twice")
        return entries

    def _active_entry(self, entries: builtins.list[_Entry]) -> _Entry:
        active = [e for e in entries if e.retired_at is None]
        if len(active) != 1:
            raise KeyFileError(
                f"{self.metadata_path} must have exactly one active key, found {len(active)}"
            )
        return active[0]

    @staticmethod
    def _read_private_file(path: Path) -> bytes:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise KeyFileError(f"key file {path} is missing") from None
        except OSError as exc:
            raise KeyFileError(f"cannot open key file {path}: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            # Check the opened file itself, not the path, so a swap between check and read
            # cannot slip a different file past the check.
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise KeyFileError(f"key file {path} is not a regular file")
            if stat.S_IMODE(info.st_mode) & 0o077:
                raise KeyFileError(
                    f"key file {path} is readable or writable by group or others "
                    f"(mode {stat.S_IMODE(info.st_mode):04o}); refusing to use it. "
                    f"Fix with: chmod 600 {path}"
                )
            return handle.read()


def open_key_ring(settings: Settings) -> KeyRing:
    """The node's key ring, with its PKCS#11 token when the settings name one.

    Raises:
        KeyFileError: the PIN file cannot be read, or the token cannot be opened.
    """
    token = None
    if settings.pkcs11_module and settings.pkcs11_token and settings.pkcs11_pin_file:
        from gmlc.hsm import Pkcs11Token

        try:
            pin = settings.pkcs11_pin_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise KeyFileError(
                f"cannot read the PKCS#11 PIN file {settings.pkcs11_pin_file}: {exc.strerror}"
            ) from None
        token = Pkcs11Token(settings.pkcs11_module, settings.pkcs11_token, pin)
    return KeyRing(settings.keys_dir, grace_period_s=settings.key_grace_period_s, token=token)

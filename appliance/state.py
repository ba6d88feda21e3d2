"""The appliance's durable state: its signing key, its sequence counter, its SIM.

Layout of the state directory (mode 0700)::

    appliance.key     Ed25519 private key, PKCS#8 PEM, mode 0600; created once, never replaced
    seq               the last sequence number handed out, one decimal line
    sim.json          the IMSI and ICCID last seen, so a SIM swapped while the daemon
                      was stopped is noticed at the next start
    queue/            undelivered observations (appliance.queue)

The sequence number must keep increasing across restarts, crashes and power cuts,
because the GMLC drops any observation whose ``seq`` is not above the last one it
accepted. Each number is therefore written to disk (temporary file, ``fsync``,
atomic rename, ``fsync`` of the directory) *before* it is used.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.errors import StateError
from runtime.logs import log_event

__all__ = [
    "SequenceCounter",
    "SimMemory",
    "create_key",
    "ensure_state_dir",
    "load_key",
    "write_file_durably",
]

_log = logging.getLogger(__name__)

_KEY_MODE = 0o600
_DIR_MODE = 0o700


def ensure_state_dir(path: Path) -> None:
    """Creates the state directory with mode 0700 (and tightens an existing one).

    Raises:
        StateError: the directory cannot be created or its mode cannot be set.
    """
    try:
        path.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        if stat.S_IMODE(path.stat().st_mode) != _DIR_MODE:
            path.chmod(_DIR_MODE)
    except OSError as error:
        raise StateError(f"cannot create the state directory {path}: {error.strerror}") from None


def write_file_durably(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replaces ``path`` atomically and makes sure the new content survives a power cut.

    Raises:
        OSError: the file or its directory cannot be written.
    """
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def create_key(path: Path) -> tuple[Ed25519PrivateKey, bool]:
    """Creates the appliance's Ed25519 key unless one exists already.

    Args:
        path: where the PEM file lives (its directory must exist).

    Returns:
        The key and whether it was created now (``False``: an existing key was loaded).

    Raises:
        StateError: an existing key is unreadable, not Ed25519, or readable by others.
    """
    if path.exists():
        return load_key(path), False
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        # O_EXCL: a key that appeared meanwhile is never overwritten.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _KEY_MODE)
    except FileExistsError:
        return load_key(path), False
    except OSError as error:
        raise StateError(f"cannot create the key file {path}: {error.strerror}") from None
    try:
        os.write(descriptor, pem)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return key, True


def load_key(path: Path) -> Ed25519PrivateKey:
    """Loads the appliance's private key, refusing one that others could read.

    Raises:
        StateError: missing, readable by group or others, unreadable, or not Ed25519.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        raise StateError(f"no appliance key at {path}; run `salve-appliance init` first") from None
    except OSError as error:
        raise StateError(f"cannot read the key file {path}: {error.strerror}") from None
    if mode & 0o077:
        raise StateError(
            f"the key file {path} is readable by other users (mode {mode:04o}); "
            f"fix it with `chmod 600 {path}`"
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as error:
        raise StateError(f"cannot read the key file {path}: {error.strerror}") from None
    except (ValueError, TypeError):
        raise StateError(f"the key file {path} does not hold a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise StateError(f"the key file {path} does not hold an Ed25519 key")
    return key


class SequenceCounter:
    """A strictly increasing counter that survives restarts.

    Thread-safe. Each :meth:`next` writes the new value durably before returning it,
    so a number once returned is never returned again, even after a crash.
    """

    def __init__(self, path: Path) -> None:
        """Opens (or starts) the counter stored at ``path``.

        Raises:
            StateError: the file exists but does not hold a non-negative integer.
        """
        self._path = path
        self._lock = threading.Lock()
        self._last = self._read()

    def _read(self) -> int:
        try:
            text = self._path.read_text(encoding="ascii")
        except FileNotFoundError:
            return 0
        except (OSError, UnicodeDecodeError) as error:
            raise StateError(f"cannot read the sequence counter {self._path}: {error}") from None
        text = text.strip()
        if not text.isdigit():
            # Guessing a value could reuse numbers the GMLC has seen; refuse instead.
            raise StateError(
                f"the sequence counter {self._path} is damaged ({text[:20]!r}); restore it, or "
                "write a number above the last seq the GMLC accepted"
            )
        return int(text)

    @property
    def last(self) -> int:
        """The last number handed out (0 before the first)."""
        with self._lock:
            return self._last

    def next(self) -> int:
        """Reserves and returns the next number (the first is 1).

        Raises:
            StateError: the new value cannot be written.
        """
        with self._lock:
            value = self._last + 1
            try:
                write_file_durably(self._path, f"{value}\n".encode("ascii"))
            except OSError as error:
                with contextlib.suppress(OSError):
                    self._path.with_name(f".{self._path.name}.tmp").unlink()
                raise StateError(
                    f"cannot store the sequence counter {self._path}: {error.strerror}"
                ) from None
            self._last = value
            return value


class SimMemory:
    """The SIM identity last seen, kept across restarts in one small JSON file."""

    def __init__(self, path: Path) -> None:
        """Reads the file; a missing or damaged one means "nothing remembered".

        Args:
            path: ``sim.json`` in the state directory.
        """
        self._path = path
        self.last: tuple[str, str] | None = self._read()

    def _read(self) -> tuple[str, str] | None:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
            imsi, iccid = data["imsi"], data["iccid"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            log_event(_log, logging.WARNING, "sim_memory_unreadable", path=str(self._path))
            return None
        if isinstance(imsi, str) and isinstance(iccid, str):
            return imsi, iccid
        return None

    def remember(self, imsi: str, iccid: str) -> None:
        """Stores the identity durably (a failure is logged: it only weakens detection)."""
        if self.last == (imsi, iccid):
            return
        try:
            data = json.dumps({"imsi": imsi, "iccid": iccid}).encode("utf-8")
            write_file_durably(self._path, data)
        except OSError as error:
            log_event(_log, logging.WARNING, "sim_memory_unwritable", error.strerror)
            return
        self.last = (imsi, iccid)

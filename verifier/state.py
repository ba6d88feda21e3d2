"""What the verifier remembers between checks: SALVE policies (like HSTS) and JWKS copies.

A site's ``_salve`` policy may carry ``max-age``: a client that has validated it keeps it
that long, and while it does, a later check that finds no valid policy (a forged
absence, a DNS failure, even a proven absence) is refused instead of being reported as
"not protected". ``max-age=0`` forgets a remembered policy, as HSTS does.

GMLC key sets are kept by the usual HTTP caching rules (:mod:`verifier.jwks`), together
with the GMLC's SPKI from the connection they were fetched on.

The state is one JSON file (by default ``$XDG_CACHE_HOME/salve/verify-state.json``),
written atomically under an exclusive lock, mode 0600; without a file it lives in memory
only. A file that cannot be read as state is set aside (renamed ``*.corrupt``) and an
empty state used, since refusing every check forever would help nobody; the caller is
told through :attr:`VerifierState.problem`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from mlp.dnsrecords import DnsRecordError, SalvePolicy

__all__ = [
    "STATE_VERSION",
    "RememberedPolicy",
    "VerifierState",
    "default_state_path",
]

STATE_VERSION: Final = 1


def default_state_path() -> Path:
    """``$XDG_CACHE_HOME/salve/verify-state.json`` (``~/.cache`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "salve" / "verify-state.json"


@dataclass(frozen=True, slots=True)
class RememberedPolicy:
    """A policy the client validated before, and how long it keeps it.

    Attributes:
        policy: The policy.
        seen_at: When it was last validated (Unix seconds).
        until: Until when it is remembered (Unix seconds).
    """

    policy: SalvePolicy
    seen_at: int
    until: int


class VerifierState:
    """Remembered policies and cached key sets, in memory and optionally in a file."""

    def __init__(self, path: Path | None) -> None:
        """Load the state from ``path`` (None: memory only).

        Raises:
            OSError: The file exists but cannot be read, or its directory not created.
        """
        self.path = path
        self.problem: str | None = None
        self._lock = threading.Lock()
        self._data: dict[str, Any] = {"version": STATE_VERSION, "policies": {}, "jwks": {}}
        self._removed: set[tuple[str, str]] = set()
        if path is not None and path.exists():
            self._data = self._read(path)

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if (
                not isinstance(data, dict)
                or data.get("version") != STATE_VERSION
                or not isinstance(data.get("policies"), dict)
                or not isinstance(data.get("jwks"), dict)
            ):
                raise ValueError("not a verifier state")
        except (ValueError, UnicodeDecodeError) as exc:
            aside = path.with_name(path.name + ".corrupt")
            path.replace(aside)
            self.problem = f"the state file {path} was unreadable ({exc}); moved to {aside}"
            return {"version": STATE_VERSION, "policies": {}, "jwks": {}}
        return data

    # -- policies ------------------------------------------------------------------------

    def remembered_policy(self, host: str, now: float) -> RememberedPolicy | None:
        """The policy remembered for ``host`` at ``now``, if any."""
        with self._lock:
            entry = self._data["policies"].get(host)
        if not isinstance(entry, dict):
            return None
        try:
            until = int(entry["until"])
            if until <= now:
                return None
            return RememberedPolicy(
                SalvePolicy.parse(str(entry["policy"])), int(entry["seen_at"]), until
            )
        except (KeyError, TypeError, ValueError, DnsRecordError):
            return None

    def remember_policy(self, host: str, policy: SalvePolicy, now: float) -> None:
        """Record a validated policy: keep it ``max-age`` seconds; ``max-age=0`` forgets it.

        A policy without ``max-age`` leaves what is remembered unchanged.
        """
        if policy.max_age is None:
            return
        with self._lock:
            if policy.max_age == 0:
                self._data["policies"].pop(host, None)
                self._removed.add(("policies", host))
            else:
                self._removed.discard(("policies", host))
                self._data["policies"][host] = {
                    "policy": policy.to_text(),
                    "seen_at": int(now),
                    "until": int(now) + policy.max_age,
                }
        self.save()

    # -- key sets ------------------------------------------------------------------------

    def jwks_entry(self, key: str) -> dict[str, Any] | None:
        """The cached key set entry for ``G:PORT`` (a JSON object), if any."""
        with self._lock:
            entry = self._data["jwks"].get(key)
        return dict(entry) if isinstance(entry, dict) else None

    def store_jwks_entry(self, key: str, entry: dict[str, Any] | None) -> None:
        """Store (or, with None, drop) the cached key set entry for ``G:PORT``."""
        with self._lock:
            if entry is None:
                self._data["jwks"].pop(key, None)
                self._removed.add(("jwks", key))
            else:
                self._data["jwks"][key] = entry
                self._removed.discard(("jwks", key))
        self.save()

    # -- file ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _file_lock(self, path: Path) -> Iterator[None]:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def save(self) -> None:
        """Write the state file atomically (no-op for a memory-only state).

        Another process's entries for other hosts are kept: the file is read again under
        the lock and this process's entries merged over it. A file that cannot be
        written leaves the state in memory and says why in :attr:`problem`; a check is
        never lost for it.
        """
        if self.path is None:
            return
        try:
            self._write(self.path)
        except OSError as exc:
            self.problem = f"cannot write the state file {self.path}: {exc.strerror or exc}"

    def _write(self, path: Path) -> None:
        with self._file_lock(path):
            merged: dict[str, Any] = {"version": STATE_VERSION, "policies": {}, "jwks": {}}
            if path.exists():
                with contextlib.suppress(OSError, ValueError, UnicodeDecodeError):
                    current = json.loads(path.read_text(encoding="utf-8"))
                    if isinstance(current, dict) and current.get("version") == STATE_VERSION:
                        for section in ("policies", "jwks"):
                            if isinstance(current.get(section), dict):
                                merged[section].update(current[section])
            with self._lock:
                for section in ("policies", "jwks"):
                    merged[section].update(self._data[section])
                for section, key in self._removed:
                    merged[section].pop(key, None)
                self._data = merged
                text = json.dumps(merged, indent=1, sort_keys=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".state-")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(text)
                os.chmod(temporary, 0o600)
                os.replace(temporary, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise

"""Client passwords: slow salted hashes, uniform verification, throttling.

Theory of operation
-------------------
Web-server clients send ``hdr/client/id`` and ``pwd`` with every MLP request. Stored
passwords are argon2id hashes (:func:`hash_password`), never the passwords.

:class:`Authenticator` makes "unknown client" and "wrong password" indistinguishable:
both run one argon2 verification (an unknown id is checked against a dummy hash made at
start-up) and both end in the same ``None``. A disabled client also pays the full check.

Argon2 is deliberately slow (tens of milliseconds), far too slow to pay on every request
of a busy client. After a successful check the authenticator remembers, for a short TTL,
that this (client id, password) pair matched this stored hash. The cache key is an
HMAC-SHA256 of the id and password under a random key made per process, so the cache never
holds a password or anything an attacker could test guesses against offline. An entry is
only used while the client's stored hash is unchanged: rotating the password invalidates
it, and disabling the client takes effect at once because the record is read on every
request.

:class:`FailureThrottle` counts failures per client id and per source address in a sliding
window. A blocked source is refused outright; a blocked client id is refused unless the
credential is already in the verified cache, so an attacker hammering a client's id cannot
lock out the real client that is already talking to us.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "AuthOutcome",
    "Authenticator",
    "CredentialRecord",
    "FailureThrottle",
    "generate_password",
    "hash_password",
]


def _password_hasher() -> PasswordHasher:
    # argon2-cffi's defaults are the RFC 9106 "low memory" profile: argon2id, t=3,
    # m=64 MiB, p=4. Stated explicitly so a library upgrade does not silently change them.
    return PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, hash_len=32, salt_len=16)


def hash_password(password: str) -> str:
    """Hash a password with argon2id and a random salt.

    Args:
        password: The clear-text password.

    Returns:
        The encoded hash (``$argon2id$...``) to store.

    Raises:
        ValueError: the password is empty.
    """
    if not password:
        raise ValueError("password must not be empty")
    return _password_hasher().hash(password)


def generate_password() -> str:
    """Return a new random password (24 random bytes, URL-safe base64, 32 characters)."""
    return secrets.token_urlsafe(24)


class CredentialRecord(Protocol):
    """What the authenticator needs to know about a client (the store's ClientRecord)."""

    @property
    def client_id(self) -> str: ...

    @property
    def password_hash(self) -> str: ...

    @property
    def enabled(self) -> bool: ...


RecordT = TypeVar("RecordT", bound=CredentialRecord)


@dataclass(frozen=True, slots=True)
class AuthOutcome(Generic[RecordT]):
    """Result of one authentication attempt.

    Attributes:
        record: The client's record when the credentials are valid, else None.
        reason: Why it failed, for logs and audit only (never shown to the caller):
            "bad_credentials" (unknown id, wrong password, disabled client: one reason,
            so not even the audit trail tells a log reader which ids exist),
            "throttled_client", "throttled_source"; None on success.
        cached: Whether a verified-credential cache entry answered (no argon2 run).
    """

    record: RecordT | None
    reason: str | None
    cached: bool = False

    @property
    def ok(self) -> bool:
        """Whether the client is authenticated."""
        return self.record is not None


class FailureThrottle:
    """Sliding-window failure counters per client id and per source address.

    Args:
        limit: Failures within the window after which the key is blocked.
        window_s: Length of the window in seconds.
        clock: Monotonic clock, injectable for tests.
        max_keys: Counters kept at most; the least recently touched are dropped first, so
            a flood of distinct ids cannot grow memory without bound.
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 65536,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _count(self, key: tuple[str, str], now: float) -> int:
        times = self._failures.get(key)
        if times is None:
            return 0
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0
        return len(times)

    def client_blocked(self, client_id: str) -> bool:
        """Whether the client id has reached the failure limit within the window."""
        with self._lock:
            return self._count(("client", client_id), self._clock()) >= self.limit

    def source_blocked(self, source: str | None) -> bool:
        """Whether the source address has reached the failure limit within the window."""
        if source is None:
            return False
        with self._lock:
            return self._count(("source", source), self._clock()) >= self.limit

    def record_failure(self, client_id: str, source: str | None) -> None:
        """Count one failed attempt against the client id and the source address."""
        now = self._clock()
        keys = [("client", client_id)]
        if source is not None:
            keys.append(("source", source))
        with self._lock:
            for key in keys:
                times = self._failures.get(key)
                if times is None:
                    times = deque(maxlen=self.limit * 4)
                    self._failures[key] = times
                else:
                    self._failures.move_to_end(key)
                times.append(now)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)

    def record_success(self, client_id: str, source: str | None) -> None:
        """Forget the failures of a client id and source that just authenticated."""
        with self._lock:
            self._failures.pop(("client", client_id), None)
            if source is not None:
                self._failures.pop(("source", source), None)


class Authenticator(Generic[RecordT]):
    """Checks client credentials in uniform time, with a verified-credential cache.

    Args:
        lookup: Returns the client's record by id, or None; called on every attempt so
            disabling a client or changing its password takes effect at once.
        throttle: Failure throttle; None disables throttling.
        cache_ttl_s: How long a verified credential is trusted without argon2; 0 disables
            the cache.
        cache_max_entries: Bound on the cache size.
        clock: Monotonic clock, injectable for tests.
        hasher: The argon2 hasher; must use the parameters the stored hashes use, so the
            dummy check costs what a real one does.
        max_concurrent_hashes: Argon2 checks allowed at once (each takes 64 MiB); further
            attempts wait, so a flood of wrong passwords cannot exhaust memory.
    """

    def __init__(
        self,
        lookup: Callable[[str], RecordT | None],
        *,
        throttle: FailureThrottle | None = None,
        cache_ttl_s: float = 300.0,
        cache_max_entries: int = 10000,
        clock: Callable[[], float] = time.monotonic,
        hasher: PasswordHasher | None = None,
        max_concurrent_hashes: int = 4,
    ) -> None:
        self._lookup = lookup
        self._throttle = throttle
        self._cache_ttl_s = cache_ttl_s
        self._cache_max_entries = cache_max_entries
        self._clock = clock
        self._hasher = hasher or _password_hasher()
        # The dummy hash uses the same parameters as real ones, so verifying against it
        # costs the same time as verifying a real client's hash.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(24))
        self._cache_key = secrets.token_bytes(32)
        self._hash_slots = threading.BoundedSemaphore(max_concurrent_hashes)
        self._running: dict[bytes, threading.Event] = {}
        self._cache: OrderedDict[bytes, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _fingerprint(self, client_id: str, password: str) -> bytes:
        message = client_id.encode("utf-8", "surrogatepass") + b"\x00"
        message += password.encode("utf-8", "surrogatepass")
        return hmac.new(self._cache_key, message, hashlib.sha256).digest()

    def _cached(self, fingerprint: bytes, stored_hash: str) -> bool:
        if self._cache_ttl_s <= 0:
            return False
        with self._lock:
            entry = self._cache.get(fingerprint)
            if entry is None:
                return False
            cached_hash, expires = entry
            if self._clock() >= expires or not hmac.compare_digest(cached_hash, stored_hash):
                del self._cache[fingerprint]
                return False
            return True

    def _remember(self, fingerprint: bytes, stored_hash: str) -> None:
        if self._cache_ttl_s <= 0:
            return
        with self._lock:
            self._cache[fingerprint] = (stored_hash, self._clock() + self._cache_ttl_s)
            self._cache.move_to_end(fingerprint)
            while len(self._cache) > self._cache_max_entries:
                self._cache.popitem(last=False)

    def _argon2_matches(self, stored_hash: str, password: str) -> bool:
        try:
            with self._hash_slots:
                return self._hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError):
            return False
        except InvalidHashError:
            # A corrupt stored hash: still pay the same cost as a real check.
            self._argon2_dummy(password)
            return False

    def _argon2_dummy(self, password: str) -> None:
        try:
            with self._hash_slots:
                self._hasher.verify(self._dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            pass

    def invalidate(self) -> None:
        """Drop every cached verification (e.g. after a bulk password change)."""
        with self._lock:
            self._cache.clear()

    def authenticate(
        self, client_id: str, password: str, source: str | None = None
    ) -> AuthOutcome[RecordT]:
        """Check a client id and password.

        Args:
            client_id: ``hdr/client/id`` as sent.
            password: ``hdr/client/pwd`` as sent.
            source: The caller's address, for per-source throttling.

        Returns:
            The outcome; ``outcome.record`` is the client's record when authenticated.
        """
        if self._throttle is not None and self._throttle.source_blocked(source):
            return AuthOutcome(None, "throttled_source")
        record = self._lookup(client_id)
        fingerprint = self._fingerprint(client_id, password)
        if (
            record is not None
            and record.enabled
            and self._cached(fingerprint, record.password_hash)
        ):
            if self._throttle is not None:
                self._throttle.record_success(client_id, source)
            return AuthOutcome(record, None, cached=True)
        if self._throttle is not None and self._throttle.client_blocked(client_id):
            return AuthOutcome(None, "throttled_client")
        if record is not None and record.enabled and self._cache_ttl_s > 0:
            # Single flight: when a check of the very same credential is already running
            # (a client opening many connections at once), wait for it instead of paying
            # argon2 again; the wait lasts as long as a check, so timing stays uniform.
            with self._lock:
                running = self._running.get(fingerprint)
                if running is None:
                    self._running[fingerprint] = threading.Event()
            if running is not None:
                running.wait(timeout=30.0)
                if self._cached(fingerprint, record.password_hash):
                    if self._throttle is not None:
                        self._throttle.record_success(client_id, source)
                    return AuthOutcome(record, None, cached=True)
                return self._check(client_id, password, source, record, fingerprint)
            try:
                return self._check(client_id, password, source, record, fingerprint)
            finally:
                with self._lock:
                    event = self._running.pop(fingerprint, None)
                if event is not None:
                    event.set()
        return self._check(client_id, password, source, record, fingerprint)

    def _check(
        self,
        client_id: str,
        password: str,
        source: str | None,
        record: RecordT | None,
        fingerprint: bytes,
    ) -> AuthOutcome[RecordT]:
        if record is None:
            self._argon2_dummy(password)
            matched = False
        else:
            matched = self._argon2_matches(record.password_hash, password)
        if matched and record is not None and record.enabled:
            self._remember(fingerprint, record.password_hash)
            if self._throttle is not None:
                self._throttle.record_success(client_id, source)
            return AuthOutcome(record, None)
        if self._throttle is not None:
            self._throttle.record_failure(client_id, source)
        return AuthOutcome(None, "bad_credentials")

    def verify(self, client_id: str, password: str, source: str | None = None) -> RecordT | None:
        """Check credentials and return the client's record, or None when refused.

        Same check as :meth:`authenticate`, for callers that need no failure reason.
        """
        return self.authenticate(client_id, password, source).record

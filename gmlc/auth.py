"""Client passwords: slow salted hashes, uniform verification, source networks, throttling.

Theory of operation
-------------------
Web-server clients send ``hdr/client/id`` and ``pwd`` with every MLP request. Stored
passwords are argon2id hashes (:func:`hash_password`), never the passwords.

:class:`Authenticator` makes "unknown client" and "wrong password" indistinguishable:
both run one argon2 verification (an unknown id is checked against a dummy hash made at
start-up) and both end in the same ``None``. A disabled client also pays the full check.

Indistinguishable includes concurrency. Identical attempts (same id and password) that
arrive while one of them is being checked share that one check ("single flight") and all
answer when it ends, whether the id exists or not; otherwise two identical wrong guesses
sent at once would answer one check apart for a real id (the second waiting for the
first) and together for an unknown one, which tells the ids apart.

Each client is pinned to its networks (:mod:`gmlc.networks`), and may be pinned to TLS
client certificates (:mod:`gmlc.peers`). A request from elsewhere, or without a pinned
certificate, is refused exactly like a wrong password, after the same argon2 work, with
its own reason (``outside_networks``, ``certificate_mismatch``) for the audit log and the
alarm, which also says whether the password itself was right: a right password from the
wrong place means it was stolen.

Argon2 is deliberately slow (tens of milliseconds), far too slow to pay on every request
of a busy client. After a successful check the authenticator remembers, for a short TTL,
that this (client id, password) pair matched this stored hash. The cache key is an
HMAC-SHA256 of the id and password under a random key made per process, so the cache never
holds a password or anything an attacker could test guesses against offline. An entry is
only used while the client's stored hash is unchanged: rotating the password invalidates
it, and disabling the client or changing its networks takes effect at once because the
record is read on every request.

:class:`FailureThrottle` counts failures in a sliding window per source address and per
(client id, source network). A blocked source is refused outright. A blocked (client,
network) pair is refused unless the credential is already in the verified cache. The
network is the client's own pinned network when the source is inside one, and the
source's /24 (IPv4) or /64 (IPv6) otherwise, so wrong passwords sent from anywhere else
never lock a client out of its own site: a client id is never throttled as a whole.
With several workers or nodes the throttle is shared: each failure counted here is also
handed to ``on_failure`` (the change feed publishes it) and failures counted elsewhere
arrive through :meth:`FailureThrottle.record_remote`.

Argon2 checks of credentials that are not cached run on a :class:`HashPool`: a few
threads and a short queue. When both are full the check is not computed at all and the
attempt is refused like a wrong password (reason ``overloaded``, not counted as a
failure): at about 170 ms per check a flood of wrong passwords would otherwise need
cores by the dozen, and cached clients, which never reach the pool, keep their latency.
:meth:`Authenticator.begin` decides everything that needs no argon2 at once and hands
back a :class:`PendingCheck` with a future otherwise, so an event loop can await the
pool without blocking; :meth:`Authenticator.authenticate` is the same for threads.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, Generic, Protocol, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gmlc.networks import Network, network_of, parse_address, source_allowed

__all__ = [
    "AuthOutcome",
    "Authenticator",
    "CredentialRecord",
    "FailureThrottle",
    "HashPool",
    "PendingCheck",
    "ThrottleKey",
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

    @property
    def networks(self) -> frozenset[Network]: ...

    @property
    def certificates(self) -> frozenset[str]: ...


RecordT = TypeVar("RecordT", bound=CredentialRecord)


@dataclass(frozen=True, slots=True)
class AuthOutcome(Generic[RecordT]):
    """Result of one authentication attempt.

    Attributes:
        record: The client's record when the credentials are valid, else None.
        reason: Why it failed, for logs and audit only (never shown to the caller):
            "bad_credentials" (unknown id, wrong password, disabled client: one reason,
            so not even the audit trail tells a log reader which ids exist),
            "outside_networks" (a client's id from outside its networks),
            "certificate_mismatch" (a client pinned to TLS certificates, without one),
            "throttled_client" (too many failures for this client from this network),
            "throttled_source" (too many failures from this address),
            "overloaded" (the argon2 pool was full: nothing computed); None on success.
        cached: Whether a verified-credential cache entry answered (no argon2 run).
        password_valid: For "outside_networks" and "certificate_mismatch": whether the
            password itself was right.
    """

    record: RecordT | None
    reason: str | None
    cached: bool = False
    password_valid: bool = False

    @property
    def ok(self) -> bool:
        """Whether the client is authenticated."""
        return self.record is not None


ThrottleKey = tuple[str, ...]
"""What failures are counted against: ``("source", address)`` or
``("client", client_id, network)``."""


class FailureThrottle:
    """Sliding-window failure counters, one per key (see :data:`ThrottleKey`).

    Args:
        limit: Failures within the window after which the key is blocked.
        window_s: Length of the window in seconds.
        clock: Monotonic clock, injectable for tests.
        max_keys: Counters kept at most; the least recently touched are dropped first, so
            a flood of distinct ids cannot grow memory without bound.
        on_failure: Told of every failure counted here (to share it with other workers
            and nodes); failures they count come back through :meth:`record_remote`.
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 65536,
        on_failure: Callable[[ThrottleKey], None] | None = None,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._failures: OrderedDict[ThrottleKey, deque[float]] = OrderedDict()
        self._lock = threading.Lock()
        self.on_failure = on_failure

    def _count(self, key: ThrottleKey, now: float) -> int:
        times = self._failures.get(key)
        if times is None:
            return 0
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0
        return len(times)

    @property
    def counting(self) -> bool:
        """Whether any failure is being counted (an idle throttle has nothing to forget)."""
        return bool(self._failures)

    def blocked(self, key: ThrottleKey) -> bool:
        """Whether the key has reached the failure limit within the window."""
        with self._lock:
            return self._count(key, self._clock()) >= self.limit

    def record_failure(self, keys: Iterable[ThrottleKey]) -> None:
        """Count one failed attempt against each key (and share it, see ``on_failure``)."""
        keys = list(keys)
        self.record_remote(keys)
        if self.on_failure is not None:
            for key in keys:
                self.on_failure(key)

    def record_remote(self, keys: Iterable[ThrottleKey]) -> None:
        """Count failures another worker or node counted (they are not shared again)."""
        now = self._clock()
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

    def record_success(self, keys: Iterable[ThrottleKey]) -> None:
        """Forget the failures of keys that just authenticated."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


HashCheck = Callable[[str | None, str], bool]
"""One argon2 verification: (stored hash or None for the dummy, password) -> matched."""


def _yield_the_cpu() -> None:
    """Run this thread (and the lane threads argon2 starts from it) at a lower priority.

    Linux applies a nice value to the one thread named by its id, and new threads inherit
    it: checks of uncached credentials then take only the CPU that cached clients' requests
    leave over. Elsewhere, or where it is not allowed, the thread keeps its priority.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _ARGON2_NICENESS)
    except (AttributeError, OSError):
        pass


_ARGON2_NICENESS: Final = 10


class HashPool:
    """Threads that run argon2 checks, with a bounded queue that sheds the excess.

    The threads run at a lower priority than the event loop (see :func:`_yield_the_cpu`).

    Args:
        workers: Checks run at once (each takes 64 MiB and about a core's worth of time).
        queue: Checks that may wait for a thread; beyond ``workers + queue`` checks in the
            pool, :meth:`submit` computes nothing and answers None at once.
    """

    def __init__(self, workers: int, queue: int) -> None:
        if workers < 1 or queue < 0:
            raise ValueError("workers must be >= 1 and queue >= 0")
        self.capacity = workers + queue
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="argon2", initializer=_yield_the_cpu
        )
        self._load = 0
        self._lock = threading.Lock()
        self.shed = 0  # checks refused since start, for the metrics

    def submit(
        self, check: HashCheck, stored_hash: str | None, password: str
    ) -> Future[bool | None]:
        """Run ``check`` on the pool; a future of its result, or of None when shed."""
        with self._lock:
            if self._load >= self.capacity:
                self.shed += 1
                shed: Future[bool | None] = Future()
                shed.set_result(None)
                return shed
            self._load += 1
        future: Future[bool | None] = self._executor.submit(check, stored_hash, password)
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future[bool | None]) -> None:
        with self._lock:
            self._load -= 1

    def close(self) -> None:
        """Finish the checks already queued and stop the threads."""
        self._executor.shutdown(wait=True)


class _InlinePool:
    """No pool: every check runs in the caller's thread, at most ``limit`` at once."""

    def __init__(self, limit: int) -> None:
        self._slots = threading.BoundedSemaphore(limit)

    def submit(
        self, check: HashCheck, stored_hash: str | None, password: str
    ) -> Future[bool | None]:
        future: Future[bool | None] = Future()
        try:
            with self._slots:
                future.set_result(check(stored_hash, password))
        except BaseException as exc:  # handed to whoever waits, as a pool would
            future.set_exception(exc)
        return future


@dataclass(eq=False)
class _Flight:
    """One argon2 check that identical concurrent attempts share."""

    stored_hash: str | None
    future: Future[bool | None]
    joined: int = 0  # attempts sharing this check instead of running their own


@dataclass(frozen=True, slots=True)
class PendingCheck(Generic[RecordT]):
    """An attempt waiting for its argon2 check (see :meth:`Authenticator.begin`).

    Attributes:
        future: The check's result: whether the password matched, None when shed.
    """

    future: Future[bool | None]
    client_id: str
    password: str
    fingerprint: bytes
    record: RecordT | None
    allowed: bool
    in_networks: bool
    keys: tuple[ThrottleKey, ...]


# How long an attempt waits for an identical attempt's check before checking itself.
_FLIGHT_WAIT_S: Final = 30.0


class Authenticator(Generic[RecordT]):
    """Checks client credentials in uniform time, with a verified-credential cache.

    Args:
        lookup: Returns the client's record by id, or None; called on every attempt so
            disabling a client or changing its password or networks takes effect at once.
        throttle: Failure throttle; None disables throttling.
        cache_ttl_s: How long a verified credential is trusted without argon2; 0 disables
            the cache.
        cache_max_entries: Bound on the cache size.
        clock: Monotonic clock, injectable for tests.
        hasher: The argon2 hasher; must use the parameters the stored hashes use, so the
            dummy check costs what a real one does.
        max_concurrent_hashes: Without ``pool``: argon2 checks allowed at once in the
            callers' threads (each takes 64 MiB); further attempts wait, so a flood of
            wrong passwords cannot exhaust memory.
        pool: Runs the checks on its own threads and sheds the excess (the server's
            choice); None runs them in the caller's thread.
        prefix_v4: Size of the IPv4 network a failure outside the client's own networks
            counts against.
        prefix_v6: The same for IPv6.
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
        prefix_v4: int = 24,
        prefix_v6: int = 64,
        pool: HashPool | None = None,
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
        self._pool: HashPool | _InlinePool = pool or _InlinePool(max_concurrent_hashes)
        self._flights: dict[bytes, _Flight] = {}
        self._cache: OrderedDict[bytes, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._prefix_v4 = prefix_v4
        self._prefix_v6 = prefix_v6

    def _fingerprint(self, client_id: str, password: str) -> bytes:
        message = client_id.encode("utf-8", "surrogatepass") + b"\x00"
        message += password.encode("utf-8", "surrogatepass")
        return hmac.digest(self._cache_key, message, "sha256")

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

    def _argon2(self, stored_hash: str | None, password: str) -> bool:
        """One argon2 verification: against the stored hash, or the dummy when None."""
        try:
            return self._hasher.verify(stored_hash or self._dummy_hash, password)
        except (VerifyMismatchError, VerificationError):
            return False
        except InvalidHashError:
            # A corrupt stored hash: still pay the same cost as a real check.
            self._argon2(None, password)
            return False

    def _shared_check(
        self, fingerprint: bytes, stored_hash: str | None, password: str
    ) -> Future[bool | None]:
        """The check of this password, shared among identical attempts (single flight)."""
        with self._lock:
            flight = self._flights.get(fingerprint)
            if flight is not None and flight.stored_hash == stored_hash:
                flight.joined += 1
                return flight.future
            if flight is None:
                # Registered before the check starts, so attempts arriving meanwhile join.
                pending: Future[bool | None] = Future()
                flight = self._flights[fingerprint] = _Flight(stored_hash, pending)
                leader = True
            else:
                leader = False  # the password changed in between: check on its own
        if not leader:
            return self._pool.submit(self._argon2, stored_hash, password)
        future = self._pool.submit(self._argon2, stored_hash, password)

        def settle(done: Future[bool | None]) -> None:
            with self._lock:
                if self._flights.get(fingerprint) is flight:
                    del self._flights[fingerprint]
            if done.exception() is not None:
                flight.future.set_exception(done.exception())
            else:
                flight.future.set_result(done.result())

        future.add_done_callback(settle)
        return flight.future

    def invalidate(self) -> None:
        """Drop every cached verification (e.g. after a bulk password change)."""
        with self._lock:
            self._cache.clear()

    def begin(
        self,
        client_id: str,
        password: str,
        source: str | None = None,
        certificate: str | None = None,
    ) -> AuthOutcome[RecordT] | PendingCheck[RecordT]:
        """Decide an attempt without argon2 where possible (a cached credential, a
        throttle); otherwise start its check and return it pending.

        Finish a :class:`PendingCheck` with :meth:`finish` once its future is done (an
        event loop awaits it; :meth:`authenticate` waits in the thread).

        Args: see :meth:`authenticate`.
        """
        address = parse_address(source)
        source_key: ThrottleKey | None = ("source", str(address)) if address else None
        if self._throttle is not None and source_key and self._throttle.blocked(source_key):
            return AuthOutcome(None, "throttled_source")
        record = self._lookup(client_id)
        networks = record.networks if record is not None else frozenset()
        in_networks = record is not None and source_allowed(networks, source)
        with_certificate = record is not None and (
            not record.certificates or certificate in record.certificates
        )
        allowed = in_networks and with_certificate
        fingerprint = self._fingerprint(client_id, password)
        cached = (
            record is not None
            and record.enabled
            and allowed
            and self._cached(fingerprint, record.password_hash)
        )
        if cached and (self._throttle is None or not self._throttle.counting):
            # The common case, kept short: nothing to forget in an idle throttle.
            return AuthOutcome(record, None, cached=True)
        network = network_of(source, networks, prefix_v4=self._prefix_v4, prefix_v6=self._prefix_v6)
        client_key: ThrottleKey = ("client", client_id, network)
        keys = (client_key,) if source_key is None else (source_key, client_key)
        if cached:
            if self._throttle is not None:
                self._throttle.record_success(keys)
            return AuthOutcome(record, None, cached=True)
        if self._throttle is not None and self._throttle.blocked(client_key):
            return AuthOutcome(None, "throttled_client")
        stored_hash = record.password_hash if record is not None else None
        future = self._shared_check(fingerprint, stored_hash, password)
        return PendingCheck(
            future, client_id, password, fingerprint, record, allowed, in_networks, keys
        )

    def finish(self, pending: PendingCheck[RecordT]) -> AuthOutcome[RecordT]:
        """The outcome of an attempt whose check is done (see :meth:`begin`).

        Raises:
            Exception: whatever the check itself raised.
        """
        matched = pending.future.result(timeout=_FLIGHT_WAIT_S)
        record = pending.record
        if matched is None:
            # Shed: nothing was computed, so nothing is known about the password. It is
            # refused like a wrong one but not counted, so a flood elsewhere never
            # throttles a client that merely met a full pool.
            return AuthOutcome(None, "overloaded")
        if matched and record is not None and record.enabled and pending.allowed:
            self._remember(pending.fingerprint, record.password_hash)
            if self._throttle is not None:
                self._throttle.record_success(pending.keys)
            return AuthOutcome(record, None)
        if self._throttle is not None:
            self._throttle.record_failure(pending.keys)
        if record is not None and not pending.allowed:
            return AuthOutcome(
                None,
                "outside_networks" if not pending.in_networks else "certificate_mismatch",
                password_valid=matched and record.enabled,
            )
        return AuthOutcome(None, "bad_credentials")

    def authenticate(
        self,
        client_id: str,
        password: str,
        source: str | None = None,
        certificate: str | None = None,
    ) -> AuthOutcome[RecordT]:
        """Check a client id and password, and that the request comes from its networks
        (and with one of its TLS certificates, when it is pinned to some).

        Waits in the calling thread for an argon2 check when one is needed.

        Args:
            client_id: ``hdr/client/id`` as sent.
            password: ``hdr/client/pwd`` as sent.
            source: The caller's address, for the network pinning and throttling.
            certificate: The SPKI SHA-256 of the TLS client certificate the request came
                with (:mod:`gmlc.peers`), or None.

        Returns:
            The outcome; ``outcome.record`` is the client's record when authenticated.
        """
        started = self.begin(client_id, password, source, certificate)
        if isinstance(started, AuthOutcome):
            return started
        return self.finish(started)

    def verify(self, client_id: str, password: str, source: str | None = None) -> RecordT | None:
        """Check credentials and return the client's record, or None when refused.

        Same check as :meth:`authenticate`, for callers that need no failure reason.
        """
        return self.authenticate(client_id, password, source).record

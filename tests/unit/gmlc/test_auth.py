"""Client authentication: uniform failure path, verified-credential cache, throttling."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import pytest
from argon2 import PasswordHasher

from gmlc.auth import (
    Authenticator,
    FailureThrottle,
    HashPool,
    PendingCheck,
    generate_password,
    hash_password,
)
from gmlc.networks import ANYWHERE, Network


def nets(*texts: str) -> frozenset[Network]:
    return frozenset(ipaddress.ip_network(text) for text in texts)


@dataclass(frozen=True)
class Client:
    client_id: str
    password_hash: str
    enabled: bool = True
    networks: frozenset[Network] = field(default_factory=lambda: nets(*ANYWHERE))
    certificates: frozenset[str] = frozenset()


class CountingHasher(PasswordHasher):
    """The real argon2 hasher, counting verifications (the outermost edge)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8192, parallelism=1)
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verifications += 1
        return super().verify(hash, password)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


def _directory(hasher: PasswordHasher, **passwords: str) -> dict[str, Client]:
    return {cid: Client(cid, hasher.hash(pw)) for cid, pw in passwords.items()}


def test_hash_password_is_salted_argon2id() -> None:
    first, second = hash_password("secret"), hash_password("secret")
    assert first.startswith("$argon2id$")
    assert first != second
    assert PasswordHasher().verify(first, "secret")
    with pytest.raises(ValueError, match="empty"):
        hash_password("")


def test_generate_password_is_long_and_random() -> None:
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(p) == 32 for p in passwords)


def test_unknown_and_wrong_take_the_same_argon2_path(hasher: CountingHasher) -> None:
    clients = _directory(hasher, alice="right")
    auth = Authenticator(clients.get, hasher=hasher)
    baseline = hasher.verifications
    wrong = auth.authenticate("alice", "wrong")
    assert hasher.verifications == baseline + 1
    unknown = auth.authenticate("mallory", "whatever")
    assert hasher.verifications == baseline + 2
    assert not wrong.ok
    assert not unknown.ok
    assert wrong.reason == unknown.reason == "bad_credentials"


def test_disabled_client_refused_after_full_check(hasher: CountingHasher) -> None:
    clients = _directory(hasher, alice="right")
    clients["alice"] = replace(clients["alice"], enabled=False)
    auth = Authenticator(clients.get, hasher=hasher)
    baseline = hasher.verifications
    outcome = auth.authenticate("alice", "right")
    assert not outcome.ok
    assert outcome.reason == "bad_credentials"
    assert hasher.verifications == baseline + 1


def test_cache_pays_argon2_once_per_ttl(hasher: CountingHasher) -> None:
    clock = Clock()
    clients = _directory(hasher, alice="right")
    auth = Authenticator(clients.get, hasher=hasher, cache_ttl_s=60, clock=clock)
    baseline = hasher.verifications
    first = auth.authenticate("alice", "right")
    assert first.ok
    assert not first.cached
    for _ in range(20):
        assert auth.authenticate("alice", "right").cached
    assert hasher.verifications == baseline + 1
    # A wrong password is never answered from the cache.
    assert not auth.authenticate("alice", "right ").ok
    clock.now += 61
    again = auth.authenticate("alice", "right")
    assert again.ok
    assert not again.cached


def test_cache_holds_no_password_and_follows_password_changes(hasher: CountingHasher) -> None:
    clients = _directory(hasher, alice="old-password")
    auth = Authenticator(clients.get, hasher=hasher)
    assert auth.authenticate("alice", "old-password").ok
    assert "old-password" not in repr(auth._cache)
    clients["alice"] = Client("alice", hasher.hash("new-password"))
    assert not auth.authenticate("alice", "old-password").ok
    assert auth.authenticate("alice", "new-password").ok


def test_disabling_takes_effect_despite_cache(hasher: CountingHasher) -> None:
    clients = _directory(hasher, alice="right")
    auth = Authenticator(clients.get, hasher=hasher)
    assert auth.authenticate("alice", "right").ok
    clients["alice"] = replace(clients["alice"], enabled=False)
    assert not auth.authenticate("alice", "right").ok


def test_corrupt_stored_hash_is_a_plain_failure(hasher: CountingHasher) -> None:
    auth = Authenticator({"alice": Client("alice", "not-a-hash")}.get, hasher=hasher)
    assert not auth.authenticate("alice", "x").ok


def test_throttle_blocks_the_source_and_the_client_from_that_network_only(
    hasher: CountingHasher,
) -> None:
    clock = Clock()
    clients = _directory(hasher, alice="right", bob="b-right")
    throttle = FailureThrottle(limit=3, window_s=60, clock=clock)
    auth = Authenticator(clients.get, hasher=hasher, throttle=throttle, clock=clock)
    for _ in range(3):
        assert auth.authenticate("alice", "wrong", "10.0.0.1").reason == "bad_credentials"
    # The attacking source is refused outright, even for another client.
    assert auth.authenticate("bob", "b-right", "10.0.0.1").reason == "throttled_source"
    # The client id is refused from the attacker's network, without running argon2...
    before = hasher.verifications
    assert auth.authenticate("alice", "right", "10.0.0.2").reason == "throttled_client"
    assert hasher.verifications == before
    # ...but not from anywhere else: wrong passwords never lock a client out as a whole.
    assert auth.authenticate("alice", "right", "10.0.1.2").ok
    clock.now += 61
    assert auth.authenticate("alice", "right", "10.0.0.2").ok


def test_failures_from_elsewhere_never_lock_a_client_out_of_its_own_network(
    hasher: CountingHasher,
) -> None:
    clock = Clock()
    clients = {"alice": Client("alice", hasher.hash("right"), networks=nets("203.0.113.0/28"))}
    throttle = FailureThrottle(limit=2, window_s=60, clock=clock)
    auth = Authenticator(clients.get, hasher=hasher, throttle=throttle, clock=clock)
    # The attacker has the password and sits in the same /24, but outside the pinned /28,
    # with many addresses.
    for host in range(100, 140):
        outcome = auth.authenticate("alice", "right", f"203.0.113.{host}")
        assert outcome.reason in ("outside_networks", "throttled_client")
    assert auth.authenticate("alice", "right", "203.0.113.5").ok  # the site itself


def test_throttled_client_keeps_working_from_cache(hasher: CountingHasher) -> None:
    clock = Clock()
    clients = _directory(hasher, alice="right")
    throttle = FailureThrottle(limit=2, window_s=60, clock=clock)
    auth = Authenticator(clients.get, hasher=hasher, throttle=throttle, clock=clock)
    assert auth.authenticate("alice", "right", "10.0.0.9").ok
    for source in ("10.0.0.1", "10.0.0.2"):
        auth.authenticate("alice", "guess", source)
    assert throttle.blocked(("client", "alice", "10.0.0.0/24"))
    assert auth.authenticate("alice", "right", "10.0.0.9").ok


def test_throttle_window_slides_and_memory_is_bounded() -> None:
    clock = Clock()
    throttle = FailureThrottle(limit=2, window_s=10, clock=clock, max_keys=100)
    key = ("client", "a", "192.0.2.0/24")
    throttle.record_failure([key, ("source", "s")])
    clock.now += 6
    throttle.record_failure([key, ("source", "s")])
    assert throttle.blocked(key)
    assert throttle.blocked(("source", "s"))
    clock.now += 5  # the first failure left the window
    assert not throttle.blocked(key)
    for index in range(1000):
        throttle.record_failure([("client", f"id{index}", "-")])
    assert len(throttle._failures) <= 100
    with pytest.raises(ValueError, match="limit"):
        FailureThrottle(limit=0, window_s=1)


# -- source networks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "valid"), [("right", True), ("wrong", False)], ids=["stolen", "guessed"]
)
def test_outside_its_networks_a_client_is_refused_after_the_same_work(
    hasher: CountingHasher, password: str, valid: bool
) -> None:
    clients = {"alice": Client("alice", hasher.hash("right"), networks=nets("203.0.113.0/24"))}
    auth = Authenticator(clients.get, hasher=hasher)
    assert auth.authenticate("alice", "right", "203.0.113.9").ok  # now cached
    before = hasher.verifications
    outcome = auth.authenticate("alice", password, "198.51.100.7")
    assert (outcome.ok, outcome.reason, outcome.password_valid) == (
        False,
        "outside_networks",
        valid,
    )
    # Neither the cache nor a shortcut: the same argon2 check as for a wrong password.
    assert hasher.verifications == before + 1
    # IPv4-mapped IPv6 (a dual-stack listener) is the same address.
    assert auth.authenticate("alice", "right", "::ffff:203.0.113.9").ok
    assert auth.authenticate("alice", "right", None).reason == "outside_networks"


def test_unknown_id_from_anywhere_is_a_plain_wrong_password(hasher: CountingHasher) -> None:
    auth = Authenticator({}.get, hasher=hasher)
    assert auth.authenticate("mallory", "x", "198.51.100.7").reason == "bad_credentials"


# -- single flight -------------------------------------------------------------------------------


class GatedHasher(CountingHasher):
    """Holds every verification until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.entered.set()
        self.gate.wait(timeout=30)
        return super().verify(hash, password)


@pytest.mark.parametrize("client_id", ["alice", "nobody"], ids=["existing", "unknown"])
def test_identical_concurrent_attempts_share_one_check_whether_the_id_exists_or_not(
    client_id: str,
) -> None:
    hasher = GatedHasher()
    hasher.gate.set()
    clients = _directory(hasher, alice="right")
    auth = Authenticator(clients.get, hasher=hasher)
    hasher.gate.clear()
    baseline = hasher.verifications
    outcomes: list[str | None] = []
    first = threading.Thread(
        target=lambda: outcomes.append(auth.authenticate(client_id, "wrong").reason)
    )
    first.start()
    assert hasher.entered.wait(timeout=10)  # the first check is running
    second = threading.Thread(
        target=lambda: outcomes.append(auth.authenticate(client_id, "wrong").reason)
    )
    second.start()
    # The second attempt joins the running check instead of starting its own (for an
    # existing id it used to wait for the first and then pay a second check).
    (flight,) = auth._flights.values()
    wait_until(lambda: flight.joined == 1)
    hasher.gate.set()
    first.join(timeout=10)
    second.join(timeout=10)
    assert outcomes == ["bad_credentials", "bad_credentials"]
    assert hasher.verifications == baseline + 1


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)  # polling interval, not a race hider


def test_concurrent_first_checks_of_one_credential_pay_argon2_once(
    hasher: CountingHasher,
) -> None:
    import threading

    clients = _directory(hasher, alice="right")
    auth = Authenticator(clients.get, hasher=hasher)
    baseline = hasher.verifications
    barrier = threading.Barrier(8)
    outcomes = []

    def attempt() -> None:
        barrier.wait()
        outcomes.append(auth.authenticate("alice", "right"))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 8
    assert all(outcome.ok for outcome in outcomes)
    assert hasher.verifications == baseline + 1


def test_a_client_pinned_to_certificates_needs_one_of_them(hasher: CountingHasher) -> None:
    pinned = Client("alice", hasher.hash("right"), certificates=frozenset({"a" * 64}))
    auth = Authenticator({"alice": pinned}.get, hasher=hasher)
    assert auth.authenticate("alice", "right", "192.0.2.1", "a" * 64).ok
    before = hasher.verifications
    for certificate in ("b" * 64, None):
        outcome = auth.authenticate("alice", "right", "192.0.2.1", certificate)
        assert (outcome.reason, outcome.password_valid) == ("certificate_mismatch", True)
    assert hasher.verifications == before + 2  # the same work as a wrong password
    # Outside its networks, that reason wins (it is the more telling one).
    elsewhere = replace(pinned, networks=nets("198.51.100.0/24"))
    auth = Authenticator({"alice": elsewhere}.get, hasher=hasher)
    assert auth.authenticate("alice", "right", "192.0.2.1").reason == "outside_networks"


def test_a_full_hash_pool_sheds_without_computing_and_spares_cached_clients() -> None:
    hasher = GatedHasher()
    hasher.gate.set()
    clients = _directory(hasher, alice="right")
    throttle = FailureThrottle(5, 60, clock=Clock())
    pool = HashPool(workers=1, queue=0)
    auth = Authenticator(clients.get, hasher=hasher, throttle=throttle, pool=pool)
    try:
        assert auth.authenticate("alice", "right", "10.0.0.1").ok  # now cached
        hasher.gate.clear()
        hasher.entered.clear()
        baseline = hasher.verifications
        running = auth.begin("mallory", "guess-1", "192.0.2.1")  # takes the only thread
        assert isinstance(running, PendingCheck)
        assert hasher.entered.wait(timeout=10)
        shed = auth.authenticate("mallory", "guess-2", "192.0.2.2")
        # Refused like a wrong password, nothing computed, nothing counted against anyone.
        assert (shed.ok, shed.reason) == (False, "overloaded")
        assert not throttle.counting
        assert pool.shed == 1
        cached = auth.authenticate("alice", "right", "10.0.0.1")
        assert cached.ok and cached.cached  # the cached client does not wait for the pool
        hasher.gate.set()
        assert auth.finish(running).reason == "bad_credentials"
        assert hasher.verifications == baseline + 1
    finally:
        hasher.gate.set()
        pool.close()

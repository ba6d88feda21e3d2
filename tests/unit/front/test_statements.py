"""The statement broker under a test clock: waiting, expiry, failures, back-off, batches.

The GMLC is the outermost edge here: ``fetch`` hands back Deferreds the test fires with
statements signed by a real key (or with the MLP errors a GMLC answers), so the broker's
whole logic runs without a network and without sleeping.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from front.metrics import FrontMetrics
from front.statements import StatementBroker
from mlp.client import MlpBadAnswerError, MlpResultError, MlpTransportError
from mlp.codes import ResultCode
from mlp.delivery import DeliveryFailure, StatementDelivery
from mlp.keys import SigningKey
from mlp.merkle import verify_inclusion
from mlp.statement import StatementPosition, issue_statement

H = "www.example.com"
START = 1_800_000_000.0
KEY = SigningKey.generate("ES256")


@dataclass
class Gmlc:
    """Records requests; the test answers them."""

    clock: Clock
    asked: list[tuple[bytes, str, int | None, Deferred[str]]] = field(default_factory=list)

    def fetch(self, session_hash: bytes, domain: str, batch_size: int | None) -> Deferred[str]:
        deferred: Deferred[str] = Deferred()
        self.asked.append((session_hash, domain, batch_size, deferred))
        return deferred

    def token(self, index: int = -1, *, validity_s: int = 60, subject: str | None = None) -> str:
        asked, domain, batch_size, _ = self.asked[index]
        now = datetime.fromtimestamp(self.clock.seconds(), UTC)
        token, _ = issue_statement(
            key=KEY,
            issuer="gmlc.example.net",
            subject=subject or domain,
            session_hash=asked,
            positions=StatementPosition.from_circle(47.0, 8.0, 500),
            position_time=now,
            now=now,
            validity_s=validity_s,
            batch_size=batch_size,
        )
        return token

    def answer(self, index: int = -1, **options: object) -> None:
        self.asked[index][3].callback(self.token(index, **options))  # type: ignore[arg-type]

    def fail(self, error: Exception, index: int = -1) -> None:
        self.asked[index][3].errback(error)


@pytest.fixture
def clock() -> Clock:
    made = Clock()
    made.advance(START)
    return made


@pytest.fixture
def gmlc(clock: Clock) -> Gmlc:
    return Gmlc(clock)


def broker(clock: Clock, gmlc: Gmlc, **options: object) -> tuple[StatementBroker, FrontMetrics]:
    metrics = FrontMetrics()
    settings: dict[str, object] = {"wait_s": 2.0, "retry_after_s": 5} | options
    made = StatementBroker(clock=clock, fetch=gmlc.fetch, metrics=metrics, **settings)  # type: ignore[arg-type]
    return made, metrics


def result(deferred: Deferred[object]) -> object:
    seen: list[object] = []
    deferred.addCallback(seen.append)
    assert seen, "the delivery has not happened"
    return seen[0]


def sample(metrics: FrontMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_the_request_leaves_at_the_handshake_and_delivery_waits_for_it(
    clock: Clock, gmlc: Gmlc
) -> None:
    made, metrics = broker(clock, gmlc)
    session_hash = secrets.token_bytes(32)
    session = made.open(session_hash, H)
    assert [(a[0], a[1], a[2]) for a in gmlc.asked] == [(session_hash, H, None)]
    waiting = made.deliver(session)
    assert not waiting.called
    clock.advance(0.25)
    gmlc.answer()
    delivery = result(waiting)
    assert isinstance(delivery, StatementDelivery) and delivery.proof is None
    assert result(made.deliver(session)) is delivery  # one statement per session
    assert len(gmlc.asked) == 1
    ready = metrics.registry.get_sample_value(
        "salve_front_statement_ready_seconds_sum", {"mode": "single"}
    )
    assert ready == pytest.approx(0.25)


def test_a_delivery_waits_at_most_wait_s(clock: Clock, gmlc: Gmlc) -> None:
    made, _ = broker(clock, gmlc, wait_s=1.5)
    session = made.open(secrets.token_bytes(32), H)
    waiting = made.deliver(session)
    clock.advance(1.49)
    assert not waiting.called
    clock.advance(0.02)
    timeout = result(waiting)
    assert timeout == DeliveryFailure("timeout")
    assert made.retry_after(timeout) == 1
    gmlc.answer()  # late: the next delivery has it at once
    assert isinstance(result(made.deliver(session)), StatementDelivery)


def test_an_expiring_statement_is_fetched_again(clock: Clock, gmlc: Gmlc) -> None:
    made, _ = broker(clock, gmlc, refresh_margin_s=2.0)
    session = made.open(secrets.token_bytes(32), H)
    gmlc.answer(validity_s=30)
    first = result(made.deliver(session))
    clock.advance(27.9)
    assert result(made.deliver(session)) is first
    clock.advance(0.2)  # within the margin of exp: ask again, on the same session hash
    waiting = made.deliver(session)
    assert len(gmlc.asked) == 2 and gmlc.asked[1][0] == gmlc.asked[0][0]
    gmlc.answer(validity_s=30)
    second = result(waiting)
    assert isinstance(second, StatementDelivery) and second != first


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (MlpTransportError("connection refused"), DeliveryFailure("gmlc_unreachable")),
        (MlpBadAnswerError("not MLP"), DeliveryFailure("gmlc_unreachable")),
        (MlpResultError(ResultCode.UNAUTHORIZED_APPLICATION), DeliveryFailure("gmlc_refused", 3)),
        (MlpResultError(ResultCode.UNKNOWN_SUBSCRIBER), DeliveryFailure("gmlc_refused", 4)),
        (MlpResultError(ResultCode.POSITION_METHOD_FAILURE), DeliveryFailure("mlp_result", 6)),
        (
            MlpResultError(ResultCode.CONGESTION_IN_LOCATION_SERVER, "statement rate exceeded"),
            DeliveryFailure("mlp_result", 101),
        ),
        (RuntimeError("a bug"), DeliveryFailure("gmlc_unreachable")),
    ],
)
def test_failures_are_classified(
    clock: Clock, gmlc: Gmlc, error: Exception, expected: DeliveryFailure
) -> None:
    made, metrics = broker(clock, gmlc)
    session = made.open(secrets.token_bytes(32), H)
    gmlc.fail(error)
    assert result(made.deliver(session)) == expected
    assert sample(metrics, "salve_front_statement_failures_total", reason=expected.error) == 1
    assert made.pending == 0


def test_a_statement_for_another_subject_or_session_is_not_handed_out(
    clock: Clock, gmlc: Gmlc
) -> None:
    made, _ = broker(clock, gmlc)
    session = made.open(secrets.token_bytes(32), H)
    gmlc.asked[0][3].callback(gmlc.token(subject="evil.example.com"))
    assert result(made.deliver(session)) == DeliveryFailure("gmlc_unreachable")


def test_after_a_failure_new_sessions_wait_before_asking_again(clock: Clock, gmlc: Gmlc) -> None:
    made, metrics = broker(clock, gmlc, retry_after_s=5)
    first = made.open(secrets.token_bytes(32), H)
    gmlc.fail(MlpTransportError("down"))
    clock.advance(1)
    second = made.open(secrets.token_bytes(32), H)
    assert len(gmlc.asked) == 1  # not sent: the GMLC failed a moment ago
    assert sample(metrics, "salve_front_gmlc_backoff_sessions_total") == 1
    failure = result(made.deliver(second))
    assert failure == DeliveryFailure("gmlc_unreachable")
    assert made.retry_after(failure) == 4
    clock.advance(5)
    waiting = made.deliver(first)  # the failure has aged: ask again
    assert len(gmlc.asked) == 2
    gmlc.answer()
    assert isinstance(result(waiting), StatementDelivery)


def test_a_window_closed_by_time_gets_one_statement_and_a_proof_each(
    clock: Clock, gmlc: Gmlc
) -> None:
    made, metrics = broker(clock, gmlc, batch_window_s=0.2, batch_max=8)
    hashes = [secrets.token_bytes(32) for _ in range(3)]
    sessions = [made.open(h, H) for h in hashes]
    assert gmlc.asked == []
    clock.advance(0.2)
    assert len(gmlc.asked) == 1 and gmlc.asked[0][2] == 3
    waiting = [made.deliver(s) for s in sessions]
    gmlc.answer()
    root = gmlc.asked[0][0]
    tokens = set()
    for session_hash, deferred in zip(hashes, waiting, strict=True):
        delivery = result(deferred)
        assert isinstance(delivery, StatementDelivery) and delivery.proof is not None
        verify_inclusion(session_hash, delivery.proof, root)
        tokens.add(delivery.statement)
    assert len(tokens) == 1
    assert sample(metrics, "salve_front_sessions_batched_total") == 3


def test_a_window_closes_early_at_max_sessions_and_alone_is_a_plain_statement(
    clock: Clock, gmlc: Gmlc
) -> None:
    made, _ = broker(clock, gmlc, batch_window_s=10.0, batch_max=4)
    for _ in range(4):
        made.open(secrets.token_bytes(32), H)
    assert [a[2] for a in gmlc.asked] == [4]  # closed by the count, long before 10 s
    single = made.open(secrets.token_bytes(32), H)
    clock.advance(10)
    assert gmlc.asked[1][2] is None and gmlc.asked[1][0] == single.session_hash
    gmlc.answer()
    delivery = result(made.deliver(single))
    assert isinstance(delivery, StatementDelivery) and delivery.proof is None


def test_domains_batch_apart_and_a_closed_connection_keeps_its_leaf(
    clock: Clock, gmlc: Gmlc
) -> None:
    made, _ = broker(clock, gmlc, batch_window_s=0.2)
    kept = [made.open(secrets.token_bytes(32), H) for _ in range(2)]
    gone = made.open(secrets.token_bytes(32), H)
    other = made.open(secrets.token_bytes(32), "api.example.com")
    waiting = made.deliver(gone)
    made.close(gone)
    clock.advance(0.2)
    sizes = sorted((a[1], a[2] or 1) for a in gmlc.asked)
    assert sizes == [("api.example.com", 1), (H, 3)]
    assert all(s.in_flight for s in (*kept, other))
    gmlc.answer(index=[a[1] for a in gmlc.asked].index(H))
    assert not waiting.called  # the closed connection's waiter is gone, not answered
    assert gone.delivery is None and all(s.delivery is not None for s in kept)


def test_beyond_max_pending_a_session_asks_on_its_first_delivery(clock: Clock, gmlc: Gmlc) -> None:
    made, _ = broker(clock, gmlc, max_pending=1)
    made.open(secrets.token_bytes(32), H)
    later = made.open(secrets.token_bytes(32), H)
    assert len(gmlc.asked) == 1
    waiting = made.deliver(later)
    assert len(gmlc.asked) == 2
    gmlc.answer()
    assert isinstance(result(waiting), StatementDelivery)

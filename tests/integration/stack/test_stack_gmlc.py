"""The whole stack as real processes on loopback: simulator, appliance daemon, GMLC.

simulated modem (salve-modem simulate --tcp) -> salve-appliance run -> salve-gmlc serve
-> MLP client with a session hash -> statement verified against the GMLC's JWKS.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from mlp.client import MlpClient, MlpResultError
from mlp.statement import StatementBindingError, session_hash_from_exporter, verify_statement

# Fixtures from conftest.py (not importable under --import-mode=importlib, hence Any).
Poll = Callable[..., Any]

DEMO_MSISDN = "+41791234567"
WEB_CLIENT = "web-frontend"
ISSUER = "gmlc.test.invalid"
#: The demo site (the centre of the demo cells of tracking area 1234).
SITE_LAT, SITE_LON = 47.3769, 8.5417


@dataclass
class Stack:
    simulator: Any
    gmlc: Any
    appliance: Any
    password: str
    notify: Any

    def client(self) -> MlpClient:
        return MlpClient(self.gmlc.url, client_id=WEB_CLIENT, password=self.password)


@pytest.fixture
def stack_factory(
    simulator: Any,
    notify: Any,
    gmlc_factory: Callable[..., Any],
    appliance_factory: Callable[..., Any],
) -> Iterator[Callable[..., Stack]]:
    def make(**gmlc_settings: str) -> Stack:
        gmlc = gmlc_factory(**gmlc_settings)
        password = gmlc.add_client()
        appliance = appliance_factory(simulator.url, gmlc.url, interval_s=1)
        enrollment = appliance.init_and_enroll()
        assert enrollment["imsi"] == "228011234567890"
        gmlc.enroll(enrollment)
        gmlc.start()
        appliance.start(notify)
        return Stack(simulator, gmlc, appliance, password, notify)

    yield make


def delivered(status: dict[str, Any]) -> int:
    return int(status["gmlc"]["last_delivered_seq"] or 0)


def verified_statement(stack: Stack) -> Any:
    session_hash = session_hash_from_exporter(secrets.token_bytes(32))
    with stack.client() as client:
        result = client.request_location(DEMO_MSISDN, session_hash)
        keys = client.fetch_jwks()
    assert result.statement is not None
    return (
        verify_statement(
            result.statement,
            keys,
            session_hash=session_hash,
            now=datetime.now(UTC),
            max_position_age_s=120,
            issuer=ISSUER,
        ),
        result.statement,
        keys,
    )


def test_first_observation_to_first_verified_statement(
    stack_factory: Callable[..., Stack], poll: Poll
) -> None:
    stack = stack_factory()
    status = stack.appliance.wait_status("the first delivery", lambda s: delivered(s) >= 1)
    assert status["gmlc"]["reachable"] is True
    verified, token, keys = verified_statement(stack)
    assert verified.within(SITE_LAT, SITE_LON, 20_000)
    assert verified.claims.sub == f"msisdn:{DEMO_MSISDN}"
    # The statement is bound to its session: another session's hash does not verify.
    with pytest.raises(StatementBindingError):
        verify_statement(
            token,
            keys,
            session_hash=session_hash_from_exporter(secrets.token_bytes(32)),
            now=datetime.now(UTC),
            max_position_age_s=120,
        )
    assert stack.appliance.stop() == 0


def test_gmlc_down_then_up_delivers_everything_in_order(
    stack_factory: Callable[..., Stack], poll: Poll
) -> None:
    stack = stack_factory()
    appliance = stack.appliance
    appliance.wait_status("the first delivery", lambda s: delivered(s) >= 1)
    stack.gmlc.stop()
    down = appliance.wait_status(
        "observations queued while the GMLC is down",
        lambda s: s["gmlc"]["reachable"] is False and s["queue"]["depth"] >= 3,
    )
    assert down["counters"]["gmlc_unreachable"] == 1
    stack.gmlc.start()
    up = appliance.wait_status(
        "the queue to drain",
        lambda s: s["queue"]["depth"] == 0 and delivered(s) >= down["last_seq"],
        timeout=60,
    )
    assert up["counters"]["gmlc_back"] >= 1
    assert appliance.stop() == 0
    final = json.loads((appliance.state_dir / "seq").read_text())
    # None lost, in order, the sequence intact: every number the appliance handed out
    # was stored by the GMLC exactly once.
    seqs = stack.gmlc.accepted_seqs(appliance.id)
    assert seqs == list(range(1, final + 1))
    assert up["queue"]["dropped_total"] == 0
    assert up["counters"].get("gmlc_replayed", 0) == 0


def test_daemon_restart_keeps_its_sequence(stack_factory: Callable[..., Stack], poll: Poll) -> None:
    stack = stack_factory()
    appliance = stack.appliance
    first = appliance.wait_status("deliveries", lambda s: delivered(s) >= 2)
    assert appliance.stop() == 0
    assert stack.notify.seen("STOPPING", "1")
    stopped_at = json.loads((appliance.state_dir / "seq").read_text())
    assert stopped_at >= delivered(first)
    appliance.start(stack.notify)
    again = appliance.wait_status(
        "deliveries after the restart", lambda s: delivered(s) > stopped_at
    )
    assert again["counters"].get("gmlc_replayed", 0) == 0
    assert again["counters"].get("gmlc_refused", 0) == 0
    assert appliance.stop() == 0
    seqs = stack.gmlc.accepted_seqs(appliance.id)
    assert seqs == sorted(set(seqs))
    assert seqs[-1] > stopped_at


def test_sim_swap_is_refused_alarmed_and_statements_stop(
    stack_factory: Callable[..., Stack], poll: Poll
) -> None:
    # Positions older than 5 s are not used, so statements stop soon after the swap.
    stack = stack_factory(observation_max_age_s="5")
    appliance = stack.appliance
    appliance.wait_status("the first delivery", lambda s: delivered(s) >= 1)
    verified_statement(stack)  # statements flow while the enrolled SIM reports
    stack.simulator.control(
        cmd="swap_sim", imsi="228019999999999", iccid="8941019999999999997", msisdn="+41790000000"
    )
    refused = appliance.wait_status(
        "the GMLC to refuse the swapped SIM",
        lambda s: s["counters"]["sim_swapped"] >= 1 and s["gmlc"]["refused"] == "sim_mismatch",
    )
    assert refused["counters"]["gmlc_rejected"] >= 1
    audit = json.loads(
        stack.gmlc.run(
            "audit", "list", "--kind", "sim_mismatch", "--json", "--config", str(stack.gmlc.config)
        )
    )
    assert len(audit) >= 1

    def statements_stopped() -> bool:
        try:
            with stack.client() as client:
                client.request_location(
                    DEMO_MSISDN, session_hash_from_exporter(secrets.token_bytes(32))
                )
        except MlpResultError:
            return True
        return False

    poll("statements to stop", statements_stopped, timeout=30)
    assert appliance.stop() == 0

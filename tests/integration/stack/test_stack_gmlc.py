"""The whole stack as real processes on loopback: simulator, appliance daemon, GMLC.

simulated modem (salve-modem simulate --tcp) -> salve-appliance run -> salve-gmlc serve
-> MLP client with a session hash -> statement verified against the GMLC's JWKS.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from appliance.queue import ObservationQueue
from mlp.client import MlpClient, MlpResultError
from mlp.statement import StatementBindingError, session_hash_from_exporter, verify_statement

pytestmark = pytest.mark.slow

# Fixtures from conftest.py (not importable under --import-mode=importlib, hence Any).
Poll = Callable[..., Any]

WEB_CLIENT = "web-frontend"
ISSUER = "gmlc.test.invalid"
DOMAIN = "www.example.com"
#: The demo site (the centre of the demo cells of tracking area 1234).
SITE_LAT, SITE_LON = 47.3769, 8.5417


@dataclass
class Stack:
    simulator: Any
    gmlc: Any
    appliance: Any
    password: str
    notify: Any
    msisdn: str

    def client(self) -> MlpClient:
        return MlpClient(self.gmlc.url, client_id=WEB_CLIENT, password=self.password)

    @property
    def target(self) -> str:
        # MSISDN in MLP's international form without "+", as the GMLC echoes it.
        return self.msisdn.removeprefix("+")


@pytest.fixture
def stack(
    tmp_path: Path,
    shared_gmlc: Any,
    notify: Any,
    simulator_factory: Callable[..., Any],
    appliance_factory: Callable[..., Any],
) -> Stack:
    card = shared_gmlc.take_sim()
    simulator = simulator_factory(scenario=card.scenario(tmp_path))
    gmlc = shared_gmlc.gmlc
    appliance = appliance_factory(
        simulator.url, gmlc.url, interval_s=1, appliance_id=f"stack-{card.index}"
    )
    enrollment = appliance.init_and_enroll()
    assert (enrollment["imsi"], enrollment["iccid"]) == (card.imsi, card.iccid)
    gmlc.enroll(enrollment)
    appliance.start(notify)
    return Stack(simulator, gmlc, appliance, shared_gmlc.password, notify, card.msisdn)


def delivered(status: dict[str, Any]) -> int:
    return int(status["gmlc"]["last_delivered_seq"] or 0)


def verified_statement(stack: Stack, max_loc_age: int | None = None) -> Any:
    session_hash = session_hash_from_exporter(secrets.token_bytes(32))
    with stack.client() as client:
        result = client.request_location(
            stack.target, session_hash, domain=DOMAIN, max_loc_age=max_loc_age
        )
        keys = client.fetch_jwks()
    assert result.statement is not None
    return (
        verify_statement(
            result.statement,
            keys,
            issuers=[ISSUER],
            subject=DOMAIN,
            session_hash=session_hash,
            proof=None,
            now=datetime.now(UTC),
            max_position_age_s=120,
        ),
        result.statement,
        keys,
    )


def test_first_observation_to_first_verified_statement(stack: Stack, poll: Poll) -> None:
    status = stack.appliance.wait_status("the first delivery", lambda s: delivered(s) >= 1)
    assert status["gmlc"]["reachable"] is True
    verified, token, keys = verified_statement(stack)
    (circle,) = verified.circles
    assert circle.max_distance_m(SITE_LAT, SITE_LON) <= 20_000
    assert verified.claims.sub == DOMAIN
    # The statement is bound to its session: another session's hash does not verify.
    with pytest.raises(StatementBindingError):
        verify_statement(
            token,
            keys,
            issuers=[ISSUER],
            subject=DOMAIN,
            session_hash=session_hash_from_exporter(secrets.token_bytes(32)),
            proof=None,
            now=datetime.now(UTC),
            max_position_age_s=120,
        )
    assert stack.appliance.stop() == 0


def test_gmlc_down_daemon_restarted_then_gmlc_up_loses_nothing(stack: Stack, poll: Poll) -> None:
    appliance = stack.appliance
    appliance.wait_status("the first delivery", lambda s: delivered(s) >= 1)
    stack.gmlc.stop()
    down = appliance.wait_status(
        "observations queued while the GMLC is down",
        lambda s: s["gmlc"]["reachable"] is False and s["queue"]["depth"] >= 2,
    )
    assert down["counters"]["gmlc_unreachable"] == 1
    assert down["status"].startswith(f"the GMLC at {stack.gmlc.url} is unreachable")
    # Restart the daemon meanwhile: the queue and the sequence survive it.
    assert appliance.stop() == 0
    assert stack.notify.seen("STOPPING", "1")
    stopped_at = json.loads((appliance.state_dir / "seq").read_text())
    appliance.start(stack.notify)
    appliance.wait_status(
        "new observations after the restart",
        lambda s: s["last_seq"] > stopped_at and s["queue"]["depth"] > down["queue"]["depth"],
    )
    stack.gmlc.start()
    up = appliance.wait_status(
        "the queue to drain",
        lambda s: s["queue"]["depth"] == 0 and delivered(s) > stopped_at,
        timeout=60,
    )
    assert up["counters"]["gmlc_back"] >= 1
    assert up["counters"].get("gmlc_replayed", 0) == 0
    assert appliance.stop() == 0
    final = json.loads((appliance.state_dir / "seq").read_text())
    # None lost, in order, the sequence intact across the restart: every number the
    # appliance handed out was stored by the GMLC exactly once, except those taken after
    # the queue last drained, which wait in the on-disk queue for the next start.
    accepted = stack.gmlc.accepted_seqs(appliance.id)
    still_queued = ObservationQueue(appliance.state_dir / "queue", max_items=10_000).seqs()
    assert accepted + still_queued == list(range(1, final + 1))
    assert accepted[-1] > stopped_at
    assert up["queue"]["dropped_total"] == 0


def test_sim_swap_is_refused_alarmed_and_statements_stop(stack: Stack, poll: Poll) -> None:
    appliance = stack.appliance
    appliance.wait_status("the first delivery", lambda s: delivered(s) >= 1)
    # Statements flow while the enrolled SIM reports; the requests accept positions up
    # to 5 s old, so they stop soon after the GMLC stops accepting observations.
    verified_statement(stack, max_loc_age=5)
    stack.simulator.control(
        cmd="swap_sim", imsi="228019999999999", iccid="8941019999999999997", msisdn="+41790000000"
    )
    refused = appliance.wait_status(
        "the GMLC to refuse the swapped SIM",
        lambda s: s["counters"]["sim_swapped"] >= 1 and s["gmlc"]["refused"] == "sim_mismatch",
    )
    assert refused["counters"]["gmlc_rejected"] >= 1
    # The status line (and systemd's STATUS=) names the refusal, not "observing".
    assert refused["status"].startswith("the GMLC refuses this appliance's reports (sim_mismatch)")
    assert refused["problems"][0]["kind"] == "gmlc_refused"
    poll(
        "STATUS= naming the refusal",
        lambda: any("(sim_mismatch)" in m["STATUS"] for m in stack.notify.seen("STATUS")),
    )
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
                    stack.target,
                    session_hash_from_exporter(secrets.token_bytes(32)),
                    domain=DOMAIN,
                    max_loc_age=5,
                )
        except MlpResultError as exc:
            # Per target (no position recent enough), not a refused request.
            assert exc.msid is not None, exc
            return True
        return False

    poll("statements to stop", statements_stopped, timeout=30)
    assert appliance.stop() == 0


def test_an_unenrolled_appliance_is_told_so_in_its_status_line(
    tmp_path: Path,
    shared_gmlc: Any,
    notify: Any,
    simulator_factory: Callable[..., Any],
    appliance_factory: Callable[..., Any],
    poll: Poll,
) -> None:
    card = shared_gmlc.take_sim()
    simulator = simulator_factory(scenario=card.scenario(tmp_path))
    appliance = appliance_factory(
        simulator.url, shared_gmlc.gmlc.url, interval_s=1, appliance_id=f"stack-{card.index}"
    )
    appliance.cli("init")  # and no `salve-gmlc appliance add`
    appliance.start(notify)
    refused = appliance.wait_status(
        "the GMLC to refuse the unknown key", lambda s: s["gmlc"]["refused"] == "unknown_key"
    )
    # The modem is fine; the line names what is not.
    assert refused["state"] == "observing"
    assert refused["status"].startswith("the GMLC refuses this appliance's reports (unknown_key)")
    assert "enrol" in refused["status"]
    poll(
        "STATUS= naming the refusal",
        lambda: any("(unknown_key)" in m["STATUS"] for m in notify.seen("STATUS")),
    )
    assert appliance.stop() == 0

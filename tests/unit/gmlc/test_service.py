"""The location service and observation intake over a real SQLite store.

State is built through the store's public methods and the intake (signed observations),
never with SQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmlc.auth import Authenticator, FailureThrottle
from gmlc.changefeed import ChangeFeed
from gmlc.intake import ObservationIntake
from gmlc.keys import KeyRing
from gmlc.metrics import GmlcMetrics
from gmlc.readmodel import ReadModel
from gmlc.service import (
    CellCache,
    KeyHolder,
    LocationService,
    RequestContext,
    positioning_limits,
)
from gmlc.settings import Settings, load_settings
from gmlc.store import ANYWHERE, CellRecord, ClientRecord, DomainEnrolment, Store
from mlp.codes import LocType, MsidType, ResType, ResultCode
from mlp.keys import KeySet, b64url_decode
from mlp.model import (
    Client,
    Eqop,
    Header,
    LocationRequest,
    Msid,
    Position,
    PositionError,
    Slia,
    Slir,
)
from mlp.observation import ReportModem, sign_observation
from mlp.shapes import CircularArea
from mlp.statement import VerifiedStatement, great_circle_distance_m, verify_statement
from tests.support.gmlc import Sim, enrol_appliance, observation_report

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MSISDN = "41790000001"
IMSI = "228011234567890"
ICCID = "8941010000000000001"
OTHER_MSISDN = "41790000002"
OTHER_IMSI = "228019999999999"
OTHER_ICCID = "8941010000000000002"
PASSWORD = "correct horse battery staple"
SESSION_HASH = hashlib.sha256(b"session").digest()
DOMAIN = "www.example.com"
OTHER_DOMAIN = "www.example.org"
ISSUER = "gmlc.test"
# Cheap argon2 parameters keep the fixture fast; the production parameters and the
# timing-uniform path are covered in test_auth.py.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


@pytest.fixture(scope="module")
def password_hash() -> str:
    return FAST_HASHER.hash(PASSWORD)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    store: Store
    settings: Settings
    clock: Clock
    service: LocationService
    intake: ObservationIntake
    ring: KeyRing
    appliance_key: Ed25519PrivateKey
    other_key: Ed25519PrivateKey
    feed: ChangeFeed
    seq: int = 0

    def observe(
        self,
        *,
        appliance: str = "app-1",
        key: Ed25519PrivateKey | None = None,
        imsi: str = IMSI,
        iccid: str = ICCID,
        state: str = "home",
        ci: int = 123456,
        age_s: int = 5,
        seq: int | None = None,
    ) -> tuple[int, dict[str, object]]:
        if seq is None:
            self.seq += 1
            seq = self.seq
        report = observation_report(
            appliance,
            Sim(MSISDN, imsi, iccid),
            seq=seq,
            observed_at=int((self.clock.now - timedelta(seconds=age_s)).timestamp()),
            tac=1000,
            ci=ci,
            state=state,
            rat="LTE",
            rsrp=-95.0,
            rsrq=None,
            with_msisdn=False,
            modem=ReportModem(),
        )
        token = sign_observation(report, key or self.appliance_key)
        answer = self.intake.submit(token.encode(), source="192.0.2.10")
        return answer.status, answer.body

    def verify(
        self, statement: str, *, keys: KeySet | None = None, subject: str = DOMAIN
    ) -> VerifiedStatement:
        """Checks ``statement`` as the site's visitor does, bound to SESSION_HASH, at T0
        (against the key ring's keys unless ``keys`` says)."""
        return verify_statement(
            statement,
            keys or KeySet.from_jwks(self.ring.jwks(T0, 3600)),
            issuers=[ISSUER],
            subject=subject,
            session_hash=SESSION_HASH,
            proof=None,
            now=T0,
            max_position_age_s=60,
        )

    def ask(
        self,
        *msids: Msid,
        client_id: str = "web-1",
        password: str | None = PASSWORD,
        session_hash: bytes | None = SESSION_HASH,
        domain: str | None = DOMAIN,
        deadline_s: float = 30.0,
        **slir_fields: object,
    ) -> Slia:
        import time

        request = LocationRequest(
            Header(client=Client(client_id, password)),
            Slir(
                msids=msids,
                domain=domain,
                session_hash=session_hash,
                **slir_fields,  # type: ignore[arg-type]
            ),
        )
        context = RequestContext("192.0.2.20", time.monotonic() + deadline_s)
        # What the change feed's thread does every interval in the server.
        self.feed.catch_up()
        return self.service.answer(request, context)


@pytest.fixture
def world(tmp_path: Path, password_hash: str) -> Iterator[World]:
    clock = Clock()
    settings = load_settings(dev=True, state_dir=tmp_path, issuer=ISSUER)
    store = Store.open(settings.effective_database_url, clock=clock)
    store.migrate()
    ring = KeyRing(settings.keys_dir)
    ring.generate("ES256", now=T0 - timedelta(days=1))
    store.add_client(
        "web-1",
        password_hash,
        networks=ANYWHERE,
        msisdns=[MSISDN],
        imsis=[IMSI],
        domains=[DomainEnrolment(DOMAIN)],
    )
    store.add_client(
        "web-2",
        password_hash,
        networks=ANYWHERE,
        msisdns=[OTHER_MSISDN],
        domains=[DomainEnrolment(OTHER_DOMAIN)],
    )
    appliance_key = enrol_appliance(store, "app-1", Sim(MSISDN, IMSI, ICCID), site="dc-1")
    other_key = enrol_appliance(
        store, "app-2", Sim(OTHER_MSISDN, OTHER_IMSI, OTHER_ICCID), site="dc-2"
    )
    store.upsert_cells([CellRecord("LTE", 228, 1, 1000, 123456, 47.3769, 8.5417, 2500, 40)])
    metrics = GmlcMetrics()
    keys = KeyHolder(ring, grace_period_s=settings.key_grace_period_s, clock=clock)
    keys.load()
    read_model = ReadModel(store, positioning_limits(settings))
    feed = ChangeFeed(store, read_model)
    feed.catch_up()
    read_model.load()
    authenticator: Authenticator[ClientRecord] = Authenticator(
        read_model.client, throttle=FailureThrottle(5, 60), hasher=FAST_HASHER
    )
    service = LocationService(
        store=store,
        settings=settings,
        authenticator=authenticator,
        keys=keys,
        metrics=metrics,
        clock=clock,
        read_model=read_model,
    )
    intake = ObservationIntake(store=store, settings=settings, metrics=metrics, clock=clock)
    try:
        yield World(store, settings, clock, service, intake, ring, appliance_key, other_key, feed)
    finally:
        store.close()


def only(slia: Slia) -> Position | PositionError:
    assert slia.result is None
    assert len(slia.positions) == 1
    return slia.positions[0]


# -- positions and statements ----------------------------------------------------------


def test_position_with_statement(world: World) -> None:
    assert world.observe(age_s=7) == (202, {"accepted": 1})
    position = only(world.ask(Msid(MSISDN)))
    assert isinstance(position, Position)
    assert position.time == T0 - timedelta(seconds=7)  # when measured, not when answered
    assert isinstance(position.shape, CircularArea)
    assert position.shape.radius_m == 2500
    assert position.lev_conf == 68
    assert position.statement is not None

    verified = world.verify(position.statement)
    assert verified.claims.sub == DOMAIN
    (circle,) = verified.circles
    assert circle.max_distance_m(47.3769, 8.5417) == pytest.approx(2500, abs=1)
    assert circle.max_distance_m(47.3769, 8.5417) <= 2600
    assert circle.max_distance_m(47.6, 8.5417) > 5000
    # No SIM identity in what every visitor of the site receives.
    signed = b64url_decode(position.statement.split(".")[1]).decode()
    assert all(identity not in signed for identity in (MSISDN, IMSI, ICCID))
    assert verified.position_time == T0 - timedelta(seconds=7)
    assert verified.expires_at - verified.issued_at == timedelta(seconds=60)

    (statement,) = world.store.list_audit(kind="statement")
    assert statement.client_id == "web-1"
    assert statement.detail["jti"] == verified.claims.jti
    assert statement.detail["kid"] == verified.kid
    assert statement.detail["position"] == {"lat": 47.3769, "lon": 8.5417, "r": 2500}
    (slir,) = world.store.list_audit(kind="slir")
    assert slir.detail["results"] == [0]


def test_statement_jti_is_unique(world: World) -> None:
    world.observe()
    first = only(world.ask(Msid(MSISDN)))
    second = only(world.ask(Msid(MSISDN)))
    assert isinstance(first, Position)
    assert isinstance(second, Position)
    jtis = {entry.detail["jti"] for entry in world.store.list_audit(kind="statement")}
    assert len(jtis) == 2


def test_without_session_hash_a_plain_slia(world: World) -> None:
    world.observe()
    position = only(world.ask(Msid(MSISDN), session_hash=None))
    assert isinstance(position, Position)
    assert position.statement is None
    assert world.store.count_audit("statement") == 0


def test_imsi_target_and_subject(world: World) -> None:
    world.observe()
    position = only(world.ask(Msid(IMSI, MsidType.IMSI)))
    assert isinstance(position, Position)
    (statement,) = world.store.list_audit(kind="statement")
    assert statement.detail["target"] == f"imsi:{IMSI}"


def test_one_pos_per_target_in_order(world: World) -> None:
    world.observe()
    slia = world.ask(Msid(MSISDN), Msid("41790000099"), Msid(IMSI, MsidType.IMSI))
    codes = [ResultCode.OK if isinstance(p, Position) else p.result for p in slia.positions]
    assert codes == [ResultCode.OK, ResultCode.UNKNOWN_SUBSCRIBER, ResultCode.OK]
    (slir,) = world.store.list_audit(kind="slir")
    assert slir.detail["refusals"] == [None, "target_not_authorized", None]
    assert [p.msid.value for p in slia.positions] == [MSISDN, "41790000099", IMSI]


# -- authentication and authorization ----------------------------------------------------


@pytest.mark.parametrize(
    ("client_id", "password"),
    [("web-1", "wrong"), ("nobody", PASSWORD), ("web-1", None), ("", PASSWORD)],
)
def test_bad_credentials_are_unauthorized(
    world: World, client_id: str, password: str | None
) -> None:
    world.observe()
    slia = world.ask(Msid(MSISDN), client_id=client_id, password=password)
    assert slia.result is ResultCode.UNAUTHORIZED_APPLICATION
    assert slia.positions == ()
    assert world.store.count_audit("auth_failure") == 1
    (slir,) = world.store.list_audit(kind="slir")
    assert slir.result == 3


def test_wrong_and_unknown_answers_are_identical(world: World) -> None:
    wrong = world.ask(Msid(MSISDN), client_id="web-1", password="nope")
    unknown = world.ask(Msid(MSISDN), client_id="ghost", password="nope")
    assert wrong == unknown


def test_disabled_client_is_unauthorized(world: World) -> None:
    world.observe()
    world.store.set_client_enabled("web-1", False)
    assert world.ask(Msid(MSISDN)).result is ResultCode.UNAUTHORIZED_APPLICATION


def test_unauthorized_target_looks_exactly_like_a_missing_one(world: World) -> None:
    world.observe()
    world.observe(appliance="app-2", key=world.other_key, imsi=OTHER_IMSI, iccid=OTHER_ICCID)
    hidden = only(world.ask(Msid(OTHER_MSISDN)))  # exists, web-1 may not see it
    missing = only(world.ask(Msid("41790000077")))  # does not exist
    assert isinstance(hidden, PositionError)
    assert isinstance(missing, PositionError)
    assert (hidden.result, hidden.add_info) == (missing.result, missing.add_info)
    assert hidden.result is ResultCode.UNKNOWN_SUBSCRIBER
    # The client authorized for it does get it.
    visible = only(world.ask(Msid(OTHER_MSISDN), client_id="web-2", domain=OTHER_DOMAIN))
    assert isinstance(visible, Position)
    # The operator's audit rows say why; authorization is decided before the target is
    # looked up, so a number the client may not see is that, whether it exists or not.
    rows = world.store.list_audit(kind="slir")
    assert [row.detail.get("refusals") for row in rows] == [
        ["target_not_authorized"],
        ["target_not_authorized"],
        None,
    ]


# -- positioning outcomes ------------------------------------------------------------------


def test_no_observation_yet_is_position_method_failure(world: World) -> None:
    error = only(world.ask(Msid(MSISDN)))
    assert isinstance(error, PositionError)
    assert error.result is ResultCode.POSITION_METHOD_FAILURE


def test_stale_observation_is_position_method_failure(world: World) -> None:
    world.observe()
    world.clock.now = T0 + timedelta(seconds=world.settings.observation_max_age_s + 10)
    error = only(world.ask(Msid(MSISDN)))
    assert isinstance(error, PositionError)
    assert error.result is ResultCode.POSITION_METHOD_FAILURE


def test_max_loc_age_not_met_is_qop_not_attainable(world: World) -> None:
    world.observe(age_s=40)
    error = only(world.ask(Msid(MSISDN), eqop=Eqop(max_loc_age=30)))
    assert isinstance(error, PositionError)
    assert error.result is ResultCode.QOP_NOT_ATTAINABLE
    error = only(world.ask(Msid(MSISDN), eqop=Eqop(hor_acc=100)))
    assert isinstance(error, PositionError)
    assert error.result is ResultCode.QOP_NOT_ATTAINABLE


def test_no_service_is_absent_subscriber(world: World) -> None:
    world.observe(state="searching")
    error = only(world.ask(Msid(MSISDN)))
    assert isinstance(error, PositionError)
    assert error.result is ResultCode.ABSENT_SUBSCRIBER


def test_unknown_cell_is_position_method_failure(world: World) -> None:
    world.observe(ci=7)  # the area has one known cell: area fallback
    position = only(world.ask(Msid(MSISDN)))
    assert isinstance(position, Position)
    assert isinstance(position.shape, CircularArea)
    assert position.shape.radius_m >= world.settings.area_fallback_radius_m


# -- request-level refusals ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "code", "add_info"),
    [
        ({"res_type": ResType.ASYNC}, 113, "res_type"),
        ({"pushaddr": "http://192.0.2.99/hook"}, 107, "pushaddr"),
        ({"loc_type": LocType.INITIAL}, 113, "loc_type"),
    ],
)
def test_unsupported_requests(
    world: World, fields: dict[str, Any], code: int, add_info: str
) -> None:
    slia = world.ask(Msid(MSISDN), **fields)
    assert slia.result == code
    assert slia.add_info == add_info


def test_too_many_targets(world: World) -> None:
    msids = [Msid(f"4179{index:07d}") for index in range(world.settings.max_targets + 1)]
    assert world.ask(*msids).result is ResultCode.TOO_MANY_POSITION_ITEMS


def test_unsupported_msid_type_per_target(world: World) -> None:
    error = only(world.ask(Msid("356938035643809", MsidType.IMEI)))
    assert isinstance(error, PositionError)
    assert error.result is ResultCode.PROTOCOL_ELEMENT_ATTRIBUTE_VALUE_NOT_SUPPORTED


def test_deadline_passed_is_congestion(world: World) -> None:
    world.observe()
    error = only(world.ask(Msid(MSISDN), deadline_s=-1))
    assert isinstance(error, PositionError)
    assert error.result is ResultCode.CONGESTION_IN_LOCATION_SERVER


def test_every_request_is_audited_once(world: World) -> None:
    world.observe()
    world.ask(Msid(MSISDN))
    world.ask(Msid(MSISDN), password="bad")
    world.ask(Msid(MSISDN), res_type=ResType.ASYNC)
    assert world.store.count_audit("slir") == 3


# -- domains, statement modes, coarse positions, statement rate ------------------------------


def signed_claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = json.loads(b64url_decode(token.split(".")[1]))
    return claims


def test_a_target_the_client_may_see_but_no_appliance_holds_is_audited_as_unknown(
    world: World,
) -> None:
    world.store.authorize_client("web-1", msisdns=["41790000055"])
    error = only(world.ask(Msid("41790000055")))
    assert isinstance(error, PositionError)
    assert error.result is ResultCode.UNKNOWN_SUBSCRIBER
    (slir,) = world.store.list_audit(kind="slir")
    assert slir.detail["refusals"] == ["unknown_target"]


def test_a_domain_the_client_does_not_have_looks_like_an_unknown_target(world: World) -> None:
    world.observe()
    missing = only(world.ask(Msid("41790000077")))
    assert isinstance(missing, PositionError)
    # Another client's domain, a domain nobody has, and the same without a session hash.
    for domain, session_hash in (
        (OTHER_DOMAIN, SESSION_HASH),
        ("never.example.net", SESSION_HASH),
        (OTHER_DOMAIN, None),
    ):
        refused = only(world.ask(Msid(MSISDN), domain=domain, session_hash=session_hash))
        assert isinstance(refused, PositionError)
        assert (refused.result, refused.add_info) == (missing.result, missing.add_info)
    assert world.store.count_audit("statement") == 0
    # The operator's audit rows say why each got the answer of an unknown target.
    rows = world.store.list_audit(kind="slir")
    assert [row.detail["refusals"] for row in rows] == [
        ["target_not_authorized"],
        ["domain_not_registered"],
        ["domain_not_registered"],
        ["domain_not_registered"],
    ]


def test_a_session_hash_without_a_domain_is_refused_at_request_level(world: World) -> None:
    world.observe()
    slia = world.ask(Msid(MSISDN), domain=None)
    assert (slia.result, slia.add_info) == (110, "salve:domain is required")
    assert world.store.count_audit("statement") == 0


def test_audit_rows_carry_domain_and_batch_size(world: World) -> None:
    world.observe()
    position = only(world.ask(Msid(MSISDN), batch_size=8))
    assert isinstance(position, Position) and position.statement is not None
    claims = signed_claims(position.statement)
    assert (claims["sub"], claims["bsz"]) == (DOMAIN, 8)
    (slir,) = world.store.list_audit(kind="slir")
    assert (slir.detail["domain"], slir.detail["batch_size"]) == (DOMAIN, 8)
    (statement,) = world.store.list_audit(kind="statement")
    assert (statement.detail["domain"], statement.detail["batch_size"]) == (DOMAIN, 8)


def test_mode_all_states_one_circle_per_sim_of_the_domain(world: World) -> None:
    site = "all.example.com"
    password_hash = world.store.get_client("web-1").password_hash  # type: ignore[union-attr]
    world.store.add_client(
        "web-all",
        password_hash,
        networks=ANYWHERE,
        msisdns=[MSISDN, OTHER_MSISDN],
        imsis=[IMSI],  # the same SIM as MSISDN: counted once
        domains=[DomainEnrolment(site)],
        mode="all",
    )
    world.store.upsert_cells([CellRecord("LTE", 228, 1, 1000, 654321, 46.948, 7.4474, 1800, 40)])
    world.observe(age_s=5)
    not_yet = only(world.ask(Msid(MSISDN), client_id="web-all", domain=site))
    assert isinstance(not_yet, PositionError)
    assert not_yet.result is ResultCode.POSITION_METHOD_FAILURE
    assert not_yet.add_info == "not every SIM of the domain has a position (1 of 2 without one)"

    world.observe(
        appliance="app-2",
        key=world.other_key,
        imsi=OTHER_IMSI,
        iccid=OTHER_ICCID,
        ci=654321,
        age_s=40,
    )
    position = only(world.ask(Msid(MSISDN), client_id="web-all", domain=site))
    assert isinstance(position, Position) and position.statement is not None
    verified = world.verify(position.statement, subject=site)
    assert isinstance(verified.claims.pos, tuple)
    assert {(c.lat, c.lon, c.radius_m) for c in verified.circles} == {
        (47.3769, 8.5417, 2500),
        (46.948, 7.4474, 1800),
    }
    assert verified.position_time == T0 - timedelta(seconds=40)  # the oldest of the two
    assert isinstance(position.shape, CircularArea)
    assert position.shape.radius_m == 2500  # the SLIA keeps the asked target's own circle
    signed = b64url_decode(position.statement.split(".")[1]).decode()
    for identity in (MSISDN, IMSI, ICCID, OTHER_MSISDN, OTHER_IMSI, OTHER_ICCID):
        assert identity not in signed
    (audit,) = world.store.list_audit(kind="statement")
    assert audit.targets == [f"msisdn:{MSISDN}", f"msisdn:{OTHER_MSISDN}"]
    assert audit.detail["mode"] == "all"


def test_coarse_precision_snaps_the_centre_and_widens_the_radius(world: World) -> None:
    world.store.set_statement_options("web-1", mode="one", precision=5000)
    world.observe()
    position = only(world.ask(Msid(MSISDN)))
    assert isinstance(position, Position) and position.statement is not None
    assert isinstance(position.shape, CircularArea)
    (stated,) = [
        circle for circle in [signed_claims(position.statement)["pos"]] if isinstance(circle, dict)
    ]
    centre = position.shape.center
    assert (stated["lat"], stated["lon"], stated["r"]) == (
        centre.lat,
        centre.lon,
        position.shape.radius_m,
    )
    assert (centre.lat, centre.lon) != (47.3769, 8.5417)
    assert stated["r"] % 5000 == 0
    # The true circle (radius 2500 around the cell) lies inside the stated one.
    reach = great_circle_distance_m(47.3769, 8.5417, stated["lat"], stated["lon"]) + 2500
    assert reach <= stated["r"]
    (audit,) = world.store.list_audit(kind="statement")
    assert audit.detail["position"] == {"lat": 47.3769, "lon": 8.5417, "r": 2500}
    assert audit.detail["precision_m"] == 5000


def test_statement_rate_is_capped_per_client(world: World) -> None:
    world.service = LocationService(
        store=world.store,
        settings=world.settings.model_copy(
            update={"statement_burst": 2, "statement_rate_per_s": 0.001}
        ),
        authenticator=world.service._authenticator,
        keys=world.service._keys,
        metrics=GmlcMetrics(),
        clock=world.clock,
        read_model=world.service._model,
    )
    world.observe()
    world.observe(appliance="app-2", key=world.other_key, imsi=OTHER_IMSI, iccid=OTHER_ICCID)
    for _ in range(2):
        assert isinstance(only(world.ask(Msid(MSISDN))), Position)
    refused = world.ask(Msid(MSISDN))
    assert (refused.result, refused.add_info) == (101, "statement rate exceeded")
    # Positions without a statement, and other clients, are not held back.
    assert isinstance(only(world.ask(Msid(MSISDN), session_hash=None)), Position)
    other = only(world.ask(Msid(OTHER_MSISDN), client_id="web-2", domain=OTHER_DOMAIN))
    assert isinstance(other, Position)
    rows = [row for row in world.store.list_audit(kind="slir") if row.result == 101]
    assert [(row.client_id, row.detail["add_info"], row.detail["domain"]) for row in rows] == [
        ("web-1", "statement rate exceeded", DOMAIN)
    ]
    metrics = world.service._metrics.render().decode()
    assert 'salve_gmlc_statement_rate_refusals_total{client="web-1"} 1.0' in metrics


# -- key rotation --------------------------------------------------------------------------


def test_rotation_is_picked_up_and_old_statements_still_verify(world: World) -> None:
    world.observe()
    old = only(world.ask(Msid(MSISDN)))
    assert isinstance(old, Position)
    assert old.statement is not None
    world.ring.rotate("EdDSA", now=T0)
    holder = world.service._keys
    new = only(world.ask(Msid(MSISDN)))
    assert isinstance(new, Position)
    assert new.statement is not None
    keyset = KeySet.from_jwks(holder.jwks())
    kids = set()
    for token in (old.statement, new.statement):
        verified = world.verify(token, keys=keyset)
        kids.add((verified.kid, verified.alg))
    assert len(kids) == 2
    assert {alg for _, alg in kids} == {"ES256", "EdDSA"}


# -- observation intake --------------------------------------------------------------------


def test_replay_is_refused(world: World) -> None:
    assert world.observe(seq=5)[0] == 202
    status, body = world.observe(seq=5)
    assert (status, body["error"]) == (409, "replay")
    status, body = world.observe(seq=4)
    assert (status, body["error"]) == (409, "replay")
    assert world.store.get_appliance("app-1").last_seq == 5  # type: ignore[union-attr]
    # The second replay from the same source is folded into a count, written at the latest
    # when the window ends (here: at shutdown).
    world.intake.flush_refusals(everything=True)
    rejected = list(world.store.list_audit(kind="observation_rejected"))
    assert [(r.detail["reason"], r.detail.get("repeated")) for r in rejected] == [
        ("replay", None),
        ("replay", 1),
    ]


def test_forged_signature_is_refused(world: World) -> None:
    status, body = world.observe(key=Ed25519PrivateKey.generate())
    assert (status, body["error"]) == (401, "bad_signature")
    assert world.store.latest_observation("app-1") is None


def test_unknown_or_disabled_appliance_is_refused(world: World) -> None:
    status, body = world.observe(appliance="ghost")
    assert (status, body["error"]) == (401, "unknown_key")
    world.store.set_appliance_enabled("app-1", False)
    status, body = world.observe()
    assert (status, body["error"]) == (401, "unknown_key")


def test_swapped_sim_raises_the_alarm(world: World, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("ERROR", logger="gmlc.intake"):
        status, body = world.observe(imsi="228010000000000")
    assert (status, body["error"]) == (409, "sim_mismatch")
    (alarm,) = world.store.list_audit(kind="sim_mismatch")
    assert alarm.appliance_id == "app-1"
    assert alarm.detail["fields"] == ["imsi"]
    assert any(r.getMessage() == "sim_mismatch" for r in caplog.records)
    metrics = world.intake._metrics.render().decode()
    assert 'salve_gmlc_sim_mismatch_alarms_total{appliance="app-1"} 1.0' in metrics
    assert world.store.latest_observation("app-1") is None


@pytest.mark.parametrize("age_s", [-31, 301])
def test_time_outside_the_window_is_refused(world: World, age_s: int) -> None:
    status, body = world.observe(age_s=age_s)
    assert (status, body["error"]) == (422, "clock_skew")


@pytest.mark.parametrize(
    "body", [b"", b"not a token", b"\xff\xfe", b"a.b.c", b"eyJhbGciOiJub25lIn0.e30."]
)
def test_malformed_bodies_are_refused(world: World, body: bytes) -> None:
    answer = world.intake.submit(body, source=None)
    assert (answer.status, answer.body["error"]) == (400, "malformed")


def test_oversized_body_is_refused(world: World) -> None:
    answer = world.intake.submit(b"x" * (world.settings.max_observation_bytes + 1), source=None)
    assert (answer.status, answer.body["error"]) == (413, "too_large")


def test_retention_prunes_periodically(tmp_path: Path, world: World) -> None:
    settings = load_settings(
        dev=True,
        state_dir=tmp_path,
        observation_keep_per_appliance=1,
        observation_retention_s=3600,
    )
    intake = ObservationIntake(
        store=world.store,
        settings=settings,
        metrics=GmlcMetrics(),
        clock=world.clock,
        prune_every=3,
    )
    world.intake = intake
    for _ in range(2):
        world.observe()
    world.clock.now = T0 + timedelta(hours=2)
    world.observe()  # third accept: prunes what is older than 1 h beyond the newest one
    kept = world.store.list_observations("app-1")
    assert [o.seq for o in kept] == [3]
    assert world.store.get_appliance("app-1").last_seq == 3  # type: ignore[union-attr]
    assert world.observe(seq=2)[0] == 409  # pruned reports still cannot be replayed


# -- cell cache ----------------------------------------------------------------------------


def test_cell_cache_reuses_answers_until_they_expire() -> None:
    now = [0.0]
    calls: list[object] = []
    cell = CellRecord("LTE", 228, 1, 1000, 1, 47.0, 8.0, 1000, 5)

    def find_cells(keys: Any) -> dict[Any, CellRecord]:
        calls.append(tuple(keys))
        return {k: cell for k in keys if k == cell.key}

    def find_area(*key: Any) -> tuple[float, float, float, int] | None:
        calls.append(key)
        return None

    cache = CellCache(find_cells, find_area, ttl_s=60, monotonic=lambda: now[0])
    missing = ("LTE", 228, 1, 1000, 2)
    assert cache.find_cells([cell.key, missing]) == {cell.key: cell}
    assert cache.find_cells([cell.key, missing]) == {cell.key: cell}
    assert cache.find_area("LTE", 228, 1, 1000) is None
    assert cache.find_area("LTE", 228, 1, 1000) is None
    assert len(calls) == 2  # one cell batch, one area: the rest came from memory
    now[0] = 61.0
    cache.find_cells([cell.key])
    assert len(calls) == 3


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.text(alphabet="abcXYZ019-_.", max_size=300).map(str.encode),
        st.lists(st.text(alphabet="eyJ0123abc_-", max_size=80), min_size=3, max_size=3).map(
            lambda parts: ".".join(parts).encode()
        ),
    )
)
def test_intake_never_stores_junk(world: World, body: bytes) -> None:
    answer = world.intake.submit(body, source=None)
    assert answer.status in (400, 401)
    assert set(answer.body) == {"error", "detail"}
    assert world.store.latest_observation("app-1") is None


# -- the app without a usable state --------------------------------------------------------


def test_app_reports_not_ready_without_schema_and_key(tmp_path: Path) -> None:
    import asyncio

    import httpx

    from gmlc.app import create_app

    settings = load_settings(dev=True, state_dir=tmp_path)
    app = create_app(settings)

    async def scenario() -> None:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gmlc") as client:
                assert (await client.get("/healthz")).json() == {"status": "alive"}
                ready = await client.get("/readyz")
                assert ready.status_code == 503
                problems = " ".join(ready.json()["problems"])
                assert "schema is not current" in problems
                assert "no key ring" in problems
                jwks = await client.get("/.well-known/salve/jwks.json")
                assert jwks.status_code == 503
                assert jwks.json()["error"] == "unavailable"

    asyncio.run(scenario())

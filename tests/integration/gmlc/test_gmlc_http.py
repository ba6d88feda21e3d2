"""The GMLC over HTTP: a real server process on loopback, real clients, every result code.

The server runs ``gmlc.server.serve`` in a subprocess with a temporary state directory;
state is built through the store and the key ring. Requests go through
``mlp.client.MlpClient`` and raw httpx.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt import api_jws

from gmlc.cli import main as cli_main
from gmlc.errors import KeyFileError
from gmlc.server import preflight
from gmlc.settings import load_settings
from mlp import (
    Client,
    Eqop,
    Gem,
    Header,
    LocationRequest,
    Msid,
    MsidRange,
    MsidType,
    Position,
    PositionError,
    ResType,
    ResultCode,
    Slia,
    Slir,
)
from mlp.client import MlpResultError
from mlp.decoder import decode_answer, decode_request
from mlp.encoder import encode_request
from mlp.observation import OBSERVATION_TYP
from mlp.statement import verify_statement

# The GmlcServer object built by conftest.py (not importable from here).
GmlcServer = Any

SESSION_HASH = hashlib.sha256(b"integration session").digest()
DOMAIN = "www.example.com"
ISSUER = "gmlc.integration.test"
# The passwords the fixtures gave the two clients, and the one cell they put in the database.
PASSWORD = "integration-password-1"
OTHER_PASSWORD = "integration-password-2"
KNOWN_LAT, KNOWN_LON, KNOWN_RANGE = 46.9480, 7.4474, 1800

pytestmark = pytest.mark.slow


def request_body(
    *msids: Msid,
    client_id: str = "web-1",
    password: str | None = PASSWORD,
    session_hash: bytes | None = None,
    **slir_fields: object,
) -> bytes:
    return encode_request(
        LocationRequest(
            Header(client=Client(client_id, password)),
            Slir(msids=msids, session_hash=session_hash, **slir_fields),  # type: ignore[arg-type]
        )
    )


def post_mlp(
    server: GmlcServer,
    body: bytes,
    *,
    path: str = "/mlp",
    content_type: str = "application/xml",
) -> httpx.Response:
    response: httpx.Response = server.post(path, body, {"Content-Type": content_type})
    return response


def answer_of(response: httpx.Response) -> Slia | Gem:
    return decode_answer(response.content)


def single(response: httpx.Response) -> Position | PositionError:
    assert response.status_code == 200
    slia = answer_of(response)
    assert isinstance(slia, Slia)
    assert slia.result is None, (slia.result, slia.add_info)
    assert len(slia.positions) == 1
    return slia.positions[0]


def audit_count(server: GmlcServer, kind: str | None = None) -> int:
    with server.store() as store:
        count: int = store.count_audit(kind)
    return count


# -- successful answers ----------------------------------------------------------------------


def test_statement_through_the_mlp_client(gmlc_server: GmlcServer) -> None:
    target = gmlc_server.targets["ok"]
    with gmlc_server.client("web-1", PASSWORD) as client:
        result = client.request_location(target.msisdn, SESSION_HASH, domain=DOMAIN)
        keys = client.fetch_jwks()
    assert result.statement is not None
    now = datetime.now(UTC)
    verified = verify_statement(
        result.statement,
        keys,
        issuers=[ISSUER],
        subject=DOMAIN,
        session_hash=SESSION_HASH,
        proof=None,
        now=now,
        max_position_age_s=300,
    )
    assert verified.claims.sub == DOMAIN
    (circle,) = verified.circles
    assert circle.max_distance_m(KNOWN_LAT, KNOWN_LON) <= KNOWN_RANGE + 1
    # pd/time is when the modem was read, which the statement's lt repeats.
    assert result.position.time == verified.position_time
    assert result.position.time < now


def test_imsi_target_and_plain_answer_without_session_hash(gmlc_server: GmlcServer) -> None:
    target = gmlc_server.targets["ok"]
    with gmlc_server.client("web-1", PASSWORD) as client:
        by_imsi = client.request_location(Msid(target.imsi, MsidType.IMSI))
    assert by_imsi.statement is None
    assert by_imsi.position.lev_conf == 68


def test_location_query_service_path_and_any_content_type(gmlc_server: GmlcServer) -> None:
    body = request_body(Msid(gmlc_server.targets["ok"].msisdn))
    for path in ("/LocationQueryService/", "/LocationQueryService"):
        response = post_mlp(
            gmlc_server, body, path=path, content_type="application/x-www-form-urlencoded"
        )
        assert isinstance(single(response), Position)


# -- result codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "client_id", "password", "eqop", "expected"),
    [
        ("hidden", "web-1", PASSWORD, None, ResultCode.UNKNOWN_SUBSCRIBER),
        ("absent", "web-1", PASSWORD, None, ResultCode.ABSENT_SUBSCRIBER),
        ("unknown_cell", "web-1", PASSWORD, None, ResultCode.POSITION_METHOD_FAILURE),
        ("silent", "web-1", PASSWORD, None, ResultCode.POSITION_METHOD_FAILURE),
        ("ok", "web-1", PASSWORD, Eqop(hor_acc=10), ResultCode.QOP_NOT_ATTAINABLE),
    ],
)
def test_per_target_result_codes(
    gmlc_server: GmlcServer,
    target: str,
    client_id: str,
    password: str,
    eqop: Eqop | None,
    expected: ResultCode,
) -> None:
    msid = Msid(gmlc_server.targets[target].msisdn)
    entry = single(post_mlp(gmlc_server, request_body(msid, eqop=eqop)))
    assert isinstance(entry, PositionError)
    assert entry.result is expected


def test_unauthorized_target_and_missing_target_read_the_same(gmlc_server: GmlcServer) -> None:
    hidden = post_mlp(gmlc_server, request_body(Msid(gmlc_server.targets["hidden"].msisdn)))
    missing = post_mlp(
        gmlc_server, request_body(Msid(gmlc_server.targets["hidden"].msisdn[:-1] + "9"))
    )
    hidden_entry, missing_entry = single(hidden), single(missing)
    assert isinstance(hidden_entry, PositionError)
    assert isinstance(missing_entry, PositionError)
    assert hidden_entry.result == missing_entry.result == ResultCode.UNKNOWN_SUBSCRIBER
    assert hidden_entry.add_info == missing_entry.add_info
    # The client that is authorized for it gets the position.
    with gmlc_server.client("web-2", OTHER_PASSWORD) as client:
        assert client.request_location(gmlc_server.targets["hidden"].msisdn).position


def test_wrong_password_and_unknown_client_get_identical_answers(gmlc_server: GmlcServer) -> None:
    msid = Msid(gmlc_server.targets["ok"].msisdn)
    before = audit_count(gmlc_server, "auth_failure")
    wrong = post_mlp(gmlc_server, request_body(msid, password="not-the-password"))
    unknown = post_mlp(gmlc_server, request_body(msid, client_id="nobody"))
    assert wrong.status_code == unknown.status_code == 200
    assert wrong.content == unknown.content
    answer = answer_of(wrong)
    assert isinstance(answer, Slia)
    assert answer.result is ResultCode.UNAUTHORIZED_APPLICATION
    assert audit_count(gmlc_server, "auth_failure") == before + 2
    with (
        gmlc_server.client("web-1", "bad") as client,
        pytest.raises(MlpResultError) as caught,
    ):
        client.request_location(msid)
    assert caught.value.result_code is ResultCode.UNAUTHORIZED_APPLICATION


def _too_many() -> bytes:
    return request_body(*(Msid(f"4179200{index:04d}") for index in range(21)))


def _bad_range() -> bytes:
    # The encoder refuses to write a backwards range, so turn a valid one around.
    body = request_body(msid_ranges=(MsidRange(Msid("41790000001"), Msid("41790000009")),))
    return (
        body.replace(b">41790000001<", b">TMP<")
        .replace(b">41790000009<", b">41790000001<")
        .replace(b">TMP<", b">41790000009<")
    )


def _with_bad_session_hash() -> bytes:
    body = request_body(Msid("41791000001"), session_hash=SESSION_HASH)
    encoded = body.split(b"<salve:session_hash")[1].split(b">")[1].split(b"<")[0]
    return body.replace(encoded, b"!!notbase64!!")


@pytest.mark.parametrize(
    ("body", "expected", "status"),
    [
        (_too_many(), ResultCode.TOO_MANY_POSITION_ITEMS, 200),
        (_with_bad_session_hash(), ResultCode.FORMAT_ERROR, 200),
        (b"<svc_init", ResultCode.SYNTAX_ERROR, 200),
        (b"<svc_init ver='4.0.0'/>", ResultCode.UNSUPPORTED_VERSION, 200),
        (_bad_range(), ResultCode.INVALID_PROTOCOL_ELEMENT_VALUE, 200),
        (
            request_body(Msid("41791000001")).replace(b'type="MSISDN"', b'type="PHONE"'),
            ResultCode.INVALID_PROTOCOL_ELEMENT_ATTRIBUTE_VALUE,
            200,
        ),
        (request_body(Msid("41791000001"), res_type=ResType.ASYNC), 113, 200),
        (request_body(Msid("41791000001"), pushaddr="http://192.0.2.1/x"), 107, 200),
        (b"<tlrr ver='3.2.0'/>", ResultCode.SERVICE_NOT_SUPPORTED, 404),
    ],
    ids=["104", "105", "106", "103", "110", "111", "113-async", "107-pushaddr", "108-gem"],
)
def test_request_level_result_codes(
    gmlc_server: GmlcServer, body: bytes, expected: int, status: int
) -> None:
    before = audit_count(gmlc_server, "slir")
    response = post_mlp(gmlc_server, body)
    assert response.status_code == status
    answer = answer_of(response)
    assert answer.result == expected
    if status == 404:
        assert isinstance(answer, Gem)
    else:
        assert isinstance(answer, Slia)
        assert answer.positions == ()
    assert audit_count(gmlc_server, "slir") == before + 1


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE svc_init [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<svc_init ver="3.2.0"><hdr><client><id>&d;</id><pwd>x</pwd></client></hdr>
<slir ver="3.2.0"><msids><msid>41791000001</msid></msids></slir></svc_init>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE svc_init [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<svc_init ver="3.2.0"><hdr><client><id>web-1</id><pwd>&secret;</pwd></client></hdr>
<slir ver="3.2.0"><msids><msid>41791000001</msid></msids></slir></svc_init>"""


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback TCP port that records anything that connects to it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.05)
    seen: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                seen.append(conn.recv(1024))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], seen
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


def test_hostile_xml_is_refused_and_changes_nothing(
    gmlc_server: GmlcServer, listener: tuple[int, list[bytes]]
) -> None:
    port, seen = listener
    external = (
        f'<?xml version="1.0"?><!DOCTYPE svc_init SYSTEM "http://127.0.0.1:{port}/x.dtd">'
    ).encode() + XXE.split(b"]>", 1)[1].replace(b"&secret;", b"pw")
    external_param = (
        f'<?xml version="1.0"?><!DOCTYPE svc_init [<!ENTITY % p SYSTEM '
        f'"http://127.0.0.1:{port}/p.dtd"> %p;]>'
    ).encode() + XXE.split(b"]>", 1)[1].replace(b"&secret;", b"pw")
    for body in (BILLION_LAUGHS, XXE, external, external_param):
        try:
            decode_request(body)
            expected: int = ResultCode.UNAUTHORIZED_APPLICATION  # decodes: then auth decides
        except Exception as exc:  # the codec's own verdict
            expected = exc.result_code  # type: ignore[attr-defined]
        before_all, before_slir = audit_count(gmlc_server), audit_count(gmlc_server, "slir")
        response = post_mlp(gmlc_server, body)
        assert response.status_code == 200
        answer = answer_of(response)
        assert isinstance(answer, Slia)
        assert answer.result == expected
        assert b"root:" not in response.content
        after_slir = audit_count(gmlc_server, "slir")
        assert after_slir == before_slir + 1
        # Only the request's own audit entry (plus an auth failure if it got that far).
        allowed = 2 if expected == ResultCode.UNAUTHORIZED_APPLICATION else 1
        assert audit_count(gmlc_server) - before_all <= allowed
    assert seen == []  # nothing was fetched from the network


@pytest.mark.parametrize(
    ("declaration", "eqop", "without_the_check"),
    [
        ('<!ATTLIST slir res_type CDATA "ASYNC">', None, "113: an asynchronous request"),
        ('<!ATTLIST eqop xmlns CDATA "urn:x">', Eqop(hor_acc=10), "a position instead of 201"),
    ],
    ids=["res_type-default", "xmlns-default-hides-qop"],
)
def test_attribute_defaults_behind_a_multiline_doctype_are_refused(
    gmlc_server: GmlcServer, declaration: str, eqop: Eqop | None, without_the_check: str
) -> None:
    # A newline inside the SYSTEM literal (legal XML) used to end the serialized first
    # line before the "[", so the subset went unnoticed and its defaults applied.
    body = request_body(Msid(gmlc_server.targets["ok"].msisdn), eqop=eqop).replace(
        b'<!DOCTYPE svc_init SYSTEM "MLP_SVC_INIT_320.DTD">',
        f'<!DOCTYPE svc_init SYSTEM "MLP_SVC\n_INIT_320.DTD" [{declaration}]>'.encode(),
    )
    before = audit_count(gmlc_server, "slir")
    answer = answer_of(post_mlp(gmlc_server, body))
    assert isinstance(answer, Slia), without_the_check
    assert answer.result is ResultCode.SYNTAX_ERROR, without_the_check
    assert answer.add_info == "DOCTYPE internal subset not accepted"
    assert audit_count(gmlc_server, "slir") == before + 1


def test_oversized_mlp_body_is_refused_without_buffering(gmlc_server: GmlcServer) -> None:
    huge = b"<svc_init>" + b" " * 200_000 + b"</svc_init>"
    answer = answer_of(post_mlp(gmlc_server, huge))
    assert isinstance(answer, Slia)
    assert answer.result is ResultCode.SYNTAX_ERROR

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap applies while reading
        for _ in range(100):
            yield b" " * 4096

    response = gmlc_server.post("/mlp", chunks())
    answer = answer_of(response)
    assert isinstance(answer, Slia)
    assert answer.result is ResultCode.SYNTAX_ERROR


def test_over_tls_a_client_sending_5_mib_anyway_reads_the_413(gmlc_server: GmlcServer) -> None:
    # TLS has no half-close: the server keeps reading and dropping the body, then closes.
    size = 5 * 1024 * 1024
    head = (
        f"POST /mlp HTTP/1.1\r\nHost: gmlc\r\nConnection: close\r\nContent-Length: {size}\r\n\r\n"
    ).encode()
    context: ssl.SSLContext = gmlc_server.verify
    with (
        socket.create_connection(("127.0.0.1", gmlc_server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
    ):
        sock.sendall(head + b" " * size)
        received = b""
        while b"</svc_result>" not in received:
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
    assert received.startswith(b"HTTP/1.1 413 ")
    answer = decode_answer(received.partition(b"\r\n\r\n")[2])
    assert isinstance(answer, Slia) and answer.result is ResultCode.SYNTAX_ERROR


# -- observations --------------------------------------------------------------------------


def test_observation_replay_forgery_and_limits(gmlc_server: GmlcServer) -> None:
    server = gmlc_server
    token = server.token("ok")
    accepted = server.post_observation(token)
    assert accepted.status_code == 202
    assert accepted.json() == {"accepted": server.seq["ok"]}

    replay = server.post_observation(token)
    assert replay.status_code == 409
    assert replay.json()["error"] == "replay"

    forged = sign_with_other_key(server)
    assert server.post_observation(forged).status_code == 401
    assert server.post_observation(forged).json()["error"] == "bad_signature"

    oversized = server.post_observation(b"e" * 20_000)
    assert (oversized.status_code, oversized.json()["error"]) == (413, "too_large")

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"e" * 4096

    streamed = server.post("/v1/observations", chunks())
    assert streamed.status_code == 413

    garbage = server.post_observation(b"{not a jws}")
    assert (garbage.status_code, garbage.json()["error"]) == (400, "malformed")

    with server.store() as store:
        reasons = [r.detail["reason"] for r in store.list_audit(kind="observation_rejected")]
    assert {"replay", "bad_signature", "too_large", "malformed"} <= set(reasons)


@pytest.mark.parametrize(
    ("path", "value"),
    [(("observed_at",), 2**53 - 1), (("serving", "rsrp"), -1e300), (("serving", "ci"), 2**40)],
    ids=["observed_at-2^53-1", "rsrp-overflows-its-square", "ci-wider-than-36-bits"],
)
def test_validly_signed_claim_out_of_range_gets_422(
    gmlc_server: GmlcServer, path: tuple[str, ...], value: float
) -> None:
    server = gmlc_server
    claims = server.report("ok").to_claims()
    holder = claims
    for name in path[:-1]:
        holder = holder[name]
    holder[path[-1]] = value
    token = api_jws.encode(
        json.dumps(claims).encode(),
        server.targets["ok"].key,
        algorithm="EdDSA",
        headers={"kid": server.targets["ok"].appliance_id, "typ": OBSERVATION_TYP},
    )
    counted = 'salve_gmlc_observations_total{outcome="out_of_range"}'
    before = _metric(server.metrics(), counted)
    response = server.post_observation(token)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "out_of_range"
    assert path[-1] in response.json()["detail"]
    assert _metric(server.metrics(), counted) == before + 1
    with server.store() as store:
        reasons = [r.detail["reason"] for r in store.list_audit(kind="observation_rejected")]
    assert "out_of_range" in reasons  # audited (repeats from one source are folded)


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def sign_with_other_key(server: GmlcServer) -> str:
    from mlp.observation import sign_observation

    return sign_observation(server.report("ok"), Ed25519PrivateKey.generate())


def test_swapped_sim_raises_an_alarm(gmlc_server: GmlcServer) -> None:
    server = gmlc_server
    before = audit_count(server, "sim_mismatch")
    response = server.post_observation(server.token("unknown_cell", imsi="228019999999999"))
    assert (response.status_code, response.json()["error"]) == (409, "sim_mismatch")
    assert audit_count(server, "sim_mismatch") == before + 1
    metrics = server.metrics()
    assert 'salve_gmlc_sim_mismatch_alarms_total{appliance="appliance-unknown_cell"}' in metrics
    server.wait_for(lambda: '"sim_mismatch"' in server.log(), what="the alarm in the log")
    alarm = next(line for line in server.log().splitlines() if '"event":"sim_mismatch"' in line)
    assert '"level":"ERROR"' in alarm


# -- keys ----------------------------------------------------------------------------------


def test_key_rotation_keeps_old_statements_verifiable(gmlc_server: GmlcServer) -> None:
    msisdn = gmlc_server.targets["ok"].msisdn
    with gmlc_server.client("web-1", PASSWORD) as client:
        old = client.request_location(msisdn, SESSION_HASH, domain=DOMAIN)
        assert old.statement is not None
        old_kid = verify_statement(
            old.statement,
            client.fetch_jwks(),
            issuers=[ISSUER],
            subject=DOMAIN,
            session_hash=SESSION_HASH,
            proof=None,
            now=datetime.now(UTC),
            max_position_age_s=300,
        ).kid
        new_info = gmlc_server.ring().rotate("EdDSA")
        latest: list[str] = []

        def signed_with_new_key() -> bool:
            result = client.request_location(msisdn, SESSION_HASH, domain=DOMAIN)
            assert result.statement is not None
            latest[:] = [result.statement]
            return new_info.kid in _kid_of(result.statement)

        gmlc_server.wait_for(
            signed_with_new_key, timeout=15, what="statements signed with the new key"
        )
        keys = client.fetch_jwks()
    assert set(keys.kids) >= {old_kid, new_info.kid}
    for token in (old.statement, latest[0]):
        verify_statement(
            token,
            keys,
            issuers=[ISSUER],
            subject=DOMAIN,
            session_hash=SESSION_HASH,
            proof=None,
            now=datetime.now(UTC),
            max_position_age_s=300,
        )


def test_revoked_key_signs_nothing_more_and_leaves_the_jwks_at_once(
    gmlc_server: GmlcServer,
) -> None:
    msisdn = gmlc_server.targets["ok"].msisdn
    with gmlc_server.client("web-1", PASSWORD) as client:
        before = client.request_location(msisdn, SESSION_HASH, domain=DOMAIN)
        assert before.statement is not None
        revoked_kid = _kid_of(before.statement)
        revoked = gmlc_server.ring().revoke(revoked_kid)
        # No waiting: the very next statement and the very next JWKS already reflect it.
        after = client.request_location(msisdn, SESSION_HASH, domain=DOMAIN)
        published = gmlc_server.get("/.well-known/salve/jwks.json").json()["keys"]
    assert after.statement is not None
    assert _kid_of(after.statement) != revoked_kid
    assert revoked_kid not in [key["kid"] for key in published]
    assert _kid_of(after.statement) in [key["kid"] for key in published]
    assert revoked.until is not None and revoked.until >= int(time.time()) - 60


def _kid_of(token: str) -> str:
    import base64

    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


# -- operations ----------------------------------------------------------------------------


def test_health_readiness_and_metrics(gmlc_server: GmlcServer) -> None:
    assert gmlc_server.get("/healthz").json() == {"status": "alive"}
    assert gmlc_server.get("/readyz").json() == {"status": "ready"}
    post_mlp(gmlc_server, request_body(Msid(gmlc_server.targets["ok"].msisdn)))
    metrics = gmlc_server.metrics()
    assert 'salve_gmlc_mlp_answers_total{level="target",result="0"}' in metrics
    assert "salve_gmlc_mlp_request_seconds_bucket" in metrics
    assert 'salve_gmlc_observation_age_seconds{appliance="appliance-ok"}' in metrics
    # Logs are JSON lines.

    for line in gmlc_server.log().splitlines():
        if line.startswith("{"):
            assert "event" in json.loads(line)


def test_appliance_show_places_the_sim_and_lists_its_statements(
    gmlc_server: GmlcServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = gmlc_server.targets["ok"]
    with gmlc_server.client("web-1", PASSWORD) as client:
        result = client.request_location(target.msisdn, SESSION_HASH, domain=DOMAIN)
    assert result.statement is not None
    issued = jwt.decode(result.statement, options={"verify_signature": False})
    for name in list(os.environ):
        if name.startswith("SALVE_GMLC_"):
            monkeypatch.delenv(name)
    config = str(gmlc_server.state_dir.parent / "gmlc.toml")

    def show(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli_main(["--config", config, "appliance", "show", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, err = show(target.appliance_id, "--json")
    assert code == 0, err
    view = json.loads(out)
    assert view["observation"]["registration"] == "home"
    assert 0 <= view["observation"]["age_s"] < 300
    # The position shown is the one the GMLC stated, and the newest statement is this one.
    newest = view["statements"][0]
    assert newest["jti"] == issued["jti"]
    assert (newest["client_id"], newest["domain"]) == ("web-1", DOMAIN)
    (stated,) = newest["stated"]
    position = view["position"]
    assert (position["lat"], position["lon"], position["radius_m"]) == (
        stated["lat"],
        stated["lon"],
        stated["r"],
    )
    assert position["method"] == "CELL" and view["no_position"] is None
    sims = {f"imsi:{target.imsi}", f"msisdn:{target.msisdn}"}
    assert all(sims.intersection([s["target"]]) for s in view["statements"])

    code, out, _ = show(target.appliance_id, "--statements", "1")
    assert code == 0
    assert f"Position: {position['lat']:.7f}, {position['lon']:.7f} within" in out
    assert issued["jti"] in out and out.count(DOMAIN) == 1

    code, out, _ = show(gmlc_server.targets["absent"].appliance_id, "--json")
    assert json.loads(out)["no_position"] == {
        "result": 5,
        "reason": "the target has no network service",
    }
    code, _, err = show("ghost")
    assert code == 3 and err.strip() == "salve-gmlc: appliance 'ghost' does not exist"


def test_concurrent_clients_lose_no_audit_entries(gmlc_server: GmlcServer) -> None:
    msisdn = gmlc_server.targets["ok"].msisdn
    before_slir = audit_count(gmlc_server, "slir")
    before_statements = audit_count(gmlc_server, "statement")
    per_worker, workers = 6, 8

    def work(index: int) -> int:
        successes = 0
        with gmlc_server.client("web-1", PASSWORD) as client:
            for _ in range(per_worker):
                session = hashlib.sha256(f"{index}-{successes}".encode()).digest()
                result = client.request_location(msisdn, session, domain=DOMAIN)
                successes += result.statement is not None
        return successes

    with ThreadPoolExecutor(workers) as pool:
        total = sum(pool.map(work, range(workers)))
    assert total == per_worker * workers
    assert audit_count(gmlc_server, "slir") == before_slir + total
    assert audit_count(gmlc_server, "statement") == before_statements + total


# -- servers with other settings ------------------------------------------------------------


def test_overload_deadline_and_throttle(start_gmlc: Callable[..., GmlcServer]) -> None:
    server = start_gmlc(max_concurrent_requests=1, request_deadline_s=1.5, auth_failure_limit=3)
    msid = Msid(server.targets["ok"].msisdn)
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
        slow.sendall(b"POST /mlp HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<svc_init")
        server.wait_for(
            lambda: "salve_gmlc_mlp_requests_in_flight 1.0" in server.metrics(),
            what="the slow request to be in flight",
        )
        busy = answer_of(post_mlp(server, request_body(msid)))
        assert isinstance(busy, Slia)
        assert busy.result is ResultCode.CONGESTION_IN_LOCATION_SERVER
        reply = b""
        while b"</svc_result>" not in reply:
            chunk = slow.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert b'resid="101"' in reply  # the slow body missed the deadline
    server.wait_for(lambda: audit_count(server, "slir") == 2, what="both 101 answers audited")

    for _ in range(3):
        post_mlp(server, request_body(msid, password="guess"))
    throttled = answer_of(post_mlp(server, request_body(msid)))
    assert isinstance(throttled, Slia)
    assert throttled.result is ResultCode.UNAUTHORIZED_APPLICATION
    with server.store() as store:
        reasons = [r.detail["reason"] for r in store.list_audit(kind="auth_failure")]
    assert reasons[-1] == "throttled_source"


def test_key_file_readable_by_others_stops_the_start(gmlc_state: tuple[Path, str]) -> None:
    state_dir, database_url = gmlc_state
    settings = load_settings(
        issuer="gmlc.integration.test", state_dir=state_dir, database_url=database_url
    )
    preflight(settings)  # the prepared state is fine
    (pem,) = (state_dir / "keys").glob("*.pem")
    pem.chmod(0o644)
    with pytest.raises(KeyFileError, match=f"chmod 600 {pem}"):
        preflight(settings)


def test_tls_listener(gmlc_server: GmlcServer) -> None:
    assert gmlc_server.url.startswith("https://")
    assert gmlc_server.get("/healthz").status_code == 200
    plain = gmlc_server.url.replace("https://", "http://")
    with pytest.raises(httpx.HTTPError):
        httpx.get(plain + "/healthz", timeout=5)
    with pytest.raises(httpx.HTTPError):  # and the certificate is checked
        httpx.get(gmlc_server.url + "/healthz", timeout=5)

"""Decoding requests: the values that come out, limits, and service detection."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from mlp import (
    Client,
    Eqop,
    GeoInfo,
    LocType,
    MlpDecodeError,
    MlpUnknownServiceError,
    Msid,
    MsidType,
    Prio,
    Requestor,
    RespReq,
    ResType,
    ResultCode,
    Subclient,
    decode_request,
)

VALID = Path(__file__).resolve().parents[2] / "data" / "mlp" / "valid"


def load(name: str) -> bytes:
    return (VALID / name).read_bytes()


def slir_with(inner: str, *, ver: str = "3.2.0") -> bytes:
    return (
        f'<svc_init ver="{ver}"><hdr><client><id>c</id><pwd>p</pwd></client></hdr>'
        f"<slir>{inner}</slir></svc_init>"
    ).encode()


def test_minimal_request_values() -> None:
    request = decode_request(load("slir_minimal_32.xml"))
    assert request.header.client == Client(id="acme", pwd="s3cret", serviceid="0005")
    assert request.header.ver == "3.2.0"
    assert request.slir.msids == (Msid("46701234567"),)
    assert request.slir.eqop == Eqop(resp_req=RespReq.LOW_DELAY, hor_acc=500)
    assert request.slir.loc_type is LocType.CURRENT_OR_LAST
    assert request.slir.res_type is ResType.SYNC
    assert request.slir.session_hash is None
    assert request.targets() == (Msid("46701234567"),)


def test_every_msid_type_and_range() -> None:
    request = decode_request(load("slir_every_msid_type.xml"))
    types = [msid.type for msid in request.slir.msids]
    assert types == [
        MsidType.MSISDN,
        MsidType.IMSI,
        MsidType.IMEI,
        MsidType.MIN,
        MsidType.MDN,
        MsidType.EME_MSID,
        MsidType.ASID,
        MsidType.OPE_ID,
        MsidType.IPV4,
        MsidType.IPV6,
        MsidType.SESSID,
        MsidType.SIP_URI,
        MsidType.TEL_URL,
        MsidType.NAI,
        MsidType.URI,
        MsidType.VENUE_ID,
        MsidType.LOCATION_ID,
    ]
    # The leading "+" of an MSISDN is not part of the number.
    assert request.slir.msids[0].value == "46701234567"
    assert request.slir.msids[11].value == "sip:alice@example.com"
    assert request.slir.codewords == ("cw-1",)
    (msid_range,) = request.slir.msid_ranges
    assert len(msid_range) == 4
    targets = request.targets()
    assert len(targets) == 17 + 4
    assert [msid.value for msid in targets[-4:]] == [
        "46700000010",
        "46700000011",
        "46700000012",
        "46700000013",
    ]


def test_full_options() -> None:
    request = decode_request(load("slir_full_options_async.xml"))
    header = request.header
    assert header.client == Client("full", "pw", "0100", "ACTIVE")
    assert header.subclient == (
        Subclient("reseller", "rp", "7", last_client=False),
        Subclient("asp", last_client=True),
    )
    assert header.requestor == "46709999999"
    assert header.requestor_detail == Requestor("46709999999", "0100", "MSISDN")
    slir = request.slir
    assert slir.res_type is ResType.ASYNC
    assert slir.pushaddr == "https://client.example/mlp/reports"
    assert slir.req_id == "ref-0042"
    assert slir.eqop == Eqop(
        resp_req=RespReq.DELAY_TOL,
        resp_timer=30,
        hor_acc=100,
        alt_acc=50,
        max_loc_age=120,
        qos_class="BEST_EFFORT",
    )
    assert slir.geo_info == GeoInfo(4326, "EPSG", "6.1")
    assert slir.loc_type is LocType.LAST_OR_CURRENT
    assert slir.prio is Prio.NORMAL
    assert slir.session_hash == bytes.fromhex(
        "abcdef1234567890abcdef1234567890abcdef1234567890abcdef1234567890"
    )


def test_liberal_forms() -> None:
    reordered = decode_request(load("slir_reordered_lowercase.xml"))
    assert reordered.slir.res_type is ResType.SYNC
    assert reordered.slir.loc_type is LocType.CURRENT
    assert reordered.slir.prio is Prio.HIGH
    assert reordered.slir.msids == (Msid("228011234567890", MsidType.IMSI),)
    assert reordered.slir.eqop == Eqop(resp_req=RespReq.LOW_DELAY, hor_acc=1000, max_loc_age=60)

    namespaced = decode_request(load("slir_default_namespace.xml"))
    assert namespaced.header.client is not None
    assert namespaced.header.client.id == "restcomm-style"
    assert namespaced.header.ver == "3.1.0"

    latin1 = decode_request(load("slir_iso_8859_1_lif.xml"))
    assert latin1.header.client == Client("Société", "möt")

    session = decode_request(load("slir_sessionid_31_no_doctype.xml"))
    assert session.header.client is None
    assert session.header.sessionid == "7f3a-19"

    form_b = decode_request(load("slir_public_doctype_form_b.xml"))
    assert form_b.slir.msids == (Msid("46701234567"),)
    assert form_b.slir.req_id == "8812"

    v34 = decode_request(load("slir_34_doctype_comments.xml"))
    assert v34.slir.eqop == Eqop(resp_req=RespReq.DELAY_TOL, ll_acc=2.5, qos_class="ASSURED")
    assert v34.slir.loc_type is LocType.CURRENT
    assert v34.slir.codewords == ("secret-word",)


def test_extensions_are_ignored_but_session_hash_is_read() -> None:
    request = decode_request(load("slir_extensions_ignored.xml"))
    assert request.slir.ver == "3.5.0"
    assert request.slir.msids == (Msid("46701234567"),)
    assert request.slir.session_hash == bytes(range(32))


@pytest.mark.parametrize("padding", ["", "="])
def test_session_hash_padding_is_optional(padding: str) -> None:
    encoded = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode() + padding
    body = slir_with(
        "<msids><msid>46701234567</msid></msids>"
        f'<s:session_hash xmlns:s="urn:salve:mlp:1"> {encoded} </s:session_hash>'
    )
    assert decode_request(body).slir.session_hash == bytes(range(32))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A",  # 44 chars: 33 bytes
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9",  # non-canonical last character
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx wdHh8",
        "00" * 32,
    ],
)
def test_bad_session_hash_is_105(value: str) -> None:
    body = slir_with(
        "<msids><msid>46701234567</msid></msids>"
        f'<salve:session_hash xmlns:salve="urn:salve:mlp:1">{value}</salve:session_hash>'
    )
    with pytest.raises(MlpDecodeError) as caught:
        decode_request(body)
    assert caught.value.result_code is ResultCode.FORMAT_ERROR
    assert "salve:session_hash" in caught.value.add_info


SESSION_HASH_TEXT = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()


def test_salve_domain_and_batch_size_are_read() -> None:
    body = slir_with(
        "<msids><msid>46701234567</msid></msids>"
        '<salve:domain xmlns:salve="urn:salve:mlp:1"> www.example.com </salve:domain>'
        '<salve:session_hash xmlns:salve="urn:salve:mlp:1">'
        f"{SESSION_HASH_TEXT}</salve:session_hash>"
        '<salve:batch_size xmlns:salve="urn:salve:mlp:1">65536</salve:batch_size>'
    )
    slir = decode_request(body).slir
    assert (slir.domain, slir.batch_size) == ("www.example.com", 65536)


@pytest.mark.parametrize(
    ("extension", "where"),
    [
        ('<salve:domain xmlns:salve="urn:salve:mlp:1">WWW.example.com</salve:domain>', "domain"),
        ('<salve:domain xmlns:salve="urn:salve:mlp:1">www.example.com.</salve:domain>', "domain"),
        (
            '<salve:domain xmlns:salve="urn:salve:mlp:1">www.example.com:443</salve:domain>',
            "domain",
        ),
        ('<salve:domain xmlns:salve="urn:salve:mlp:1"></salve:domain>', "domain"),
        (
            f'<salve:session_hash xmlns:salve="urn:salve:mlp:1">{SESSION_HASH_TEXT}'
            '</salve:session_hash><salve:batch_size xmlns:salve="urn:salve:mlp:1">0'
            "</salve:batch_size>",
            "batch_size",
        ),
        (
            f'<salve:session_hash xmlns:salve="urn:salve:mlp:1">{SESSION_HASH_TEXT}'
            '</salve:session_hash><salve:batch_size xmlns:salve="urn:salve:mlp:1">65537'
            "</salve:batch_size>",
            "batch_size",
        ),
        (
            f'<salve:session_hash xmlns:salve="urn:salve:mlp:1">{SESSION_HASH_TEXT}'
            '</salve:session_hash><salve:batch_size xmlns:salve="urn:salve:mlp:1">012'
            "</salve:batch_size>",
            "batch_size",
        ),
        ('<salve:batch_size xmlns:salve="urn:salve:mlp:1">2</salve:batch_size>', "batch_size"),
    ],
)
def test_bad_salve_extensions_are_110(extension: str, where: str) -> None:
    body = slir_with("<msids><msid>46701234567</msid></msids>" + extension)
    with pytest.raises(MlpDecodeError) as caught:
        decode_request(body)
    assert caught.value.result_code is ResultCode.INVALID_PROTOCOL_ELEMENT_VALUE
    assert f"salve:{where}" in caught.value.add_info


def test_target_limit_counts_msids_and_ranges() -> None:
    hundred = "".join(f"<msid>4670000{n:04d}</msid>" for n in range(100))
    assert len(decode_request(slir_with(f"<msids>{hundred}</msids>")).targets()) == 100
    with pytest.raises(MlpDecodeError) as caught:
        decode_request(slir_with(f"<msids>{hundred}<msid>46712345678</msid></msids>"))
    assert caught.value.result_code is ResultCode.TOO_MANY_POSITION_ITEMS
    ranged = (
        "<msids><msid>46711111111</msid><msid_range>"
        "<start_msid><msid>46700000001</msid></start_msid>"
        "<stop_msid><msid>46700000010</msid></stop_msid></msid_range></msids>"
    )
    assert len(decode_request(slir_with(ranged), max_targets=11).targets()) == 11
    with pytest.raises(MlpDecodeError) as caught:
        decode_request(slir_with(ranged), max_targets=10)
    assert caught.value.result_code is ResultCode.TOO_MANY_POSITION_ITEMS


def test_range_keeps_leading_zeros() -> None:
    body = slir_with(
        '<msids><msid_range><start_msid><msid type="IMSI">001010000000098</msid></start_msid>'
        '<stop_msid><msid type="IMSI">001010000000101</msid></stop_msid></msid_range></msids>'
    )
    values = [msid.value for msid in decode_request(body).targets()]
    assert values == ["001010000000098", "001010000000099", "001010000000100", "001010000000101"]


@pytest.mark.parametrize(
    ("service", "cls"),
    [("eme_lir", MlpUnknownServiceError), ("tlrsr", MlpUnknownServiceError)],
)
def test_other_services_are_108(service: str, cls: type[Exception]) -> None:
    body = f'<svc_init ver="3.2.0"><hdr><client><id>c</id></client></hdr><{service}/></svc_init>'
    with pytest.raises(cls) as caught:
        decode_request(body.encode())
    assert f"'{service}'" in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        b'<svc_result ver="3.2.0"><slia/></svc_result>',
        b"<gem><result resid='1'>SYSTEM FAILURE</result></gem>",
        b'<svc_init xmlns="urn:salve:mlp:1"><hdr/></svc_init>',
        b'<svc_init ver="3.2.0"><hdr><client><id>c</id></client></hdr><lookup/></svc_init>',
    ],
)
def test_foreign_roots_and_unknown_services_are_108(body: bytes) -> None:
    with pytest.raises(MlpUnknownServiceError):
        decode_request(body)


def test_unknown_root_name_is_not_echoed_when_odd() -> None:
    name = "x" * 80
    with pytest.raises(MlpUnknownServiceError) as caught:
        decode_request(f"<{name}/>".encode())
    assert name not in caught.value.add_info


def test_submitted_values_are_not_echoed() -> None:
    with pytest.raises(MlpDecodeError) as caught:
        decode_request(slir_with("<msids><msid>&lt;script&gt;</msid></msids>"))
    assert "script" not in caught.value.add_info
    assert caught.value.add_info == "svc_init/slir/msids/msid: not an MSISDN"


def test_any_3x_version_mix_is_accepted() -> None:
    body = (
        b'<svc_init ver="3.5.0"><hdr ver="3.0.0"><client><id>c</id></client></hdr>'
        b'<slir ver="3.1"><msids><msid>1</msid></msids></slir></svc_init>'
    )
    request = decode_request(body)
    assert (request.header.ver, request.slir.ver) == ("3.5.0", "3.1")


def test_hdr_major_version_is_checked() -> None:
    body = (
        b'<svc_init><hdr ver="5.0.0"><client><id>c</id></client></hdr>'
        b"<slir><msids><msid>1</msid></msids></slir></svc_init>"
    )
    with pytest.raises(MlpDecodeError) as caught:
        decode_request(body)
    assert caught.value.result_code is ResultCode.UNSUPPORTED_VERSION
    assert caught.value.add_info.startswith("svc_init/hdr@ver")


def test_client_repr_hides_the_password() -> None:
    assert "s3cret" not in repr(decode_request(load("slir_minimal_32.xml")))

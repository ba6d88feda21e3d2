"""Decoding answers (the client side): forms, refusals, limits."""

from __future__ import annotations

import pytest

from mlp import (
    Gem,
    MlpDecodeError,
    MlpUnknownServiceError,
    Position,
    ResultCode,
    Slia,
    decode_answer,
)

POS = (
    "<pos><msid>46701234567</msid><pd><time>20240101000000</time>"
    "<shape><Point><coord><X>1N</X><Y>1E</Y></coord></Point></shape></pd></pos>"
)


def svc_result(inner: str, ver: str = "3.2.0") -> bytes:
    return f'<svc_result ver="{ver}"><slia ver="3.0.0">{inner}</slia></svc_result>'.encode()


def refused(body: bytes, **limits: int) -> MlpDecodeError:
    with pytest.raises(MlpDecodeError) as caught:
        decode_answer(body, **limits)
    return caught.value


def test_gem_without_add_info() -> None:
    body = b'<gem ver="3.0.0"><result resid="1">SYSTEM FAILURE</result></gem>'
    assert decode_answer(body) == Gem(ResultCode.SYSTEM_FAILURE, None)


def test_version_of_the_wrapper_is_kept() -> None:
    answer = decode_answer(svc_result(POS, ver="3.1.0"))
    assert isinstance(answer, Slia)
    assert answer.ver == "3.1.0"


def test_answer_lev_conf_and_statement() -> None:
    body = svc_result(
        POS.replace("</shape></pd>", "</shape><alt>5</alt><lev_conf>100</lev_conf></pd>").replace(
            "</pd></pos>",
            '</pd><salve:statement xmlns:salve="urn:salve:mlp:1">a.b.c</salve:statement></pos>',
        )
    )
    answer = decode_answer(body)
    assert isinstance(answer, Slia)
    (position,) = answer.positions
    assert isinstance(position, Position)
    assert position.lev_conf == 100
    assert position.statement == "a.b.c"


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        (svc_result(""), 106, "svc_result/slia"),
        (svc_result(POS + "<req_id>1</req_id>"), 106, "svc_result/slia"),
        (svc_result('<result resid="10">QOP NOT ATTAINABLE</result>'), 111, "result@resid"),
        (svc_result("<result>SYSTEM FAILURE</result>"), 106, "result@resid"),
        (svc_result('<result resid="x">SYSTEM FAILURE</result>'), 105, "result@resid"),
        (
            svc_result(POS.replace("</shape></pd>", "</shape><lev_conf>150</lev_conf></pd>")),
            110,
            "lev_conf",
        ),
        (svc_result(POS.replace("<pd>", "<poserr/><pd>")), 106, "slia/pos"),
        (svc_result("", ver="2.0.0"), 103, "svc_result@ver"),
        (b"<gem/>", 106, "gem/result"),
    ],
)
def test_bad_answers(body: bytes, code: int, fragment: str) -> None:
    error = refused(body)
    assert error.result_code == ResultCode(code)
    assert fragment in error.add_info


@pytest.mark.parametrize(
    "body",
    [
        b'<svc_result ver="3.2.0"><slirep><req_id>1</req_id></slirep></svc_result>',
        b'<svc_init ver="3.2.0"/>',
        b"<html><body>502 Bad Gateway</body></html>",
    ],
)
def test_other_documents_are_unknown_services(body: bytes) -> None:
    with pytest.raises(MlpUnknownServiceError):
        decode_answer(body)


def test_answer_size_limit() -> None:
    body = svc_result(POS * 5)
    assert isinstance(decode_answer(body, max_body_bytes=len(body)), Slia)
    error = refused(body, max_body_bytes=len(body) - 1)
    assert error.result_code is ResultCode.SYNTAX_ERROR
    assert refused(b" " * 1_048_577).add_info == "document larger than 1048576 bytes"

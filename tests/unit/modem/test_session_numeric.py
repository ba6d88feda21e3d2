"""Numeric (``ATV0``) final result codes (V.250 §5.7.1): ``0<CR>`` ends a command like
``<CR><LF>OK<CR><LF>`` does, and a bare digit in information text is still text."""

from __future__ import annotations

import pytest

from modem.at.results import ResultKind, classify_numeric, error_for
from modem.at.session import NEED_DATA, AtSession, Response, Urc
from modem.errors import CommandError


def answer(session: AtSession, command: str, *chunks: bytes) -> object:
    session.send(command)
    for chunk in chunks:
        session.receive_data(chunk)
    return session.next_event()


def verbose_session() -> AtSession:
    session = AtSession()
    first = answer(session, "AT", b"\r\nOK\r\n")
    assert isinstance(first, Response)
    return session


@pytest.mark.parametrize(
    ("code", "word", "kind"),
    [
        ("0", "OK", ResultKind.OK),
        ("1", "CONNECT", ResultKind.CONNECT),
        ("3", "NO CARRIER", ResultKind.CALL_ENDED),
        ("4", "ERROR", ResultKind.ERROR),
        ("6", "NO DIALTONE", ResultKind.CALL_ENDED),
        ("7", "BUSY", ResultKind.CALL_ENDED),
        ("8", "NO ANSWER", ResultKind.CALL_ENDED),
    ],
)
def test_numeric_codes_classify_as_their_words(code: str, word: str, kind: ResultKind) -> None:
    result = classify_numeric(code)
    assert result is not None
    assert (result.kind, result.line) == (kind, word)


def test_other_digits_are_not_results() -> None:
    assert classify_numeric("2") is None  # RING is unsolicited, not a final result
    assert classify_numeric("5") is None
    assert classify_numeric("10") is None


def test_atv0_answers_numerically_from_its_own_result_on() -> None:
    session = verbose_session()
    event = answer(session, "ATV0", b"0\r")
    assert isinstance(event, Response) and event.final.ok
    assert session.numeric_results is True
    event = answer(session, "AT+CSQ", b"+CSQ: 20,99\r\n0\r")
    assert isinstance(event, Response)
    assert (event.lines, event.final.ok) == (("+CSQ: 20,99",), True)


def test_numeric_error_raises_like_its_word() -> None:
    session = verbose_session()
    answer(session, "ATV0", b"0\r")
    event = answer(session, "AT+FOO", b"4\r")
    assert isinstance(event, Response)
    error = error_for("AT+FOO", event.final)
    assert type(error) is CommandError and error.result == "ERROR"


def test_cme_error_stays_textual_in_v0() -> None:
    session = verbose_session()
    answer(session, "ATV0", b"0\r")
    event = answer(session, "AT+CPIN?", b"+CME ERROR: 10\r\n")
    assert isinstance(event, Response)
    assert (event.final.kind, event.final.code) == (ResultKind.CME_ERROR, 10)


def test_a_digit_line_in_verbose_mode_is_text() -> None:
    session = verbose_session()
    event = answer(session, "ATS0?", b"\r\n0\r\n\r\nOK\r\n")
    assert isinstance(event, Response)
    assert event.lines == ("0",)


def test_unknown_mode_learns_from_a_lone_cr() -> None:
    # The module was left in V0 by someone else: "0\r" followed by more output.
    session = AtSession()
    session.send("AT")
    session.receive_data(b"0\r")
    assert session.next_event() is NEED_DATA and session.holding
    session.receive_data(b"+CREG: 1\r\n")  # a URC right after: the CR was alone
    event = session.next_event()
    assert isinstance(event, Response) and event.final.ok
    assert session.numeric_results is True
    assert session.next_event() == Urc("+CREG: 1")


def test_unknown_mode_settles_when_the_line_goes_idle() -> None:
    session = AtSession()
    session.send("AT")
    session.receive_data(b"0\r")
    assert session.next_event() is NEED_DATA
    session.idle()
    event = session.next_event()
    assert isinstance(event, Response) and event.final.ok


def test_unknown_mode_keeps_a_crlf_digit_as_text() -> None:
    session = AtSession()
    session.send("ATI")
    session.receive_data(b"0\r")
    session.receive_data(b"\n\r\nOK\r\n")
    event = session.next_event()
    assert isinstance(event, Response)
    assert (event.lines, event.final.line) == (("0",), "OK")
    assert session.numeric_results is False


def test_atv1_and_atz_switch_back() -> None:
    session = verbose_session()
    answer(session, "ATV0", b"0\r")
    event = answer(session, "ATV1", b"\r\nOK\r\n")
    assert isinstance(event, Response) and session.numeric_results is False
    answer(session, "ATV0", b"0\r")
    answer(session, "ATZ", b"\r\nOK\r\n")
    assert session.numeric_results is False  # the verbose OK says so


def test_ring_is_unsolicited_in_numeric_mode() -> None:
    session = verbose_session()
    answer(session, "ATV0", b"0\r")
    session.receive_data(b"2\r")
    assert session.next_event() == Urc("RING")

"""The sans-IO AT session: framing, routing, echo, junk, prompts, abandoned commands."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.at.results import ResultKind
from modem.at.session import (
    AtSession,
    Event,
    Garbage,
    LateResponse,
    NeedData,
    PortClosed,
    Prompt,
    Response,
    Urc,
    expected_prefix,
)
from modem.errors import ModemStateError


def drain(session: AtSession) -> list[Event]:
    events: list[Event] = []
    while True:
        event = session.next_event()
        if isinstance(event, NeedData):
            return events
        events.append(event)


def feed_whole(command: str | None, data: bytes, **send_kwargs: object) -> list[Event]:
    session = AtSession()
    if command is not None:
        session.send(command, **send_kwargs)  # type: ignore[arg-type]
    session.receive_data(data)
    return drain(session)


def feed_bytewise(command: str | None, data: bytes, **send_kwargs: object) -> list[Event]:
    session = AtSession()
    if command is not None:
        session.send(command, **send_kwargs)  # type: ignore[arg-type]
    events: list[Event] = []
    for i in range(len(data)):
        session.receive_data(data[i : i + 1])
        events.extend(drain(session))
    return events


def both(command: str | None, data: bytes, **send_kwargs: object) -> list[Event]:
    whole = feed_whole(command, data, **send_kwargs)
    assert feed_bytewise(command, data, **send_kwargs) == whole
    return whole


def only_response(events: list[Event]) -> Response:
    responses = [e for e in events if isinstance(e, Response)]
    assert len(responses) == 1
    return responses[0]


# -- framing and routing ---------------------------------------------------------------------


def test_send_returns_command_with_cr() -> None:
    assert AtSession().send("AT+CSQ") == b"AT+CSQ\r"


def test_plain_answer() -> None:
    events = both("AT+CSQ", b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
    response = only_response(events)
    assert response.lines == ("+CSQ: 20,99",)
    assert response.final.kind is ResultKind.OK
    assert events == [response]


def test_echo_is_dropped_even_when_ate0_was_ignored() -> None:
    events = both("AT+CSQ", b"AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
    assert only_response(events).lines == ("+CSQ: 20,99",)


def test_echo_match_is_case_insensitive() -> None:
    events = both("AT+CSQ", b"at+csq\r\r\nOK\r\n")
    assert only_response(events).lines == ()


def test_urc_before_between_and_after_answer() -> None:
    data = (
        b'\r\n+CEREG: 1,"04D2","01A2B3C4",7\r\n'
        b"AT+COPS?\r"
        b'\r\n+COPS: 0,2,"22801",7\r\n'
        b'\r\n+CMTI: "ME",1\r\n'
        b"\r\nOK\r\n"
        b"\r\n+CREG: 5\r\n"
    )
    events = both("AT+COPS?", data)
    assert events == [
        Urc('+CEREG: 1,"04D2","01A2B3C4",7'),
        Urc('+CMTI: "ME",1'),
        only_response(events),
        Urc("+CREG: 5"),
    ]
    assert only_response(events).lines == ('+COPS: 0,2,"22801",7',)


def test_urc_in_same_read_as_ok() -> None:
    events = both("AT", b'\r\nOK\r\n\r\n+CMTI: "ME",1\r\n')
    assert isinstance(events[0], Response)
    assert events[1] == Urc('+CMTI: "ME",1')


def test_expected_prefix_wins_over_urc_form() -> None:
    events = both("AT+CEREG?", b'\r\n+CEREG: 2,1,"04D2","01A2B3C4",7\r\n\r\nOK\r\n')
    assert only_response(events).lines == ('+CEREG: 2,1,"04D2","01A2B3C4",7',)


def test_explicit_expect_tuple() -> None:
    events = both("AT+CCID", b"\r\n+ICCID: 89410112345678901234\r\n\r\nOK\r\n", expect=("+ICCID:",))
    assert only_response(events).lines == ("+ICCID: 89410112345678901234",)


def test_unprefixed_lines_belong_to_the_command() -> None:
    data = b"\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n"
    events = both("ATI", data)
    assert only_response(events).lines == ("Quectel", "EC25", "Revision: EC25EFAR06A06M4G")


def test_bare_urc_words_during_command() -> None:
    events = both("AT+CIMI", b"\r\nRDY\r\n\r\n228011234567890\r\n\r\nOK\r\n")
    assert events[0] == Urc("RDY")
    assert only_response(events).lines == ("228011234567890",)


def test_lines_without_pending_command_are_urcs() -> None:
    events = both(None, b"\r\nRDY\r\n+CFUN: 1\r\n+CPIN: READY\r\nOK\r\n")
    assert events == [Urc("RDY"), Urc("+CFUN: 1"), Urc("+CPIN: READY"), Urc("OK")]


def test_expected_prefix_derivation() -> None:
    assert expected_prefix("AT+CEREG?") == ("+CEREG:",)
    assert expected_prefix('at+qeng="servingcell"') == ("+QENG:",)
    assert expected_prefix("AT#SERVINFO") == ("#SERVINFO:",)
    assert expected_prefix("AT!GSTATUS?") == ("!GSTATUS:",)
    assert expected_prefix("AT^MONSC") == ("^MONSC:",)
    assert expected_prefix("ATI") == ()


# -- final results -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "kind", "code", "ok"),
    [
        (b"OK", ResultKind.OK, None, True),
        (b"CONNECT 150000000", ResultKind.CONNECT, None, True),
        (b"ERROR", ResultKind.ERROR, None, False),
        (b"COMMAND NOT SUPPORT", ResultKind.NOT_SUPPORTED, None, False),
        (b"TOO MANY PARAMETERS", ResultKind.NOT_SUPPORTED, None, False),
        (b"NO CARRIER", ResultKind.CALL_ENDED, None, False),
        (b"BUSY", ResultKind.CALL_ENDED, None, False),
        (b"NO ANSWER", ResultKind.CALL_ENDED, None, False),
        (b"NO DIALTONE", ResultKind.CALL_ENDED, None, False),
        (b"+CME ERROR: 10", ResultKind.CME_ERROR, 10, False),
        (b"+CME ERROR: 515", ResultKind.CME_ERROR, 515, False),
        (b"+CME ERROR: SIM not inserted", ResultKind.CME_ERROR, 10, False),
        (b"+CME ERROR: ", ResultKind.CME_ERROR, None, False),
        (b"+CMS ERROR: 500", ResultKind.CMS_ERROR, 500, False),
        (b"+CMS ERROR: 304", ResultKind.CMS_ERROR, 304, False),
    ],
)
def test_every_final_result_form(line: bytes, kind: ResultKind, code: int | None, ok: bool) -> None:
    events = both("AT+CPIN?", b"\r\n" + line + b"\r\n")
    final = only_response(events).final
    assert final.kind is kind
    assert final.code == code
    assert final.ok is ok


def test_verbose_cme_keeps_its_text_as_name() -> None:
    final = only_response(both("AT+CPIN?", b"\r\n+CME ERROR: SIM not inserted\r\n")).final
    assert final.name == "SIM not inserted"


def test_numeric_cme_gets_a_name() -> None:
    final = only_response(both("AT+CPIN?", b"\r\n+CME ERROR: 10\r\n")).final
    assert final.name is not None
    assert "sim" in final.name.lower()


def test_not_supported_property() -> None:
    assert only_response(both("AT+X", b"\r\nERROR\r\n")).final.not_supported
    assert only_response(both("AT+X", b"\r\n+CME ERROR: 4\r\n")).final.not_supported
    assert not only_response(both("AT+X", b"\r\n+CME ERROR: 10\r\n")).final.not_supported


def test_unknown_command_word_is_not_final() -> None:
    events = both("AT+X", b"\r\nUNKNOWN COMMAND\r\nOK\r\n")
    assert only_response(events).lines == ("UNKNOWN COMMAND",)


# -- junk -----------------------------------------------------------------------------------


def test_nul_bytes_are_dropped() -> None:
    events = both("AT+CSQ", b"\x00\x00\r\n+CSQ: \x0020,99\r\n\x00\r\nOK\r\n\x00")
    assert only_response(events).lines == ("+CSQ: 20,99",)


def test_invalid_utf8_in_front_of_a_line_is_split_off() -> None:
    events = both("AT+CSQ", b"\xff\xfe\r\n+CSQ: 20,99\r\n\xff\x80OK\r\n")
    assert only_response(events).lines == ("+CSQ: 20,99",)
    assert [e for e in events if isinstance(e, Garbage)] == [
        Garbage(b"\xff\xfe"),
        Garbage(b"\xff\x80"),
    ]


def test_valid_utf8_text_is_kept() -> None:
    events = both("AT+COPS?", '\r\n+COPS: 0,0,"Zürich Télécom",7\r\nOK\r\n'.encode())
    assert only_response(events).lines == ('+COPS: 0,0,"Zürich Télécom",7',)


def test_latin1_text_in_an_answer_line_is_kept() -> None:
    events = both("AT+COPS?", b'\r\n+COPS: 0,0,"T\xe9l\xe9com",7\r\nOK\r\n')
    assert only_response(events).lines == ('+COPS: 0,0,"Télécom",7',)


def test_control_characters_are_garbage() -> None:
    events = both("AT", b"\x1b[2J\x07\r\nOK\r\n")
    assert isinstance(events[0], Garbage)
    assert isinstance(events[1], Response)


def test_duplicate_crs_and_lone_lfs() -> None:
    events = both("AT+CSQ", b"\r\r\r\n\n+CSQ: 20,99\n\rOK\n")
    assert only_response(events).lines == ("+CSQ: 20,99",)


# -- prompts ----------------------------------------------------------------------------------


def test_prompt_then_pdu_then_result() -> None:
    session = AtSession()
    session.send("AT+CMGS=23", prompt=True)
    session.receive_data(b"AT+CMGS=23\r\r\n> ")
    assert drain(session) == [Prompt("AT+CMGS=23")]
    assert session.send_pdu("0011000B") == b"0011000B\x1a"
    session.receive_data(b"0011000B\x1a\r\n+CMGS: 7\r\n\r\nOK\r\n")
    response = only_response(drain(session))
    assert response.lines == ("+CMGS: 7",)


def test_prompt_bytewise_matches_whole() -> None:
    data = b"\r\n> \r\n+CMGS: 7\r\n\r\nOK\r\n"
    events = both("AT+CMGS=23", data, prompt=True)
    assert events[0] == Prompt("AT+CMGS=23")
    assert only_response(events).lines == ("+CMGS: 7",)


def test_prompt_is_a_line_for_other_commands() -> None:
    events = both("AT+X", b"\r\n> \r\nOK\r\n")
    assert only_response(events).lines == (">",)


def test_send_pdu_without_prompt_is_refused() -> None:
    session = AtSession()
    session.send("AT+CMGS=23", prompt=True)
    with pytest.raises(ModemStateError):
        session.send_pdu("00")


# -- state ----------------------------------------------------------------------------------


def test_second_command_while_busy_is_refused() -> None:
    session = AtSession()
    session.send("AT")
    with pytest.raises(ModemStateError):
        session.send("AT+CSQ")


@pytest.mark.parametrize("bad", ["", "   ", "AT\rAT", "AT\n", "AT\x00", 'AT+COPS=1,0,"Zürich"'])
def test_bad_command_lines_are_refused_and_change_nothing(bad: str) -> None:
    session = AtSession()
    with pytest.raises(ValueError):
        session.send(bad)
    assert session.pending_command is None


def test_late_answer_after_abandon_is_never_given_to_the_next_command() -> None:
    session = AtSession()
    session.send("AT+COPS=?")
    session.receive_data(b'\r\n+COPS: (2,"A"')
    assert session.abandon() == ()
    assert session.draining
    session.receive_data(b',"A","22801",7)\r\n\r\nOK\r\n')
    events = drain(session)
    assert len(events) == 1
    assert isinstance(events[0], LateResponse)
    assert events[0].response.lines == ('+COPS: (2,"A","A","22801",7)',)
    assert not session.draining
    session.send("AT+CSQ")
    session.receive_data(b"\r\n+CSQ: 20,99\r\nOK\r\n")
    assert only_response(drain(session)).lines == ("+CSQ: 20,99",)


def _echoing_session() -> AtSession:
    session = AtSession()
    session.send("AT")
    session.receive_data(b"AT\r\r\nOK\r\n")
    drain(session)
    assert session.echo_on is True
    return session


def test_with_echo_a_late_answer_before_our_echo_is_the_stale_commands() -> None:
    session = _echoing_session()
    session.send("AT+CIMI")
    session.receive_data(b"AT+CIMI\r")
    session.abandon()
    session.send("AT+CSQ")  # sent while the IMSI answer is still on its way
    session.receive_data(b"\r\n228011234567890\r\n\r\nOK\r\nAT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
    events = drain(session)
    late = [e for e in events if isinstance(e, LateResponse)]
    assert [e.response.lines for e in late] == [("228011234567890",)]
    assert only_response(events).lines == ("+CSQ: 20,99",)


def test_with_echo_our_echo_ends_the_wait_for_a_stale_answer() -> None:
    session = _echoing_session()
    session.send("AT+COPS=?")
    session.abandon()
    session.send("AT+CSQ")  # the module dropped the scan; only our answer comes
    session.receive_data(b"AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
    events = drain(session)
    assert events == [only_response(events)]
    assert only_response(events).lines == ("+CSQ: 20,99",)


def test_without_echo_the_session_learns_echo_is_off() -> None:
    session = AtSession()
    session.send("AT")
    session.receive_data(b"\r\nOK\r\n")
    drain(session)
    assert session.echo_on is False


def test_abandon_returns_partial_lines() -> None:
    session = AtSession()
    session.send("ATI")
    session.receive_data(b"\r\nQuectel\r\nEC25\r\n")
    drain(session)
    assert session.abandon() == ("Quectel", "EC25")


def test_forget_drops_an_abandoned_command() -> None:
    session = AtSession()
    session.send("AT")
    session.abandon()
    session.forget()
    assert session.pending_command is None
    session.receive_data(b"\r\nOK\r\n")
    assert drain(session) == [Urc("OK")]


def test_eof_gives_port_closed_after_buffered_events() -> None:
    session = AtSession()
    session.receive_data(b"\r\nRDY\r\n")
    session.receive_data(b"")
    assert drain(session) == [Urc("RDY"), PortClosed()]
    session.receive_data(b"\r\nOK\r\n")
    assert drain(session) == []


# -- properties -----------------------------------------------------------------------------

_ANSWER = (
    b'AT+CEREG?\r\r\n\x00+CREG: 1,"00C3","0000A1B2",7\r\n\xff\xfe'
    b'\r\n+CEREG: 2,1,"04D2","01A2B3C4",7\r\n'
    b'\r\nRDY\r\nOK\r\n+CMTI: "ME",1\r\n'
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(_ANSWER)), max_size=12))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [_ANSWER[a:b] for a, b in zip([0, *points], [*points, len(_ANSWER)], strict=True)]
    session = AtSession()
    session.send("AT+CEREG?")
    events: list[Event] = []
    for chunk in chunks:
        if chunk:
            session.receive_data(chunk)
        events.extend(drain(session))
    assert events == feed_whole("AT+CEREG?", _ANSWER)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=300))
def test_arbitrary_bytes_never_raise_and_never_stall(data: bytes) -> None:
    session = AtSession()
    session.send("AT+CSQ")
    session.receive_data(data)
    drain(session)
    # Whatever came before, a clean answer afterwards still completes a command.
    session.receive_data(b"\r\nOK\r\n")
    events = drain(session)
    if session.pending_command is not None:
        pytest.fail(f"command still pending after OK: {events!r}")

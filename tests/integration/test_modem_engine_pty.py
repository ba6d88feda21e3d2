"""The threaded AT engine over a real pty, against a scripted module at the far end."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modem.engine import AtEngine
from modem.errors import (
    CmeError,
    CmsError,
    CommandError,
    ModemStateError,
    ModemTimeoutError,
    ModemUnavailableError,
)

Factory = Callable[[Callable[[str], bytes | None]], Any]
Waiter = Callable[..., None]

ANSWERS: dict[str, bytes] = {
    "AT": b"\r\nOK\r\n",
    "AT+CSQ": b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n",
    "ATI": b"\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n",
    "AT+CPIN?": b"\r\n+CME ERROR: 10\r\n",
    "AT+CMGL": b"\r\n+CMS ERROR: 321\r\n",
    "AT+FOO": b"\r\nERROR\r\n",
    "AT^FOO": b"\r\nCOMMAND NOT SUPPORT\r\n",
}


def table(extra: dict[str, bytes] | None = None, *, echo: bool = False) -> Callable[[str], bytes]:
    answers = {**ANSWERS, **(extra or {})}

    def respond(line: str) -> bytes:
        answer = answers.get(line.upper(), b"\r\nERROR\r\n")
        return (line.encode() + b"\r" + answer) if echo else answer

    return respond


def test_command_returns_information_lines(pty_modem_factory: Factory) -> None:
    fake = pty_modem_factory(table())
    with AtEngine(fake.path) as engine:
        assert engine.command("AT+CSQ") == ["+CSQ: 20,99"]
        assert engine.command("ATI") == ["Quectel", "EC25", "Revision: EC25EFAR06A06M4G"]
        assert engine.command("AT") == []
        assert engine.commands_sent == 3
        assert engine.connected


def test_echo_is_dropped_when_the_module_keeps_it_on(pty_modem_factory: Factory) -> None:
    fake = pty_modem_factory(table(echo=True))
    with AtEngine(fake.path) as engine:
        assert engine.command("AT+CSQ") == ["+CSQ: 20,99"]


def test_error_results_raise_typed_errors(pty_modem_factory: Factory) -> None:
    fake = pty_modem_factory(table())
    with AtEngine(fake.path) as engine:
        with pytest.raises(CmeError) as cme:
            engine.command("AT+CPIN?")
        assert cme.value.code == 10
        with pytest.raises(CmsError) as cms:
            engine.command("AT+CMGL")
        assert cms.value.code == 321
        with pytest.raises(CommandError) as plain:
            engine.command("AT+FOO")
        assert plain.value.result == "ERROR"
        with pytest.raises(CommandError, match="COMMAND NOT SUPPORT"):
            engine.command("AT^FOO")
        # Errors leave the engine usable.
        assert engine.command("AT+CSQ") == ["+CSQ: 20,99"]


def test_urcs_reach_handlers_and_never_the_answer(
    pty_modem_factory: Factory, wait_until: Waiter
) -> None:
    answer = b'\r\n+CEREG: 1,"04D2","01A2B3C4",7\r\n\r\n+CSQ: 20,99\r\n\r\nOK\r\n\r\nRING\r\n'
    fake = pty_modem_factory(table({"AT+CSQ": answer}))
    seen: list[str] = []
    with AtEngine(fake.path) as engine:
        engine.add_urc_handler(seen.append)
        assert engine.command("AT+CSQ") == ["+CSQ: 20,99"]
        wait_until(lambda: len(seen) == 2, what="two URCs")
        assert seen == ['+CEREG: 1,"04D2","01A2B3C4",7', "RING"]


def test_a_urc_handler_may_send_commands(pty_modem_factory: Factory, wait_until: Waiter) -> None:
    fake = pty_modem_factory(table())
    results: list[list[str]] = []
    with AtEngine(fake.path) as engine:

        def handler(line: str) -> None:
            results.append(engine.command("AT+CSQ"))

        engine.add_urc_handler(handler)
        fake.inject(b"\r\n+CEREG: 5\r\n")
        wait_until(lambda: results == [["+CSQ: 20,99"]], what="the handler's command")


def test_a_failing_handler_does_not_stop_the_others(
    pty_modem_factory: Factory, wait_until: Waiter
) -> None:
    fake = pty_modem_factory(table())
    seen: list[str] = []
    with AtEngine(fake.path) as engine:

        def broken(line: str) -> None:
            raise RuntimeError("handler bug")

        engine.add_urc_handler(broken)
        engine.add_urc_handler(seen.append)
        fake.inject(b"\r\nRDY\r\n")
        wait_until(lambda: seen == ["RDY"], what="the second handler")
        engine.remove_urc_handler(broken)
        engine.remove_urc_handler(broken)


def test_garbage_and_nuls_never_stall_the_reader(pty_modem_factory: Factory) -> None:
    noisy = b"\x00\xff\xfe\x00\r\n+CSQ: 20,99\r\n\x80\x81\r\nOK\r\n"
    fake = pty_modem_factory(table({"AT+CSQ": noisy}))
    with AtEngine(fake.path) as engine:
        fake.inject(b"\xff\x00\xc3\x28 garbage \x1b[0m\r\n")
        assert engine.command("AT+CSQ") == ["+CSQ: 20,99"]
        assert engine.command("AT") == []


def test_timeout_carries_the_partial_answer_and_the_late_answer_is_dropped(
    pty_modem_factory: Factory,
) -> None:
    release = threading.Event()
    holder: dict[str, object] = {}

    def respond(line: str) -> bytes | None:
        if line == "AT+COPS=?":
            holder["late"] = True
            return b'\r\n+COPS: (2,"Swisscom","Swisscom","22801",7)\r\n'
        return table()(line)

    fake = pty_modem_factory(respond)
    with AtEngine(fake.path) as engine:
        with pytest.raises(ModemTimeoutError) as info:
            engine.command("AT+COPS=?", timeout=0.3)
        assert info.value.partial == ('+COPS: (2,"Swisscom","Swisscom","22801",7)',)
        assert info.value.command == "AT+COPS=?"
        # The module finishes the scan late; its OK must not answer the next command.
        release.set()
        fake.inject(b"\r\nOK\r\n")
        assert engine.command("AT+CSQ", timeout=2) == ["+CSQ: 20,99"]


def test_a_command_the_module_never_answers_costs_one_wait(pty_modem_factory: Factory) -> None:
    fake = pty_modem_factory(table({"AT+QENG": b""}))
    with AtEngine(fake.path) as engine:
        with pytest.raises(ModemTimeoutError):
            engine.command("AT+QENG", timeout=0.2)
        # No late answer comes; after waiting for it once, the engine moves on.
        assert engine.command("AT+CSQ", timeout=2) == ["+CSQ: 20,99"]
        assert engine.command("AT+CSQ", timeout=2) == ["+CSQ: 20,99"]


def test_byte_by_byte_answer(pty_modem_factory: Factory) -> None:
    answer = b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
    fake_ref: dict[str, object] = {}

    def respond(line: str) -> bytes | None:
        if line == "AT+CSQ":
            fake = fake_ref["fake"]
            assert hasattr(fake, "inject")
            for i in range(len(answer)):
                fake.inject(answer[i : i + 1])
            return None
        return table()(line)

    fake = pty_modem_factory(respond)
    fake_ref["fake"] = fake
    with AtEngine(fake.path) as engine:
        assert engine.command("AT+CSQ") == ["+CSQ: 20,99"]


def test_prompt_and_pdu(pty_modem_factory: Factory) -> None:
    pdu = "0001000B911497214365F7000005E8329BFD06"

    def respond(line: str) -> bytes | None:
        if line.startswith("AT+CMGS="):
            return b"\r\n> "
        if line == pdu + "\x1a":
            return b"\r\n+CMGS: 42\r\n\r\nOK\r\n"
        return table()(line)

    fake = pty_modem_factory(respond)
    with AtEngine(fake.path) as engine:
        assert engine.send_pdu("AT+CMGS=18", pdu, timeout=3) == ["+CMGS: 42"]
    assert fake.commands()[-1] == pdu + "\x1a"


def test_unplug_fails_the_command_then_the_engine_reconnects(
    pty_modem_factory: Factory, wait_until: Waiter
) -> None:
    fake = pty_modem_factory(table())
    with AtEngine(fake.path, reconnect_interval=0.05) as engine:
        assert engine.command("AT") == []
        assert engine.generation == 1
        fake.unplug()
        wait_until(lambda: not engine.connected, what="the engine to notice the unplug")
        with pytest.raises(ModemUnavailableError, match="gone"):
            engine.command("AT")
        fake.replug()
        wait_until(lambda: engine.connected, what="the engine to reconnect")
        assert engine.generation == 2
        assert engine.command("AT+CSQ") == ["+CSQ: 20,99"]


def test_port_vanishing_mid_command_raises_unavailable(pty_modem_factory: Factory) -> None:
    fake_ref: dict[str, object] = {}

    def respond(line: str) -> bytes | None:
        if line == "AT+CFUN=1,1":
            threading.Thread(target=fake_ref["unplug"]).start()  # type: ignore[arg-type]
            return None
        return table()(line)

    fake = pty_modem_factory(respond)
    fake_ref["unplug"] = fake.unplug
    with (
        AtEngine(fake.path, reconnect_interval=0.05) as engine,
        pytest.raises(ModemUnavailableError),
    ):
        engine.command("AT+CFUN=1,1", timeout=10)


def test_closed_engine_refuses_commands(pty_modem_factory: Factory) -> None:
    fake = pty_modem_factory(table())
    engine = AtEngine(fake.path)
    engine.close()
    engine.close()
    assert not engine.connected
    with pytest.raises(ModemStateError):
        engine.command("AT")


def test_bad_arguments_change_nothing(pty_modem_factory: Factory) -> None:
    fake = pty_modem_factory(table())
    with AtEngine(fake.path) as engine:
        with pytest.raises(ValueError):
            engine.command("AT\rAT")
        with pytest.raises(ValueError):
            engine.command("AT", timeout=0)
        assert engine.commands_sent == 0
        assert engine.command("AT") == []


def test_open_failure_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModemUnavailableError, match="no such port"):
        AtEngine(str(tmp_path / "nothing"))

"""``Modem.send_sms`` against the in-process simulator, which keeps what it was sent."""

from __future__ import annotations

import pytest

from modem import open_modem
from modem.sim.live import lookup


def test_send_sms_in_pdu_mode_and_format_restored() -> None:
    url = "sim://quectel-ec25?scenario=demo&name=sms-pdu"
    with open_modem(url) as modem:
        modem.engine.command("AT+CMGF=1")  # the operator left text mode on
        reference = modem.send_sms("+41791234567", "Appliance alert: cell changed")
        assert isinstance(reference, int)
        assert modem.engine.command("AT+CMGF?") == ["+CMGF: 1"]
        with lookup("sms-pdu").locked() as simulated:
            sent = simulated.sent_messages
    assert len(sent) == 1
    assert sent[0].mode == "pdu"
    assert sent[0].reference == reference
    assert sent[0].pdu is not None
    # The destination number is in the PDU in semi-octets: +41791234567 -> 1497214365F7.
    assert "1497214365F7" in sent[0].pdu


def test_long_text_goes_out_in_parts() -> None:
    url = "sim://quectel-ec25?scenario=demo&name=sms-long"
    with open_modem(url) as modem:
        modem.send_sms("+41791234567", "x" * 300)
        with lookup("sms-long").locked() as simulated:
            assert len(simulated.sent_messages) == 2


@pytest.mark.parametrize(("number", "text"), [("not a number", "hi"), ("+4179", ""), ("", "hi")])
def test_bad_arguments_send_nothing(number: str, text: str) -> None:
    with open_modem("sim://quectel-ec25?name=sms-bad") as modem:
        before = modem.commands_sent
        with pytest.raises(ValueError):
            modem.send_sms(number, text)
        assert modem.commands_sent == before

"""Final result classification and the typed errors built from it."""

from __future__ import annotations

import pytest

from modem.at.results import FinalResult, ResultKind, classify_final, error_for
from modem.errors import CmeError, CmsError, CommandError


@pytest.mark.parametrize(
    "line", ["", "OK then", "+CSQ: 20,99", "UNKNOWN COMMAND", "MODEM ERROR: apple", "0", "4"]
)
def test_lines_that_are_not_final(line: str) -> None:
    assert classify_final(line) is None


def test_final_words_are_case_insensitive_and_stripped() -> None:
    final = classify_final("  ok ")
    assert final is not None
    assert final.kind is ResultKind.OK
    assert final.ok


def test_verbose_cme_resolves_its_code() -> None:
    final = classify_final('+CME ERROR: "operation not supported"')
    assert final is not None
    assert final.code == 4
    assert final.not_supported


def test_unknown_verbose_cme_keeps_text_without_code() -> None:
    final = classify_final("+CME ERROR: the moon is in the wrong phase")
    assert final is not None
    assert final.kind is ResultKind.CME_ERROR
    assert final.code is None
    assert final.name == "the moon is in the wrong phase"


def test_unknown_numeric_cme_keeps_code_without_name() -> None:
    final = classify_final("+CME ERROR: 9999")
    assert final is not None
    assert (final.code, final.name) == (9999, None)


def test_error_for_builds_the_most_specific_error() -> None:
    lines = ("+CSQ: 20,99",)
    cme = error_for("AT+CPIN?", FinalResult(ResultKind.CME_ERROR, "+CME ERROR: 10", 10, "x"))
    assert isinstance(cme, CmeError)
    assert (cme.code, cme.name, cme.command) == (10, "x", "AT+CPIN?")
    cms = error_for("AT+CMGS=1", FinalResult(ResultKind.CMS_ERROR, "+CMS ERROR: 500", 500))
    assert isinstance(cms, CmsError)
    plain = error_for("AT+X", FinalResult(ResultKind.ERROR, "ERROR"), lines)
    assert type(plain) is CommandError
    assert plain.lines == lines
    assert plain.result == "ERROR"


def test_error_for_refuses_success() -> None:
    with pytest.raises(ValueError):
        error_for("AT", FinalResult(ResultKind.OK, "OK"))

"""Every SALVE command follows the same conventions (runtime.cli): --version, --help that
ends with the program's exit codes, usage errors in "PROGRAM: message" form with 2."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import metadata

import pytest

from appliance.cli import main as appliance_main
from gmlc.cli import main as gmlc_main
from modem.cli import main as modem_main
from verifier.cli import main as verify_main

Main = Callable[[Sequence[str] | None], int]

PROGRAMS: list[tuple[str, Main, dict[int, str]]] = [
    ("salve-gmlc", gmlc_main, {3: "not found", 4: "conflict", 5: "not enrolled", 6: "listen"}),
    ("salve-verify", verify_main, {3: "NOT PROTECTED", 4: "DNS", 5: "TLS", 6: "GMLC"}),
    ("salve-modem", modem_main, {3: "", 4: "SIM", 5: "service"}),
    ("salve-appliance", appliance_main, {3: "", 4: "SIM", 5: "service"}),
]


@pytest.mark.parametrize(("name", "main", "codes"), PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_version_help_and_usage_errors_are_the_same_everywhere(
    name: str, main: Main, codes: dict[int, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"{name} {metadata.version('salve')}"

    assert main(["--help"]) == 0
    help_text = capsys.readouterr().out
    assert "--log-level LEVEL" in help_text
    table = help_text[help_text.index("exit codes:") :]
    assert "    2  usage" in table
    assert table.rstrip().endswith("130  interrupted (Ctrl-C)")
    for code, words in codes.items():
        line = next(line for line in table.splitlines() if line.startswith(f"    {code}  "))
        assert words in line, line

    assert main(["--no-such-option"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith(f"{name}: ")
    assert "error:" not in err and "Traceback" not in err

"""The hardware suite itself: it passes on a module that works, and says once why not.

``hw-tests/`` runs here as a subprocess, once with no modem behind SALVE_MODEM_PORT and
once against the simulator (``sim://``, the same AT dialect as the reference module)
with a two-second soak.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def run_hw_tests(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SALVE_")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "hw-tests", "-p", "no:cacheprovider", "-rs"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_no_modem_is_one_clear_skip_reason(tmp_path: Path) -> None:
    result = run_hw_tests(SALVE_MODEM_PORT=str(tmp_path / "ttyUSB9"))
    assert result.returncode == 0, result.stdout
    reason = f"no usable modem at SALVE_MODEM_PORT={tmp_path / 'ttyUSB9'}"
    assert f"hardware tests skipped: {reason}" in result.stdout
    assert "7 skipped" in result.stdout
    assert "Traceback" not in result.stdout


def test_the_suite_passes_on_a_working_module() -> None:
    result = run_hw_tests(
        SALVE_MODEM_PORT="sim://quectel-ec25?scenario=demo", SALVE_HW_SOAK_SECONDS="2"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "7 passed" in result.stdout

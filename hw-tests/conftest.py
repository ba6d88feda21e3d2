"""Hardware tests: the modem API checks against a real module.

They run only when ``SALVE_MODEM_PORT`` names the module's AT port, e.g.
``SALVE_MODEM_PORT=/dev/ttyUSB2 make test-hw``. The port is tried once, before any test
runs: without the variable, or when there is no usable modem behind it (unplugged, wrong
port, held by ModemManager), every test is skipped with that one reason in plain words,
shown once in the header, instead of one traceback per test.
"""

from __future__ import annotations

import os

import pytest

from modem import open_modem
from modem.errors import ModemError

PORT_VARIABLE = "SALVE_MODEM_PORT"
#: How long the first look may wait for a module that is still booting.
PREFLIGHT_READY_S = 20.0

_unusable = pytest.StashKey[str]()


def _preflight() -> str | None:
    """Why the hardware tests cannot run here, or None when the modem answers."""
    port = os.environ.get(PORT_VARIABLE, "").strip()
    if not port:
        return f"set {PORT_VARIABLE} to the modem's AT port (e.g. /dev/ttyUSB2) to run"
    try:
        with open_modem(port, ready_timeout=PREFLIGHT_READY_S) as modem:
            modem.identity()
    except ModemError as error:
        return f"no usable modem at {PORT_VARIABLE}={port}: {error}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _preflight() if items else None
    if reason is not None:
        config.stash[_unusable] = reason
    for item in items:
        item.add_marker(pytest.mark.hardware)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_report_collectionfinish(config: pytest.Config) -> str | None:
    reason = config.stash.get(_unusable, None)
    return None if reason is None else f"hardware tests skipped: {reason}"


@pytest.fixture(scope="session")
def port_url() -> str:
    """The real module's AT port, from ``SALVE_MODEM_PORT`` (checked before the run)."""
    return os.environ[PORT_VARIABLE].strip()

"""Hardware tests: the modem API checks against a real module.

They run only when ``SALVE_MODEM_PORT`` names the module's AT port, e.g.
``SALVE_MODEM_PORT=/dev/ttyUSB2 make test-hw``; otherwise every test is skipped with a
reason that names the variable.
"""

from __future__ import annotations

import os

import pytest

PORT_VARIABLE = "SALVE_MODEM_PORT"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.hardware)


@pytest.fixture
def port_url() -> str:
    """The real module's AT port, from ``SALVE_MODEM_PORT``."""
    port = os.environ.get(PORT_VARIABLE, "").strip()
    if not port:
        pytest.skip(f"set {PORT_VARIABLE} to the modem's AT port (e.g. /dev/ttyUSB2) to run")
    return port

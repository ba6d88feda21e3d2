"""The attacker suite's world: the demo's lab (:class:`demo.lab.Lab`), once per session.

It runs the same real processes as ``make demo`` (a GMLC over TLS, appliances on the
simulated modem, ``salve-front``, Knot DNS or signed zone files, the attacker's GMLC and
tools) and stops them all at the end. A client that knows the site checks it once at the
start, so that it remembers the site's policy as any returning visitor does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from demo.lab import Lab
from demo.processes import DemoError, live_groups


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The started lab; the genuine client has checked the site once."""
    world = Lab(tmp_path_factory.mktemp("attacks"))
    try:
        world.start()
        first = world.verify_genuine()
        assert first.verdict == "VERIFIED", first.reason
        yield world
    except DemoError as exc:
        pytest.fail(f"the lab did not start: {exc}")
    finally:
        world.close()
        # Nothing the lab started outlives it.
        assert live_groups(world.processes.groups) == []

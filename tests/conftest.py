"""Fixtures shared by every test package.

``knot_lab``: one Knot DNS server for the whole session (``verifier.dnslab.KnotLab``),
serving a parent zone ``salve.test`` (Ed25519) with two delegated children, the
service's ``example.salve.test`` (ECDSA P-256, NSEC3) and the GMLC's ``gmlc.salve.test``
(RSA/SHA-256), each child's DS in the parent. It offers ``server`` (``127.0.0.1:PORT``),
``trust_anchor`` (a file with the parent's DS and NS/A hints), ``tsig_key`` (a BIND
``key`` clause allowed to send RFC 2136 updates and transfers), and ``set_records`` /
``delete_records`` / ``records(...)`` (a context manager that restores the RRset).
Tests that change records use names of their own, or restore what they changed.
Tests that need it skip, saying why, only where knotd is not installed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from verifier.dnslab import KnotLab, default_lab_zones, knotd_path


@pytest.fixture(scope="session")
def knot_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnotLab]:
    """A running Knot DNS lab (see the module docstring)."""
    if knotd_path() is None:
        pytest.skip(
            "knotd is not installed (Debian package knot): no real DNS server to test against"
        )
    lab = KnotLab(tmp_path_factory.mktemp("knot-lab"), default_lab_zones()).start()
    try:
        yield lab
    finally:
        lab.stop()

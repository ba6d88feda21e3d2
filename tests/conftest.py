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

``softhsm``: one SoftHSM2 token for the whole session (``SOFTHSM2_CONF`` points at a
throwaway token directory for this process and its children), for the PKCS#11 signer.
Tests that need it skip, saying why, only where SoftHSM2 or python-pkcs11 is missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")


@dataclass(frozen=True)
class SoftHsm:
    """A SoftHSM2 token initialised for the session."""

    module: Path
    token_label: str
    pin: str
    config: Path


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    """A SoftHSM2 token (see the module docstring)."""
    util = shutil.which("softhsm2-util")
    if util is None or not SOFTHSM_MODULE.exists():
        pytest.skip("SoftHSM2 is not installed (Debian package softhsm2): no PKCS#11 token")
    if importlib.util.find_spec("pkcs11") is None:
        pytest.skip("python-pkcs11 is not installed (pip install 'salve[hsm]')")
    root = tmp_path_factory.mktemp("softhsm")
    tokens = root / "tokens"
    tokens.mkdir()
    config = root / "softhsm2.conf"
    config.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
        "log.level = ERROR\nslots.removable = false\n"
    )
    # Read when the module is loaded, by this process and by servers started from it.
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(config)
    try:
        initialise = ["--init-token", "--free", "--label", "salve-test", "--so-pin", "0000"]
        subprocess.run(
            [util, *initialise, "--pin", "1234"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield SoftHsm(SOFTHSM_MODULE, "salve-test", "1234", config)
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous

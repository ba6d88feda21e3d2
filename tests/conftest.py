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

``postgres_server``: one PostgreSQL server for the whole session, started from the
binaries found on PATH or under /usr/lib/postgresql/*/bin, in a throwaway cluster
listening on a free loopback port; tests create their own databases in it. When the
binaries are absent the tests that need it are skipped with the reason; when they are
present but the server fails to start, those tests fail with the server log, because a
silent skip would hide a broken set-up.

``softhsm``: one SoftHSM2 token for the whole session (``SOFTHSM2_CONF`` points at a
throwaway token directory for this process and its children), for the PKCS#11 signer.
Tests that need it skip, saying why, only where SoftHSM2 or python-pkcs11 is missing.
"""

from __future__ import annotations

import glob
import importlib.util
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
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


_SUPERUSER = "salve"


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway PostgreSQL cluster."""

    host: str
    port: int
    user: str
    _counter: itertools.count[int]

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def admin_dsn(self) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname=postgres"

    def create_database(self) -> str:
        name = f"salve_test_{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(self.admin_dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_bindir() -> Path | None:
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
    )
    for candidate in reversed(candidates):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_server_user(argv: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; run it as the packaged "postgres" account then.
    if os.geteuid() != 0:
        return argv
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *argv]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(argv)]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 for this test session."""
    bindir = _postgres_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in "
            "/usr/lib/postgresql/*/bin; install the postgresql package to run these"
        )
    if os.geteuid() == 0:
        try:
            server_account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' account to run the server")
    root = Path(tempfile.mkdtemp(prefix="salve-pg-"))
    data, sockets, log = root / "data", root / "run", root / "server.log"
    sockets.mkdir()
    if os.geteuid() == 0:
        for path in (root, sockets):
            os.chown(path, server_account.pw_uid, server_account.pw_gid)
    port = _free_port()
    subprocess.run(
        _as_server_user(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                _SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    started = subprocess.run(
        _as_server_user(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ]
        ),
        capture_output=True,
        text=True,
        timeout=90,
    )
    if started.returncode != 0:
        server_log = log.read_text(errors="replace") if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start:\n{started.stderr}\n{server_log}")
    try:
        yield PostgresServer("127.0.0.1", port, _SUPERUSER, itertools.count())
    finally:
        subprocess.run(
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


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

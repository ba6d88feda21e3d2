"""The `salve-gmlc` admin CLI end to end: a real state directory, database and key ring.

`init` and `serve` run as separate processes (the way operators and systemd run them);
the other commands go through `gmlc.cli.main` in this process, which is the same code
the entry point calls, to keep the suite quick.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gmlc.cli import main
from gmlc.cli.common import format_table, parse_time, resolve_config_path
from gmlc.keys import KeyRing
from gmlc.peers import spki_sha256_of_pem
from gmlc.settings import load_settings
from gmlc.store import Store

REPO = Path(__file__).resolve().parents[1].parent
Cli = Callable[..., tuple[int, str, str]]
HEADER = (
    "radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,updated,averageSignal"
)


def _run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gmlc", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A development node initialised by `salve-gmlc init` in its own process; returns its
    configuration file (its state directory is `state` beside it)."""
    config = tmp_path_factory.mktemp("gmlc") / "gmlc.toml"
    done = _run(
        "--config",
        str(config),
        "init",
        "--state-dir",
        str(config.parent / "state"),
        "--dev",
        "--alg",
        "EdDSA",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["signing_key"]["alg"] == "EdDSA" and report["signing_key"]["created"]
    assert report["config_written"] and report["schema_created"]
    assert report["config_file"] == str(config)
    return config


@pytest.fixture
def cli(node: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run a command against the node; returns (exit code, stdout, stderr)."""
    for name in list(os.environ):
        if name.startswith("SALVE_GMLC_"):
            monkeypatch.delenv(name)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--config", str(node), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _public_key() -> str:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_init_made_a_private_state_directory_and_is_repeatable(node: Path, cli: Cli) -> None:
    state = node.parent / "state"
    assert state.stat().st_mode & 0o777 == 0o700
    assert node.stat().st_mode & 0o777 == 0o600
    assert (state / "gmlc.sqlite3").stat().st_mode & 0o777 == 0o600
    code, out, err = cli("init", "--state-dir", str(state), "--dev")
    assert code == 0, err
    assert "already present" in out and "left unchanged" in out
    # The file may be repeated, not changed, by init's options.
    code, _, err = cli("init", "--state-dir", str(node.parent / "elsewhere"))
    assert code == 2 and f"{node} already sets state_dir" in err
    assert not (node.parent / "elsewhere").exists()


def test_init_without_issuer_outside_dev_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A configuration file not written yet, wherever the test runs (a GMLC may be installed).
    monkeypatch.setenv("SALVE_GMLC_CONFIG", str(tmp_path / "gmlc.toml"))
    monkeypatch.delenv("SALVE_GMLC_ISSUER", raising=False)
    monkeypatch.delenv("SALVE_GMLC_DEV", raising=False)
    assert main(["init", "--state-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "--issuer" in err and "Traceback" not in err
    assert not (tmp_path / "s").exists()


def test_init_writes_the_config_where_the_next_commands_read_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a unit would see it: the configuration named once ($SALVE_GMLC_CONFIG stands in
    # for /etc/salve/gmlc.toml), and a relative state directory.
    for name in list(os.environ):
        if name.startswith("SALVE_GMLC_"):
            monkeypatch.delenv(name)
    config = tmp_path / "etc" / "gmlc.toml"
    config.parent.mkdir()
    monkeypatch.setenv("SALVE_GMLC_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--state-dir", "prod", "--issuer", "gmlc.example.net"]) == 0
    said = capsys.readouterr().out
    assert f"Configuration written to {config}" in said and "No TLS" in said
    written = tomllib.loads(config.read_text())["gmlc"]
    assert written["issuer"] == "gmlc.example.net" and "dev" not in written
    assert written["state_dir"] == str(tmp_path / "prod")
    # The next commands of the README, as written, find the node.
    assert main(["client", "add", "web-1", "--msisdn", "41790000001", "--from-anywhere"]) == 0
    assert main(["db", "status"]) == 0
    assert "web-1" in capsys.readouterr().out


def test_init_prints_a_tls_config_for_installing_by_hand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("SALVE_GMLC_"):
            monkeypatch.delenv(name)
    argv = ["--issuer", "gmlc.example.net", "--host", "0.0.0.0"]
    argv += ["--tls-cert", "/etc/salve/tls/gmlc.crt", "--tls-key", "/etc/salve/tls/gmlc.key"]
    assert main(["--config", str(tmp_path / "gmlc.toml"), "init", *argv, "--print-config"]) == 0
    printed = capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []  # printed only
    (tmp_path / "gmlc.toml").write_text(printed)
    settings = load_settings(tmp_path / "gmlc.toml")
    assert (settings.issuer, settings.host, settings.effective_port) == (
        "gmlc.example.net",
        "0.0.0.0",
        9211,
    )
    assert settings.tls_key == Path("/etc/salve/tls/gmlc.key")


def test_init_says_how_to_put_the_config_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SALVE_GMLC_CONFIG", raising=False)
    target = tmp_path / "missing" / "gmlc.toml"
    argv = ["--config", str(target), "init", "--issuer", "gmlc.example.net"]
    assert main([*argv, "--state-dir", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"salve-gmlc: cannot write {target}: the directory")
    assert not (tmp_path / "s").exists()


def test_client_lifecycle(cli: Cli, node: Path) -> None:
    code, out, _ = cli(
        "client", "add", "web-1", "--msisdn", "41790000001", "--from", "203.0.113.0/24", "--json"
    )
    assert code == 0
    password = json.loads(out)["password"]
    assert len(password) >= 32

    store = Store.open(f"sqlite:///{node.parent / 'state' / 'gmlc.sqlite3'}")
    try:
        client = store.get_client("web-1")
        assert client is not None
        assert PasswordHasher().verify(client.password_hash, password)
        assert password not in client.password_hash

        assert cli("client", "add", "web-1", "--from-anywhere")[0] == 4
        assert cli("client", "disable", "web-1")[0] == 0
        code, out, _ = cli("client", "list", "--json")
        assert [(c["client_id"], c["enabled"]) for c in json.loads(out)] == [("web-1", False)]
        assert cli("client", "enable", "web-1")[0] == 0

        code, out, _ = cli("client", "rotate-password", "web-1")
        assert code == 0 and "shown only now" in out
        rotated = store.get_client("web-1")
        assert rotated is not None and rotated.password_hash != client.password_hash

        code, out, _ = cli("client", "authorize", "web-1", "--imsi", "228011234567890", "--json")
        assert code == 0 and json.loads(out)["imsis"] == ["228011234567890"]
        code, out, _ = cli("client", "list")
        assert "web-1" in out and "41790000001" in out
    finally:
        store.close()


def test_client_networks_pin_and_unpin(cli: Cli) -> None:
    code, out, err = cli("client", "add", "web-net", "--from", "203.0.113.0/24")
    assert code == 0, err
    assert "only from 203.0.113.0/24" in out
    code, out, _ = cli("client", "networks", "web-net", "--add", "2001:DB8::/48", "--json")
    assert code == 0 and json.loads(out)["networks"] == ["2001:db8::/48", "203.0.113.0/24"]
    code, _, err = cli("client", "networks", "web-net", "--remove", "198.51.100.0/24")
    assert code == 3 and "no network 198.51.100.0/24" in err
    code, out, _ = cli("client", "networks", "web-net", "--set", "198.51.100.7")
    assert code == 0 and "only from 198.51.100.7/32" in out
    code, _, err = cli("client", "networks", "web-net", "--remove", "198.51.100.7/32")
    assert code == 2 and "without any network" in err
    code, _, err = cli("client", "networks", "web-net", "--set", "192.0.2.0/24", "--add", "x")
    assert code == 2 and "do not mix" in err
    code, out, _ = cli("client", "networks", "web-net", "--anywhere")
    assert code == 0 and "from anywhere" in out
    code, out, _ = cli("client", "networks", "web-net")
    assert (
        code == 0 and out.strip() == "Client web-net may connect from anywhere (0.0.0.0/0, ::/0)."
    )
    code, out, _ = cli("client", "list")
    assert "0.0.0.0/0,::/0" in out


def test_client_certificates_pin_and_unpin(cli: Cli, tmp_path: Path) -> None:
    ca = trustme.CA()
    front = tmp_path / "front.pem"
    front.write_bytes(ca.issue_cert("front.example.net").cert_chain_pems[0].bytes())
    pin = spki_sha256_of_pem(front.read_bytes())
    code, _, err = cli("client", "add", "web-tls", "--from-anywhere", "--certificate", str(front))
    assert code == 0, err
    code, out, _ = cli("client", "certificates", "web-tls", "--json")
    assert json.loads(out)["certificates"] == [pin]
    code, out, _ = cli("client", "certificates", "web-tls")
    assert pin in out
    code, _, err = cli("client", "certificates", "web-tls", "--add", str(tmp_path / "none.pem"))
    assert code == 3 and "does not exist" in err
    (tmp_path / "junk.pem").write_text("junk")
    code, _, err = cli("client", "certificates", "web-tls", "--add", str(tmp_path / "junk.pem"))
    assert code == 2 and "not a PEM certificate" in err
    code, out, _ = cli("client", "certificates", "web-tls", "--remove", pin.upper())
    assert code == 0 and "needs no TLS client certificate" in out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (("client", "disable", "ghost"), 3, "does not exist"),
        (("client", "rotate-password", "ghost"), 3, "does not exist"),
        (("client", "authorize", "ghost", "--msisdn", "41790000001"), 3, "does not exist"),
        (("client", "authorize", "web-x"), 2, "at least one"),
        (("client", "add", "bad id", "--from-anywhere"), 2, "client id"),
        (("client", "add", "web-z", "--imsi", "12", "--from-anywhere"), 2, "IMSI"),
        (("client", "add", "web-z"), 2, "--from CIDR"),
        (("client", "add", "web-z", "--from", "203.0.113.9/24"), 2, "did you mean 203.0.113.0/24"),
        (("client", "networks", "ghost"), 3, "does not exist"),
        (("client", "networks", "ghost", "--add", "192.0.2.0/24"), 3, "does not exist"),
        (("appliance", "enable", "ghost"), 3, "does not exist"),
        (("cells", "import", "/nonexistent/cells.csv"), 3, "does not exist"),
    ],
)
def test_errors_have_meaningful_exit_codes_and_no_traceback(
    cli: Cli,
    argv: tuple[str, ...],
    code: int,
    message: str,
) -> None:
    got, _, err = cli(*argv)
    assert got == code
    assert message in err and "Traceback" not in err
    assert err.startswith("salve-gmlc: ") and "error:" not in err


def test_argument_errors_exit_with_usage_code(cli: Cli) -> None:
    code, _, err = cli("cells", "import", "x.csv", "--batch", "0")
    assert code == 2
    assert err.splitlines()[-1] == "salve-gmlc: argument --batch: 0 must be at least 1"
    code, _, err = cli("audit", "list", "--since", "yesterday")
    assert code == 2 and "ISO 8601" in err


def test_appliance_lifecycle(cli: Cli) -> None:
    # One base64url key in 64 begins with "-"; take such a key, which the enrolment
    # command's "--public-key=KEY" form must carry.
    key = _public_key()
    while not key.startswith("-"):
        key = _public_key()
    enrol = (f"--public-key={key}", "--iccid", "8941000000000000001", "--site", "zrh-dc1")
    code, out, err = cli("appliance", "add", "app-1", "--imsi", "228019999999999", *enrol, "--json")
    assert code == 0, err
    assert json.loads(out)["last_seq"] == 0
    code, _, err = cli("appliance", "add", "app-2", "--imsi", "228019999999999", *enrol)
    assert code == 4 and "already bound" in err
    code, _, err = cli(
        "appliance",
        "add",
        "app-3",
        "--imsi",
        "2280",
        enrol[0],
        "--site",
        "x",
        "--iccid",
        "8941000000000000002",
    )
    assert code == 2 and "IMSI" in err
    assert cli("appliance", "disable", "app-1")[0] == 0
    code, out, _ = cli("appliance", "list", "--json")
    assert [(a["appliance_id"], a["enabled"]) for a in json.loads(out)] == [("app-1", False)]
    assert cli("appliance", "enable", "app-1")[0] == 0
    code, out, _ = cli("appliance", "list")
    assert "zrh-dc1" in out


def test_cells_import_and_stats(cli: Cli, tmp_path: Path) -> None:
    rows = [
        HEADER,
        "LTE,228,1,1234,27440068,0,8.541694,47.376887,800,42,1,1600000000,1790000000,-95",
        "GSM,228,3,501,10021,,8.5,47.4,2500,7,1,1600000000,1790000000,0",
        "LTE,228,1,1234,27439045,0,8.54,95.0,800,1,1,1600000000,1790000000,0",
        "LTE,228,1",
    ]
    path = tmp_path / "cells.csv.gz"
    path.write_bytes(gzip.compress(("\r\n".join(rows) + "\r\n").encode()))
    code, out, err = cli("cells", "import", str(path), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["rows_read"], report["rows_imported"], report["bad_rows"]) == (4, 2, 2)
    assert report["bad_rows_by_reason"] == {"bad lat": 1, "wrong number of fields": 1}
    code, out, _ = cli("cells", "import", str(path))
    assert code == 0 and "Skipped 2 bad rows" in out and "line 4: bad lat" in out
    code, out, _ = cli("cells", "stats", "--json")
    assert json.loads(out) == {"total": 2, "by_radio": {"GSM": 1, "LTE": 1}, "by_mcc": {"228": 2}}


def test_keys_list_rotate_and_generate_conflict(cli: Cli) -> None:
    code, out, _ = cli("keys", "list", "--json")
    before = json.loads(out)
    assert code == 0 and [k["status"] for k in before] == ["active"] * 1 + ["retired"] * (
        len(before) - 1
    )
    code, out, _ = cli("keys", "rotate", "--alg", "ES256", "--json")
    new = json.loads(out)
    assert code == 0 and new["alg"] == "ES256" and new["status"] == "active"
    code, out, _ = cli("keys", "list", "--json")
    after = json.loads(out)
    assert after[0]["kid"] == new["kid"]
    assert {k["kid"]: k["status"] for k in after}[before[0]["kid"]] == "retired"
    assert cli("keys", "generate")[0] == 4


def _unix(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def test_keys_revoke_withdraws_the_key_and_prints_its_pin_until(cli: Cli, node: Path) -> None:
    # One key id in 64 begins with "-", which argparse would take for an option: make the
    # active key such a key, so the command's --kid=KID and "--" forms are what is tested.
    ring = KeyRing(load_settings(node).keys_dir)
    while not ring.rotate().kid.startswith("-"):
        pass
    code, out, _ = cli("keys", "list", "--json")
    active = next(k for k in json.loads(out) if k["status"] == "active")
    assert active["kid"].startswith("-")
    assert active["until"] is None and active["revoked_at"] is None
    retired = next(k for k in json.loads(out) if k["status"] == "retired")
    # The pin's until is the retirement rounded up to a second (the listing shows seconds).
    assert _unix(retired["retired_at"]) <= retired["until"] <= _unix(retired["retired_at"]) + 1

    code, said, err = cli("keys", "revoke", f"--kid={active['kid']}")
    assert code == 0, err
    assert "now signs in its place" in said
    code, out, _ = cli("keys", "list", "--json")
    keys = {k["kid"]: k for k in json.loads(out)}
    revoked = keys[active["kid"]]
    assert revoked["status"] == "revoked"
    assert _unix(revoked["revoked_at"]) <= revoked["until"] <= _unix(revoked["revoked_at"]) + 1
    assert f"until={revoked['until']}" in said
    assert "already revoked" in cli("keys", "revoke", "--", active["kid"])[1]
    assert [k["status"] for k in keys.values()].count("active") == 1
    assert cli("keys", "revoke", "no-such-key")[0] == 3
    code, _, err = cli("keys", "revoke", "a", "--kid=b")
    assert code == 2 and "--kid=KID" in err


def test_audit_list_and_export(cli: Cli, node: Path) -> None:
    with Store.open(f"sqlite:///{node.parent / 'state' / 'gmlc.sqlite3'}") as store:
        for n in range(5):
            store.append_audit(
                "slir" if n % 2 == 0 else "auth_failure",
                client_id="web-1",
                source="192.0.2.1",
                targets=["41790000001"],
                result=0,
                detail={"n": n},
                at=datetime(2026, 1, 1, 0, n, tzinfo=UTC),
            )
    code, out, _ = cli("audit", "list", "--limit", "2", "--json")
    assert [e["detail"]["n"] for e in json.loads(out)] == [3, 4]
    code, out, _ = cli("audit", "list", "--kind", "slir", "--since", "2026-01-01T00:01:00Z")
    assert code == 0 and out.count("slir") == 2 and '{"n":2}' in out
    code, out, _ = cli("audit", "export")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [e["detail"]["n"] for e in lines] == [0, 1, 2, 3, 4]
    assert lines[0]["at"] == "2026-01-01T00:00:00Z" and lines[0]["targets"] == ["41790000001"]


def test_db_status_and_upgrade(cli: Cli) -> None:
    code, out, _ = cli("db", "status", "--json")
    assert code == 0 and json.loads(out)["ok"]
    code, out, _ = cli("db", "upgrade")
    assert code == 0 and "already at the newest" in out


def test_config_comes_from_the_environment_variable(
    node: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALVE_GMLC_CONFIG", str(node))
    assert main(["db", "status"]) == 0
    assert "newest schema revision" in capsys.readouterr().out


def test_missing_config_file_is_a_plain_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["client", "list", "--config", str(tmp_path / "absent.toml")]) == 1
    assert "does not exist" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(node: Path) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gmlc", "serve", "--config", str(node)],
        cwd=REPO,
        env={**os.environ, "SALVE_GMLC_PORT": str(port), "SALVE_GMLC_METRICS_PORT": "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()


def test_serve_publishes_the_active_key(served: str, cli: Cli) -> None:
    _, out, _ = cli("keys", "list", "--json")
    active = next(k["kid"] for k in json.loads(out) if k["status"] == "active")
    deadline = time.monotonic() + 45
    while True:
        try:
            answer = httpx.get(f"{served}/.well-known/salve/jwks.json", timeout=2)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                pytest.fail("salve-gmlc serve did not answer within 45 s")
            time.sleep(0.1)  # polling a port, not hiding a race
    assert answer.status_code == 200
    assert active in [key["kid"] for key in answer.json()["keys"]]


def test_example_config_for_operators_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SALVE_GMLC_"):
            monkeypatch.delenv(name)
    example = REPO / "systemd" / "gmlc.example.toml"
    settings = load_settings(example)
    assert settings.issuer == "gmlc.example.net" and not settings.dev
    # The commented-out values are the real defaults: uncommenting them changes nothing.
    # (Skipped: the ones that are examples rather than defaults.)
    examples_only = (
        "database_url",
        "tls_cert",
        "tls_key",
        "tls_client_ca",
        "port",
        "dns_server",
        "dns_trust_anchor",
        "dns_zone_files",
        "pkcs11_",
    )
    commented = [
        line[2:]
        for line in example.read_text().splitlines()
        if line.startswith("# ") and " = " in line and not line[2:].startswith(examples_only)
    ]
    table = tomllib.loads("\n".join(commented))
    assert len(table) >= 20
    defaults = load_settings(None, issuer="gmlc.example.net")
    for key, value in table.items():
        assert getattr(defaults, key) == value, key


def test_config_path_precedence(tmp_path: Path) -> None:
    flag, env = tmp_path / "flag.toml", tmp_path / "env.toml"
    assert resolve_config_path(str(flag), {"SALVE_GMLC_CONFIG": str(env)}) == flag
    assert resolve_config_path(None, {"SALVE_GMLC_CONFIG": str(env)}) == env
    system = resolve_config_path(None, {})
    assert system is None or system == Path("/etc/salve/gmlc.toml")


def test_times_without_a_zone_are_utc_and_nonsense_is_refused() -> None:
    assert parse_time("2026-01-31") == datetime(2026, 1, 31, tzinfo=UTC)
    assert parse_time("2026-01-31T12:00:00+02:00").astimezone(UTC).hour == 10
    with pytest.raises(argparse.ArgumentTypeError, match="ISO 8601"):
        parse_time("last tuesday")


def test_table_formatting_for_people() -> None:
    table = format_table(
        ["ID", "ON", "SET"], [("a", True, frozenset({"2", "1"})), ("bb", False, None)]
    )
    assert table.splitlines() == ["ID  ON   SET", "a   yes  1,2", "bb  no   -"]


def test_keys_generate_and_rotate_into_a_pkcs11_token(
    tmp_path: Path,
    softhsm: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in list(os.environ):
        if name.startswith("SALVE_GMLC_"):
            monkeypatch.delenv(name)
    pin_file = tmp_path / "pin"
    pin_file.write_text(softhsm.pin + "\n")
    pin_file.chmod(0o600)
    config = tmp_path / "gmlc.toml"
    config.write_text(f'[gmlc]\ndev = true\nstate_dir = "{tmp_path / "state"}"\n')
    token = ["--pkcs11-module", str(softhsm.module), "--pkcs11-token", softhsm.token_label]
    token += ["--pkcs11-pin-file", str(pin_file)]

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--config", str(config), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    code, _, err = run("keys", "generate", *token)
    assert code == 2 and "need --pkcs11" in err  # token options alone are a usage error
    code, out, err = run("keys", "generate", "--pkcs11", "--json", *token)
    assert code == 0, err
    generated = json.loads(out)
    assert generated["pkcs11"] is True and generated["status"] == "active"
    assert not list((tmp_path / "state" / "keys").glob("*.pem"))
    # Without the token the ring still lists the key, but cannot sign with it.
    code, out, _ = run("keys", "list", "--json")
    assert code == 0 and json.loads(out)[0]["kid"] == generated["kid"]
    code, out, err = run("keys", "rotate", *token, "--pkcs11")
    assert code == 0, err
    assert f"in PKCS#11 token {softhsm.token_label!r} (not extractable)" in out

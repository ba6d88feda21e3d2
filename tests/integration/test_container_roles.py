"""The container's roles (docker/stack.sh) run for real, without Docker.

Docker does not run where the tests run, but the entry script is plain shell around the
programs: run its roles in temporary state directories, with the compose file's
environment, and check they leave a node an operator can use (configuration where serve
reads it, TLS, the demo cells, the appliance enrolled, the web client pinned to private
networks with its DNSSEC-enrolled demo domain). A second enrolment must change nothing.

Then the whole stack, as compose starts it: the GMLC, the appliance on ``sim://``, the
application and the front, each its role's long-running process on loopback (the
settings that compose fixes, such as ports and the ``gmlc`` and ``app`` host names, are
overridden through the programs' own environment variables), and a client checks the
site with ``salve-verify`` from the files ``front-init`` leaves for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gmlc.store import Store
from mlp.client import MlpClient, MlpResultError
from tests.support.processes import clean_env, free_port, stop_process, wait_for

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT_S = 60.0
Started = subprocess.Popen[bytes]


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    environment = {k: str(v) for k, v in compose["x-salve"]["environment"].items()}
    # SQLite instead of the compose file's PostgreSQL service; state in temporary places.
    del environment["SALVE_GMLC_DATABASE_URL"]
    states = {name: tmp_path / name for name in ("gmlc", "appliance", "front", "app")}
    empty_configuration = tmp_path / "appliance.toml"
    empty_configuration.write_text("")
    for directory in states.values():
        directory.mkdir()
    environment |= {
        "SALVE_STACK_GMLC_STATE": str(states["gmlc"]),
        "SALVE_STACK_APPLIANCE_STATE": str(states["appliance"]),
        "SALVE_STACK_FRONT_STATE": str(states["front"]),
        "SALVE_STACK_APP_ROOT": str(states["app"]),
        "SALVE_APPLIANCE_APPLIANCE_STATE_DIR": str(states["appliance"]),
        "SALVE_APPLIANCE_APPLIANCE_STATUS_SOCKET": str(states["appliance"] / "status.sock"),
        # As in the container, the appliance has no configuration file, only its environment,
        # even on a machine where one is installed in /etc/salve.
        "SALVE_APPLIANCE_CONFIG": str(empty_configuration),
    }
    inherited = clean_env(
        "SALVE_GMLC_", "SALVE_APPLIANCE_", "SALVE_DEMO_", "SALVE_FRONT_", "SALVE_STACK_"
    )
    # The script calls salve-gmlc, salve-appliance, salve-front and python: this
    # installation's.
    path = f"{BIN}{os.pathsep}{inherited.get('PATH', '')}"
    return {**inherited, **environment, "PATH": path}


def role(env: dict[str, str], name: str) -> str:
    done = subprocess.run(
        ["sh", str(ROOT / "docker" / "stack.sh"), name],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (name, done.stdout, done.stderr)
    return done.stdout


def test_the_one_shot_roles_make_a_usable_node_and_repeat_harmlessly(
    stack_env: dict[str, str],
) -> None:
    for name in ("gmlc-init", "appliance-init", "enrol"):
        role(stack_env, name)
    gmlc_state = Path(stack_env["SALVE_STACK_GMLC_STATE"])
    config = tomllib.loads((gmlc_state / "gmlc.toml").read_text())["gmlc"]
    assert config["issuer"] == stack_env["SALVE_DEMO_ISSUER"]
    assert (config["host"], config["tls_key"]) == ("0.0.0.0", str(gmlc_state / "tls/gmlc.key"))
    password = role(stack_env, "password").strip()
    assert len(password) >= 32

    # A second `docker compose up` initialises and enrols again: what is there is found and
    # kept (init and the cells import are repeatable by themselves,
    # tests/integration/test_gmlc_cli.py), the TLS certificate included.
    certificate = (gmlc_state / "tls" / "gmlc.crt").read_bytes()
    role(stack_env, "gmlc-init")
    assert (gmlc_state / "tls" / "gmlc.crt").read_bytes() == certificate
    role(stack_env, "enrol")
    assert role(stack_env, "password").strip() == password
    with Store.open(f"sqlite:///{gmlc_state / 'gmlc.sqlite3'}") as store:
        (appliance,) = store.list_appliances()
        assert appliance.appliance_id == stack_env["SALVE_APPLIANCE_APPLIANCE_ID"]
        client = store.get_client("web-1")
        assert client is not None and not client.from_anywhere
        assert client.domains == {"www.demo.invalid"}
        assert client.msisdns == {appliance.msisdn}
        assert store.cell_stats()["total"] > 0


def wait_until(what: str, condition: Callable[[], bool], running: list[Started]) -> None:
    """Polls ``condition`` until true; fails at once when a service died meanwhile."""

    def met() -> bool:
        for process in running:
            assert process.poll() is None, (what, process.args, process.returncode)
        return condition()

    wait_for(met, what, timeout=STARTUP_TIMEOUT_S)


def succeeds(env: dict[str, str], name: str) -> bool:
    done = subprocess.run(
        ["sh", str(ROOT / "docker" / "stack.sh"), name], env=env, timeout=30, check=False
    )
    return done.returncode == 0


@contextlib.contextmanager
def services(
    env: dict[str, str], logs: Path
) -> Iterator[tuple[Callable[[str], Started], list[Started]]]:
    """Starts long-running roles (``start(name)``); stops them all on the way out."""
    running: list[Started] = []

    def start(name: str) -> Started:
        with (logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                ["sh", str(ROOT / "docker" / "stack.sh"), name],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        running.append(process)
        return process

    try:
        yield start, running
    finally:
        for process in reversed(running):
            stop_process(process)


def test_the_front_roles_serve_a_site_that_salve_verify_verifies(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    gmlc_port, front_port, app_port = free_port(), free_port(), free_port()
    gmlc_state = Path(stack_env["SALVE_STACK_GMLC_STATE"])
    front_state = Path(stack_env["SALVE_STACK_FRONT_STATE"])
    env = stack_env | {
        "SALVE_GMLC_HOST": "127.0.0.1",
        "SALVE_GMLC_PORT": str(gmlc_port),
        "SALVE_GMLC_METRICS_PORT": "0",
        "SALVE_APPLIANCE_GMLC_URL": f"https://127.0.0.1:{gmlc_port}",
        "SALVE_APPLIANCE_GMLC_CA_FILE": str(gmlc_state / "tls" / "gmlc.crt"),
        "SALVE_STACK_APP_PORT": str(app_port),
        # Where compose names the services gmlc and app, and publishes 8443.
        "SALVE_FRONT_GMLC_URL": f"https://127.0.0.1:{gmlc_port}",
        "SALVE_FRONT_UPSTREAM_URL": f"http://127.0.0.1:{app_port}",
        "SALVE_FRONT_TLS_LISTEN": f"127.0.0.1:{front_port}",
        "SALVE_FRONT_METRICS_LISTEN": f"127.0.0.1:{free_port()}",
    }
    for name in ("gmlc-init", "appliance-init", "enrol"):
        role(env, name)
    logs = tmp_path / "logs"
    logs.mkdir()
    with services(env, logs) as (start, running):
        start("gmlc")
        wait_until("the GMLC", lambda: succeeds(env, "gmlc-ready"), running)
        start("appliance")
        start("app")
        password = role(env, "password").strip()
        msisdn = json.loads(
            (Path(env["SALVE_STACK_APPLIANCE_STATE"]) / "enrollment.json").read_text()
        )["msisdn"]
        with MlpClient(
            f"https://127.0.0.1:{gmlc_port}",
            client_id="web-1",
            password=password,
            verify=str(gmlc_state / "tls" / "gmlc.crt"),
        ) as mlp:

            def located() -> bool:
                try:
                    mlp.request_location(msisdn)
                except MlpResultError:
                    return False
                return True

            wait_until("the appliance's first observation", located, running)

        # salve-front declare, then salve-front check over the newly signed zone; a second
        # start (a second `docker compose up`) declares the same key again and passes too.
        for _ in range(2):
            said = role(env, "front-init")
            assert "; www.demo.invalid, key of" in said
            assert "www.demo.invalid: both declarations verify with the key of" in said
        config = tomllib.loads((front_state / "front.toml").read_text())
        assert config["gmlc"]["url"] == "https://gmlc:9211"
        assert (front_state / "gmlc.password").stat().st_mode & 0o077 == 0

        start("front")
        wait_until("the front", lambda: succeeds(env, "front-ready"), running)
        client = front_state / "client"
        verify = subprocess.run(
            [
                str(BIN / "salve-verify"),
                "--zone-file", str(client / "demo.invalid.zone"),
                "--trust-anchor", str(client / "trust-anchor.txt"),
                "--ca", str(client / "ca.pem"),
                "--resolve", "www.demo.invalid:127.0.0.1",
                "--resolve", "gmlc.demo.invalid:127.0.0.1",
                "--no-state", "--json", "--get", "/",
                f"https://www.demo.invalid:{front_port}",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )  # fmt: skip
        assert verify.returncode == 0, (verify.stdout, verify.stderr)
        verdict, fetched = verify.stderr.splitlines()
        assert json.loads(verdict)["verdict"] == "VERIFIED", verdict
        assert fetched == "salve-verify: GET /: HTTP 200"
        # The page came from the application, through the front, on the verified connection.
        assert "The demo site, behind the SALVE front." in verify.stdout

"""The container's roles (docker/stack.sh) run for real, without Docker.

Docker does not run where the tests run, but the entry script is plain shell around the
programs: run its one-shot roles in temporary state directories, with the compose file's
environment, and check they leave a node an operator can use (configuration where serve
reads it, TLS, the demo cells, the appliance enrolled, the web client pinned to private
networks with its DNSSEC-enrolled demo domain). A second enrolment must change nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from gmlc.store import Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    environment = {k: str(v) for k, v in compose["x-salve"]["environment"].items()}
    # SQLite instead of the compose file's PostgreSQL service; state in temporary places.
    del environment["SALVE_GMLC_DATABASE_URL"]
    gmlc_state, appliance_state = tmp_path / "gmlc", tmp_path / "appliance"
    gmlc_state.mkdir()
    appliance_state.mkdir()
    environment |= {
        "SALVE_STACK_GMLC_STATE": str(gmlc_state),
        "SALVE_STACK_APPLIANCE_STATE": str(appliance_state),
        "SALVE_APPLIANCE_APPLIANCE_STATE_DIR": str(appliance_state),
        "SALVE_APPLIANCE_APPLIANCE_STATUS_SOCKET": str(appliance_state / "status.sock"),
    }
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SALVE_GMLC_", "SALVE_APPLIANCE_", "SALVE_DEMO_"))
    }
    # The script calls salve-gmlc, salve-appliance and python: this installation's.
    path = f"{Path(sys.executable).parent}{os.pathsep}{inherited.get('PATH', '')}"
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

    # A second `docker compose up` enrols again: what is there is found and kept (init and
    # the cells import are repeatable by themselves, tests/integration/test_gmlc_cli.py).
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

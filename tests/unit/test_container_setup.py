"""The container set-up (Dockerfile, compose.yaml, docker/stack.sh), checked without Docker.

Docker does not run where the tests run, so this checks what can be checked: the compose
file parses and hangs together, every role it starts exists in the entry script, the
script is valid shell, the Dockerfile copies files that exist, the appliance's settings in
the compose environment pass the appliance's own configuration loader, and the check of
the site its header shows is one ``salve-verify`` accepts, on files the front's volume has.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.config import load_config
from verifier.cli import build_parser as verifier_parser

ROOT = Path(__file__).resolve().parents[2]
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def roles() -> set[str]:
    script = (ROOT / "docker" / "stack.sh").read_text()
    return set(re.findall(r"^([a-z][a-z-]*)\)$", script, flags=re.MULTILINE))


def test_the_stack_has_its_services_and_they_hang_together(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {
        "db", "gmlc-init", "gmlc", "appliance-init", "enrol", "appliance",
        "front-init", "app", "front",
    } <= set(services)  # fmt: skip
    for name, service in services.items():
        assert "image" in service, name
        for dependency, spec in (service.get("depends_on") or {}).items():
            assert dependency in services, (name, dependency)
            assert spec["condition"] in CONDITIONS, (name, dependency)
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], dependency
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source in compose["volumes"], (name, volume)
    # The GMLC and the front are published on loopback only; the front on a port the image's
    # unprivileged user can bind inside.
    assert services["gmlc"]["ports"] == ["127.0.0.1:9211:9211"]
    assert services["front"]["ports"] == ["127.0.0.1:8443:8443"]
    # salve-front declare and check talk to the GMLC: front-init waits until it serves.
    assert services["front-init"]["depends_on"]["gmlc"]["condition"] == "service_healthy"
    assert services["front"]["depends_on"]["front-init"]["condition"] == (
        "service_completed_successfully"
    )


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Mount point -> volume, with ``:ro`` when read-only."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *mode = volume.split(":")
        found[target] = ":".join([source, *mode])
    return found


def test_the_front_roles_see_the_volumes_they_read_and_write(compose: dict[str, Any]) -> None:
    services = compose["services"]
    # front-init writes the front's state and signs into the GMLC's zone files; it reads the
    # enrolment (the SIM's number). The front reads its configuration, the GMLC's
    # certificate and the zone files, and writes only its own state.
    assert mounts(services["front-init"]) == {
        "/var/lib/salve-front": "front-state",
        "/var/lib/salve-gmlc": "gmlc-state",
        "/var/lib/salve-appliance": "appliance-state:ro",
    }
    assert mounts(services["front"]) == {
        "/var/lib/salve-front": "front-state",
        "/var/lib/salve-gmlc": "gmlc-state:ro",
    }


def test_every_role_started_is_one_the_entry_script_has(compose: dict[str, Any]) -> None:
    known = roles()
    for name, service in compose["services"].items():
        if service.get("build"):
            (role,) = service["command"]
            assert role in known, name
    for service, ready in (("gmlc", "gmlc-ready"), ("front", "front-ready")):
        healthcheck = compose["services"][service]["healthcheck"]["test"]
        assert healthcheck[1:] == ["salve-stack", ready]
        assert ready in known


def test_the_entry_script_is_valid_shell() -> None:
    script = ROOT / "docker" / "stack.sh"
    assert script.stat().st_mode & 0o111
    subprocess.run(["sh", "-n", str(script)], check=True, timeout=30)
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", str(script)], check=True, timeout=60)


def test_the_dockerfile_copies_what_exists() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (?!--from)(\S+) ", dockerfile, flags=re.MULTILINE):
        assert source == "." or (ROOT / source).exists(), source
    assert 'ENTRYPOINT ["salve-stack"]' in dockerfile
    assert "[postgres]" in dockerfile
    assert "USER salve" in dockerfile


def appliance_environment(service: dict[str, Any]) -> dict[str, str]:
    return {
        key: str(value)
        for key, value in service["environment"].items()
        if key.startswith("SALVE_APPLIANCE_")
    }


@pytest.mark.parametrize("name", ["appliance-init", "appliance"])
def test_the_appliance_settings_pass_the_appliance_loader(
    compose: dict[str, Any], name: str, tmp_path: Path
) -> None:
    service = compose["services"][name]
    environment = appliance_environment(service)
    ca_file = environment.get("SALVE_APPLIANCE_GMLC_CA_FILE")
    if ca_file is not None:
        # The certificate comes from the GMLC's volume, which this service mounts.
        mounts = {volume.split(":")[1] for volume in service["volumes"]}
        assert any(ca_file.startswith(mount + "/") for mount in mounts), ca_file
        (tmp_path / "gmlc.crt").write_text("stand-in for the generated certificate")
        environment["SALVE_APPLIANCE_GMLC_CA_FILE"] = str(tmp_path / "gmlc.crt")
    # The container has no configuration file, only this environment (whatever the machine
    # running the tests has in /etc/salve).
    empty = tmp_path / "appliance.toml"
    empty.write_text("")
    config = load_config(empty, environ=environment)
    assert config.modem.port == "sim://quectel-ec25?scenario=demo"
    assert config.require_gmlc_url() == "https://gmlc:9211"
    assert str(config.appliance.status_socket).startswith(str(config.appliance.state_dir))


def header_commands() -> list[list[str]]:
    """The commands the compose file's header shows (indented lines, continuations joined)."""
    header = (ROOT / "compose.yaml").read_text().split("\nname:", 1)[0]
    commands, pending = [], ""
    for line in header.splitlines():
        body = line.removeprefix("#")
        if not (pending or body.startswith("   ")):
            continue
        pending += " " + body.strip()
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        commands.append(shlex.split(pending, comments=True))
        pending = ""
    return commands


def test_the_header_shows_a_site_check_salve_verify_accepts(compose: dict[str, Any]) -> None:
    commands = header_commands()
    (copy,) = [c for c in commands if c[:3] == ["docker", "compose", "cp"]]
    (verify,) = [c for c in commands if c[0] == "salve-verify"]
    # The files come out of a volume the front mounts.
    service, _, source = copy[3].partition(":")
    front_mounts = mounts(compose["services"][service])
    assert any(source.startswith(mount + "/") for mount in front_mounts), copy
    args = verifier_parser().parse_args(verify[1:])
    kit = Path(copy[4])
    assert [Path(f) for f in args.zone_file] == [kit / "demo.invalid.zone"]
    assert (args.trust_anchor, args.ca) == (kit / "trust-anchor.txt", kit / "ca.pem")
    # Both names the check connects to: the site, and the GMLC its policy names.
    demo = compose["x-salve"]["environment"]
    assert sorted(args.resolve) == sorted(
        [f"{demo['SALVE_DEMO_DOMAIN']}:127.0.0.1", f"{demo['SALVE_DEMO_ISSUER']}:127.0.0.1"]
    )
    published = compose["services"]["front"]["ports"][0].split(":")[1]
    assert args.url == f"https://{demo['SALVE_DEMO_DOMAIN']}:{published}"

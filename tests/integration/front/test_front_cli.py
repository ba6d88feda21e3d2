"""``salve-front`` as an operator meets it: version, help, plain refusals, a plain TLS front."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

Fixture = Any


def salve_front(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "front", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version_and_help_list_the_exit_codes() -> None:
    version = salve_front("--version")
    assert version.returncode == 0 and version.stdout.startswith("salve-front ")
    helped = salve_front("--help")
    assert helped.returncode == 0
    for words in ("serve", "check", "declare", "dns", "4  a served TLS key has no published"):
        assert words in helped.stdout
    assert salve_front("dns").returncode == 2


def test_unusable_settings_are_refused_in_plain_words(world: Fixture, tmp_path: Path) -> None:
    missing = salve_front("check", "--config", str(tmp_path / "absent.toml"))
    assert missing.returncode == 3
    assert missing.stderr.startswith("salve-front: ") and "does not exist" in missing.stderr
    settings = world.settings(site={"domains": ["shop.example.salve.test", "uncovered.example"]})
    uncovered = world.cli(world.write(settings), "check")
    assert uncovered.returncode == 3
    assert "no served certificate covers the site's domain uncovered.example" in uncovered.stderr
    settings = world.settings()
    password = Path(settings["gmlc"]["password_file"])
    password.chmod(0o644)
    exposed = world.cli(world.write(settings), "check")
    assert exposed.returncode == 3 and "readable by other users" in exposed.stderr
    for result in (missing, uncovered, exposed):
        assert "Traceback" not in result.stderr


def test_check_passes_on_a_good_configuration(world: Fixture) -> None:
    result = world.cli(world.write(world.settings()), "check")
    assert result.returncode == 0, result.stderr
    assert "declarations not checked ([dns] require_declaration = false): ok" in result.stdout


def test_with_statements_off_it_is_a_plain_tls_front(world: Fixture, client: Fixture) -> None:
    front = world.start(world.settings(site={"statements": False}))
    connection = client.connect(front.port)
    assert connection.request("GET", "/.well-known/salve/statement").status == 404
    assert connection.request("GET", "/page").status == 200
    assert front.metric("salve_front_tls_handshakes_total") == 1
    assert front.metric("salve_front_statement_requests_total", mode="single", outcome="ok") == 0

"""``salve-verify`` as a person or a monitor runs it: exit codes, JSON, --get, --map, --watch."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

Fixture = Any
H = "www.example.salve.test"


def salve_verify(salve_dns: Fixture, pki: Fixture, tmp_path: Path, *args: str, **kw: Any) -> Any:
    command = [
        sys.executable,
        "-m",
        "verifier",
        "--dns",
        salve_dns.lab.server,
        "--trust-anchor",
        str(salve_dns.lab.trust_anchor),
        "--ca",
        str(pki.ca_file),
        "--state",
        str(tmp_path / "state.json"),
        *args,
    ]
    if kw.get("background"):
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_verified_json_and_get_over_the_verified_connection(
    salve_dns: Fixture, pki: Fixture, site_factory: Fixture, serves: Fixture, tmp_path: Path
) -> None:
    site = site_factory(pki.site, serves.from_gmlc())
    done = salve_verify(
        salve_dns,
        pki,
        tmp_path,
        "--json",
        "--get",
        "/balance",
        "--map",
        str(tmp_path / "m.svg"),
        site.url,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"hello from {H}/balance"
    verdict = json.loads(done.stderr.splitlines()[0])
    assert (verdict["schema"], verdict["verdict"], verdict["exit_code"]) == (
        "salve-verify/1",
        "VERIFIED",
        0,
    )
    assert verdict["statement"]["sub"] == H and verdict["position"]["ok"] is True
    assert verdict["tls"]["protocol"] == "TLSv1.3"
    assert "GET /balance: HTTP 200" in done.stderr
    svg = (tmp_path / "m.svg").read_text()
    assert svg.startswith("<?xml") and "legitimate site" in svg and "statement" in svg


def test_the_screen_says_why_and_the_exit_code_says_the_class(
    salve_dns: Fixture, pki: Fixture, site_factory: Fixture, serves: Fixture, tmp_path: Path
) -> None:
    loot = serves.gmlc_statement(b"\x01" * 32)
    relay = site_factory(pki.site, serves.signed(lambda session_hash: loot))
    refused = salve_verify(salve_dns, pki, tmp_path, relay.url)
    old_tls = site_factory(pki.site, serves.from_gmlc(), tls12_only=True)
    tls = salve_verify(salve_dns, pki, tmp_path, old_tls.url)

    assert refused.returncode == 1
    assert refused.stdout.startswith(f"salve-verify: REFUSED https://{H}:")
    assert "reason    statement is bound to another TLS session" in refused.stdout
    assert tls.returncode == 5 and "does not speak TLS 1.3" in tls.stdout


def test_a_map_with_an_earlier_check_draws_both(
    salve_dns: Fixture, pki: Fixture, site_factory: Fixture, serves: Fixture, tmp_path: Path
) -> None:
    site = site_factory(pki.site, serves.from_gmlc())
    first = salve_verify(salve_dns, pki, tmp_path, "--json", site.url)
    assert first.returncode == 0, first.stderr
    earlier = tmp_path / "earlier.json"
    earlier.write_text(first.stdout)
    again = salve_verify(
        salve_dns, pki, tmp_path, "--map", str(tmp_path / "both.svg"), "--map-with", str(earlier),
        site.url,
    )  # fmt: skip

    assert again.returncode == 0, again.stderr
    svg = (tmp_path / "both.svg").read_text()
    # One site, drawn once; this check's statement and the earlier one.
    assert svg.count("legitimate site") == 1
    assert svg.count("statement (verified)") == 2


def test_usage_errors_exit_2(salve_dns: Fixture, pki: Fixture, tmp_path: Path) -> None:
    not_json = tmp_path / "not.json"
    not_json.write_text("{}\n")
    for args, words in (
        (["http://www.example.salve.test"], "https://"),
        (["--count", "2", f"https://{H}"], "--count goes with --watch"),
        (["--trust-anchor", str(tmp_path / "none"), f"https://{H}"], "cannot read"),
        (["--map-with", str(not_json), f"https://{H}"], "--map-with goes with --map"),
        (
            ["--map", str(tmp_path / "m.svg"), "--map-with", str(not_json), f"https://{H}"],
            "not a salve-verify/1 document",
        ),
        (
            ["--map", str(tmp_path / "m.svg"), "--map-with", str(tmp_path / "no"), f"https://{H}"],
            "No such file",
        ),
    ):
        done = salve_verify(salve_dns, pki, tmp_path, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.startswith("salve-verify: ") and words in done.stderr
        assert "Traceback" not in done.stderr


def test_watch_serves_prometheus_metrics(
    salve_dns: Fixture, pki: Fixture, site_factory: Fixture, serves: Fixture, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    site = site_factory(pki.site, serves.from_gmlc())
    process = salve_verify(
        salve_dns,
        pki,
        tmp_path,
        "--watch",
        "0.5",
        "--count",
        "4",
        "--metrics",
        f"127.0.0.1:{port}",
        site.url,
        background=True,
    )
    try:
        deadline = time.monotonic() + 30
        scraped = ""
        while "salve_verify_verified" not in scraped or 'verdict="VERIFIED"' not in scraped:
            assert time.monotonic() < deadline, (
                process.stderr.read() if process.poll() is not None else scraped
            )
            try:
                scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
            except httpx.TransportError:
                time.sleep(0.05)  # polling interval while the watcher starts
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert f'salve_verify_verified{{site="{site.url}"}} 1.0' in scraped
    assert out.count("salve-verify: VERIFIED") == 4


def test_ctrl_c_during_start_up_ends_in_words(tmp_path: Path) -> None:
    import signal
    import socket

    # A DNS server that never answers: the check cannot end by itself before the interrupt.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        host, port = silent.getsockname()
        command = ["--no-state", "--timeout", "60", "--dns", f"{host}:{port}", f"https://{H}"]
        process = subprocess.Popen(
            [sys.executable, "-m", "verifier", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # Once the TLS library is loaded the checker's imports are under way, inside
            # the guard: the interrupt lands in the start-up (or in the DNS wait after it).
            maps = Path(f"/proc/{process.pid}/maps")
            deadline = time.monotonic() + 30
            while "_ssl" not in maps.read_text():
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.002)  # polling a process's state, not hiding a race
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 130, err
    assert err.splitlines()[-1] == "salve-verify: interrupted"
    assert "Traceback" not in err

"""The release artefacts: an sdist and a wheel that carry the units, rules and configs.

Built here without build isolation (the development environment already has the build
backend), so the test needs no network; ``make dist`` builds the same in isolation.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (
    "77-salve-modem-mm-ignore.rules",
    "90-salve-modem.rules",
    "appliance.example.toml",
    "front.example.toml",
    "gmlc.example.toml",
    "salve-appliance.service",
    "salve-front.service",
    "salve-gmlc.service",
)


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = out.glob("salve-*.whl")
    (sdist,) = out.glob("salve-*.tar.gz")
    yield wheel, sdist


def test_the_wheel_carries_units_rules_configs_and_entry_points(
    artefacts: tuple[Path, Path],
) -> None:
    wheel, _ = artefacts
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(
            archive.read(name).decode() for name in names if name.endswith("entry_points.txt")
        )
        for name in SHIPPED:
            member = f"runtime/systemd/{name}"
            assert member in names, member
            # The files themselves, not links to them.
            assert archive.read(member) == (ROOT / "systemd" / name).read_bytes()
    assert {"runtime/units.py", "runtime/py.typed", "modem/portlist.py"} <= names
    for script in ("salve-appliance", "salve-front", "salve-gmlc", "salve-modem"):
        assert f"{script} = " in entry_points


def test_the_sdist_carries_them_too(artefacts: tuple[Path, Path]) -> None:
    _, sdist = artefacts
    with tarfile.open(sdist) as archive:
        members = {
            member.name.split("/", 1)[1]: member
            for member in archive.getmembers()
            if "/" in member.name
        }
    for name in SHIPPED:
        assert members[f"runtime/systemd/{name}"].isfile()


def test_an_installed_wheel_copies_its_units_out(
    artefacts: tuple[Path, Path], tmp_path: Path
) -> None:
    wheel, _ = artefacts
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)  # a pure-Python wheel, unpacked, is an installation
    # -S: no site-packages, so only the unpacked wheel (and the standard library) is seen.
    command = [sys.executable, "-S", "-m", "runtime.units"]
    env = {"PYTHONPATH": str(site)}

    def units(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *args],
            env=env,
            cwd=tmp_path,  # -m puts the working directory first on the path
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert units("--path").stdout.strip() == str(site / "runtime" / "systemd")
    copied = units(str(tmp_path / "files"))
    assert copied.returncode == 0, copied.stderr
    for name in SHIPPED:
        assert (tmp_path / "files" / name).read_bytes() == (ROOT / "systemd" / name).read_bytes()
    assert "/etc/systemd/system/" in copied.stdout
    again = units(str(tmp_path / "files"))
    assert again.returncode == 1
    assert again.stderr.startswith("python -m runtime.units: ")
    assert "already there" in again.stderr
    assert units(str(tmp_path / "files"), "--force").returncode == 0

"""Staging a file the test's user cannot read, also when the tests run as root."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

__all__ = ["run_where_unreadable"]

NOBODY_UID = 65534


def run_where_unreadable(directory: Path, program: str, *args: str) -> str:
    """Close ``directory`` to this process's user, then run ``program`` and return its output.

    ``program`` is Python source, run in a fresh interpreter of this installation with
    ``args`` as ``sys.argv[1:]``. As an ordinary user the directory gets mode 0. Root reads
    everything, so there the directory is given to another user (mode 0700) and the program
    runs without the capabilities that bypass file permissions (``setpriv``, util-linux);
    without ``setpriv`` the test is skipped.
    """
    command = [sys.executable, "-c", program, *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv (util-linux) is needed to drop root's file-permission override")
        os.chown(directory, NOBODY_UID, NOBODY_UID)
        directory.chmod(0o700)
        command = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *command]
    else:
        directory.chmod(0)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    finally:
        if os.geteuid() != 0:
            directory.chmod(0o700)
    assert done.returncode == 0, done.stderr
    return done.stdout

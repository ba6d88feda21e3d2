"""One bounded file reader: each way a file is refused is named, and callers word it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from runtime.files import FileProblem, FileReadError, read_bounded
from tests.support.permissions import run_where_unreadable


def test_a_file_within_the_bound_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(b"x" * 16)

    assert read_bounded(path, 16) == b"x" * 16
    assert read_bounded(path) == b"x" * 16


def test_one_byte_over_the_bound_is_too_large(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(b"x" * 17)

    with pytest.raises(FileReadError) as caught:
        read_bounded(path, 16)
    assert caught.value.problem is FileProblem.TOO_LARGE
    assert str(caught.value) == f"{path} is too large"


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(FileReadError) as missing:
        read_bounded(tmp_path / "absent")
    assert missing.value.problem is FileProblem.MISSING
    with pytest.raises(FileReadError) as directory:
        read_bounded(tmp_path, 10)
    assert directory.value.problem is FileProblem.DIRECTORY


def test_a_file_this_user_cannot_read(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    path = locked / "key.pem"
    path.write_text("secret")
    program = (
        "import sys\n"
        "from pathlib import Path\n"
        "from runtime.files import FileReadError, read_bounded\n"
        "try:\n"
        "    read_bounded(Path(sys.argv[1]))\n"
        "except FileReadError as error:\n"
        "    print(error.problem.name)\n"
    )
    assert run_where_unreadable(locked, program, str(path)).strip() == "UNREADABLE"


def test_a_secret_shared_with_others_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "password"
    path.write_text("hunter2")
    path.chmod(0o640)

    with pytest.raises(FileReadError) as caught:
        read_bounded(path, private_mask=stat.S_IRWXG | stat.S_IRWXO)
    assert caught.value.problem is FileProblem.SHARED
    # Group-readable passes a mask that only forbids the world.
    assert read_bounded(path, private_mask=stat.S_IROTH) == b"hunter2"


def test_other_system_errors_carry_the_system_words(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)

    with pytest.raises(FileReadError) as caught:
        read_bounded(loop)
    assert caught.value.problem is FileProblem.UNUSABLE
    assert caught.value.detail
    assert (
        caught.value.describe("certificate x")
        == f"certificate x cannot be read: {caught.value.detail}"
    )


def test_callers_name_the_file_and_reword_what_they_choose(tmp_path: Path) -> None:
    path = tmp_path / "absent"
    with pytest.raises(FileReadError) as caught:
        read_bounded(path)
    error = caught.value

    assert error.describe(f"TSIG key file {path}") == f"TSIG key file {path} does not exist"
    reworded = {FileProblem.MISSING: "no key here"}
    assert error.describe("TSIG key file", reworded) == "no key here"
    assert error.describe("x", {FileProblem.TOO_LARGE: "big"}) == "x does not exist"

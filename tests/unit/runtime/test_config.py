"""One configuration-file reader for every program: each problem named in the same words."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.config import ConfigFileError, read_toml_tables


def test_known_tables_are_returned(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[modem]\nport = "sim://quectel-ec25"\n\n[gmlc]\nurl = "https://g:9211"\n')

    assert read_toml_tables(path, ("modem", "gmlc", "queue")) == {
        "modem": {"port": "sim://quectel-ec25"},
        "gmlc": {"url": "https://g:9211"},
    }


@pytest.mark.parametrize(
    ("content", "words", "setting"),
    [
        (b"[modem\n", "is not valid TOML", None),
        (b"[modem]\nport = '\xff'\n", "is not UTF-8 text", None),
        (b"[other]\n", "unknown top-level table or key 'other'; settings go in [modem]", "other"),
        (b"modem = 5\n", "modem must be a table", "modem"),
        (b"port = 'x'\n", "unknown top-level table or key 'port'", "port"),
    ],
)
def test_bad_files_are_refused_in_words(
    tmp_path: Path, content: bytes, words: str, setting: str | None
) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(content)

    with pytest.raises(ConfigFileError) as caught:
        read_toml_tables(path, ("modem",))
    assert words in str(caught.value)
    assert caught.value.setting == setting


def test_missing_directory_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="does not exist"):
        read_toml_tables(tmp_path / "absent.toml", ("modem",))
    with pytest.raises(ConfigFileError, match="is a directory"):
        read_toml_tables(tmp_path, ("modem",))
    if os.geteuid() != 0:  # root reads files whatever their mode
        locked = tmp_path / "locked.toml"
        locked.write_text("[modem]\n")
        locked.chmod(0)
        with pytest.raises(ConfigFileError, match="not readable"):
            read_toml_tables(locked, ("modem",))

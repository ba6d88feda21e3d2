"""Reading a program's TOML configuration file: one reader, one set of messages.

Every SALVE program reads one TOML file whose top level is a set of tables (``[gmlc]``,
``[modem]``, ``[tls]`` ...) and lets the environment override single settings. What can go
wrong with the file itself is the same for all of them, and an operator at 3 a.m. should
read the same words whichever program refuses it: the file is missing, unreadable, a
directory, not UTF-8, not TOML, or has a table the program does not know.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any

from runtime.files import FileReadError, read_bounded

__all__ = ["ConfigFileError", "read_toml_tables"]


class ConfigFileError(ValueError):
    """The configuration file cannot be used; ``setting`` names the table at fault, if any."""

    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


def read_toml_tables(path: Path, tables: Collection[str]) -> dict[str, dict[str, Any]]:
    """Read a configuration file whose top level holds only the given tables.

    Args:
        path: The file.
        tables: The table names the program knows, in the order to name them in messages.

    Returns:
        Each table present in the file, by name.

    Raises:
        ConfigFileError: The file is missing, unreadable, a directory, not UTF-8 text, not
            valid TOML, or has a top-level key that is not one of ``tables`` or not a table.
    """
    try:
        data = tomllib.loads(read_bounded(path).decode("utf-8"))
    except FileReadError as exc:
        raise ConfigFileError(exc.describe(f"configuration file {path}")) from None
    except UnicodeDecodeError:
        raise ConfigFileError(f"configuration file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"configuration file {path} is not valid TOML: {exc}") from None
    for table, content in data.items():
        if table not in tables:
            known = ", ".join(f"[{name}]" for name in tables)
            raise ConfigFileError(
                f"{path}: unknown top-level table or key {table!r}; settings go in {known}",
                table,
            )
        if not isinstance(content, dict):
            raise ConfigFileError(f"{path}: {table} must be a table ([{table}])", table)
    return data

"""Configuration files written from data (the shape of a file is the tables it has)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path


def toml_value(value: object) -> str:
    """``value`` (a string, path, number, bool or list of them) as a TOML value."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value))


def write_toml(path: Path, tables: Mapping[str, Mapping[str, object]]) -> Path:
    """Writes ``tables`` (name: keys and values) to ``path`` and returns it."""
    lines: list[str] = []
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path

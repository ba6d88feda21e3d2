"""Structured log lines: one event per line, ``event=KIND msg="words" key=value ...``.

Values are JSON-encoded, so spaces and quotes in them never break the line apart and
journald (or any log shipper) can split the fields back out.
"""

from __future__ import annotations

import json
import logging
from typing import Any

__all__ = ["log_event"]


def log_event(
    logger: logging.Logger, level: int, kind: str, message: str | None = None, **details: Any
) -> None:
    """Logs one event.

    Args:
        logger: the module's logger.
        level: the logging level.
        kind: the event name (``cell_changed``, ``observation_delivered``…).
        message: plain words for a person, if any.
        details: further fields; ``None`` values are written as ``null``.
    """
    if not logger.isEnabledFor(level):
        return
    parts = [f"event={kind}"]
    if message is not None:
        parts.append(f"msg={json.dumps(message)}")
    for key, value in details.items():
        parts.append(f"{key}={json.dumps(value, default=str)}")
    logger.log(level, " ".join(parts))

"""Structured logging: one JSON object per line on stderr (:mod:`mlp.jsonlog`).

Library modules only call ``logging.getLogger(__name__)`` and pass structured fields as
``extra={"fields": {...}}``; :func:`configure_logging` (called by the server, never at
import time) installs the formatter. journald keeps each line as one entry. The formatter
is shared with the site's front; this module adds uvicorn's logging configuration.
"""

from __future__ import annotations

from typing import Any

from mlp.jsonlog import JsonFormatter, configure_logging, log_event

__all__ = ["JsonFormatter", "configure_logging", "log_event", "uvicorn_log_config"]


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """A logging dictConfig for uvicorn that uses the same JSON lines."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "gmlc.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            # Access lines would repeat what the audit log records, with client addresses;
            # keep them at WARNING.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }

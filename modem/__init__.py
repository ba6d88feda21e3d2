"""Talking to cellular modules: AT engine, parsers, vendor profiles and a simulator.

The public API is :func:`open_modem` and :class:`Modem`; :mod:`modem.errors` and
:mod:`modem.models` hold the error tree and the typed values they produce.

``Modem`` and ``open_modem`` are loaded on first use, so the pure layers
(``modem.at``, ``modem.models``, the simulator's engine) import without pyserial
or the engine's threads being pulled in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modem import errors, models

if TYPE_CHECKING:
    from modem.driver import Modem, open_modem

__all__ = ["Modem", "errors", "models", "open_modem"]


def __getattr__(name: str) -> Any:
    if name in ("Modem", "open_modem"):
        from modem import driver

        return getattr(driver, name)
    raise AttributeError(f"module 'modem' has no attribute {name!r}")

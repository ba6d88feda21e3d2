"""The two things the front needs from a clock, as structural types.

Twisted's reactor and its test clock (``twisted.internet.task.Clock``) both satisfy them;
the zope interfaces Twisted declares (``IReactorTime``, ``IDelayedCall``) are not
understood by mypy, so the front's code types against these instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Clock", "DelayedCall"]


class DelayedCall(Protocol):
    """A call scheduled for later."""

    def active(self) -> bool:
        """Whether it has neither run nor been cancelled."""
        ...

    def cancel(self) -> None:
        """Do not run it."""
        ...


class Clock(Protocol):
    """Current time and scheduled calls."""

    def seconds(self) -> float:
        """The current time, in seconds."""
        ...

    def callLater(  # noqa: N802
        self, delay: float, callable: Callable[..., Any], *args: Any, **kw: Any
    ) -> DelayedCall:
        """Run ``callable(*args, **kw)`` in ``delay`` seconds."""
        ...

"""Work started on several threads at once, for races the code under test must settle."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def all_at_once(work: Callable[[int], T], threads: int) -> list[T]:
    """Runs ``work(0)`` … ``work(threads - 1)`` on as many threads, released together by a
    barrier so that they race, and returns their results in that order (re-raising the
    first exception one raised)."""
    start = threading.Barrier(threads)

    def started(n: int) -> T:
        start.wait()
        return work(n)

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(started, n) for n in range(threads)]
        return [future.result() for future in futures]

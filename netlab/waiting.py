"""Waiting for state: poll a predicate until it holds, bounded, with a message naming what was awaited.

The kernel and dockerd offer no event for most of what netlab waits on (a daemon's socket answering, a
process gone, a lock free), so these are polls; every one has a deadline and says what it waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from netlab.errors import Timeout

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Call `predicate` until it returns something true, and return that; after `timeout` seconds raise
    Timeout("waited N s for <what>"). The predicate may raise to stop the wait early (a daemon that exited)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Timeout(f"waited {timeout:g} s for {what}")
        time.sleep(interval)

"""A progress line for long runs, on a terminal only: `netlab run` on a terminal shows what it is doing
(deploying 37/100 containers, starting daemons, probing stage X, ...) on one line of stderr that is
rewritten in place and cleared at the end; in a pipe, a log or CI nothing is written at all.

Backends report their long loops through the runner's hooks, which call `tick(what, done, total)`; the
runner calls `phase(text)`. Both cost a
dictionary lookup when progress is off (the default: the library never writes to a terminal unasked)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_out: TextIO | None = None
_last = 0.0
_width = 0
MIN_INTERVAL_S = 0.1  # redraws at most ten times a second


def enable(stream: TextIO | None = None) -> bool:
    """Show progress on `stream` (stderr) if it is a terminal. True when enabled."""
    global _out
    stream = stream or sys.stderr
    _out = stream if stream.isatty() else None
    return _out is not None


def disable() -> None:
    global _out
    clear()
    _out = None


def _show(text: str, force: bool = False) -> None:
    global _last, _width
    if _out is None:
        return
    now = time.monotonic()
    if not force and now - _last < MIN_INTERVAL_S:
        return
    _last = now
    line = text[:100]
    _out.write("\r" + line + " " * max(0, _width - len(line)) + "\r")
    _out.flush()
    _width = len(line)


def phase(text: str) -> None:
    _show(f"netlab: {text} ...", force=True)


def tick(what: str, done: int, total: int) -> None:
    _show(f"netlab: {what} {done}/{total}", force=done in (1, total))


def clear() -> None:
    global _width
    if _out is not None and _width:
        _out.write("\r" + " " * _width + "\r")
        _out.flush()
    _width = 0

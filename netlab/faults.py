"""Named points where tests stop a run on purpose (fault injection), and nowhere else.

With NETLAB_FAULT=<point>[:<n>] a run that reaches <point> for the n-th time (default 1) writes
its pid to the file NETLAB_FAULT_READY names and waits there (bounded) to be killed or signalled, or
until the file NETLAB_FAULT_RESUME names exists (the test changed the world and lets the run go on).
Without the variable `point()` is one dictionary lookup.
"""

from __future__ import annotations

import os
import time

_hits: dict[str, int] = {}
MAX_WAIT_S = 120.0


def point(name: str) -> None:
    spec = os.environ.get("NETLAB_FAULT")
    if not spec:
        return
    want, _, nth = spec.partition(":")
    if want != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] != int(nth or 1):
        return
    ready = os.environ.get("NETLAB_FAULT_READY")
    if ready:
        with open(ready, "w") as f:
            f.write(str(os.getpid()))
    resume = os.environ.get("NETLAB_FAULT_RESUME")
    deadline = time.monotonic() + MAX_WAIT_S
    while time.monotonic() < deadline and not (resume and os.path.exists(resume)):
        time.sleep(0.05)  # a test waits on us here; a signal handler raises out of this loop

"""Runs left up with `netlab run --keep`: what their journals say (netlab/runner.py `_record_kept`) and how to
step into one of their endpoints (`netlab ps`, `netlab shell`, `netlab exec`, `netlab capture`).

Only runs netlab itself journalled are found (through the checked journal directory), and only the network
namespaces and interfaces those journals name are entered: a run id or endpoint that is not netlab's is refused
(exit 2). Entering is `nsenter --net=<namespace>`: the host's own tools (ping, ip, ss, tcpdump) in the endpoint's
network namespace, also for a container whose image has no shell.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass

from netlab.backends import journal
from netlab.errors import EnvironmentProblem, UsageError

#: an endpoint in the namespace the kept run's netlab process ran in (the Docker host of the machine's daemon)
HOME = "root"


@dataclass(frozen=True, slots=True)
class KeptRun:
    run: str
    scenario: str
    backend: str
    started: float  # seconds since the epoch
    stage: int
    endpoints: dict[str, str]  # name -> network namespace path ("root": the machine's own)
    captures: dict[str, tuple[str, str]]  # capture point -> (network namespace path, interface)

    @property
    def age_s(self) -> float:
        return max(0.0, time.time() - self.started)


def runs() -> list[KeptRun]:
    """The kept runs, oldest first (those `netlab clean` has not removed yet)."""
    out = []
    for record in journal.runs():
        kept = next((e for e in record.entries if e.kind == "kept"), None)
        if kept is None or record.alive:
            continue
        captures = {}
        for point in kept.extra.get("captures", []):
            if len(point) >= 5:  # journals written before the interface was recorded have none to capture on
                captures[str(point[0])] = (str(point[1]), str(point[4]))
        out.append(
            KeptRun(
                run=record.run,
                scenario=str(record.head.get("scenario", kept.name)),
                backend=str(record.head.get("backend", "?")),
                started=float(record.head.get("time", 0.0)),
                stage=int(kept.extra.get("stage", 0)),
                endpoints={str(k): str(v) for k, v in dict(kept.extra.get("endpoints", {})).items()},
                captures=captures,
            )
        )
    return sorted(out, key=lambda k: k.started)


def find(run: str) -> KeptRun:
    if not re.fullmatch(r"[0-9a-f]{1,16}", run):
        raise UsageError(f"{run!r} is not a run id netlab writes (`netlab ps` lists the kept runs)")
    found = next((k for k in runs() if k.run == run), None)
    if found is None:
        raise UsageError(
            f"no kept run {run!r}: `netlab ps` lists the runs left up with `netlab run SCENARIO --keep` (a run that "
            "is still going or was cleaned cannot be entered)"
        )
    return found


def namespace(kept: KeptRun, endpoint: str) -> str | None:
    """The network namespace path to enter for `endpoint` (None: the machine's own, where netlab runs)."""
    if endpoint not in kept.endpoints:
        raise UsageError(
            f"{endpoint!r} is not an endpoint of run {kept.run} ({kept.scenario}); its endpoints: "
            f"{', '.join(kept.endpoints)}"
        )
    path = kept.endpoints[endpoint]
    if path == HOME:
        return None
    if not os.path.exists(path):
        raise EnvironmentProblem(
            f"{endpoint}'s network namespace of run {kept.run} is gone ({path}); `netlab clean --run {kept.run}` "
            "removes the rest"
        )
    return path


def enter(path: str | None, argv: list[str]) -> list[str]:
    """The command line that runs `argv` in that network namespace (the machine's own for None)."""
    if path is None:
        return argv
    nsenter = shutil.which("nsenter")
    if nsenter is None:
        raise EnvironmentProblem("nsenter not found: install util-linux (apt-get install util-linux)")
    return [nsenter, f"--net={path}", "--", *argv]


def capture_point(kept: KeptRun, point: str) -> tuple[str | None, str]:
    """Where to listen for a capture point of the run: (network namespace, interface)."""
    if point not in kept.captures:
        names = ", ".join(kept.captures) or "none recorded (run it again with this netlab)"
        raise UsageError(f"{point!r} is not a capture point of run {kept.run}; its points: {names}")
    path, ifname = kept.captures[point]
    if path == HOME:
        return None, ifname
    if not os.path.exists(path):
        raise EnvironmentProblem(f"capture point {point} of run {kept.run} is gone ({path})")
    return path, ifname


def age(seconds: float) -> str:
    if seconds < 120:
        return f"{int(seconds)}s"
    if seconds < 7200:
        return f"{int(seconds // 60)}m"
    return f"{int(seconds // 3600)}h"

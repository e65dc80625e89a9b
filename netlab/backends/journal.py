"""The run journal: every object is recorded BEFORE it is created, so a killed run can be finished.

One JSON-lines file per run under /run/netlab (tmpfs: namespaces do not survive a reboot either).
The first line names the owner process (pid and its start time, so a reused pid is not mistaken
for the owner); each further line is one object. `netlab clean` undoes the objects of dead runs
in reverse order, using only what the journal names.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from netlab import safety

JOURNAL_DIR = os.environ.get("NETLAB_STATE_DIR", "/run/netlab")


def _proc_start(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # field 22 (starttime), counted after the ")" that ends the command name
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str
    name: str
    extra: dict[str, Any]


class Journal:
    def __init__(self, run: str, path: str) -> None:
        self.run = run
        self.path = path

    @classmethod
    def open(cls, run: str, backend: str, scenario: str) -> Journal:
        safety.own_dir(JOURNAL_DIR)
        path = os.path.join(JOURNAL_DIR, f"{run}.journal")
        head = {
            "run": run,
            "pid": os.getpid(),
            "start": _proc_start(os.getpid()),
            "backend": backend,
            "scenario": scenario,
            "time": time.time(),
        }
        # O_EXCL + O_NOFOLLOW: a run id is never reused while its journal exists; no symlink games
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(head) + "\n")
        return cls(run, path)

    def record(self, kind: str, name: str, **extra: Any) -> None:
        line = json.dumps({"kind": kind, "name": name, **extra}) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def close(self) -> None:
        """The run tore everything down: the journal is no longer needed."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


@dataclass(frozen=True, slots=True)
class RunRecord:
    run: str
    path: str
    head: dict[str, Any]
    entries: tuple[Entry, ...]

    @property
    def alive(self) -> bool:
        pid = int(self.head.get("pid", 0))
        return pid > 0 and _proc_start(pid) == self.head.get("start")


def read(path: str) -> RunRecord:
    lines = [json.loads(line) for line in safety.read_text(path).splitlines() if line.strip()]
    head = lines[0] if lines else {}
    entries = tuple(
        Entry(e["kind"], e["name"], {k: v for k, v in e.items() if k not in ("kind", "name")}) for e in lines[1:]
    )
    return RunRecord(str(head.get("run", "")), path, head, entries)


def runs() -> Iterator[RunRecord]:
    if not os.path.lexists(JOURNAL_DIR):
        return
    safety.check_dir(JOURNAL_DIR)  # never read journals (and delete what they name) from a planted directory
    for fn in sorted(os.listdir(JOURNAL_DIR)):
        if fn.endswith(".journal"):
            path = os.path.join(JOURNAL_DIR, fn)
            try:
                yield read(path)
            except (OSError, ValueError, IndexError, KeyError):
                continue

"""A run kept up (`keep=True`) in a process of its own, so a test can look inside its namespaces and then remove it
with `netlab clean --run` (which never touches the run of a live process, such as the test's own)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent

SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from shared_scenarios import *
from netlab import runner
from netlab.options import RunOptions
r = runner.run({scenario}, RunOptions(backend={backend!r}, keep=True))
p = r.check_predicted()
print(json.dumps({{
    "run": r.run,
    "ok": r.ok,
    "summary": r.verdict.summary(),
    "predicted": p.ok and not p.unpredicted,
    "netns": {{n: e.netns for n, e in r.endpoints.items()}},
    "cells": [[o.src, o.dst, str(o.probe), str(o.outcome)] for o in r.observations],
}}))
"""


@contextmanager
def kept(scenario: str, backend: str) -> Iterator[dict[str, Any]]:
    """`scenario`: an expression over tests/shared_scenarios.py, e.g. "bridge_options()"."""
    code = SCRIPT.format(tests=str(TESTS), scenario=scenario, backend=backend)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and lines, proc.stdout + proc.stderr
    run = json.loads(lines[-1])
    try:
        yield run
    finally:
        subprocess.run(["netlab", "clean", "--run", run["run"]], capture_output=True, timeout=300, check=True)


def links(netns: str) -> list[str]:
    """`ip -o link` inside a namespace (a path into the kept run's process, gone now, is the root namespace)."""
    enter = [] if netns.startswith("/proc/self/") else ["nsenter", f"--net={netns}"]
    out = subprocess.run([*enter, "ip", "-o", "link"], capture_output=True, text=True, check=True, timeout=30).stdout
    return out.splitlines()


def sysctl(netns: str, key: str) -> str:
    path = "/proc/sys/" + key.replace(".", "/")
    return subprocess.run(
        ["nsenter", f"--net={netns}", "cat", path], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()

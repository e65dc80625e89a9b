"""The fault-injection tier: root always; Docker for the docker backend's points."""

from __future__ import annotations

import os
import subprocess

import pytest


def _docker_reason() -> str:
    try:
        subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return "no Docker daemon answers (tests/run.sh starts one; CI runs this tier)"
    return ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if "tests/faults" in str(item.fspath)]
    if not ours:
        return
    root = "" if os.geteuid() == 0 else "needs root: fault injection stops real runs (CI runs it as root)"
    docker = root or _docker_reason()
    for item in ours:
        item.add_marker(pytest.mark.faults)
        reason = docker if "docker" in item.name else root
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))

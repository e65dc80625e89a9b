from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
from hostsnap import HostSnapshot


def docker_objects() -> str:
    out = []
    for argv in (
        ["docker", "ps", "-a", "--format", "{{.Names}} {{.Image}}"],
        ["docker", "network", "ls", "--format", "{{.Name}} {{.Driver}}"],
        ["docker", "volume", "ls", "-q"],
    ):
        out.append(subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout)
    return "\n".join(out)


@pytest.fixture
def host_and_docker_unchanged() -> Iterator[None]:
    before, objects = HostSnapshot.take(), docker_objects()
    yield
    after = HostSnapshot.take()
    assert after.diff(before) == [], before.describe(after)
    assert docker_objects() == objects


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = ""
    if os.geteuid() != 0:
        reason = "needs root"
    else:
        try:
            subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            reason = "no Docker daemon answers (tests/run.sh starts one; CI runs this tier)"
    for item in items:
        if "tests/docker" in str(item.fspath):
            item.add_marker(pytest.mark.docker)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))

"""docs/ci.md, run: its example files are written into a scratch directory and every `run:` step of its
workflow is executed as written, except `Install netlab` (this suite's own installation stands in for it),
with a `sudo` that just runs its arguments (we are root). The artefacts must be there and say what the
page says they say."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml
from hostsnap import HostSnapshot

DOC = Path(__file__).resolve().parents[2] / "docs" / "ci.md"
BLOCK = re.compile(r'^```(\w+) title="([^"]+)"\n(.*?)^```', re.M | re.S)


def blocks() -> dict[str, str]:
    return {title: body for _, title, body in BLOCK.findall(DOC.read_text())}


def test_the_ci_page_runs_as_written(tmp_path: Path, host_unchanged: HostSnapshot) -> None:
    files = blocks()
    workflow = yaml.safe_load(files.pop(".github/workflows/network.yml"))
    # the compose workflow needs Docker's compose v2 plugin (not in Debian 12); its netlab step is the command
    # tests/docker/test_scan_live.py runs on a project docker-compose 1.29.2 started
    compose_job = yaml.safe_load(files.pop(".github/workflows/compose-network.yml"))["jobs"]["scan"]["steps"]
    assert any(
        "netlab scan --project app --expect app.matrix --check predicted" in s.get("run", "") for s in compose_job
    )
    assert set(files) == {"tests/network/layout.py", "tests/network/test_layout.py", "tests/network/layout.matrix"}
    for name, body in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body)
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    (shims / "sudo").chmod(0o755)
    env = {**os.environ, "PATH": f"{shims}:{Path(sys.executable).parent}:{os.environ['PATH']}"}
    ran = []
    for step in workflow["jobs"]["matrix"]["steps"]:
        if "run" not in step or step["name"] == "Install netlab":
            continue
        proc = subprocess.run(
            ["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, (step["name"], proc.stdout[-3000:], proc.stderr[-3000:])
        ran.append(step["name"])
    assert ran == ["Check the layout's matrix", "Matrix tests"]
    result = json.loads((tmp_path / "out" / "layout.json").read_text())
    assert result["ok"] and result["summary"] == {"correct": 6, "wrong": 0, "errors": 0}
    assert list((tmp_path / "out" / "pcap").glob("*.pcap"))
    cases = list(ET.parse(tmp_path / "out" / "junit.xml").getroot().iter("testcase"))
    names = sorted(str(c.get("name")) for c in cases)
    # both tests, and the six cells of the one whose expectations come from layout.matrix
    assert len(names) == 2 + 6, names
    assert sum("[netns:initial:" in n for n in names) == 6
    assert not any(c.find("failure") is not None or c.find("skipped") is not None for c in cases)

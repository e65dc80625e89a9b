"""`netlab compare --backends docker,podman`: every bundled scenario Podman's Docker API can run, on the machine's
Docker Engine and on Podman's service; docs/podman.md is that output (the parity table of Docker 20.10 and
Podman 4.3) and must still be what a run gives, names that change with every run left out."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from generated import normalised

DOC = Path(__file__).resolve().parents[2] / "docs" / "podman.md"


def test_docker_and_podman_compared_and_docs_podman_md_is_current(
    tmp_path: Path, host_and_docker_unchanged: None
) -> None:
    out = tmp_path / "podman.md"
    proc = subprocess.run(
        ["netlab", "compare", "--backends", "docker,podman", "--markdown", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    # Podman's default network is not isolated from the user-defined ones, Docker's docker0 is
    assert re.search(
        r"- initial: app -> legacy icmp: Docker unreachable \(.*DOCKER-ISOLATION-STAGE-2.*\); Podman reachable", text
    )
    assert "- **macvlan_private**: the same on every backend, cell for cell." in text
    assert "Podman is Podman 4." in text
    assert normalised(text) == normalised(DOC.read_text()), "docs/podman.md is out of date: regenerate it as it says"

"""`netlab compare --backends netns,cni`: Docker's CNM against CNI's reference plugins, every bundled scenario CNI can
express run on both; docs/cni.md is that output and must still be what a run gives (names that change with every run,
bridges and the plugins' hashed chains, left out of the comparison)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from generated import normalised
from hostsnap import HostSnapshot

DOC = Path(__file__).resolve().parents[2] / "docs" / "cni.md"
#: what docs/cni.md's Docker side emulates, named so that the document is the same on every machine (without them the
#: netns backend follows the Docker daemon answering on the machine, if one does)
EMULATE = ["--engine", "20.10", "--forward-policy", "drop", "--userland-proxy", "on"]


def test_compare_backends_measures_where_cni_is_not_docker_and_docs_cni_md_is_current(
    tmp_path: Path, host_unchanged: HostSnapshot
) -> None:
    out = tmp_path / "cni.md"
    proc = subprocess.run(
        ["netlab", "compare", "--backends", "netns,cni", *EMULATE, "--markdown", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    # isolation: Docker's DOCKER-ISOLATION-STAGE-2 drops what CNI's bridges forward
    assert re.search(
        r"- initial: web -> db icmp: Docker \(netns\) unreachable \(the request was dropped .* "
        r"DOCKER-ISOLATION-STAGE-2 .*\); CNI reachable \(echo reply from 198\.18\.3\.2\)",
        text,
    ), text
    assert "- initial: app -> web dns:web: Docker (netns) reachable" in text  # and CNI resolves no name
    assert "- **macvlan**: the same on every backend, cell for cell." in text
    assert "| overlay | not run | not applicable | – |" in text
    assert "| bridge | Can only reach each other on the same broadcast domain. | holds | **differs** |" in text
    assert "| macvlan | No IPTables. | holds | holds |" in text
    assert normalised(text) == normalised(DOC.read_text()), "docs/cni.md is out of date: regenerate it as it says"


def test_compare_backends_takes_docker_s_first_and_no_driver() -> None:
    for argv in (
        ["--backends", "cni,netns"],
        ["--backends", "netns"],
        ["--backends", "netns,cni", "bridge"],
    ):
        proc = subprocess.run(["netlab", "compare", *argv], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert "--backends" in proc.stderr
    # what the netns backend emulates, where no netns backend runs
    proc = subprocess.run(
        ["netlab", "compare", "--backends", "docker,cni", "--engine", "20.10"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "--engine: what the netns backend emulates" in proc.stderr, proc.stderr

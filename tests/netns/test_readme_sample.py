"""The README's sample of `netlab run bridge` is a real run's output: every line it shows (those not elided with
`...`) appears, in order, in the output of a run made now, modulo run ids, the kernel, bridge ids, MACs, ports the
kernel picks and times."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from hostsnap import HostSnapshot

README = Path(__file__).resolve().parents[2] / "README.md"
#: what the sample was made with (README says so above it)
COMMAND = [
    "netlab",
    "run",
    "bridge",
    "--engine",
    "29",
    "--forward-policy",
    "drop",
    "--userland-proxy",
    "on",
    "--width",
    "100",
]


def _plain(line: str) -> str:
    line = re.sub(r"run: [0-9a-f]+", "run: <id>", line)
    line = re.sub(r"kernel: \S+", "kernel: <kernel>", line)
    line = re.sub(r"br-[0-9a-f]{12}", "br-<id>", line)
    line = re.sub(r"\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b", "<mac>", line)
    line = re.sub(r"\d+\.\d+ s\b", "<t> s", line)
    return line.rstrip()


def logical(lines: list[str]) -> list[str]:
    """Lines as written before wrapping: a line ending in the continuation mark joined with the next (where a
    line breaks depends on the length of what is in it: a time, a run id)."""
    out: list[str] = []
    joining = False
    for line in lines:
        if joining:
            out[-1] += " " + line.strip()
        else:
            out.append(line)
        joining = out[-1].endswith(" \\")
        if joining:
            out[-1] = out[-1][:-2]
    return out


def sample() -> list[str]:
    text = README.read_text()
    block = text.split("## What `netlab run bridge` shows", 1)[1].split("```", 2)[1]
    shown = [ln for ln in block.splitlines()[1:] if ln.strip() and ln.strip() != "..."]
    return [_plain(ln) for ln in logical(shown)]


def test_the_readme_sample_is_what_netlab_run_bridge_prints(host_unchanged: HostSnapshot) -> None:
    proc = subprocess.run([*COMMAND, "--no-color"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = [_plain(ln) for ln in logical(proc.stdout.splitlines())]
    shown = sample()
    assert len(shown) > 20
    at = 0
    for line in shown:
        try:
            at = out.index(line, at) + 1
        except ValueError:
            raise AssertionError(f"README sample line not in a real run's output (in order): {line!r}") from None

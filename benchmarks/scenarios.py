"""Wall time of `netlab run SCENARIO` end to end for every bundled scenario (netns backend).

Scenarios needing a link kind the host kernel lacks (ipvlan here) run with --kernel uml.
Not a test: prints a markdown table; --write puts it into docs/performance.md.

    python benchmarks/scenarios.py [--repeat 3] [--write]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from docsection import replace_section

from netlab import loader
from netlab.kernel import features

HEADING = "## Scenario wall time (issue 3)"
TARGET_HOST_S = 3.0
TARGET_UML_S = 15.0


def needs_uml(name: str) -> bool:
    kinds = features.link_kinds_needed(loader.load(name))
    have = features.link_kinds()
    return any(have.get(k) for k in kinds)


def netlab_script() -> str:
    """The `netlab` installed next to this interpreter (a pyenv shim on PATH would add 0.1 s of bash)."""
    beside = Path(sys.executable).parent / "netlab"
    return str(beside) if beside.exists() else shutil.which("netlab") or "netlab"


def time_run(name: str, uml: bool) -> tuple[float, int]:
    argv = [netlab_script(), "run", name, "--no-color"] + (["--kernel", "uml"] if uml else [])
    t0 = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    return time.monotonic() - t0, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--only", nargs="*", help="these scenarios only (not with --write)")
    args = ap.parse_args()
    rows = []
    if args.only and args.write:
        ap.error("--write needs every scenario")
    for info in loader.bundled():
        if args.only and info.name not in args.only:
            continue
        uml = needs_uml(info.name)
        runs = [time_run(info.name, uml) for _ in range(args.repeat)]
        codes = sorted({rc for _, rc in runs})
        median = statistics.median(t for t, _ in runs)
        target = TARGET_UML_S if uml else TARGET_HOST_S
        rows.append(
            f"| `{info.name}` | {'uml' if uml else 'host'} | {median:.2f} s | {min(t for t, _ in runs):.2f} s | "
            f"{target:g} s | {'yes' if median <= target else 'NO'} | {','.join(map(str, codes))} |"
        )
        print(rows[-1], flush=True)
    table = "\n".join(
        [
            HEADING,
            "",
            f"`python benchmarks/scenarios.py --repeat {args.repeat}` on {time.strftime('%Y-%m-%d')}, kernel "
            f"{platform.release()}, 2 vCPU. Wall time of the whole `netlab run` process (Python start-up, "
            "deploy, every stage's matrix with the 1 s probe timeout and its retry pass, destroy), median of "
            f"{args.repeat}.",
            "",
            "| scenario | kernel | median | best | target | met | exit codes |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    print(table)
    if args.write:
        replace_section(HEADING, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Early decision (`--decide signals`) against waiting for every timeout (`--decide timeout`), the cost of tracing,
and start-up. Run as root (netns backend, host kernel):

    python benchmarks/early.py [--repeat 3] [--sizes 10 20] [--write]

1. Wall time of `netlab run NAME` for every bundled scenario the host kernel runs, both ways (medians).
2. The cost of tracing: N containers on two bridges (half the cells blocked by Docker's isolation rules): the
   time to plant and remove the trace tables, and to read the trace reports, per traced packet.
3. Start-up: `netlab --help`, `netlab list`, `netlab run host`.
netlab's bytecode is compiled first (as `pip install` leaves it).
--write puts the tables into docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from docsection import replace_section

from netlab import Scenario, loader
from netlab.runner import run_scenario
from scenarios import needs_uml, netlab_script

HEADING = "## Early decision, tracing cost and start-up"


def wall(argv: list[str]) -> tuple[float, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        json_arg = ["--json", str(out)] if argv[:1] == ["run"] else []
        t0 = time.monotonic()
        proc = subprocess.run([netlab_script(), *argv, *json_arg], capture_output=True, text=True, timeout=600)
        took = time.monotonic() - t0
        if proc.returncode not in (0, 1):
            raise SystemExit(f"netlab {' '.join(argv)}: exit {proc.returncode}\n{proc.stderr}")
        timings = json.loads(out.read_text())["timings"] if json_arg else {}
    return took, timings


def two_bridges(n: int) -> Scenario:
    s = Scenario(f"bridges{n}", title=f"{n} containers on two bridges")
    nets = [s.network("left", driver="bridge"), s.network("right", driver="bridge")]
    for i in range(n):
        s.container(f"c{i}", nets[i % 2])
    return s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="*", default=[10, 20])  # N(N+1) ARP entries: gc_thresh3 1024
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    # netlab's bytecode written first, as `pip install` does for a regular install (an editable one writes it on
    # the first import, unless PYTHONDONTWRITEBYTECODE is set, as on this project's VM: then every run would
    # compile netlab's modules again, about 0.15 s, which no user's second run pays)
    package = Path(loader.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True, capture_output=True)

    lines = [
        f"Linux {platform.release()}, {platform.machine()}, netns backend, medians of {args.repeat} runs "
        f"(`python benchmarks/early.py`, {time.strftime('%Y-%m-%d')}; netlab's bytecode compiled, as `pip install` "
        "leaves it).",
        "",
        "| scenario | `--decide signals` wall | probe | `--decide timeout` wall | probe |",
        "|---|---|---|---|---|",
    ]
    for info in loader.bundled():
        if needs_uml(info.name):
            continue
        row = []
        for decide in ("signals", "timeout"):
            runs = [wall(["run", info.name, "--no-color", "--decide", decide]) for _ in range(args.repeat)]
            row += [statistics.median(r[0] for r in runs), statistics.median(r[1]["probe_s"] for r in runs)]
        lines.append(f"| {info.name} | {row[0]:.2f} s | {row[1]:.2f} s | {row[2]:.2f} s | {row[3]:.2f} s |")
        print(lines[-1], flush=True)

    lines += [
        "",
        "The cost of tracing (N containers on two bridges, in-process runs; only the cells the untraced sweep left",
        "unanswered are traced):",
        "",
        "| N | cells | probe, signals | probe, timeout | tables planted and removed | traced packets | reports "
        "| reading them, per packet |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in args.sizes:
        traced = [run_scenario(two_bridges(n), backend="netns") for _ in range(args.repeat)]
        waited = [run_scenario(two_bridges(n), backend="netns", decide="timeout") for _ in range(args.repeat)]
        r = traced[len(traced) // 2]
        packets = r.environment["early_decision"]["traced_packets"]
        reports = r.environment["early_decision"]["trace_reports"]
        per = r.timings["trace_read_s"] / max(1, packets) * 1e6
        lines.append(
            f"| {n} | {(n + 1) * n} | {statistics.median(x.timings['probe_s'] for x in traced):.3f} s "
            f"| {statistics.median(x.timings['probe_s'] for x in waited):.3f} s | {r.timings['trace_setup_s']:.3f} s "
            f"| {packets} | {reports} | {per:.0f} µs |"
        )
        print(lines[-1], flush=True)

    lines += ["", "| start-up | wall |", "|---|---|"]
    for argv in (["--help"], ["list"], ["run", "host", "--no-color"]):
        took = statistics.median(wall(argv)[0] for _ in range(max(3, args.repeat)))
        lines.append(f"| `netlab {' '.join(argv)}` | {took:.2f} s |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if args.write:
        replace_section(HEADING, f"{HEADING}\n\n{text}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

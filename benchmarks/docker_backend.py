"""Docker backend: netlab's matrix against the obvious `docker exec SRC ping -c1 -W1 DST` loop, and
end-to-end `netlab run SCENARIO --backend docker` per bundled scenario.

Not a test. Needs root and a Docker Engine answering on its socket (tests/run.sh starts one).

    python benchmarks/docker_backend.py [--sizes 5 20] [--repeat 3] [--write]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time

from docsection import replace_section

from netlab import Scenario, loader
from netlab.backends import naming
from netlab.backends.docker.backend import DockerBackend
from netlab.kernel import features
from netlab.model.results import Outcome
from netlab.probes import matrix
from netlab.runner import deployed

HEADING = "## Docker backend (issue 4)"


def matrix_vs_exec(n: int, repeat: int) -> dict[str, float | int]:
    s = Scenario(f"dbench{n}")
    net = s.network("n", driver="bridge")
    for i in range(n):
        s.container(f"c{i}", net)
    topo = s.build()
    be = DockerBackend()
    be.check(topo)
    timings: dict[str, float] = {}
    netlab_s, exec_s, misses_netlab, misses_exec, pairs = [], [], 0, 0, 0
    with deployed(be, topo, naming.new_run_id(), timings) as dep:
        ctrs = [c.name for c in topo.containers]
        addr = {c: dep.endpoints[c].addresses[0].address for c in ctrs}
        for _ in range(repeat):
            t0 = time.monotonic()
            obs = matrix.measure(dep, topo.stages[0], timeout=1.0)
            netlab_s.append(time.monotonic() - t0)
            mine = [o for o in obs if o.src in addr and o.dst in addr]
            pairs = len(mine)
            misses_netlab = max(misses_netlab, sum(o.outcome is not Outcome.REACHABLE for o in mine))
            t0 = time.monotonic()
            missed = 0
            for src in ctrs:
                for dst in ctrs:
                    if src == dst:
                        continue
                    name = naming.ns_name(dep.run, src)
                    argv = ["docker", "exec", name, "ping", "-c1", "-W1", str(addr[dst])]
                    missed += subprocess.run(argv, capture_output=True, check=False).returncode != 0
            exec_s.append(time.monotonic() - t0)
            misses_exec = max(misses_exec, missed)
    return {
        "n": n,
        "pairs": pairs,
        "netlab_s": statistics.median(netlab_s),
        "exec_s": statistics.median(exec_s),
        "misses_netlab": misses_netlab,
        "misses_exec": misses_exec,
        "deploy_s": timings.get("deploy_s", 0.0),
        "destroy_s": timings.get("destroy_s", 0.0),
    }


def end_to_end(name: str, repeat: int) -> tuple[float, list[int]]:
    times, codes = [], []
    for _ in range(repeat):
        t0 = time.monotonic()
        proc = subprocess.run(["netlab", "run", name, "--backend", "docker", "--no-color"], capture_output=True)
        times.append(time.monotonic() - t0)
        codes.append(proc.returncode)
    return statistics.median(times), sorted(set(codes))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="*", default=[5, 20])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    version = DockerBackend().version()
    rows = []
    for n in args.sizes:
        r = matrix_vs_exec(n, args.repeat)
        speedup = r["exec_s"] / r["netlab_s"] if r["netlab_s"] else float("inf")
        rows.append(
            f"| {n} | {r['pairs']} | {r['netlab_s']:.3f} s | {r['exec_s']:.2f} s | {speedup:.0f}x | "
            f"{r['misses_netlab']} / {r['misses_exec']} | {r['deploy_s']:.2f} s | {r['destroy_s']:.2f} s |"
        )
        print(rows[-1], flush=True)
    e2e = []
    for info in loader.bundled():
        if any(features.link_kinds().get(k) for k in features.link_kinds_needed(loader.load(info.name))):
            e2e.append(f"| `{info.name}` | – | exit 3: the kernel lacks a link kind it needs |")
            continue
        median, codes = end_to_end(info.name, args.repeat)
        e2e.append(f"| `{info.name}` | {median:.2f} s | exit {','.join(map(str, codes))} |")
        print(e2e[-1], flush=True)
    text = "\n".join(
        [
            HEADING,
            "",
            f"`python benchmarks/docker_backend.py --repeat {args.repeat}` on {time.strftime('%Y-%m-%d')}, "
            f"Docker Engine {version}, kernel {platform.release()}, 2 vCPU; medians of {args.repeat}.",
            "",
            "Matrix between N containers on one user-defined bridge (container pairs only): netlab's engine (sockets "
            "opened in each `/proc/<pid>/ns/net`, one poll loop per CPU, 1 s timeout) against "
            "`docker exec SRC ping -c1 -W1 DST` for every pair, sequentially, in the same deployment. "
            "Target: at least 100x faster at N = 20.",
            "",
            "| N | pairs | netlab matrix | docker exec loop | speed-up | misses netlab / exec | deploy | destroy |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "End to end, `netlab run SCENARIO --backend docker` (whole process). Target: `bridge` under 15 s.",
            "",
            "| scenario | wall time | result |",
            "|---|---|---|",
            *e2e,
            "",
        ]
    )
    print(text)
    if args.write:
        replace_section(HEADING, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

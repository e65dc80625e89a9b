"""What `--why` adds: a scenario with exactly 10 blocked cells, run with and without it.

Run as root:  python benchmarks/why.py [--repeat 5] [--backend netns] [--write]

The scenario: one container on bridge network `a`, five on bridge network `b`; the 10 cells between the
networks are dropped by DOCKER-ISOLATION-STAGE-2, everything else is reachable. Reported: the median of the
run's own `why_s` timing (trace tables in, re-probe, events read, rule text looked up, tables out) and the
median wall time of the whole run with and without `--why`. Target (issue 9): under 2 s added.
Not a test: prints a table; --write puts it in docs/performance.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

from docsection import replace_section

from netlab import Scenario
from netlab.model.results import Outcome
from netlab.runner import run_topology

HEADING = "## --why (issue 9), {backend} backend"
TARGET_S = 2.0


def topology():  # type: ignore[no-untyped-def]
    s = Scenario("why10", title="ten blocked cells")
    a = s.network("a")
    b = s.network("b")
    s.container("a1", a)
    for i in range(1, 6):
        s.container(f"b{i}", b)
    return s.build()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--backend", default="netns")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    t = topology()
    plain: list[float] = []
    traced: list[float] = []
    why_s: list[float] = []
    blocked = explained = 0
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        run_topology(t, args.backend)
        plain.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        r = run_topology(t, args.backend, why=True)
        traced.append(time.perf_counter() - t0)
        why_s.append(r.timings["why_s"])
        xs = [o for o in r.observations if o.outcome is Outcome.UNREACHABLE]
        blocked = len(xs)
        explained = sum(1 for o in xs if "DOCKER-ISOLATION-STAGE-2" in o.why)
    med = statistics.median
    rows = [
        ("blocked cells", f"{blocked}"),
        ("explained by DOCKER-ISOLATION-STAGE-2", f"{explained}"),
        ("run without --why (median wall)", f"{med(plain):.2f} s"),
        ("run with --why (median wall)", f"{med(traced):.2f} s"),
        ("--why's own time (median of why_s)", f"{med(why_s):.2f} s (min {min(why_s):.2f}, max {max(why_s):.2f})"),
        (
            "target",
            f"under {TARGET_S:g} s added for 10 blocked cells: "
            + ("met" if med(why_s) < TARGET_S and blocked == explained == 10 else "MISSED (or not 10 cells)"),
        ),
    ]
    width = max(len(k) for k, _ in rows)
    table = "\n".join(f"| {k.ljust(width)} | {v} |" for k, v in rows)
    section = (
        f"{HEADING.format(backend=args.backend)}\n\n"
        f"`python benchmarks/why.py --repeat {args.repeat} --backend {args.backend}` on {platform.node()} "
        f"(kernel {platform.release()}, {time.strftime('%Y-%m-%d')}): one container on bridge `a`, five on "
        "bridge `b`, so exactly 10 cells blocked.\n\n"
        f"| measure{' ' * (width - 7)} | value |\n|{'-' * (width + 2)}|---|\n{table}\n"
    )
    print(section)
    if args.write:
        replace_section(HEADING.format(backend=args.backend), section)


if __name__ == "__main__":
    main()

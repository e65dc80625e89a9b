"""Benchmark of the full ICMP reachability matrix: netlab (netns backend) against Mininet and sequential ping.

Run as root:  python benchmarks/matrix.py [--sizes 10 50 100] [--repeat 3] [--write]

Every measurement runs in a fresh subprocess (so peak RSS is per run) and is repeated; the table shows medians.
Anchors: Mininet (LinuxBridge, N=100, its own pingAll, run with Debian's /usr/bin/python3) and
`ip netns exec SRC ping -c1 -W1 DST` for every ordered pair of a netlab deployment, sequentially.
Only stdlib imports at module level: the Mininet child runs under an interpreter that has no netlab.

The kernel's ARP table is shared by all namespaces and capped by net.ipv4.neigh.default.gc_thresh3 (1024 by
default); netlab's check() refuses a matrix that cannot fit, and then only deploy/destroy are measured.
`--gc-thresh3 16384` raises the cap for the duration of the benchmark (restored afterwards): a host-wide change.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Row = dict[str, Any]
DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
HEADING = "## Reachability matrix (issue 2)"
SYSTEM_PY = "/usr/bin/python3"  # Debian's interpreter: the one mininet's dist-packages module is built for
MININET_BASE = "198.19.0.0/16"  # inside 198.18.0.0/15, like every netlab address
BRNF = "net.bridge.bridge-nf-call-iptables"
GC3 = "net.ipv4.neigh.default.gc_thresh3"
TARGETS = {"deploy_s": 1.6, "matrix_s": 1.0, "destroy_s": 2.5}  # at N=100
TARGET_250 = 5.0  # matrix seconds at N=250 (issue 21)
MININET_LIMIT_S = 300.0  # a Mininet run longer than this is stopped and reported as such
# compared before/after: what we set temporarily, and what Mininet's fixLimits() would rewrite (we skip it)
WATCHED = (BRNF, GC3, "net.ipv4.neigh.default.gc_thresh2", "net.core.rmem_max", "net.ipv4.tcp_rmem", "kernel.pty.max")


# -- host state --------------------------------------------------------------------------------------
def read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def sysctl_path(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


@contextmanager
def sysctl_set(key: str, value: str | None) -> Iterator[None]:
    """Set a root-namespace sysctl for the duration (value None or key missing: leave it); always restore."""
    original = read(sysctl_path(key)) if value is not None else None
    if original is None or original == value:
        yield
        return
    Path(sysctl_path(key)).write_text(str(value))
    try:
        yield
    finally:
        Path(sysctl_path(key)).write_text(original)


def links() -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return sorted(f"{m[1]} <{m[2]}>" for m in re.finditer(r"^\d+: (\S+): <([^>]*)>", out, re.M))


def snapshot() -> dict[str, Any]:
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    journals = sorted(os.listdir("/run/netlab")) if os.path.isdir("/run/netlab") else []
    sysctls = {k: read(sysctl_path(k)) for k in WATCHED}
    return {"ip -o link": links(), "ip netns list": netns.splitlines(), "/run/netlab": journals, "sysctls": sysctls}


def neigh_stats() -> tuple[int, int]:
    """(entries, table_fulls) of the kernel's ARP table, which is shared by ALL network namespaces."""
    rows = [line.split() for line in Path("/proc/net/stat/arp_cache").read_text().splitlines()[1:]]
    return int(rows[0][0], 16), sum(int(r[12], 16) for r in rows)


def settle(arp_baseline: int, limit: float = 15.0) -> None:
    """Wait (at most `limit`) until the kernel has freed the last run's namespaces and ARP entries (async)."""

    def busy() -> int:  # user + nice + system jiffies, all CPUs
        return sum(int(x) for x in str(read("/proc/stat")).split()[1:4])

    end = time.monotonic() + limit
    while time.monotonic() < end:
        before = busy()
        time.sleep(0.3)
        if busy() - before <= 2 and neigh_stats()[0] <= arp_baseline + 8:
            return


def rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# -- children: one measurement each, printed as one JSON line -------------------------------------------
@contextmanager
def netlab_lab(n: int, row: Row) -> Iterator[Any]:
    from netlab import Scenario
    from netlab.backends import naming
    from netlab.backends.netns.backend import NetnsBackend
    from netlab.errors import EnvironmentProblem
    from netlab.kernel import features
    from netlab.runner import deployed

    s = Scenario("bench")
    net = s.network("n", driver="bridge")
    for i in range(n):
        s.container(f"c{i}", net)
    topo = s.build()
    be = NetnsBackend()
    try:
        be.check(topo)
    except EnvironmentProblem as e:  # the neighbour-room check comes last: all the others passed
        need, limit = features.neighbour_entries_needed(topo)[0], features.neighbour_limit()
        if limit is None or need <= limit:
            raise
        row["refused"] = f"N={n} needs ~{need} ARP entries, {GC3} is {limit}"
        print(f"check() refused the matrix, measuring deploy/destroy only: {e}", file=sys.stderr)
    timings: dict[str, float] = {}
    try:
        with deployed(be, topo, naming.new_run_id(), timings) as dep:
            row["endpoints"] = len(dep.endpoints)
            yield dep
    finally:
        row.update(timings)


def child_netlab(n: int, timeout: float, manual: bool = False) -> Row:
    """netlab's matrix.measure, or (manual) `ip netns exec SRC ping -c1 -W1 DST` for each ordered pair in turn."""
    from netlab.probes import matrix

    row: Row = {"n": n}
    with netlab_lab(n, row) as dep:
        if "refused" in row:  # sequential pings would overflow the same table too
            pass
        elif manual:
            eps = [ep for ep in dep.endpoints.values() if ep.netns]
            fulls, t, ok = neigh_stats()[1], time.perf_counter(), []
            for src, dst in ((s, d) for s in eps for d in eps if s.name != d.name):
                argv = ["ip", "netns", "exec", os.path.basename(str(src.netns)), "ping", "-c1", "-W1"]
                ok.append(subprocess.run([*argv, str(matrix.pick_address(src, dst))], capture_output=True).returncode)
            row.update(matrix_s=round(time.perf_counter() - t, 3), pairs=len(ok), misses=len(ok) - ok.count(0))
            row["neigh_overflows"] = neigh_stats()[1] - fulls
        else:
            fulls, t = neigh_stats()[1], time.perf_counter()
            obs = matrix.measure(dep, dep.topology.stages[0], timeout=timeout)
            row.update(matrix_s=round(time.perf_counter() - t, 3), neigh_overflows=neigh_stats()[1] - fulls)
            missed = [o for o in obs if str(o.outcome) != "reachable"]
            row.update(pairs=len(obs), misses=len(missed))
            row["miss_examples"] = [f"{o.src}->{o.dst} {o.outcome}: {o.detail}" for o in missed[:3]]
    row["rss_mib"] = rss_mib()
    return row


def child_mininet(n: int, timeout: float) -> Row:
    from mininet.log import setLogLevel  # type: ignore[import-not-found]
    from mininet.net import Mininet  # type: ignore[import-not-found]
    from mininet.nodelib import LinuxBridge  # type: ignore[import-not-found]
    from mininet.topo import SingleSwitchTopo  # type: ignore[import-not-found]

    setLogLevel("error")
    Mininet.inited = True  # skip fixLimits(): it rewrites host sysctls (tcp_rmem, gc_thresh*, pty.max) for good
    row: Row = {"n": n, "endpoints": n, "pairs": n * (n - 1)}
    net = Mininet(topo=SingleSwitchTopo(n), switch=LinuxBridge, controller=None, ipBase=MININET_BASE, build=False)
    t = time.perf_counter()
    try:
        net.build()
        net.start()
        row["deploy_s"] = round(time.perf_counter() - t, 3)
        fulls, t = neigh_stats()[1], time.perf_counter()
        loss = net.pingAll(timeout=str(int(timeout)))  # sequential `ping -c1 -W1` for every ordered pair
        row.update(matrix_s=round(time.perf_counter() - t, 3), neigh_overflows=neigh_stats()[1] - fulls)
        row["misses"] = round(loss * row["pairs"] / 100)
        status = [str(read(f"/proc/{node.pid}/status")) for node in [*net.hosts, *net.switches]]
        row["shells_rss_mib"] = round(sum(int(re.findall(r"VmRSS:\s+(\d+)", s)[0]) for s in status) / 1024, 1)
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})  # teardown must finish
        for node in [*net.hosts, *net.switches]:
            if node.shell and node.waiting:  # interrupted inside cmd(): net.stop() would assert
                node.sendInt()
                node.waitOutput()
        t = time.perf_counter()
        net.stop()
        row["destroy_s"] = round(time.perf_counter() - t, 3)
    row["rss_mib"] = rss_mib()
    return row


CHILDREN = {"netlab": child_netlab, "manual": lambda n, t: child_netlab(n, t, manual=True), "mininet": child_mininet}


# -- parent ---------------------------------------------------------------------------------------------
def series(
    label: str, python: str, kind: str, n: int, args: argparse.Namespace, arp0: int, limit: float | None = None
) -> Row | None:
    """`limit`: seconds a run may take (then it is stopped with SIGINT, as a user would, and the series ends)."""
    runs: list[Row] = []
    for i in range(args.repeat):
        settle(arp0)
        argv = [python, __file__, "--child", kind, "--n", str(n), "--timeout", str(args.timeout)]
        with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as child:
            try:
                out, _ = child.communicate(timeout=limit)
            except subprocess.TimeoutExpired:
                child.send_signal(signal.SIGINT)  # Mininet's pingAll stops and net.stop() removes its links
                child.communicate(timeout=120)
                return {"tool": label, "n": n, "runs": 0, "over": limit}
        done = subprocess.CompletedProcess(argv, child.returncode, out)
        if done.returncode != 0 or not done.stdout.strip():
            print(f"warning: {label} N={n}: run {i + 1} failed (exit {done.returncode})", file=sys.stderr)
            continue
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"  {label} N={n} run {i + 1}/{args.repeat}: {json.dumps(runs[-1])}", file=sys.stderr)
    if not runs:
        return None
    med: Row = {"tool": label, "n": n, "runs": len(runs), "miss_examples": runs[-1].get("miss_examples", [])}
    med |= {"refused": runs[-1]["refused"]} if "refused" in runs[-1] else {}
    for key in ("pairs", "deploy_s", "matrix_s", "destroy_s", "rss_mib", "shells_rss_mib", "misses", "neigh_overflows"):
        if vals := [r[key] for r in runs if key in r]:
            med[key] = max(vals) if key in ("misses", "neigh_overflows") else statistics.median(vals)
    return med


def mininet_problem() -> str | None:
    if not all(shutil.which(tool) for tool in ("brctl", "mnexec", "ping")) or not os.path.exists(SYSTEM_PY):
        return "mininet/bridge-utils/ping not installed (apt-get install -y mininet bridge-utils iputils-ping)"
    if subprocess.run([SYSTEM_PY, "-c", "import mininet.net"], capture_output=True, check=False).returncode:
        return f"{SYSTEM_PY} cannot import mininet"
    if any(read(f"/proc/{pid}/comm") == "dockerd" for pid in os.listdir("/proc") if pid.isdigit()):
        return f"a dockerd is running: setting {BRNF}=0 would unfilter its live bridges (icc=false...)"
    taken = [x for x in links() if re.match(r"(s1|h\d+)(-eth\d+)?(@\S+)? ", x)]
    return f"links Mininet would create (and delete first) already exist: {taken[:5]}" if taken else None


def run_mininet(n: int, args: argparse.Namespace, arp0: int, notes: list[str]) -> Row | None:
    try:
        with sysctl_set(BRNF, "0"):  # key missing: br_netfilter not loaded, nothing filters the bridge
            row = series("Mininet 2.3 LinuxBridge, pingAll", SYSTEM_PY, "mininet", n, args, arp0, MININET_LIMIT_S)
            if read(sysctl_path(BRNF)) not in (None, "0"):
                notes.append(f"- Mininet: something else set {BRNF} back to 1 during the runs (pings filtered)")
            return row
    finally:
        if left := [x for x in links() if x.startswith("s1")]:
            print(f"WARNING: Mininet's net.stop() left links behind: {left[:5]}", file=sys.stderr)


def fmt(row: Row, key: str) -> str:
    if "over" in row:
        return f"over {row['over']:g} s" if key == "matrix_s" else "–"
    if key in ("pairs", "matrix_s", "misses", "neigh_overflows", "us_per_pair") and "refused" in row:
        return "refused"
    if key == "us_per_pair":
        return f"{row['matrix_s'] / row['pairs'] * 1e6:.0f}" if row.get("pairs") and "matrix_s" in row else "–"
    v = row.get(key)
    return "–" if v is None else f"{v:.3f}" if key.endswith("_s") else f"{v:g}" if isinstance(v, float) else str(v)


def render(rows: list[Row], args: argparse.Namespace, command: str, notes: list[str]) -> str:
    cols = {"tool": "tool", "n": "N", "pairs": "pairs", "deploy_s": "deploy s", "matrix_s": "matrix s",
            "us_per_pair": "µs per pair", "destroy_s": "destroy s", "rss_mib": "peak RSS MiB",
            "misses": "misses (worst)", "neigh_overflows": "ARP table fulls (worst)"}  # fmt: skip
    out = [HEADING, "", f"Run {datetime.date.today().isoformat()}, kernel {platform.release()}, {os.cpu_count()} "
           f"CPUs, median of {args.repeat} runs (a fresh process each), probe timeout {args.timeout:g} s, "
           f"{GC3} = {read(sysctl_path(GC3))}. Reproduce as root: `{command}`", "",
           "| " + " | ".join(cols.values()) + " |", "|---" * len(cols) + "|"]  # fmt: skip
    out += ["| " + " | ".join(fmt(r, k) for k in cols) + " |" for r in rows]
    big = {r["tool"].split(" ")[0]: r for r in rows if r["n"] == 100}
    if "netlab" in big:
        nl, mn = big["netlab"], big.get("Mininet", {})
        out += ["", "Targets at N=100:", "", "| metric | target | netlab | met | Mininet, same run |", "|---" * 5 + "|"]
        for key, limit in TARGETS.items():
            ok = "–" if not isinstance(nl.get(key), float) else "yes" if nl[key] <= limit else "**no**"
            out.append(f"| {key[:-2]} | ≤ {limit:g} s | {fmt(nl, key)} | {ok} | {fmt(mn, key)} |")
    at250 = next((r for r in rows if r["n"] == 250 and r["tool"].startswith("netlab") and "matrix_s" in r), None)
    if at250 is not None:
        ok = "yes" if at250["matrix_s"] <= TARGET_250 else "**no**"
        out += ["", f"Target at N=250: matrix ≤ {TARGET_250:g} s: {at250['matrix_s']:.3f} s, met: {ok}."]
    notes += [f"- {r['tool']} N={r['n']}: stopped after {r['over']:g} s" for r in rows if "over" in r]
    notes += [f"- {r['tool']} N={r['n']}: e.g. {'; '.join(r['miss_examples'])}" for r in rows if r.get("miss_examples")]
    notes += [f"- {r['tool']}: check() refused the matrix: {r['refused']}" for r in rows if "refused" in r]
    shells = ", ".join(f"{r['shells_rss_mib']:g} MiB at N={r['n']}" for r in rows if "shells_rss_mib" in r)
    out += ["", "Pairs are ordered pairs of endpoints; netlab's endpoints include the `host` node (N+1). Peak RSS is "
            "the measuring process's own ru_maxrss" + (f" (Mininet's node shells add {shells})." if shells else "."),
            "ARP table fulls: growth of `table_fulls` in /proc/net/stat/arp_cache during the matrix. That table and "
            f"its cap `{GC3}` are shared by every namespace of the host; a full mesh of E endpoints on one segment "
            "needs about E·(E−1) entries at once."]  # fmt: skip
    return "\n".join([*out, *(["", "Misses, refusals, skips:", *notes] if notes else [])]) + "\n"


def write_doc(section: str, command: str) -> None:
    text = DOC.read_text() if DOC.exists() else (
        "# Performance\n\nBenchmarks of netlab on the project's 2-core Debian 12 VM. Figures are medians of repeated "
        f"runs, first written {datetime.date.today().isoformat()} on kernel {platform.release()}; each section "
        f"names its run. Reproduce as root, from the repository root: `{command}`\n\n")  # fmt: skip
    start = text.find(HEADING)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        nxt = text.find("\n## ", start + len(HEADING))
        text = text[:start] + section + ("" if nxt < 0 else text[nxt:])
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text)


def measure_all(args: argparse.Namespace, arp0: int, notes: list[str]) -> list[Row | None]:
    rows = [series("netlab (raw ICMP sweep)", sys.executable, "netlab", n, args, arp0) for n in args.sizes]
    if args.manual_n:
        rows.append(series("ip netns exec ping, sequential", sys.executable, "manual", args.manual_n, args, arp0))
    sizes = [n for n in args.mininet_n if n]
    if problem := mininet_problem() if sizes else "disabled (--mininet-n 0)":
        notes.append(f"- Mininet skipped: {problem}")
        return rows
    for n in sizes:
        if (row := run_mininet(n, args, arp0, notes)) is None:
            notes.append(f"- Mininet N={n}: every run failed (see the benchmark's stderr)")
            continue
        rows.append(row)
        if "over" in row:  # a larger N would take longer still
            break
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="*", default=[10, 50, 100], help="container counts (netlab)")
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    p.add_argument("--timeout", type=float, default=1.0, help="probe timeout in seconds")
    p.add_argument("--manual-n", type=int, default=50, help="N for sequential `ip netns exec ping` (0: skip)")
    p.add_argument("--mininet-n", type=int, nargs="*", default=[100], help="N for the Mininet anchor (0: skip)")
    p.add_argument("--gc-thresh3", type=int, help=f"raise {GC3} to this during the run (host-wide, then restored)")
    p.add_argument("--write", action="store_true", help=f"write the table into {DOC}")
    p.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.n, args.timeout)))
        return 0
    if os.geteuid() != 0:
        print("run as root: the netns backend and Mininet create namespaces and links", file=sys.stderr)
        return 2
    command = " ".join(["python", "benchmarks/matrix.py", *sys.argv[1:]])
    cap = int(read(sysctl_path(GC3)) or 0)
    raise_to = str(args.gc_thresh3) if args.gc_thresh3 and args.gc_thresh3 > cap else None
    before, arp0 = snapshot(), neigh_stats()[0]
    notes: list[str] = []
    try:
        with sysctl_set(GC3, raise_to):
            rows = measure_all(args, arp0, notes)
    finally:
        settle(arp0)
        after = snapshot()
        for key in (k for k in before if before[k] != after[k]):
            print(f"WARNING: host state changed ({key}; other users of this host may be the cause): "
                  f"{before[key]} -> {after[key]}", file=sys.stderr)  # fmt: skip
    print("\n".join(notes), file=sys.stderr)
    section = render([r for r in rows if r is not None], args, command, notes)
    print(section)
    if args.write:
        write_doc(section, command)
        print(f"written to {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

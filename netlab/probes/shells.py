"""Probing endpoints netlab cannot enter (containers on remote engines, `--node NAME=URL`): a backend
hands out a Shell per endpoint (model/probing.py: ThroughShells) and this prober runs the probes through it.

There is no /proc/<pid>/ns/net to setns into, so each source endpoint gets ONE script, a busybox shell
script that starts all of that source's probes at once (`ping`, `nc`, `nslookup`, each bounded by
`timeout`) and prints one line per probe. TCP listeners are planted the same way (`nc -ll`, stopped
afterwards). Busybox's nc has no UDP mode: udp probes are reported as `error` (netlab could not probe).

A node's own namespace is reached through a container the run starts on that engine with
`network_mode: host`; DNS probes from it (or from any host-network container) are not sent,
because the remote host's own resolver would answer them.
"""

from __future__ import annotations

import contextlib
import math
import re
import shlex
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from netlab.backends.base import Deployment
from netlab.model.probing import Answer, Shell, Task
from netlab.model.results import Outcome
from netlab.model.topology import ProbeKind

#: scripts in flight at once (on a Docker engine each is a dockerd round trip plus a busybox shell)
EXEC_WORKERS = 8
NO_UDP = "not probed: on a remote engine netlab cannot enter the namespace and busybox's nc has no UDP mode"
HOST_DNS = "not probed: this endpoint shares the remote host's namespace, whose own resolver netlab never queries"

_SCRIPT_HEAD = r"""
T={t}
p() {{ o=$(timeout $((T+1)) ping -c1 -W$T "$2" 2>&1); r=$?; printf '%s icmp %s %s\n' "$1" "$r" "$(echo $o)"; }}
c() {{ o=$(timeout $((T+1)) nc -w $T "$2" "$3" </dev/null 2>&1); r=$?; printf '%s tcp %s %s\n' "$1" $r "$(echo $o)"; }}
d() {{ o=$(timeout $((T+1)) nslookup "$2" 2>&1); r=$?; printf '%s dns %s %s\n' "$1" "$r" "$(echo $o)"; }}
"""


def script(lines: Sequence[str], timeout: float) -> str:
    return _SCRIPT_HEAD.format(t=max(1, math.ceil(timeout))) + "".join(f"{line} &\n" for line in lines) + "wait\n"


def probe_line(key: int, task: Task) -> str | None:
    addr = shlex.quote(str(task.address))
    if task.probe.kind is ProbeKind.ICMP:
        return f"p {key} {addr}"
    if task.probe.kind is ProbeKind.TCP:
        return f"c {key} {addr} {int(task.probe.port or 0)}"
    if task.probe.kind is ProbeKind.DNS:
        return f"d {key} {shlex.quote(str(task.probe.name))}"
    return None


_RTT = re.compile(r"time=([0-9.]+) ?ms")
_ADDR = re.compile(r"Address(?: \d+)?: *([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)")


def parse(kind: str, rc: int, text: str, timeout: float) -> Answer:
    """One script line (kind, exit code, the tool's output on one line) as an Answer."""
    low = text.lower()
    timed_out = Answer(Outcome.UNREACHABLE, None, f"no answer within {max(1, math.ceil(timeout))} s", timed_out=True)
    if kind == "icmp":
        if rc == 0:
            m = _RTT.search(text)
            rtt = float(m.group(1)) if m else None
            return Answer(Outcome.REACHABLE, rtt, "echo reply (ping in the container)", stamped=m is not None)
        for needle in ("network is unreachable", "no route to host", "host is unreachable", "permission denied"):
            if needle in low:
                return Answer(Outcome.UNREACHABLE, None, f"ping: {needle}")
        if "bad address" in low or "not found" in low:
            return Answer(Outcome.ERROR, None, f"ping failed: {text.strip()[:120]}")
        return timed_out
    if kind == "tcp":
        if rc == 0:
            return Answer(Outcome.REACHABLE, None, "TCP handshake completed (nc in the container)")
        if "refused" in low:
            return Answer(Outcome.UNREACHABLE, None, "TCP reset (connection refused)")
        if "no route" in low or "unreachable" in low:
            return Answer(Outcome.UNREACHABLE, None, f"nc: {text.strip()[:120]}")
        return timed_out
    if kind == "dns":
        # busybox prints the server first ("Server: 127.0.0.11", "Address: 127.0.0.11:53"), then the answers
        answers = [a for a in _ADDR.findall(text.split("Name:", 1)[1])] if "Name:" in text else []
        if rc == 0 and answers:
            return Answer(Outcome.REACHABLE, None, f"-> {', '.join(answers)} (nslookup in the container)")
        if "nxdomain" in low or "can't find" in low or "refused" in low or "servfail" in low:
            return Answer(Outcome.UNREACHABLE, None, f"nslookup: {text.strip()[:120]}")
        if rc in (124, 143) or "timed out" in low:
            return timed_out
        return Answer(Outcome.UNREACHABLE, None, f"nslookup: {text.strip()[:120] or f'exit {rc}'}")
    return Answer(Outcome.ERROR, None, f"unknown probe kind {kind}")


@dataclass(slots=True)
class ShellProber:
    """matrix.measure's prober for endpoints reached through a Shell: one batched script per source."""

    where: dict[str, Shell]
    local = False
    notes: dict[int, str] = field(default_factory=dict)

    def run(self, dep: Deployment, tasks: Sequence[Task], timeout: float) -> dict[int, Answer]:
        results: dict[int, Answer] = {}
        by_src: dict[str, list[str]] = defaultdict(list)
        for i, task in enumerate(tasks):
            src = self.where.get(task.src)
            if src is None:
                results[i] = Answer(Outcome.ERROR, None, f"{task.src} is not running")
            elif task.probe.kind is ProbeKind.UDP:
                results[i] = Answer(Outcome.ERROR, None, NO_UDP)
            elif task.probe.kind is ProbeKind.DNS and src.shares_host:
                results[i] = Answer(Outcome.ERROR, None, HOST_DNS)
            elif task.address is None and task.probe.kind is not ProbeKind.DNS:
                results[i] = Answer(Outcome.UNREACHABLE, None, f"{task.dst} has no IPv4 address")
            else:
                line = probe_line(i, task)
                if line is not None:
                    by_src[task.src].append(line)
        if by_src:
            results.update(self._sweep(by_src, timeout))
            # a probe whose line never came back gets one more try (seen once in CI under load, cause not found)
            again = {n: [x for x in ls if int(x.split()[1]) not in results] for n, ls in by_src.items()}
            again = {n: ls for n, ls in again.items() if ls}
            if again:
                results.update(self._sweep(again, timeout))
            for name, ls in by_src.items():
                for x in ls:
                    results.setdefault(
                        int(x.split()[1]),
                        Answer(Outcome.ERROR, None, f"the probe script in {name} printed nothing for it"),
                    )
        return results

    def _sweep(self, by_src: dict[str, list[str]], timeout: float) -> dict[int, Answer]:
        """One probe script per source, run side by side; the answers of the lines that came back."""
        results: dict[int, Answer] = {}
        with ThreadPoolExecutor(max_workers=min(EXEC_WORKERS, len(by_src))) as pool:
            futures = {n: pool.submit(self.where[n].run, script(ls, timeout)) for n, ls in by_src.items()}
            for name, fut in futures.items():
                wanted = {int(line.split()[1]) for line in by_src[name]}
                try:
                    out = fut.result()
                except Exception as e:  # the engine refused the script: nothing was measured from there
                    for i in wanted:
                        results[i] = Answer(Outcome.ERROR, None, f"the probe script in {name} could not run: {e}")
                    continue
                for line in out.splitlines():
                    parts = line.split(" ", 3)
                    if len(parts) >= 3 and parts[0].isdigit() and int(parts[0]) in wanted:
                        text = parts[3] if len(parts) > 3 else ""
                        with contextlib.suppress(ValueError):
                            results[int(parts[0])] = parse(parts[1], int(parts[2]), text, timeout)
        return results

    @contextlib.contextmanager
    def listening(self, dep: Deployment, tasks: Sequence[Task]) -> Iterator[dict[int, str]]:
        """Plant a TCP listener (`nc -ll -p PORT -e /bin/true`) wherever a tcp probe needs one."""
        errors: dict[int, str] = {}
        planted: dict[tuple[str, int], tuple[Shell, str]] = {}
        try:
            for i, task in enumerate(tasks):
                if task.probe.kind is not ProbeKind.TCP or task.probe.port is None:
                    continue
                target = self._listen_target(dep, task.dst, task.probe.port)
                if target is None:
                    continue
                where, port = target
                key = (where.target, port)
                if key not in planted:
                    try:
                        pid = where.run(_plant(port)).strip().splitlines()[-1]
                        planted[key] = (where, pid)
                    except Exception as e:
                        errors[i] = f"netlab could not listen on port {port} in {task.dst}: {e}"
                        continue
            yield errors
        finally:
            for where, pid in planted.values():
                if pid.isdigit():
                    with contextlib.suppress(Exception):
                        where.run(f"kill {pid}")

    def _listen_target(self, dep: Deployment, dst: str, port: int) -> tuple[Shell, int] | None:
        t = dep.topology
        here = self.where.get(dst)
        if here is None:
            return None
        if not here.shares_host:
            return here, port
        node = dep.endpoints[dst].node
        for c in t.containers_at(dep.stage_index):  # a published port is answered by its container
            if c.node == node and c.name in self.where and not self.where[c.name].shares_host:
                for p in c.publish:
                    if p.host_port == port and p.proto == "tcp":
                        return self.where[c.name], p.container_port
        return here, port


def _plant(port: int) -> str:
    """Start a persistent listener, wait until the kernel shows it, print its pid."""
    return (
        f"nc -ll -p {port} -e /bin/true >/dev/null 2>&1 & pid=$!; i=0; "
        f"while [ $i -lt 100 ] && ! netstat -ltn 2>/dev/null | grep -q ':{port} '; do sleep 0.02; i=$((i+1)); done; "
        "echo $pid"
    )

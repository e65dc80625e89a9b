"""The reachability matrix: which probes to send (plan) and sending them all at once (measure).

Every ordered pair of endpoints gets an icmp probe, and every probe named in an expectation of the
stage is added. Every source's sockets are served by one poll loop; one retry pass for timeouts only.

Early decision (`Early`, `netlab run --decide signals`, the default): every probe is sent at once, untraced,
until the answers stop (QUIET_S without one); the cells left are probed again while nftables traces the run's
packets in the namespaces where firewall rules are (the nodes, the peers), and a cell whose request or reply a
rule or a chain policy dropped is closed at once, its detail naming that rule as `--why` would. The trace table
only marks packets (`meta nftrace set 1`, before every other hook): it changes no verdict. Cells the kernel
answered (an ICMP error, a reset, no route) were always closed at once; only a packet lost in silence elsewhere
still waits for its timeout, counted from the traced pass.
"""

from __future__ import annotations

import shutil
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from netlab import faults, nsthread
from netlab.backends.base import Deployment, Endpoint
from netlab.kernel import features
from netlab.model.deployed import Listen
from netlab.model.probing import Answer, Decided, FromNamespaces, Probing, Task, ThroughShells
from netlab.model.results import Observation, Outcome
from netlab.model.topology import ICMP, ICMP6, Driver, EndpointKind, IPAddress, ProbeKind, Stage
from netlab.probes import nftrace
from netlab.probes.responders import Responders
from netlab.probes.shells import ShellProber
from netlab.probes.sweep import Shot, sweep_all

DEFAULT_TIMEOUT = 1.0
RETRY_FLOOR_S = 0.03
#: how long a first packet may wait for its next hop's MAC: the kernel re-sends an unanswered ARP request after
#: neigh retrans_time_ms (1000 by default in every new namespace). No cell is unreachable before this.
NEIGHBOUR_RESOLUTION_S = 1.0
NEIGHBOUR_MARGIN_S = 0.1  # for the answer to the re-sent request to come back
#: the most probes of a stage decided early: each traced packet costs a few trace reports per rule it passes, and
#: beyond this the reports outgrow what the trace sockets hold and cost more than the timeouts they save (a big
#: matrix of one network has few blocked cells; docs/performance.md)
EARLY_MAX_PROBES = 5000
#: with early decision, how long the first, untraced sweep waits after the last answer before it stops and the
#: cells left are probed again, traced: answers here come within milliseconds, a gap this long means the rest are
#: blocked or slow (a slow one is answered on the traced pass all the same)
QUIET_S = 0.1


@dataclass(frozen=True, slots=True)
class Early:
    """Close a cell the moment a trace reports its packet dropped (see the module's doc). `root`: the Docker host's
    own namespace when the run's packets pass it (docker backend: its trace table is journaled first); `explain`:
    also fill the cell's `why` (--why) with the same words, so --why re-probes only the cells left."""

    root: str | None = None
    explain: bool = False
    cost: nftrace.TraceCost = field(default_factory=nftrace.TraceCost)  # what tracing cost, added up


def pick_address(src: Endpoint, dst: Endpoint, v6: bool = False) -> IPAddress | None:
    """The destination's address on a segment the source shares, else its primary address; `v6`: its IPv6 address
    on a dual-stack segment both share, else its first IPv6 address (None: it has none)."""
    if v6:
        for a in dst.addresses:
            if a.address6 is not None and any(b.segment == a.segment and b.address6 for b in src.addresses):
                return a.address6
        return dst.primary6()
    for a in dst.addresses:
        for b in src.addresses:
            if a.segment == b.segment:
                return a.address
    return dst.primary()


def plan(dep: Deployment, stage: Stage) -> list[Task]:
    eps = dep.endpoints
    tasks: dict[tuple[str, str, str, IPAddress | None, bool], Task] = {}
    for s in eps.values():
        for d in eps.values():
            if s is not d:
                addr = pick_address(s, d)
                tasks[(s.name, d.name, "icmp", addr, False)] = Task(s.name, d.name, ICMP, addr)
    if dep.topology.dual_stack:  # the IPv6 matrix beside the IPv4 one
        for s in eps.values():
            for d in eps.values():
                if s is not d:
                    addr = pick_address(s, d, v6=True)
                    tasks[(s.name, d.name, "icmp6", addr, False)] = Task(s.name, d.name, ICMP6, addr)
    # expectations without address= first: verdict.find() takes the first matching observation
    for e in sorted(stage.expectations, key=lambda e: e.address is not None):
        override = e.address is not None
        addr = e.address if override else pick_address(eps[e.src], eps[e.dst], e.probe.v6)
        key = (e.src, e.dst, str(e.probe), addr, override)
        if key not in tasks:
            tasks[key] = Task(e.src, e.dst, e.probe, addr, override)
    for m in stage.measurements:  # cells measured with no outcome expected
        override = m.address is not None
        addr = m.address if override else pick_address(eps[m.src], eps[m.dst], m.probe.v6)
        key = (m.src, m.dst, str(m.probe), addr, override)
        if key not in tasks:
            tasks[key] = Task(m.src, m.dst, m.probe, addr, override)
    return list(tasks.values())


def services(dep: Deployment) -> list[Listen]:
    """The sockets the containers' applications listen on (Container.listen), in the order the containers were
    declared (started): in a shared namespace the first to bind a port holds it. Bound to every address of the
    namespace, except in the machine's own (a host-network container on the machine's daemon): there only to
    the run's addresses, so that no socket of netlab's answers on a real NIC."""
    out = []
    for c in dep.topology.containers_at(dep.stage_index):
        ep = dep.endpoints.get(c.name)
        if ep is None or ep.netns is None:
            continue
        binds = ["::"] if ep.primary6() else ["0.0.0.0"]  # "::": both families, as a dual-stack server binds
        if nsthread.is_home(ep.netns):
            binds = sorted(
                {str(a.address) for a in ep.addresses} | {str(a.address6) for a in ep.addresses if a.address6}
            )
            binds = binds or ["127.0.0.1"]
        out += [Listen(ep.netns, str(p.kind), p.port or 0, bind=b, owner=c.name) for p in c.listen for b in binds]
    return out


@dataclass(slots=True)
class Held:
    """Who holds each application socket after the services were bound, and who could not bind."""

    #: (netns, proto, port) -> the container whose socket holds it
    holders: dict[tuple[str, str, int], str] = field(default_factory=dict)
    #: (container, proto, port) -> (the holder, the kernel's error)
    clashes: dict[tuple[str, str, int], tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, wanted: Sequence[Listen], errors: Mapping[Listen, str]) -> Held:
        held = cls()
        for w in wanted:
            key = (w.netns, w.proto, w.port)
            if w in errors:
                held.clashes.setdefault((w.owner, w.proto, w.port), (held.holders.get(key, "?"), errors[w]))
            else:
                held.holders.setdefault(key, w.owner)
        return held


def listeners(
    dep: Deployment, tasks: Sequence[Task], held: Held | None = None
) -> tuple[dict[int, Listen], dict[int, str]]:
    """Where to listen so that each tcp/udp probe has something to answer it (task index -> socket), and what
    to say about the answer (task index -> note).

    Sockets are bound to the probed address, so they never collide with netlab's DNS servers on
    127.0.0.11:53. A node's published port is answered by the container it is published to, on the
    address Docker's DNAT sends it to. No socket is planted where an application's own socket answers
    (`held`), for a container that declares its own (it answers on those only), nor on the port a host-network
    container publishes (Docker discards it).
    """
    t = dep.topology
    held = held or Held()
    now = {c.name: c for c in t.containers_at(dep.stage_index)}
    out: dict[int, Listen] = {}
    notes: dict[int, str] = {}
    for i, task in enumerate(tasks):
        if task.probe.kind not in (ProbeKind.TCP, ProbeKind.UDP) or task.probe.port is None:
            continue
        dst = dep.endpoints[task.dst]
        if dst.netns is None or task.address is None:
            continue
        proto, port, where, bind = str(task.probe.kind), task.probe.port, dst.netns, str(task.address)
        answering = now.get(task.dst)  # the container whose application answers, if one does
        node = dep.endpoints.get(dst.node) if dst.node else None
        landing = dep.published.get((dst.node, proto, port)) if dst.node else None
        if node is not None and node.netns == dst.netns and landing is not None:
            ctr = dep.endpoints.get(landing[0])
            if ctr is not None and ctr.netns not in (None, dst.netns):
                assert ctr.netns is not None
                where, bind, port = ctr.netns, landing[1], landing[2]
                if task.address.version == 6:  # DNAT (ip6tables) and docker-proxy send IPv6 to its IPv6 address
                    six = next((a.address6 for a in ctr.addresses if str(a.address) == bind and a.address6), None)
                    bind = str(six) if six is not None else bind
                answering = now.get(landing[0])
        elif node is not None and node.netns == dst.netns:  # the node itself or a host-network container
            for c in t.containers_at(dep.stage_index):
                ctr = dep.endpoints.get(c.name)
                if c.node != dst.node or ctr is None or ctr.netns in (None, dst.netns) or not ctr.addresses:
                    continue
                for p in c.publish:
                    if p.host_port == port and p.proto == proto:
                        assert ctr.netns is not None
                        first = ctr.addresses[0]
                        six = first.address6 if task.address.version == 6 else None  # as above
                        where, port, bind = ctr.netns, p.container_port, str(six or first.address)
                        answering = c
        holder = held.holders.get((where, proto, port))
        if holder is not None:
            clash = held.clashes.get((task.dst, proto, port))
            if clash is not None:
                notes[i] = (
                    f"{task.dst} could not bind {proto} port {port} ({clash[1]}): {clash[0]} holds it in their shared "
                    f"namespace and answered"
                )
            elif holder != task.dst:
                notes[i] = f"answered by {holder}'s socket ({task.dst} and {holder} share one network namespace)"
            continue
        discarded = (
            answering is not None
            and any(p.host_port == port and p.proto == proto for p in answering.publish)
            and any(t.network(a.network).driver == Driver.HOST for a in answering.attachments)
        )
        if discarded:
            notes[i] = (
                f"Docker discarded {task.dst}'s published port {port} (host network mode) and nothing listens on it"
            )
            continue
        if answering is not None and answering.listen:
            own = ", ".join(str(p) for p in answering.listen)
            notes[i] = f"nothing listens on {proto}:{port}: {answering.name}'s application listens on {own} only"
            continue
        out[i] = Listen(where, proto, port, bind=bind)
    return out, notes


def retry_window(answers: Iterable[Answer], timeout: float) -> float:
    """How long the retry pass waits. The first pass gave every probe its full timeout; the retry
    covers a packet lost on the way (the first packets after a deploy, queued behind ARP), so
    it waits ten times the slowest round trip the kernel stamped (ICMP, UDP and DNS answers; a TCP
    handshake is timed when netlab gets to it, which says more about netlab's load than the network),
    at least 0.03 s and at most the timeout; and at least what is left of the neighbour-resolution time
    (NEIGHBOUR_RESOLUTION_S) after the first pass, so that a first packet whose ARP request had to be sent
    again still gets its answer before the cell is called unreachable."""
    answers = list(answers)
    stamped = [a.rtt_ms for a in answers if a.stamped and a.rtt_ms is not None]
    rtts = stamped or [a.rtt_ms for a in answers if a.rtt_ms is not None]
    slowest = max(rtts, default=0.0) / 1000
    return max(min(timeout, max(RETRY_FLOOR_S, 10 * slowest)), NEIGHBOUR_RESOLUTION_S + NEIGHBOUR_MARGIN_S - timeout)


class Prober(Protocol):
    """How the probes of a plan are sent: from inside the namespaces (LocalProber) or otherwise."""

    local: bool  # probes cross this machine's kernel (its neighbour table applies)

    #: what to add to a probe's answer (task index -> note), filled while listening
    notes: dict[int, str]

    def listening(self, dep: Deployment, tasks: Sequence[Task]) -> AbstractContextManager[dict[int, str]]:
        """Plant what tcp/udp probes need to be answered; yields task index -> why nothing could listen."""
        ...

    def run(self, dep: Deployment, tasks: Sequence[Task], timeout: float) -> dict[int, Answer]: ...


class LocalProber:
    """Sockets created inside each source namespace (setns), listeners planted the same way (unless the
    backend says the endpoints are to be left as they are: FromNamespaces.listeners)."""

    local = True

    def __init__(self, how: FromNamespaces | None = None) -> None:
        self.how = how or FromNamespaces()
        self.notes: dict[int, str] = {}
        self.watch: nftrace.DropWatch | None = None  # trace reports to decide by, while `measure` holds one
        self.drops: dict[int, tuple[nftrace.Event, str]] = {}  # of the last `run`: task index -> what dropped it

    @contextmanager
    def listening(self, dep: Deployment, tasks: Sequence[Task]) -> Iterator[dict[int, str]]:
        if not self.how.listeners:
            yield {}
            return
        apps = services(dep)
        with Responders(apps, ordered=True) as served:  # the applications first, as they start with their containers
            held = Held.of(apps, served.errors)
            if apps:
                dep.facts["port_clashes"] = {
                    f"{owner} {proto}:{port}": f"held by {holder} ({error})"
                    for (owner, proto, port), (holder, error) in held.clashes.items()
                }
            wanted, self.notes = listeners(dep, tasks, held)
            with self._planted(dep, wanted) as failed:
                yield failed

    @contextmanager
    def _planted(self, dep: Deployment, wanted: dict[int, Listen]) -> Iterator[dict[int, str]]:
        with Responders([*wanted.values(), *dep.dns_servers, *dep.proxies]) as planted:
            faults.point("probes.responders")
            yield {
                i: f"netlab could not listen on {w.bind}:{w.port}: {planted.errors[w]}"
                for i, w in wanted.items()
                if w in planted.errors
            }

    def run(
        self, dep: Deployment, tasks: Sequence[Task], timeout: float, quiet: float | None = None
    ) -> dict[int, Answer]:
        """`quiet`: stop once no answer came for that long (the cells left are returned timed out)."""
        why_not = {i: why for i, t in enumerate(tasks) if (why := self._withheld(t)) is not None}
        sent = [i for i in range(len(tasks)) if i not in why_not]
        if self.watch is not None:
            self.watch.decided.clear()
        answers = _run(dep, [tasks[i] for i in sent], timeout, self.watch, quiet)
        self.drops = {sent[j]: d for j, d in self.watch.decided.items()} if self.watch is not None else {}
        out = {i: answers[j] for j, i in enumerate(sent)}
        out.update({i: Answer(Outcome.ERROR, None, why) for i, why in why_not.items()})
        return out

    def _withheld(self, task: Task) -> str | None:
        """Why a probe is not sent (the backend said so), or None."""
        why = self.how.withheld.get((task.src, task.dst, str(task.probe)))
        if why is not None or task.probe.kind is not ProbeKind.DNS or self.how.dns_names is None:
            return why
        allowed = self.how.dns_names.get(task.src, frozenset())
        if allowed is None or task.probe.name in allowed:
            return None
        return (
            f"not sent: {task.src}'s resolver would forward {task.probe.name!r} off this machine (only names Docker's "
            "embedded DNS answers itself are asked)"
        )


class DecidedProber:
    """No packets: the backend's own answer for each probe (Decided)."""

    local = False

    def __init__(self, decided: Decided) -> None:
        self.decided = decided
        self.notes: dict[int, str] = {}

    @contextmanager
    def listening(self, dep: Deployment, tasks: Sequence[Task]) -> Iterator[dict[int, str]]:
        yield {}

    def run(self, dep: Deployment, tasks: Sequence[Task], timeout: float) -> dict[int, Answer]:
        return {i: self.decided.answer(task) for i, task in enumerate(tasks)}


def prober_for(probing: Probing) -> Prober:
    """The prober for what a backend says about its endpoints (Backend.probing)."""
    if isinstance(probing, ThroughShells):
        return ShellProber(dict(probing.shells))
    if isinstance(probing, Decided):
        return DecidedProber(probing)
    assert isinstance(probing, FromNamespaces)
    return LocalProber(probing)


def measure(
    dep: Deployment,
    stage: Stage,
    timeout: float = DEFAULT_TIMEOUT,
    prober: Prober | None = None,
    early: Early | None = None,
) -> list[Observation]:
    prober = prober or LocalProber()
    tasks = plan(dep, stage)
    overflows = features.neighbour_overflows() if prober.local else 0
    drops: dict[int, tuple[nftrace.Event, str]] = {}
    with prober.listening(dep, tasks) as not_listening:
        if early is not None and isinstance(prober, LocalProber) and shutil.which("nft"):
            # every probe at once, untraced, until the answers stop; only the cells left are probed again, traced,
            # so a matrix with nothing blocked costs no tracing at all
            answers = prober.run(dep, tasks, timeout, quiet=QUIET_S)
            left = [i for i, a in answers.items() if a.timed_out]
            if left:
                with _watching(dep, [tasks[i] for i in left], prober, early):
                    again = prober.run(dep, [tasks[i] for i in left], timeout)
                    drops.update({left[j]: d for j, d in prober.drops.items()})
                    answers.update({i: again[j] for j, i in enumerate(left)})
                    drops.update(_retry(dep, tasks, answers, prober, timeout))
        else:
            answers = prober.run(dep, tasks, timeout)
            _retry(dep, tasks, answers, prober, timeout)
    reasons: dict[int, str] = {}
    if drops and early is not None:  # the rule that dropped each, in the words --why uses
        labels, rules = nftrace.namespace_labels(dep, early.root), nftrace.RuleText()
        for i, drop in drops.items():
            if answers[i].outcome is Outcome.UNREACHABLE:
                reasons[i] = nftrace.drop_reason([drop], labels, rules) or answers[i].detail
                answers[i] = answers[i]._replace(detail=reasons[i])
    for i, why in not_listening.items():  # nothing could answer: the probe says nothing about the network
        answers[i] = Answer(Outcome.ERROR, None, why)
    for i, note in prober.notes.items():
        answers[i] = answers[i]._replace(detail=f"{answers[i].detail}; {note}" if answers[i].detail else note)
    if prober.local and features.neighbour_overflows() > overflows:
        # the kernel dropped packets for want of neighbour entries: a timeout says nothing then
        note = (
            "not measured: the kernel's neighbour table overflowed while probing "
            "(net.ipv4.neigh.default.gc_thresh3 is shared by every namespace on this machine)"
        )
        for i, a in answers.items():
            if a.timed_out:
                answers[i] = Answer(Outcome.ERROR, None, note)
    return [
        Observation(
            stage=stage.name,
            src=task.src,
            dst=task.dst,
            address=dep.resolvers.get(task.src) if task.probe.kind is ProbeKind.DNS else task.address,
            probe=task.probe,
            outcome=answers[i].outcome,
            rtt_ms=answers[i].rtt_ms,
            detail=answers[i].detail,
            why=reasons.get(i, "") if early is not None and early.explain else "",
        )
        for i, task in enumerate(tasks)
    ]


def _retry(
    dep: Deployment, tasks: Sequence[Task], answers: dict[int, Answer], prober: Prober, timeout: float
) -> dict[int, tuple[nftrace.Event, str]]:
    """The retry pass of the cells that timed out (a first packet lost behind ARP), in place; the cells a traced
    drop closed meanwhile (task index -> what dropped it)."""
    retry = [i for i, a in answers.items() if a.timed_out]
    if not retry:
        return {}
    window = retry_window(answers.values(), timeout)
    again = prober.run(dep, [tasks[i] for i in retry], window)
    for j, i in enumerate(retry):
        a = again[j]
        if a.timed_out:  # say how long the cell was given in all, not only the retry
            a = a._replace(detail=f"no answer within {timeout:g} s, nor within {window:.2g} s of a retry")
        answers[i] = a
    drops = prober.drops if isinstance(prober, LocalProber) and prober.watch is not None else {}
    return {retry[j]: d for j, d in drops.items()}


@contextmanager
def _watching(
    dep: Deployment, tasks: Sequence[Task], prober: Prober, early: Early | None
) -> Iterator[nftrace.DropWatch | None]:
    """Trace the stage's packets where rules are, for the sweep to decide dropped cells early (None: it cannot or
    should not here: not asked, no nft, probes not sent from namespaces, or too many of them)."""
    if early is None or not isinstance(prober, LocalProber) or len(tasks) > EARLY_MAX_PROBES or not shutil.which("nft"):
        yield None
        return
    labels = nftrace.namespace_labels(dep, early.root)
    ruled = {
        ep.netns for ep in dep.endpoints.values() if ep.netns and ep.kind in (EndpointKind.HOST, EndpointKind.PEER)
    }
    if not prober.how.listeners:  # endpoints left as they are (`netlab scan`): the Docker host's namespace only
        ruled = {early.root} if early.root else set()
    traced = {p: label for p, label in labels.items() if p in ruled}
    addresses: set[IPAddress] = {a.address for ep in dep.endpoints.values() for a in ep.addresses}
    addresses |= {a.address6 for ep in dep.endpoints.values() for a in ep.addresses if a.address6}
    addresses |= {t.address for t in tasks if t.address is not None}
    if not traced:
        yield None
        return
    started = time.perf_counter()
    with nftrace.tracing(dep, traced, sorted(addresses, key=lambda a: (a.version, int(a)))) as loaded:
        early.cost.setup_s += time.perf_counter() - started
        sockets = {}
        for path in loaded:
            try:
                sockets[path] = nftrace.trace_socket(path)
            except OSError:
                continue
        if not sockets:  # no namespace could be traced (a kernel without nf_tables): every cell waits as before
            yield None
            return
        watch = nftrace.DropWatch(sockets, nftrace.table_name(dep.run), early.cost)
        prober.watch = watch
        try:
            yield watch
        finally:
            prober.watch = None
            watch.close()
            started = time.perf_counter()  # the tables' removal, when this block is left
    early.cost.setup_s += time.perf_counter() - started


def _run(
    dep: Deployment,
    tasks: Sequence[Task],
    timeout: float,
    watch: nftrace.DropWatch | None = None,
    quiet: float | None = None,
) -> dict[int, Answer]:
    results: dict[int, Answer] = {}
    by_src: dict[str, list[Shot]] = defaultdict(list)
    for i, task in enumerate(tasks):
        src = dep.endpoints[task.src]
        if src.netns is None:
            results[i] = Answer(Outcome.ERROR, None, f"{task.src} has no network namespace (not running)")
        elif task.address is None and task.probe.kind is not ProbeKind.DNS:
            family = "IPv6" if task.probe.v6 else "IPv4"
            results[i] = Answer(Outcome.UNREACHABLE, None, f"{task.dst} has no {family} address")
        elif task.probe.kind is ProbeKind.DNS:
            resolver = dep.resolvers.get(task.src)
            if resolver is None:
                results[i] = Answer(Outcome.UNREACHABLE, None, f"{task.src} has no resolver configured")
            else:
                by_src[task.src].append(Shot(i, ProbeKind.DNS, resolver, 53, task.probe.name, task.probe.v6))
        else:
            assert task.address is not None
            by_src[task.src].append(Shot(i, task.probe.kind, task.address, task.probe.port))
    if by_src:
        jobs = [(str(dep.endpoints[src].netns), shots) for src, shots in by_src.items()]
        results.update(sweep_all(jobs, timeout, watch=watch, quiet=quiet))
    return results

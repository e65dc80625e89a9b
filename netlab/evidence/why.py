"""Why a cell is blocked: the rule or kernel decision that ended its probe (`netlab run --why`).

For every cell observed unreachable netlab sends the probe again with nftables tracing on. A table of its
own (`inet nltrace<run>`, one per namespace the run's packets pass: endpoints, nodes, lans) sets
`meta nftrace set 1` on packets between the run's addresses at prerouting and output, before every other
hook; the kernel then reports, on the NFNLGRP_NFTRACE netlink group of each namespace, every chain and rule
those packets pass in every table, iptables-nft's included, and the verdict that ended them. The events are
read here from netlink (no `nft monitor` text) and matched to cells by the IP and transport headers they
carry. A drop names its namespace, table, chain and rule, printed as iptables-save prints it (the chain's
n-th rule) and as nft lists it. The tracing itself is netlab/probes/nftrace.py.

When no rule dropped the packet the kernel decided, and other evidence says how: no route in the source's
namespace; a macvlan/ipvlan child and its own parent (the driver's filter, no rule involved); no ARP answer
for the next hop; or the request arrived and its reply had no route back. The tables are removed right
after the re-probe; in the Docker host's own namespace the table is journaled first, so `netlab clean`
removes it after a crash, and Docker's tables are never touched.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

from netlab import nsthread
from netlab.backends.base import Deployment
from netlab.errors import NetlabError
from netlab.model.probing import FromNamespaces, Task
from netlab.model.results import Observation, Outcome
from netlab.model.topology import Driver, EndpointKind, IPAddress, ProbeKind
from netlab.probes import matrix
from netlab.probes.nftrace import (
    FORWARD_ACCEPT,
    NF_ACCEPT,
    VERDICTS,
    Event,
    RuleText,
    drop_reason,
    is_forward,
    namespace_labels,
    parse,
    table_name,
    trace_socket,
    tracing,
    with_headers,
)

#: how long the re-probe waits: a dropped packet is reported at once, a reply within milliseconds here
REPROBE_S = 0.3


def _matches(e: Event, src: set[IPAddress], dst: IPAddress, task: Task) -> str | None:
    """'request' or 'reply' when the event's packet belongs to the task's probe. (Cells are re-probed
    together: the reverse cell's request is told from this one's reply by the ICMP type or the ports.)"""
    icmp, (echo, answer) = (58, (128, 129)) if task.probe.v6 else (1, (8, 0))
    want = {ProbeKind.ICMP: icmp, ProbeKind.TCP: 6, ProbeKind.UDP: 17, ProbeKind.DNS: 17}[task.probe.kind]
    if e.proto != want:
        return None
    port = task.probe.port if task.probe.kind is not ProbeKind.DNS else 53
    if e.daddr == dst and e.saddr in src and (e.icmp_type == echo if want == icmp else e.dport == port):
        return "request"
    if e.saddr == dst and e.daddr in src and (e.icmp_type == answer if want == icmp else e.sport == port):
        return "reply"
    return None


def _route_missing(netns: str, dst: IPAddress) -> bool:
    """True when the namespace has no route to `dst` (the kernel answers ENETUNREACH/EHOSTUNREACH; with IPv6
    off, EADDRNOTAVAIL or EAFNOSUPPORT count as none too)."""
    family = socket.AF_INET6 if dst.version == 6 else socket.AF_INET
    with nsthread.entered(netns):
        sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.connect((str(dst), 9))  # a UDP connect only looks the route up; nothing is sent
    except OSError as e:
        return e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)
    finally:
        sock.close()
    return False


def _unanswered_neighbours(netns: str, version: int = 4) -> list[tuple[str, str]]:
    from netlab.evidence import routes

    out = []
    for line in routes.read(netns, ipv6=version == 6)["neighbours6" if version == 6 else "neighbours"]:
        parts = line.split()
        if parts and parts[-1] in ("FAILED", "INCOMPLETE"):
            out.append((parts[0], parts[3] if len(parts) > 3 else "?"))
    return out


def _parent_child(dep: Deployment, src: str, dst: str) -> str | None:
    """A node and a macvlan/ipvlan child of its own uplink: the driver keeps them apart, no rule does."""
    t = dep.topology
    kinds = {n: t.endpoint_kind(n) for n in (src, dst)}
    for node, other in ((src, dst), (dst, src)):
        if kinds[node] != EndpointKind.HOST or kinds[other] != EndpointKind.CONTAINER:
            continue
        c = t.container(other)
        if c.node != node:
            continue
        for a in t.attachments_of(other):
            net = t.network(a.network)
            if net.driver in (Driver.MACVLAN, Driver.IPVLAN):
                d = str(net.driver)
                art = "an" if d[0] in "aeiou" else "a"
                return (
                    f"no rule dropped it: {node} and {other} are {art} {d} parent and its own child on lan "
                    f"{net.parent}; the kernel's {d} driver does not pass traffic between them ({art} {d} shim on the "
                    "parent is the usual fix)"
                )
    return None


def _ipvlan_l3(dep: Deployment, dst: str) -> bool:
    t = dep.topology
    if t.endpoint_kind(dst) != EndpointKind.CONTAINER:
        return False
    return any(
        t.network(a.network).driver == Driver.IPVLAN and t.network(a.network).option("ipvlan_mode", "l2") != "l2"
        for a in t.attachments_of(dst)
    )


def explain(
    dep: Deployment,
    observations: Sequence[Observation],
    root: str | None = None,
    surprising: frozenset[tuple[str, str, str]] = frozenset(),
    how: FromNamespaces | None = None,
) -> list[Observation]:
    """The observations with `why` filled in for every unreachable one, and for each reachable one the
    scenario expected blocked (`surprising`: (src, dst, probe)), the rule that let it through. `root`: the
    Docker host's own namespace when it is one of the run's (docker backend), so its trace table is journaled."""
    out = list(observations)
    for i, o in enumerate(observations):  # a name lookup is an answer, not a packet: its detail says it
        if o.outcome is Outcome.UNREACHABLE and o.probe.kind is ProbeKind.DNS:
            answered = any(rcode in o.detail for rcode in ("NXDOMAIN", "SERVFAIL", "REFUSED", "no A record"))
            why = (
                f"no packet was dropped: the resolver {o.address} answered ({o.detail})"
                if answered
                else f"the name lookup failed: {o.detail}"
            )
            out[i] = replace(o, why=why)
        elif o.outcome is Outcome.UNREACHABLE and (o.address is None or not dep.endpoints[o.src].netns):
            only_none = dep.topology.endpoint_kind(o.dst) == EndpointKind.CONTAINER and all(
                dep.topology.network(a.network).driver == Driver.NONE for a in dep.topology.attachments_of(o.dst)
            )
            extra = " (its only network is 'none': a loopback interface and nothing else)" if only_none else ""
            out[i] = replace(o, why=f"no packet was sent: {o.detail}{extra}")
    cells = [
        i
        for i, o in enumerate(observations)
        if (o.outcome is Outcome.UNREACHABLE or (o.src, o.dst, str(o.probe)) in surprising)
        and not o.why  # decided early from its trace: the rule that dropped it is known already
        and o.outcome is not Outcome.ERROR
        and o.probe.kind is not ProbeKind.DNS
        and o.address is not None
        and dep.endpoints[o.src].netns
    ]
    if not cells:
        return out
    labels = namespace_labels(dep, root)
    # endpoints netlab must leave as they are (`netlab scan`: FromNamespaces.listeners off): no trace table inside
    # them and no listener; only the machine's own namespace, where Docker's rules live, is traced
    hands_off = how is not None and not how.listeners
    traced_labels = {p: label for p, label in labels.items() if p == root} if hands_off else labels
    tasks = [
        Task(observations[i].src, observations[i].dst, observations[i].probe, observations[i].address) for i in cells
    ]
    mine4: set[IPAddress] = {a.address for ep in dep.endpoints.values() for a in ep.addresses}
    mine6: set[IPAddress] = {a.address6 for ep in dep.endpoints.values() for a in ep.addresses if a.address6}
    addresses = sorted(
        mine4 | mine6 | {t.address for t in tasks if t.address is not None},
        key=lambda a: (a.version, int(a)),
    )
    events: list[Event] = []
    with tracing(dep, traced_labels, addresses) as traced:
        socks = {}
        for path in traced:
            with contextlib.suppress(OSError):
                socks[path] = trace_socket(path)
        try:
            prober = matrix.LocalProber(how)
            with prober.listening(dep, tasks):
                prober.run(dep, tasks, REPROBE_S)
            time.sleep(0.02)  # the last events of a dropped reply
            for path, sock in socks.items():
                while True:
                    try:
                        events += parse(path, sock.recv(1 << 16))
                    except BlockingIOError:
                        break
                    except OSError as e:  # ENOBUFS: the kernel dropped events the buffer had no room for
                        if e.errno != errno.ENOBUFS:
                            raise
        finally:
            for sock in socks.values():
                sock.close()
    own = table_name(dep.run)
    events = [e for e in with_headers(events) if e.table != own]
    rules = RuleText()
    for task, i in zip(tasks, cells, strict=True):
        assert task.address is not None
        src_ep = dep.endpoints[task.src]
        src_addrs: set[IPAddress] = (
            {a.address6 for a in src_ep.addresses if a.address6}
            if task.probe.v6
            else {a.address for a in src_ep.addresses}
        )
        matched = [(e, _matches(e, src_addrs, task.address, task)) for e in events]
        # the same packet after a DNAT (a published port): other headers, the same trace id in that namespace
        ids = {(e.netns, e.trace_id): d for e, d in matched if d}
        mine = [(e, d or ids.get((e.netns, e.trace_id))) for e, d in matched]
        mine = [(e, d) for e, d in mine if d]
        if observations[i].outcome is Outcome.REACHABLE:
            why = _accepted(mine, labels, rules, dep.endpoints[task.src].netns, traced, task.probe.v6)
        else:
            try:
                why = (
                    drop_reason(mine, labels, rules)
                    or _kernel_reason(dep, task, mine, labels, traced)
                    or _refused(task, observations[i].detail)
                    or _unexplained(mine, labels, traced)
                )
            except (OSError, subprocess.SubprocessError, NetlabError) as e:  # a namespace vanished meanwhile
                why = f"not explained: reading the evidence failed ({e})"
        out[i] = replace(observations[i], why=why)
    return out


def _accepted(
    mine: list[tuple[Event, str | None]],
    labels: dict[str, str],
    rules: RuleText,
    src: str | None,
    traced: list[str],
    v6: bool = False,
) -> str:
    """Why an expected-blocked probe got through: the filter rule that accepted its request on the way."""
    for e, direction in mine:
        if direction == "request" and e.kind == "rule" and e.verdict == NF_ACCEPT and e.netns != src:
            if e.table != "filter":
                continue
            nft, ipt = rules.get(e)
            text = f"`{ipt}`" if ipt else f"`{nft}`" if nft else f"rule handle {e.handle}"
            where = labels.get(e.netns, e.netns)
            return f"it got through: accepted in {where} by {e.family} {e.table} {e.chain} rule {text}"
    for e, direction in mine:
        if direction == "request" and e.kind == "policy" and e.verdict == NF_ACCEPT and is_forward(e):
            where = labels.get(e.netns, e.netns)
            return f"it got through: accepted in {where} by the FORWARD policy ACCEPT: {FORWARD_ACCEPT}"
    if not traced:
        return "it got through: nftables tracing is not available here to say which rule let it pass"
    if v6 and not any(e.family == "ip6" and e.table == "filter" for e, _ in mine):
        return (
            "it got through: no IPv6 filter rule is on its path (no ip6tables filter table: Docker 20.10 writes "
            "IPv6 rules only with --experimental --ip6tables)"
        )
    return "it got through: no filter rule on its path stopped it (no rule matched and the chain policies accept)"


def _kernel_reason(
    dep: Deployment, task: Task, mine: list[tuple[Event, str | None]], labels: dict[str, str], traced: list[str]
) -> str | None:
    """A reason the kernel gave (a missing route or neighbour, a driver's filter), or None."""
    assert task.address is not None
    v6 = task.probe.v6
    src, dst = dep.endpoints[task.src], dep.endpoints[task.dst]
    assert src.netns is not None
    if v6 and not any(a.address6 for a in src.addresses):
        return f"no rule dropped it: {task.src} has no IPv6 address (its networks are IPv4-only): it sends no IPv6"
    if _route_missing(src.netns, task.address):
        return f"no rule dropped it: {task.src} has no route to {task.address} in its namespace"
    transit = []
    for e, d in mine:  # namespaces the request was seen in, on its way
        if d == "request" and e.netns not in (src.netns, dst.netns) and e.netns not in transit:
            transit.append(e.netns)
    for netns in transit:
        if _route_missing(netns, task.address):
            return (
                f"no rule dropped it: the request reached {labels.get(netns, netns)}, which has no route to "
                f"{task.address}"
            )
    parent = _parent_child(dep, task.src, task.dst)
    if parent:
        return parent
    for ip, dev in _unanswered_neighbours(src.netns, task.address.version):
        if ip != str(task.address):  # the machine's own LAN may have failed entries of its own
            continue
        if v6:
            return f"no rule dropped it: no neighbour advertisement (NDP) for {ip} on {dev} in {task.src}'s namespace"
        if _ipvlan_l3(dep, task.dst):
            return (
                f"no rule dropped it: {task.dst} is an ipvlan L3 child, which answers no ARP (no broadcast in L3 "
                f"mode); {task.src} needs a route via the parent's address instead of ARP on {dev}"
            )
        return f"no rule dropped it: no ARP answer for {ip} on {dev} in {task.src}'s namespace"
    for a in src.addresses if dst.netns else []:
        assert dst.netns is not None
        back = a.address6 if v6 else a.address
        if back is not None and _route_missing(dst.netns, back):
            reached = any(d == "request" and e.netns == dst.netns for e, d in mine)
            how = "the request reached it" if reached else "the request can reach it"
            return f"no rule dropped it: {how}, but the reply is lost: {task.dst} has no route back to {back}"
    return None


#: what a probe's detail says when the destination's kernel refused it (probes/sweep.py)
REFUSALS = {"TCP reset (connection refused)": "a TCP reset", "ICMP port unreachable": "an ICMP port unreachable"}


def _refused(task: Task, detail: str) -> str | None:
    """The destination's kernel answered the probe with a refusal: nothing listens on that port there."""
    for said, what in REFUSALS.items():
        if detail.startswith(said):
            rest = detail[len(said) :].lstrip("; ")
            because = rest or f"nothing listens on {task.probe} there"
            return f"no rule dropped it: {task.dst} answered with {what}: {because}"
    return None


def _unexplained(mine: list[tuple[Event, str | None]], labels: dict[str, str], traced: list[str]) -> str:
    if not traced:
        return "not explained: nftables tracing is not available here and no route or ARP entry is missing"
    seen = [e for e, _ in mine]
    if not seen:
        return "not explained: no traced packet of this probe was seen in any namespace (no rule saw it)"
    last = seen[-1]
    return (
        f"not explained: no rule dropped it; last seen in {labels.get(last.netns, last.netns)} "
        f"({last.family} {last.table} {last.chain}, "
        f"{VERDICTS.get(last.verdict, '?') if last.verdict is not None else 'no verdict'})"
    )


def kept_deployment(data: dict[str, object]) -> tuple[Deployment, str | None]:
    """The deployment of a run kept up (`netlab run --keep --json FILE`), rebuilt from its JSON result and
    its journal, and the Docker host's namespace when the run used it. Raises UsageError when the run is
    not up any more."""
    from netlab import loader
    from netlab.backends import journal as journals
    from netlab.backends.journal import Journal
    from netlab.errors import UsageError
    from netlab.model.deployed import Address, CapturePoint, Endpoint, Listen, segment

    run = str(data.get("run", ""))
    if not re.fullmatch(r"[0-9a-f]{1,16}", run):
        raise UsageError(f"run id {run!r} in the JSON result is not one netlab writes")
    path = os.path.join(journals.JOURNAL_DIR, f"{run}.journal")
    kept = None
    records = {r.run: r for r in journals.runs()}  # through netlab's own, checked directory only
    if run in records:
        kept = next((e for e in records[run].entries if e.kind == "kept"), None)
    if kept is None:
        raise UsageError(
            f"run {run!r} is not up: `netlab why` probes a deployment kept with "
            "`netlab run SCENARIO --keep --json FILE` (and not yet removed by `netlab clean`)"
        )
    source = str(kept.extra.get("source") or "")
    if not source:
        raise UsageError(f"run {run}: its scenario was built in memory; `netlab why` needs a scenario file")
    topology = loader.load(source, subnet_offset=int(kept.extra.get("subnet_offset", 0)))
    if not 0 <= int(kept.extra.get("stage", 0)) < len(topology.stages):
        raise UsageError(f"{source} changed since run {run} was kept (its stages differ); run it again")
    root = None
    if data.get("backend") == "docker":
        root = nsthread.HOME
    dep = Deployment(run, str(data.get("backend")), topology, Journal(run, path))
    dep.stage_index = int(kept.extra.get("stage", 0))
    where = dict(kept.extra.get("endpoints", {}))
    endpoints = data.get("endpoints")
    if not isinstance(endpoints, dict) or set(endpoints) != set(where):
        raise UsageError(f"the JSON result does not match run {run}'s journal (other endpoints)")
    for name, ep in endpoints.items():
        netns = where.get(name)
        six = ep.get("addresses6") or {}
        addrs = [
            Address(
                net, segment(topology, net, ep["node"]), IPv4Address(a), IPv6Address(six[net]) if net in six else None
            )
            for net, a in ep["addresses"].items()
        ]
        dep.endpoints[name] = Endpoint(
            name, EndpointKind(ep["kind"]), ep["node"], root if netns == "root" else netns, addrs
        )
    for name, netns, role, node, *ifname in kept.extra.get("captures", []):
        at = str(root if netns == "root" else netns)
        dep.capture_points.append(CapturePoint(name, at, ifname[0] if ifname else "", role, node))
    for node, proto, host_port, ctr, address, port in kept.extra.get("published", []):
        dep.published[(node, proto, int(host_port))] = (ctr, address, int(port))
    for netns, proto, port, bind, up_address, up_port, *v6only in kept.extra.get("proxies", []):
        dep.proxies.append(
            Listen(
                netns,
                proto,
                int(port),
                bind=bind,
                upstream=(up_address, int(up_port)),
                v6only=bool(v6only and v6only[0]),
            )
        )
    missing = [n for n, ep in dep.endpoints.items() if ep.netns and not os.path.exists(ep.netns)]
    if missing:
        raise UsageError(f"run {run}: the namespaces of {', '.join(missing)} are gone; run the scenario again")
    return dep, root

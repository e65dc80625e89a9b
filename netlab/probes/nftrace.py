"""nftables tracing of the run's own packets, read from netlink (the mechanics `--why` stands on).

A table of the run's own (`inet nltrace<run>`, one per namespace the run's packets pass) sets
`meta nftrace set 1` on packets between the run's addresses at prerouting and output, before every other hook;
the kernel then reports on the NFNLGRP_NFTRACE netlink group of that namespace every chain and rule those packets
pass, in every table, and the verdict that ended them. `parse` reads those reports (no `nft monitor` text);
`tracing` plants the tables and always removes them; in the Docker host's own namespace the table is journaled
first, so `netlab clean` removes it after a crash (`remove_table`). Docker's tables are never touched.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv6Address

from netlab import faults, nsthread
from netlab.backends.base import Deployment
from netlab.backends.journal import RunRecord
from netlab.errors import NetlabError
from netlab.model.topology import EndpointKind

# linux/netlink.h, linux/netfilter/nfnetlink.h, linux/netfilter/nf_tables.h
NETLINK_NETFILTER = 12
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NFNLGRP_NFTRACE = 9
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_GETTABLE = 1
NFTA_TABLE_NAME = 1
NFPROTO = {1: "inet", 2: "ip", 3: "arp", 7: "bridge", 10: "ip6", 5: "netdev"}
NFT_MSG_TRACE = (10 << 8) | 17  # NFNL_SUBSYS_NFTABLES, NFT_MSG_TRACE
TRACE_TABLE, TRACE_CHAIN, TRACE_RULE_HANDLE, TRACE_TYPE, TRACE_VERDICT, TRACE_ID = 1, 2, 3, 4, 5, 6
TRACE_NETWORK_HEADER, TRACE_TRANSPORT_HEADER, TRACE_POLICY = 8, 9, 16
VERDICT_CODE, VERDICT_CHAIN = 1, 2
TRACETYPE = {1: "policy", 2: "return", 3: "rule"}
NF_DROP, NF_ACCEPT = 0, 1
VERDICTS = {
    0: "drop",
    1: "accept",
    2: "stolen",
    3: "queue",
    -1: "continue",
    -2: "break",
    -3: "jump",
    -4: "goto",
    -5: "return",
}
FAMILIES = {1: "inet", 2: "ip", 7: "bridge", 10: "ip6", 3: "arp", 5: "netdev"}
TRACE_PREFIX = "nltrace"
#: ICMP echo reply and request, ICMPv6 echo request and reply
ECHO_TYPES = (0, 8, 128, 129)
ROOT_LABEL = "the Docker host's own namespace"


@dataclass(frozen=True, slots=True)
class Event:
    """One nftrace report: a packet (trace id) passed or left a chain."""

    netns: str
    trace_id: int
    kind: str  # rule / policy / return
    family: str
    table: str
    chain: str
    handle: int | None
    verdict: int | None
    saddr: IPv4Address | IPv6Address | None
    daddr: IPv4Address | IPv6Address | None
    proto: int | None
    dport: int | None
    sport: int | None
    icmp_type: int | None = None
    #: an ICMP or ICMPv6 echo request or reply's identifier and sequence number (a probe of the sweep is told by them)
    icmp_echo: tuple[int, int] | None = None


def table_name(run: str) -> str:
    return f"{TRACE_PREFIX}{run}"


def _attrs(data: bytes, start: int, end: int) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    while start + 4 <= end:
        alen, atype = struct.unpack_from("=HH", data, start)
        if alen < 4:
            break
        out[atype & 0x3FFF] = data[start + 4 : start + alen]
        start += (alen + 3) & ~3
    return out


def parse(netns: str, data: bytes) -> list[Event]:
    """The NFT_MSG_TRACE messages in one netlink datagram."""
    events = []
    off = 0
    while off + 16 <= len(data):
        length, typ = struct.unpack_from("=IH", data, off)
        if length < 16:
            break
        if typ == NFT_MSG_TRACE and length >= 20:
            family = data[off + 16]
            a = _attrs(data, off + 20, off + length)
            verdict = None
            if TRACE_VERDICT in a:
                v = _attrs(a[TRACE_VERDICT], 0, len(a[TRACE_VERDICT]))
                if VERDICT_CODE in v:
                    (verdict,) = struct.unpack("!i", v[VERDICT_CODE][:4])
            if TRACE_POLICY in a and verdict is None:
                (verdict,) = struct.unpack("!I", a[TRACE_POLICY][:4])
            net = a.get(TRACE_NETWORK_HEADER, b"")
            saddr: IPv4Address | IPv6Address | None = None
            daddr: IPv4Address | IPv6Address | None = None
            proto = sport = dport = None
            if len(net) >= 20 and net[0] >> 4 == 4:
                saddr, daddr, proto = IPv4Address(net[12:16]), IPv4Address(net[16:20]), net[9]
            elif len(net) >= 40 and net[0] >> 4 == 6:  # the next header right after (no extension headers)
                saddr, daddr, proto = IPv6Address(net[8:24]), IPv6Address(net[24:40]), net[6]
            l4 = a.get(TRACE_TRANSPORT_HEADER, b"")
            icmp_type = None
            echo = None
            if proto in (6, 17) and len(l4) >= 4:
                sport, dport = struct.unpack("!HH", l4[:4])
            elif proto in (1, 58) and l4:  # ICMP, ICMPv6
                icmp_type = l4[0]
                if icmp_type in ECHO_TYPES and len(l4) >= 8:
                    echo = struct.unpack("!HH", l4[4:8])
            events.append(
                Event(
                    netns,
                    struct.unpack("!I", a[TRACE_ID][:4])[0] if TRACE_ID in a else 0,
                    TRACETYPE.get(struct.unpack("!I", a[TRACE_TYPE][:4])[0], "?") if TRACE_TYPE in a else "?",
                    FAMILIES.get(family, str(family)),
                    a.get(TRACE_TABLE, b"").rstrip(b"\0").decode(),
                    a.get(TRACE_CHAIN, b"").rstrip(b"\0").decode(),
                    struct.unpack("!Q", a[TRACE_RULE_HANDLE][:8])[0] if TRACE_RULE_HANDLE in a else None,
                    verdict,
                    saddr,
                    daddr,
                    proto,
                    dport,
                    sport,
                    icmp_type,
                    echo,
                )
            )
        off += (length + 3) & ~3
    return events


def trace_socket(netns: str) -> socket.socket:
    with nsthread.entered(netns):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK, NETLINK_NETFILTER)
    try:
        sock.bind((0, 0))
        sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTRACE)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    except OSError:
        sock.close()
        raise
    return sock


def _table_rules(run: str, addresses: Sequence[IPv4Address | IPv6Address]) -> str:
    """The trace table: packets between two of `addresses` are traced, IPv4 and IPv6 ones (an `inet` table)."""
    lines = [f"table inet {table_name(run)} {{"]
    pre = []
    for family, kind, name in (("ip", "ipv4_addr", "a"), ("ip6", "ipv6_addr", "a6")):
        elements = ", ".join(sorted({str(a) for a in addresses if a.version == (4 if family == "ip" else 6)}))
        if not elements:
            continue
        lines.append(f"  set {name} {{ type {kind}; elements = {{ {elements} }}; }}")
        pre.append(f"{family} saddr @{name} {family} daddr @{name} meta nftrace set 1;")
    lines.append(f"  chain pre {{ type filter hook prerouting priority -350; {' '.join(pre)} }}")
    lines.append(f"  chain out {{ type filter hook output priority -350; {' '.join(pre)} }}")
    return "\n".join([*lines, "}", ""])


@contextlib.contextmanager
def tracing(
    dep: Deployment, namespaces: dict[str, str], addresses: Sequence[IPv4Address | IPv6Address]
) -> Iterator[list[str]]:
    """Trace tables in `namespaces` (path -> label) for the duration; yields the paths traced (a namespace
    whose kernel has no nf_tables, or without the `nft` tool, is left out)."""
    nft = shutil.which("nft")
    if nft is None or not addresses:
        yield []
        return
    name = table_name(dep.run)
    if any(label == ROOT_LABEL for label in namespaces.values()):
        # the machine's own namespace: a crash must leave `netlab clean` a record of the table
        dep.journal.record("nft-table", name, netns="root")
    rules = _table_rules(dep.run, addresses)
    paths = [p for p in namespaces if os.path.exists(p)]
    loaded = list(paths)  # until every `nft -f` has answered, any of them may hold the table
    try:
        try:
            done = nsthread.run_many([(p, [nft, "-f", "-"], rules) for p in paths], timeout=10)
        except (OSError, NetlabError):  # a namespace went away meanwhile: one at a time, skipping it
            done = []
            for p in paths:
                try:
                    done.append(nsthread.run_many([(p, [nft, "-f", "-"], rules)], timeout=10)[0])
                except (OSError, NetlabError):
                    done.append(subprocess.CompletedProcess([nft], 1, "", "namespace gone"))
        loaded = [p for p, d in zip(paths, done, strict=True) if d.returncode == 0]
        faults.point("why.traced")
        yield loaded
    finally:
        for p in loaded:  # one by one: a namespace that went away must not keep the others' tables
            with contextlib.suppress(OSError, NetlabError):
                nsthread.run_many([(p, [nft, "delete", "table", "inet", name], None)], timeout=10)


def remove_root_tables(rec: RunRecord) -> list[str]:
    """The run's trace tables its journal names in the machine's own namespace (`--why` on a local engine,
    where Docker's rules live) that are still there, removed; what was removed. `netlab clean` calls it for a
    dead run, the runner for its own before the journal is closed (a table tracing could not remove must
    not outlive the record of it). Tables in the run's own namespaces go with them."""
    removed = []
    for entry in rec.entries:
        if entry.kind != "nft-table" or entry.extra.get("netns") != "root":
            continue
        if ("inet", entry.name) in nft_tables(nsthread.HOME) and remove_table(nsthread.HOME, rec.run):
            removed.append(f"nft table inet {entry.name}")
    return removed


def remove_table(netns: str, run: str) -> bool:
    """`netlab clean`: the run's trace table in `netns`, if it is still there."""
    nft = shutil.which("nft")
    if nft is None:
        return False
    try:
        nsthread.run(netns, [nft, "delete", "table", "inet", table_name(run)], timeout=10)
    except subprocess.CalledProcessError:
        return False
    return True


def with_headers(events: list[Event]) -> list[Event]:
    """The kernel puts the packet's headers in the first event of a trace id in each chain walk only; the
    later events of the same id (same namespace) get them from there."""
    first: dict[tuple[str, int], Event] = {}
    out = []
    for e in events:
        key = (e.netns, e.trace_id)
        if e.saddr is not None:
            first[key] = e
            out.append(e)
        elif key in first:
            h = first[key]
            out.append(
                replace(
                    e,
                    saddr=h.saddr,
                    daddr=h.daddr,
                    proto=h.proto,
                    dport=h.dport,
                    sport=h.sport,
                    icmp_type=h.icmp_type,
                    icmp_echo=h.icmp_echo,
                )
            )
    return out


def nft_tables(netns: str) -> list[tuple[str, str]]:
    """(family, name) of every nf_tables table in the namespace, from one netlink dump (no process)."""
    with nsthread.entered(netns):
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        except OSError:
            return []
    out: list[tuple[str, str]] = []
    with sock:
        msg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE
        sock.send(struct.pack("=IHHIIBBH", 20, msg_type, 0x301, 1, 0, 0, 0, 0))  # REQUEST|DUMP, AF_UNSPEC
        while True:
            data = sock.recv(1 << 16)
            off = 0
            while off + 16 <= len(data):
                length, typ, _, _, _ = struct.unpack_from("=IHHII", data, off)
                if typ in (2, 3) or length < 16:  # NLMSG_ERROR (no nf_tables here) or NLMSG_DONE
                    return out
                family = data[off + 16]
                a = off + 20
                while a + 4 <= off + length:
                    alen, atype = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if atype & 0x3FFF == NFTA_TABLE_NAME:
                        name = data[a + 4 : a + alen].rstrip(b"\0").decode()
                        out.append((NFPROTO.get(family, str(family)), name))
                    a += (alen + 3) & ~3
                off += (length + 3) & ~3
            if not data:
                return out


@dataclass(slots=True)
class TraceCost:
    """What early decision's tracing cost a run (the runner reports it in its timings)."""

    setup_s: float = 0.0  # planting and removing the trace tables
    read_s: float = 0.0  # reading, parsing and matching the trace reports
    reports: int = 0  # trace reports read
    packets: int = 0  # distinct packets traced (their first reports)


class DropWatch:
    """The trace reports of the traced namespaces, read while the sweep probes (probes/sweep.py polls `fds`): each
    packet the run traced and a rule or chain policy dropped, with the headers of its first report in that
    namespace (a later report of the same packet carries none; after a DNAT they would be the translated ones).

    Losing reports costs time only: the kernel drops reports a full socket buffer has no room for (ENOBUFS), and a
    drop whose packet is not known stays unmatched, so its cell waits for its timeout as without tracing."""

    def __init__(self, sockets: dict[str, socket.socket], own_table: str, cost: TraceCost | None = None) -> None:
        self.sockets = sockets
        self.cost = cost if cost is not None else TraceCost()
        self.own_table = own_table
        self._by_fd = {s.fileno(): (path, s) for path, s in sockets.items()}
        self._first: dict[tuple[str, int], Event] = {}
        self.lost = False  # the kernel dropped reports (ENOBUFS)
        #: shot index -> (the drop, "request" or "reply"): what decided each cell the sweep closed early
        self.decided: dict[int, tuple[Event, str]] = {}

    def fds(self) -> list[int]:
        return list(self._by_fd)

    def reads(self, fd: int) -> bool:
        return fd in self._by_fd

    def drops(self, fd: int) -> list[Event]:
        """Read every report waiting on `fd`; the drops among them, with their packet's headers."""
        started = time.perf_counter()
        path, sock = self._by_fd[fd]
        out: list[Event] = []
        while True:
            try:
                data = sock.recv(1 << 16)
            except BlockingIOError:
                break
            except OSError as err:
                self.lost = True  # ENOBUFS: reports dropped for want of room; anything else: stop reading this one
                if err.errno == errno.ENOBUFS:
                    continue
                break
            for e in parse(path, data):
                self.cost.reports += 1
                key = (e.netns, e.trace_id)
                first: Event | None = self._first.get(key)
                # every traced packet starts its walk through a namespace in netlab's own chain: its report there
                # carries the packet as sent (before any DNAT) and starts the packet anew, should a trace id recur
                starts = e.table == self.own_table and e.saddr is not None
                if starts or (first is None and e.saddr is not None):
                    if len(self._first) >= FIRST_REPORTS_KEPT:  # a long sweep: the oldest packets are done
                        self._first.clear()
                    first = self._first[key] = e
                    self.cost.packets += 1
                if first is None or e.verdict != NF_DROP or e.kind not in ("rule", "policy"):
                    continue
                if e.table == self.own_table:
                    continue
                out.append(
                    replace(
                        e,
                        saddr=first.saddr,
                        daddr=first.daddr,
                        proto=first.proto,
                        dport=first.dport,
                        sport=first.sport,
                        icmp_type=first.icmp_type,
                        icmp_echo=first.icmp_echo,
                    )
                )
        self.cost.read_s += time.perf_counter() - started
        return out

    def close(self) -> None:
        for sock in self.sockets.values():
            sock.close()


#: how many packets' first reports DropWatch keeps (their headers) before it forgets the oldest
FIRST_REPORTS_KEPT = 100_000


def namespace_labels(dep: Deployment, root: str | None) -> dict[str, str]:
    """Every namespace the run's packets may pass, with a name for people."""
    out: dict[str, str] = {}
    for ep in sorted(dep.endpoints.values(), key=lambda e: e.kind != EndpointKind.HOST):
        if ep.netns and ep.netns not in out:
            out[ep.netns] = ROOT_LABEL if ep.netns == root else f"{ep.name}'s namespace"
    for cp in dep.capture_points:
        if cp.netns not in out:
            out[cp.netns] = f"lan {cp.name}" if cp.role == "lan" else f"{cp.node or cp.name}'s namespace"
    return out


class RuleText:
    """Rule handles to text, read once per chain: nft's listing (`# handle N`) and, for iptables-nft's
    tables, the same rule as iptables-save prints it (the n-th rule of the chain in both)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, str, str], tuple[dict[int, str], dict[int, str]]] = {}

    def get(self, e: Event) -> tuple[str, str]:
        key = (e.netns, e.family, e.table, e.chain)
        if key not in self._cache:
            self._cache[key] = self._read(*key)
        nft, ipt = self._cache[key]
        return nft.get(e.handle or -1, ""), ipt.get(e.handle or -1, "")

    @staticmethod
    def _read(netns: str, family: str, table: str, chain: str) -> tuple[dict[int, str], dict[int, str]]:
        nft: dict[int, str] = {}
        order: list[int] = []
        with contextlib.suppress(subprocess.CalledProcessError, OSError):
            text = nsthread.run(netns, ["nft", "-a", "list", "chain", family, table, chain], timeout=10)
            for line in text.splitlines():
                body, sep, handle = line.strip().rpartition("# handle ")
                if sep and handle.isdigit() and not body.startswith(("chain", "type", "table")):
                    nft[int(handle)] = re.sub(r"counter packets \d+ bytes \d+", "counter", body.strip())
                    order.append(int(handle))
        ipt: dict[int, str] = {}
        tool = shutil.which({"ip": "iptables-nft", "ip6": "ip6tables-nft"}.get(family, ""))
        if tool and order:
            with contextlib.suppress(subprocess.CalledProcessError, OSError):
                lines = nsthread.run(netns, [tool, "-w", "-t", table, "-S", chain], timeout=10).splitlines()
                rules = [x for x in lines if x.startswith("-A ")]
                if len(rules) == len(order):
                    ipt = dict(zip(order, rules, strict=True))
        return nft, ipt


#: what a FORWARD policy verdict means on a Docker host (docs/drivers.md, Bridge: FORWARD policy)
FORWARD_ACCEPT = (
    "no rule of Docker's chains matched it. Docker (20.10 to 27) sets the policy to DROP only when it turns IP "
    "forwarding on itself and left it alone here because forwarding was already on when it started; Docker 28 "
    "and later drop this in their DOCKER chain (`-A DOCKER ! -i <bridge> -o <bridge> -j DROP`) whatever the policy"
)
FORWARD_DROP = (
    "no rule of Docker's chains accepted it: only published ports and traffic leaving a bridge pass; Docker sets "
    "this policy when it turns IP forwarding on itself"
)


def is_forward(e: Event) -> bool:
    return e.family in ("ip", "ip6") and e.table == "filter" and e.chain == "FORWARD"


def drop_reason(mine: list[tuple[Event, str | None]], labels: dict[str, str], rules: RuleText) -> str | None:
    for e, direction in mine:
        if e.verdict != NF_DROP or e.kind not in ("rule", "policy"):
            continue
        where = labels.get(e.netns, e.netns)
        what = "the request" if direction == "request" else "the reply"
        if e.kind == "policy":
            because = FORWARD_DROP if is_forward(e) else "no rule of the chain accepted it"
            policy = f"the policy of {e.family} {e.table} {e.chain}"
            return f"{what} was dropped in {where} by {policy} (policy drop: {because})"
        nft, ipt = rules.get(e)
        text = f"`{ipt}`" if ipt else f"`{nft}`" if nft else f"rule handle {e.handle}"
        also = f" (nft: {nft})" if ipt and nft else ""
        return f"{what} was dropped in {where} by {e.family} {e.table} {e.chain} rule {text}{also}"
    return None

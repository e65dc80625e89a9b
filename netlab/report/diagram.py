"""The topology as a picture: Graphviz (Debian's `graphviz`) lays it out, netlab only describes it.

Nodes (Docker hosts) are boxes holding their networks and containers; lans are switches with their peers
and the nodes' uplinks; macvlan/ipvlan networks hang off their parent lan, overlay networks span the nodes.
With observations, reachability is drawn over it: a green arrow for a pair that reached, a dashed red one
ending in a bar for a pair that did not (both directions alike: one double-headed arrow), for the icmp
pairs the stage's expectations name (every pair of a small scenario without any).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from netlab.errors import EnvironmentProblem
from netlab.model.results import Observation, Outcome
from netlab.model.topology import Driver, Topology

COLORS = {
    Driver.BRIDGE: "#1f5fbf",
    Driver.HOST: "#555555",
    Driver.NONE: "#555555",
    Driver.MACVLAN: "#8a3ffc",
    Driver.IPVLAN: "#b8008a",
    Driver.OVERLAY: "#00796b",
}
REACH, BLOCK = "#1a7f37", "#cf222e"
NL = "\\n"  # a line break inside a Graphviz label
#: beyond this many endpoints the arrows would hide the picture: only the pairs a scenario expects something of
MAX_ALL_PAIRS = 8


def _q(s: object) -> str:
    """A DOT string (labels may hold NL, Graphviz's own line-break escape)."""
    return '"' + str(s).replace('"', '\\"') + '"'


def dot_source(
    t: Topology, observations: Sequence[Observation] = (), stage: str | None = None, title: str | None = None
) -> str:
    lines = [
        "digraph netlab {",
        f"  graph [rankdir=TB, fontname=Helvetica, fontsize=20, labelloc=t, label={_q(title or t.title or t.name)},"
        ' compound=true, newrank=true, bgcolor="white"];',
        '  node [fontname=Helvetica, fontsize=16, style="filled", fillcolor="white"];',
        "  edge [fontname=Helvetica, fontsize=12];",
    ]
    for lan in t.lans:
        lines.append(
            f'  {_q("lan:" + lan.name)} [shape=box, style="filled,bold", fillcolor="#eeeeee", '
            "label=" + _q(lan.name + NL + str(lan.subnet) + NL + "(physical segment)") + "];"
        )
    for p in t.peers:
        label = NL.join([p.name, *(str(a) for _, a in p.addresses)] + (["(router)"] if p.router else []))
        lines.append(f'  {_q(p.name)} [shape=box3d, fillcolor="#fff8c5", label=' + _q(label) + "];")
        for on, _ in p.addresses:
            lines.append(f"  {_q('lan:' + on)} -> {_q(p.name)} [dir=none, penwidth=2];")
    overlays_done: set[str] = set()
    names = [st.name for st in t.stages]
    at_stage = t.containers_at(names.index(stage)) if stage in names else t.containers  # connect/disconnect
    for node in t.nodes:
        lines.append(f"  subgraph {_q('cluster_' + node.name)} {{")
        lines.append(f'    label={_q(f"node {node.name} (Docker host)")}; style="rounded,bold"; color="#333333";')
        lines.append(f'    {_q(node.name)} [shape=house, fillcolor="#ddf4ff", label={_q(node.name)}];')
        containers = [c for c in at_stage if c.node == node.name]
        for net in t.networks_on(node.name):
            members = [c for c in containers if any(a.network == net.name for a in c.attachments)]
            if (net.predefined and not members) or net.driver in (Driver.HOST, Driver.NONE):
                continue
            if net.driver == Driver.OVERLAY:
                continue  # drawn outside the nodes: it spans them
            nid = f"net:{node.name}:{net.name}"
            label = f"{net.name} [{net.driver}]" + NL + ", ".join(map(str, net.subnets))
            if net.bridge_name:
                label += NL + net.bridge_name
            lines.append(
                f'    {_q(nid)} [shape=box, style="filled,rounded", fillcolor={_q(COLORS[net.driver])}, '
                f'fontcolor="white", label={_q(label)}];'
            )
            if net.driver == Driver.BRIDGE:
                lines.append(f"    {_q(node.name)} -> {_q(nid)} [dir=none, style=dotted];")
        for c in containers:
            label = NL.join([c.name, *(str(a.address) for a in c.attachments if a.address)])
            lines.append(f'    {_q(c.name)} [shape=ellipse, fillcolor="#ffffff", label={_q(label)}];')
        lines.append("  }")
        for u in t.uplinks_of(node.name):
            lines.append(
                f"  {_q('lan:' + u.lan)} -> {_q(node.name)} [dir=none, penwidth=2, "
                f"label={_q(f'{u.ifname} {u.address}')}];"
            )
        for c in containers:
            if c.joins:
                lines.append(f'  {_q(c.joins)} -> {_q(c.name)} [dir=none, style=dashed, label="shared namespace"];')
            for a in c.attachments:
                net = t.network(a.network)
                if net.driver in (Driver.HOST, Driver.NONE):
                    if net.driver == Driver.HOST:
                        lines.append(
                            f'  {_q(node.name)} -> {_q(c.name)} [dir=none, style=dashed, label="host network"];'
                        )
                    continue
                if net.driver == Driver.OVERLAY:
                    if net.name not in overlays_done:
                        overlays_done.add(net.name)
                        lines.append(
                            f'  {_q("net:overlay:" + net.name)} [shape=box, style="filled,rounded", '
                            f'fillcolor={_q(COLORS[net.driver])}, fontcolor="white", '
                            "label="
                            + _q(f"{net.name} [overlay]" + NL + str(net.subnet) + NL + "VXLAN across nodes")
                            + "];"
                        )
                    lines.append(
                        f"  {_q(c.name)} -> {_q('net:overlay:' + net.name)} [dir=none, color={_q(COLORS[net.driver])}];"
                    )
                    continue
                nid = f"net:{node.name}:{net.name}"
                lines.append(f"  {_q(nid)} -> {_q(c.name)} [dir=none, color={_q(COLORS[net.driver])}, penwidth=2];")
        for net in t.networks_on(node.name):
            if net.driver in (Driver.MACVLAN, Driver.IPVLAN) and net.parent:
                lines.append(
                    f"  {_q('lan:' + net.parent)} -> {_q(f'net:{node.name}:{net.name}')} "
                    f'[dir=none, style=bold, color={_q(COLORS[net.driver])}, label="parent"];'
                )
    lines += _reach_edges(t, observations, stage)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _reach_edges(t: Topology, observations: Sequence[Observation], stage: str | None) -> list[str]:
    if not observations:
        return []
    stage = stage or t.stages[0].name
    icmp = {(o.src, o.dst): o.outcome for o in observations if o.stage == stage and str(o.probe) == "icmp"}
    # the pairs the scenario's story is about (its icmp expectations); all pairs only for small ones without any
    wanted = {(e.src, e.dst) for s in t.stages if s.name == stage for e in s.expectations if str(e.probe) == "icmp"}
    if wanted or len(t.endpoint_names()) > MAX_ALL_PAIRS:
        icmp = {k: v for k, v in icmp.items() if k in wanted}
    out: list[str] = []
    done: set[tuple[str, str]] = set()
    for (src, dst), outcome in sorted(icmp.items()):
        if (src, dst) in done or outcome is Outcome.ERROR:
            continue
        back = icmp.get((dst, src))
        both = back == outcome
        done |= {(src, dst), (dst, src)} if both else {(src, dst)}
        ok = outcome is Outcome.REACHABLE
        style = (
            f"color={_q(REACH)}, penwidth=2" if ok else f"color={_q(BLOCK)}, style=dashed, arrowhead=tee, arrowtail=tee"
        )
        out.append(f"  {_q(src)} -> {_q(dst)} [{style}, constraint=false{', dir=both' if both else ''}];")
    return out


def svg(dot: str) -> str:
    """Graphviz's SVG of a DOT source."""
    exe = shutil.which("dot")
    if exe is None:
        raise EnvironmentProblem("drawing the topology needs Graphviz: apt-get install graphviz")
    try:
        proc = subprocess.run([exe, "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60, check=True)
    except subprocess.CalledProcessError as e:
        raise EnvironmentProblem(f"graphviz could not draw the topology: {e.stderr.strip()[:300]}") from e
    text = proc.stdout
    return text[text.index("<svg") :] if "<svg" in text else text  # no XML prolog: it goes inside HTML too

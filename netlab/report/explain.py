"""`netlab explain`: a scenario told without deploying it (claims, diagram, steps, predicted matrices)."""

from __future__ import annotations

import json

from netlab import i18n, narrate
from netlab.i18n import _
from netlab.model import conditions, dockerrules
from netlab.model.claims import BY_ID
from netlab.model.topology import Topology
from netlab.report.console import table


def steps_lines(steps: list[narrate.Step], commands: bool = True, indent: str = "  ") -> list[str]:
    out: list[str] = []
    for i, step in enumerate(steps, 1):
        out.append(f"{indent}{i}. {step.what}")
        if commands:
            out += [f"{indent}   $ {cmd}" for cmd in step.docker]
            out += [f"{indent}   # {cmd}" for cmd in step.kernel]
    return out


def predicted(t: Topology, stage_index: int) -> list[str]:
    """The stage's expectations as the expected grid (icmp) and one row per other probe."""
    stage = t.stages[stage_index]
    names = list(t.endpoint_names())
    plain = [e for e in stage.expectations if not e.when]
    depends: dict[tuple[str, str, str], list[str]] = {}
    for e in stage.expectations:
        if e.when:
            depends.setdefault((e.src, e.dst, str(e.probe)), []).append(
                _("{mark} if {condition}").format(mark="." if e.reachable else "X", condition=conditions.text(e.when))
            )
    grid = {(e.src, e.dst): "." if e.reachable else "X" for e in plain if str(e.probe) == "icmp"}
    grid.update({(src, dst): "?" for src, dst, probe in depends if probe == "icmp"})
    out = ["  " + line for line in table(_("expected"), names, grid)] if grid else []
    others = [e for e in plain if str(e.probe) != "icmp"]
    if others:
        width = max(len(str(e.probe)) for e in others)
        out += [""] if out else []
        out += [f"  {str(e.probe).ljust(width)}  {e.src} -> {e.dst}: {'.' if e.reachable else 'X'}" for e in others]
    if depends:
        out += ["", "  " + _("? depends on the host and the Docker version:")]
        out += [f"    {probe} {src} -> {dst}: {'; '.join(v)}" for (src, dst, probe), v in depends.items()]
    return out or ["  " + _("(no expectations in this stage)")]


def probe_meaning(probe: str) -> str:
    """What a probe is, in one line (explain says it the first time the probe appears)."""
    kind, _sep, arg = probe.partition(":")
    meaning = {
        "icmp": _("a ping (ICMP echo request, and its reply)"),
        "icmp6": _("a ping over IPv6 (ICMPv6 echo request, and its reply)"),
        "tcp": _("a TCP handshake to port {port}, answered by netlab's own listener there"),
        "tcp6": _("a TCP handshake over IPv6 to port {port}, answered by netlab's own listener there"),
        "udp": _(
            "a UDP datagram to port {port}, echoed back by netlab's own responder (on port 53 too: it is not DNS)"
        ),
        "udp6": _(
            "a UDP datagram over IPv6 to port {port}, echoed back by netlab's own responder (on port 53 too: it is "
            "not DNS)"
        ),
        "dns": _("a DNS question for {name}'s A record to the resolver the source really uses"),
        "dns6": _("a DNS question for {name}'s AAAA record to the resolver the source really uses"),
    }.get(kind)
    return f"{probe}: " + meaning.format(port=arg, name=arg) if meaning else probe


#: where the cni backend keeps a run's leases (netlab/backends/cni/backend.py), as explain shows it
CNI_DATA = "/run/netlab/<run>.cni/networks"


def cni_lines(t: Topology, commands: bool = True) -> list[str]:
    """What `--backend cni` runs for the scenario: each network's plugin chain (with --commands the .conflist the
    run writes, one plugin a line) and each container's ADD, or why a network cannot run there."""
    from netlab.backends.cni import conflist

    lines = ["", _("on the cni backend: each network's CNI plugin chain (the .conflist in the run's directory)")]
    attached: dict[str, list[tuple[str, str]]] = {}  # network -> (container, what its ADD asks for)
    for i in range(len(t.stages)):
        for c in t.containers_at(i):
            gateway = dockerrules.gateway_attachment(t, c)
            for a in c.attachments:
                net = t.network(a.network)
                if net.driver.value in ("host", "none") or any(
                    who == c.name for who, _asks in attached.get(net.name, [])
                ):
                    continue
                home, six = net.subnet_for(a.address) if a.address else None, net.v6_for(a)
                ips = [f"{a.address}/{home.prefixlen}"] if a.address and home else []
                if six is not None and net.subnet6 is not None:
                    ips.append(f"{six}/{net.subnet6.prefixlen}")
                asks = ["ips " + " ".join(ips) if ips else ""]
                if gateway is not None and gateway.network == net.name:  # Docker's gateway endpoint: one per container
                    routes = "0.0.0.0/0" + (" ::/0" if net.subnet6 is not None else "")
                    asks.append(f"default route (ipam.routes {routes})")
                if net.driver.value == "bridge" and c.publish and a is c.attachments[0]:
                    asks.append(
                        "portMappings " + ", ".join(f"{p.host_port}->{p.container_port}/{p.proto}" for p in c.publish)
                    )
                attached.setdefault(net.name, []).append((c.name, ", ".join(x for x in asks if x)))
    if not attached:
        return [*lines, "  " + _("(no container is on a network CNI plugins make: host and none need none)")]
    for name, adds in attached.items():
        net = t.network(name)
        why = conflist.expressible(net)
        if why:
            lines.append("  " + _("network {name}: not on the cni backend: {why}").format(name=name, why=why))
            continue
        node = next(c.node for c in t.containers if c.name == adds[0][0])
        conf = conflist.build(net, t.parent_device(node, name), CNI_DATA, default_route=False)
        chain = " + ".join(p["type"] for p in conf["plugins"])
        lines.append(
            "  "
            + _("network {name}: {chain}, IPAM {ipam}").format(
                name=name, chain=chain, ipam=conf["plugins"][0]["ipam"]["type"]
            )
        )
        if commands:
            lines += [f"    {json.dumps(plugin)}" for plugin in conf["plugins"]]
        lines += [f"    CNI_COMMAND=ADD {c} ({asks})" if asks else f"    CNI_COMMAND=ADD {c}" for c, asks in adds]
    return lines


def render(t: Topology, commands: bool = True, backend: str = "docker") -> str:
    lines = [f"netlab explain {t.name}: {_(t.title)}"]
    if t.doc:
        lines += ["", *t.doc.strip().splitlines()]
    if t.claims:
        lines += ["", _("the lecture's card, as this scenario checks it")]
        for claim_id, holds in t.claims:
            c = BY_ID[claim_id]
            lines.append(f"  {c.driver}: {c.wording}" + ("" if holds else "   <- " + _("shown wrong or outdated")))
            if c.english and i18n.language() == "en":
                lines.append(f"      (in English: {c.english})")
            if c.note:
                lines.append(f"      ({_(c.note)})")
    lines += ["", _("topology"), *("  " + x for x in narrate.diagram(t))]
    built = _("what gets built ($ Docker CLI, # what that does in the kernel)") if commands else _("what gets built")
    lines += ["", built]
    lines.append(
        "  "
        + _(
            "(predicted: the subnets, addresses, VNIs and MACs of a run alone on its machine; a run beside other "
            "netlab runs leases subnets further up the pool, and --step shows the ones it uses)"
        )
    )
    lines += steps_lines(narrate.deploy_steps(t), commands)
    if backend == "cni":
        lines += cni_lines(t, commands)
    told: set[str] = set()  # each probe kind is explained the first time it appears
    for i, stage in enumerate(t.stages):
        head = _("stage {name}: {doc}") if stage.doc else _("stage {name}")
        lines += ["", head.format(name=stage.name, doc=_(stage.doc))]
        if i:
            lines += steps_lines(narrate.stage_steps(t, stage), commands)
        lines += ["  " + _("predicted (. reachable, X unreachable, - not checked)"), *predicted(t, i)]
        fresh = [p for p in dict.fromkeys(str(e.probe) for e in stage.expectations) if p not in told]
        if fresh:
            lines += ["  " + _("probes:"), *(f"    {probe_meaning(p)}" for p in fresh)]
            told.update(fresh)
    return "\n".join(line.rstrip() for line in lines) + "\n"

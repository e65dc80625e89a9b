"""`netlab explain`: a scenario told without deploying it (claims, diagram, steps, predicted matrices)."""

from __future__ import annotations

from netlab import i18n, narrate
from netlab.i18n import _
from netlab.model import conditions
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


def render(t: Topology, commands: bool = True) -> str:
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

"""`netlab explain`: a scenario told without deploying it (claims, diagram, steps, predicted matrices)."""

from __future__ import annotations

from netlab import narrate
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
                f"{'.' if e.reachable else 'X'} if {conditions.text(e.when)}"
            )
    grid = {(e.src, e.dst): "." if e.reachable else "X" for e in plain if str(e.probe) == "icmp"}
    grid.update({(src, dst): "?" for src, dst, probe in depends if probe == "icmp"})
    out = ["  " + line for line in table("expected", names, grid)] if grid else []
    others = [e for e in plain if str(e.probe) != "icmp"]
    if others:
        width = max(len(str(e.probe)) for e in others)
        out += [""] if out else []
        out += [f"  {str(e.probe).ljust(width)}  {e.src} -> {e.dst}: {'.' if e.reachable else 'X'}" for e in others]
    if depends:
        out += ["", "  ? depends on the host and the Docker version:"]
        out += [f"    {probe} {src} -> {dst}: {', '.join(v)}" for (src, dst, probe), v in depends.items()]
    return out or ["  (no expectations in this stage)"]


def probe_meaning(probe: str) -> str:
    """What a probe is, in one line (explain says it the first time the probe appears)."""
    kind, _, arg = probe.partition(":")
    six = kind.endswith("6")
    family = " over IPv6" if six else ""
    base = kind.removesuffix("6")
    if base == "icmp":
        return f"{probe}: a ping{family} (ICMP echo request, and its reply)"
    if base == "tcp":
        return f"{probe}: a TCP handshake{family} to port {arg}, answered by netlab's own listener there"
    if base == "udp":
        return (
            f"{probe}: a UDP datagram{family} to port {arg}, echoed back by netlab's own responder (on port 53 too: "
            "it is not DNS)"
        )
    if base == "dns":
        record = "AAAA" if six else "A"
        return f"{probe}: a DNS question for {arg}'s {record} record to the resolver the source really uses"
    return probe


def render(t: Topology, commands: bool = True) -> str:
    lines = [f"netlab explain {t.name}: {t.title}"]
    if t.doc:
        lines += ["", *t.doc.strip().splitlines()]
    if t.claims:
        lines += ["", "the lecture's card, as this scenario checks it"]
        for claim_id, holds in t.claims:
            c = BY_ID[claim_id]
            lines.append(f"  {c.driver}: {c.wording}" + ("" if holds else "   <- shown wrong or outdated"))
            if c.english:
                lines.append(f"      (in English: {c.english})")
            if c.note:
                lines.append(f"      ({c.note})")
    lines += ["", "topology", *("  " + x for x in narrate.diagram(t))]
    lines += ["", "what gets built" + (" ($ Docker CLI, # what that does in the kernel)" if commands else "")]
    lines += steps_lines(narrate.deploy_steps(t), commands)
    told: set[str] = set()  # each probe kind is explained the first time it appears
    for i, stage in enumerate(t.stages):
        lines += ["", f"stage {stage.name}" + (f": {stage.doc}" if stage.doc else "")]
        if i:
            lines += steps_lines(narrate.stage_steps(t, stage), commands)
        lines += ["  predicted (. reachable, X unreachable, - not checked)", *predicted(t, i)]
        fresh = [p for p in dict.fromkeys(str(e.probe) for e in stage.expectations) if p not in told]
        if fresh:
            lines += ["  probes:", *(f"    {probe_meaning(p)}" for p in fresh)]
            told.update(fresh)
    return "\n".join(line.rstrip() for line in lines) + "\n"

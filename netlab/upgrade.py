"""`netlab compare-engines`: what a Docker upgrade changes for a scenario.

The scenario runs on the netns backend once per engine profile (netlab/backends/engines), on the same
emulated host (one FORWARD policy for all; 29-nftables sets none), each run with `--why`. A scenario that needs a
link kind this kernel lacks (ipvlan, 802.1Q) runs in user-mode Linux where it is installed, under the profiles
the guest can emulate (Docker's iptables ones: not 29-nftables, listed as not run with the reason). The report
lists the cells whose outcome differs between profiles, with the rule or kernel decision that ended the probe
where it was blocked, and how many rules each profile's networks added per table (first stage).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from netlab.backends import engines
from netlab.errors import KernelFeatureMissing
from netlab.model.results import Outcome
from netlab.options import UML_ENGINES, UML_NO_NFTABLES, RunOptions
from netlab.result import Result
from netlab.runner import run

MARK = {Outcome.REACHABLE: ".", Outcome.UNREACHABLE: "X"}


@dataclass(frozen=True, slots=True)
class Difference:
    stage: str
    src: str
    dst: str
    probe: str
    marks: dict[str, str]  # engine -> . X or ! (error)
    why: dict[str, str]  # engine -> what ended the probe, where it was blocked


@dataclass(slots=True)
class Comparison:
    scenario: str
    engines: list[str]
    forward_policy: str
    userland_proxy: str = "on"
    results: dict[str, Result] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    rule_counts: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> engine -> rules added
    kernel: str = "host"  # host, or uml: the scenario needs a link kind this kernel lacks
    not_run: dict[str, str] = field(default_factory=dict)  # engine -> why it could not run here

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "engines": self.engines,
            "forward_policy": self.forward_policy,
            "userland_proxy": self.userland_proxy,
            "ok": {e: r.ok for e, r in self.results.items()},
            "differences": [
                {"stage": d.stage, "src": d.src, "dst": d.dst, "probe": d.probe, "observed": d.marks, "why": d.why}
                for d in self.differences
            ],
            "rules_added": self.rule_counts,
            "kernel": self.kernel,
            "not_run": self.not_run,
        }


def compare(
    scenario: str,
    names: Sequence[str],
    forward_policy: str = "drop",
    timeout: float = 0.5,
    userland_proxy: str = "on",
) -> Comparison:
    for name in names:
        engines.get(name)  # an unknown profile is refused before anything runs
    out = Comparison(scenario, list(names), forward_policy.upper(), userland_proxy, kernel=_kernel(scenario))
    for name in names:
        if out.kernel == "uml" and name not in UML_ENGINES:
            out.not_run[name] = f"user-mode Linux emulates Docker's iptables profiles only ({UML_NO_NFTABLES})"
            continue
        policy = forward_policy if engines.get(name).sets_forward_policy else None
        options = RunOptions(
            backend="netns",
            engine=name,
            forward_policy=policy,
            userland_proxy=userland_proxy,
            why=True,
            timeout=timeout,
            kernel=out.kernel,
        )
        out.results[name] = run(scenario, options)
    out.engines = [n for n in names if n in out.results]
    out.differences = differences(out.results)
    out.rule_counts = rule_counts(out.results)
    return out


def _kernel(scenario: str) -> str:
    """uml where the scenario needs a link kind this kernel lacks (ipvlan, 802.1Q); host otherwise. Where user-mode
    Linux is not installed, KernelFeatureMissing says what to install (compare-engines has no --kernel to name)."""
    from netlab import loader
    from netlab.kernel import features, uml

    needed = frozenset(features.link_kinds_needed(loader.load(scenario)))
    missing = sorted(k for k, why in features.link_kinds(needed).items() if why)
    if not missing:
        return "host"
    absent = uml.available()
    if absent:
        raise KernelFeatureMissing(
            f"{scenario} needs {', '.join(missing)}, which this kernel lacks; compare-engines runs it in user-mode "
            f"Linux, and {absent}"
        )
    return "uml"


def differences(results: dict[str, Result]) -> list[Difference]:
    cells: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for name, r in results.items():
        for o in r.observations:
            key = (o.stage, o.src, o.dst, str(o.probe))
            cells.setdefault(key, {})[name] = o
    out = []
    for (stage, src, dst, probe), by_engine in cells.items():
        marks = {e: MARK.get(o.outcome, "!") for e, o in by_engine.items()}
        if len(set(marks.values())) > 1:
            why = {e: o.why or o.detail for e, o in by_engine.items() if marks[e] != "."}
            out.append(Difference(stage, src, dst, probe, marks, why))
    return out


def rule_counts(results: dict[str, Result]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for name, r in results.items():
        first = r.topology.stages[0].name
        for node in r.evidence.get("firewall", {}).get(first, {}).values():
            for table, changes in node.get("changes", {}).items():
                added = sum(len(rules) for rules in changes.get("added", {}).values())
                row = out.setdefault(table, {})
                row[name] = row.get(name, 0) + added
    return out


def render(c: Comparison) -> str:
    names = c.engines
    width = max((len(n) for n in [*names, *c.not_run]), default=0) + 1
    where = " in user-mode Linux" if c.kernel == "uml" else ""
    lines = [
        f"netlab compare-engines {c.scenario}: {', '.join(names) or 'no profile'} on the netns backend{where}, on a "
        f"host whose FORWARD policy is {c.forward_policy} where the engine sets one, userland proxy {c.userland_proxy}",
        "",
    ]
    lines += [f"  {name:<{width}} not run: {why}" for name, why in c.not_run.items()]
    for name, r in c.results.items():
        verdict = "as expected" if r.ok else "NOT as its expectations say"
        lines.append(f"  {name:<{width}} {r.environment.get('engine', '')}: {verdict}")
    lines.append("")
    if len(c.results) < 2:
        lines.append(f"nothing to compare: {'only ' + names[0] if names else 'no profile'} ran here")
        return "\n".join(lines) + "\n"
    if not c.differences:
        lines.append("every cell is the same under every profile")
    else:
        lines.append("cells that differ (. reachable, X unreachable, ! error)")
        head = f"  {'stage':<10} {'probe':<10} {'pair':<22} " + " ".join(f"{n:>{width}}" for n in names)
        lines.append(head)
        for d in c.differences:
            pair = f"{d.src} -> {d.dst}"
            marks = " ".join(f"{d.marks.get(n, '-'):>{width}}" for n in names)
            lines.append(f"  {d.stage:<10} {d.probe:<10} {pair:<22} {marks}")
            for n, why in d.why.items():
                if why:
                    lines.append(f"      {n}: {why}")
    lines += ["", "rules the scenario's networks added (first stage), per table"]
    lines.append(f"  {'table':<24} " + " ".join(f"{n:>{width}}" for n in names))
    for table, counts in sorted(c.rule_counts.items()):
        lines.append(f"  {table:<24} " + " ".join(f"{counts.get(n, 0):>{width}}" for n in names))
    return "\n".join(lines) + "\n"

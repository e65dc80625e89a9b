"""`netlab compare`: the lecture's comparison of Docker's network drivers, measured.

Each driver's bundled scenario is run; its result (observations of the first stage, before any stage
repaired something, and the evidence) answers the same questions for every driver. A cell is ✓ or ✗
with a short reference to what showed it, or `–` when the scenario cannot tell (no second node, no
second network of the driver).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from netlab.errors import KernelFeatureMissing, NetlabError
from netlab.evidence.claims import PROPERTIES, Cell
from netlab.model import conditions
from netlab.result import Result
from netlab.runner import run_scenario

#: driver -> the bundled scenario that shows it (ipvlan: L3 mode, as on the lecture's card)
SCENARIOS = {"bridge": "bridge", "host": "host", "macvlan": "macvlan", "ipvlan": "ipvlan", "overlay": "overlay"}
#: the properties IPv6 answers (the bridge's from scenario bridge_ipv6)
IPV6_ROWS = ("ipv6-same-network", "ipv6-cross-network", "ipv6-container-to-lan", "nat66")
#: (property, driver) -> the bundled scenario that shows what the driver's own scenario cannot (a trunk, IPv6)
MORE = {
    ("vlan-trunk", "macvlan"): "macvlan_vlan",
    ("vlan-routed", "macvlan"): "macvlan_vlan",
    **{(p, "bridge"): "bridge_ipv6" for p in IPV6_ROWS},
}


def table(results: dict[str, Result | str], more: dict[str, Result | str] | None = None) -> dict[str, dict[str, Cell]]:
    """property id -> driver -> cell; a driver whose scenario could not run has the reason in every cell. `more`:
    the results of the MORE scenarios (run_more), by scenario name."""
    out: dict[str, dict[str, Cell]] = {}
    for prop in PROPERTIES:
        row: dict[str, Cell] = {}
        for driver, found in results.items():
            other = MORE.get((prop.id, driver))
            if other is not None and more and other in more:
                found = more[other]
            row[driver] = Cell(None, found) if isinstance(found, str) else prop.measure(found, driver)
        out[prop.id] = row
    return out


def measured(cells: dict[str, dict[str, Cell]], driver: str) -> dict[str, bool | None]:
    return {prop: row[driver].value for prop, row in cells.items() if driver in row}


def render(
    cells: dict[str, dict[str, Cell]],
    results: dict[str, Result | str],
    backend: str,
    more: dict[str, Result | str] | None = None,
) -> str:
    """The comparison table, the lecture's claims with their verdicts, and every cell's evidence (markdown)."""
    from netlab.model.claims import CLAIMS, verdict

    drivers = list(results)
    ran = {d: r for d, r in results.items() if not isinstance(r, str)}
    how = ", ".join(
        f"{d}: scenario `{SCENARIOS[d]}`"
        + (" in user-mode Linux" if r.environment.get("kernel_runner") == "uml" else "")
        for d, r in ran.items()
    )
    for name, r in (more or {}).items():
        rows = sorted(f"{p} ({d})" for (p, d), n in MORE.items() if n == name and d in results)
        uml = not isinstance(r, str) and r.environment.get("kernel_runner") == "uml"
        how += f"; {', '.join(rows)}: scenario `{name}`" + (" in user-mode Linux" if uml else "")
        if name == "bridge_ipv6" and not isinstance(r, str):  # its rows are the engine's (20.10 writes no IPv6 rule)
            how += f" on Docker {r.environment.get('engine_version', '?')}'s rules"
    lines = [
        f"Measured with `netlab compare` on the {backend} backend ({how}). Cells: ✓ measured true, ✗ measured "
        "false, – the scenario cannot tell; properties come from each scenario's first stage (before any stage "
        "repairs something) and its evidence, vlan-routed from the stage where a router starts forwarding; the "
        "IPv6 rows on the engine the run emulates or talks to (Docker 20.10 differs: docs/engines.md).",
        "",
        "| property | " + " | ".join(drivers) + " |",
        "|---|" + "---|" * len(drivers),
    ]
    for prop in PROPERTIES:
        row = cells[prop.id]
        lines.append(f"| {prop.question} | " + " | ".join(row[d].mark for d in drivers) + " |")
    lines += [
        "",
        "### The lecture's cards",
        "",
        "| driver | the lecture says | measured | verdict |",
        "|---|---|---|---|",
    ]
    for claim in CLAIMS:
        if claim.driver not in drivers:
            continue
        found = measured(cells, claim.driver)
        held = verdict(claim, found) if claim.driver in ran else None
        what = ", ".join(f"{p} {cells[p][claim.driver].mark}" for p in claim.expects) or "–"
        label = {True: "right", False: "**wrong or outdated**", None: "not measurable"}[held]
        if claim.scenario is not None and held is None:  # its evidence needs a scenario of its own
            label = f"measured by `netlab run {claim.scenario}`"
        note = f" ({claim.note})" if claim.note else ""
        words = claim.wording + (f" (in English: {claim.english})" if claim.english else "")
        lines.append(f"| {claim.driver} | {words} | {what} | {label}{note} |")
    lines += ["", "### Evidence per cell", ""]
    for prop in PROPERTIES:
        for d in drivers:
            c = cells[prop.id][d]
            lines.append(f"- {prop.id} / {d}: {c.mark} {c.evidence}")
    return "\n".join(lines) + "\n"


#: what the netns backend emulates (RunOptions' engine, forward_policy, userland_proxy): given, a comparison is the
#: same on every machine; left out, each follows the Docker daemon answering on this one (netlab/options.py)
Emulate = Mapping[str, str]


def run(drivers: Iterable[str], backend: str = "netns", emulate: Emulate | None = None) -> dict[str, Result | str]:
    """Each driver's scenario; on the netns and cni backends a kernel without ipvlan runs it in user-mode Linux.
    A driver that cannot run here gets the reason instead of a result."""
    return {driver: _run(SCENARIOS[driver], backend, emulate) for driver in drivers}


def run_more(drivers: Iterable[str], backend: str = "netns", emulate: Emulate | None = None) -> dict[str, Result | str]:
    """The MORE scenarios the chosen drivers need, by name."""
    chosen = set(drivers)
    names = sorted({name for (_, driver), name in MORE.items() if driver in chosen})
    return {name: _run(name, backend, emulate) for name in names}


def _run(name: str, backend: str, emulate: Emulate | None = None) -> Result | str:
    from netlab import loader
    from netlab.kernel import uml

    kernel = "uml" if backend in ("netns", "cni") and uml.wanted(loader.load(name)) else "host"
    asked = dict(emulate or {}) if backend == "netns" else {}
    try:
        return run_scenario(name, backend=backend, kernel=kernel, **asked)
    except NetlabError as e:
        return f"not run: {e}"


# -- one scenario, several backends (`netlab compare --backends netns,cni`) ----------------------------------------
#: what each backend's rows are called in the backend comparison
BACKEND_TITLES = {"netns": "Docker (netns)", "docker": "Docker", **conditions.ENGINE_KINDS}
Cells = dict[tuple[str, str, str, str], tuple[str, str]]  # (stage, src, dst, probe) -> (outcome, detail)


def refusal(name: str, backend: str) -> str:
    """Why `backend` cannot run the bundled scenario `name` here ('' when it can), without deploying anything.
    A link kind the host kernel lacks is no refusal where user-mode Linux runs the backend (_run boots it)."""
    from netlab import loader
    from netlab.backends import registry
    from netlab.kernel import uml

    topology = loader.load(name)
    try:
        registry.get(backend).check(topology)
    except KernelFeatureMissing as e:
        return "" if backend in ("netns", "cni") and uml.wanted(topology) else str(e)
    except NetlabError as e:
        return str(e)
    return ""


def run_backends(
    backends: Sequence[str], names: Sequence[str], emulate: Emulate | None = None
) -> dict[str, dict[str, Result | str]]:
    """Each bundled scenario on each backend, where every backend after the first can run it (the first, the
    reference, is run only for those: a scenario nothing else runs has nothing to be compared with)."""
    out: dict[str, dict[str, Result | str]] = {}
    for name in names:
        refused = {b: why for b in backends[1:] if (why := refusal(name, b))}
        if len(refused) == len(backends) - 1:
            out[name] = {b: f"not applicable: {refused.get(b, '')}" if b in refused else "" for b in backends}
            continue
        out[name] = {b: f"not applicable: {refused[b]}" if b in refused else _run(name, b, emulate) for b in backends}
    return out


def cells_of(r: Result) -> Cells:
    return {(o.stage, o.src, o.dst, str(o.probe)): (o.outcome.value, o.detail) for o in r.observations}


def differences(found: dict[str, Result | str]) -> list[tuple[tuple[str, str, str, str], dict[str, tuple[str, str]]]]:
    """The cells measured on every backend that ran, whose outcome is not the same on all of them."""
    ran = {b: cells_of(r) for b, r in found.items() if isinstance(r, Result)}
    if len(ran) < 2:
        return []
    common = set.intersection(*(set(c) for c in ran.values()))
    out = []
    for key in sorted(common):
        seen = {b: cells[key] for b, cells in ran.items()}
        if len({outcome for outcome, _ in seen.values()}) > 1:
            out.append((key, seen))
    return out


def chains_touched(r: Result, stage: str) -> list[str]:
    """The firewall chains a stage's deployment created or added rules to on the nodes (Docker's or the CNI
    plugins'), with how many rules each got."""
    rules: dict[str, int] = {}
    for node in r.evidence.get("firewall", {}).get(stage, {}).values():
        for table, entry in node.get("changes", {}).items():
            for chain in entry.get("chains_created", []):
                rules.setdefault(f"{table} {chain}", 0)
            for chain, added in entry.get("added", {}).items():
                rules[f"{table} {chain}"] = rules.get(f"{table} {chain}", 0) + len(added)
    return [f"{chain} ({n})" for chain, n in sorted(rules.items())]


def _emulated(runs: dict[str, dict[str, Result | str]]) -> str:
    """Which engine each backend's runs measured (the netns backend's emulated Docker and its hosts' FORWARD policy,
    the Docker Engine's and Podman's versions), as sentences; the cni backend's plugins are named per network."""
    out = ""
    for b in ("netns", "docker", "podman"):
        seen = sorted(
            {
                str(r.environment.get("engine", ""))
                for found in runs.values()
                for name, r in found.items()
                if name == b and isinstance(r, Result) and r.environment.get("engine")
            }
        )
        if seen and b == "netns":
            out += f" {BACKEND_TITLES[b]} is the netns backend {'; '.join(e.removeprefix('netns, ') for e in seen)}."
        elif seen:
            out += f" {BACKEND_TITLES[b]} is {'; '.join(seen)}."
    return out


def render_backends(backends: Sequence[str], runs: dict[str, dict[str, Result | str]]) -> str:
    """The scenarios' cells where the backends differ, the rules behind them, and the lecture's claims per backend
    (markdown)."""
    from netlab.model.claims import CLAIMS, verdict

    titles = [BACKEND_TITLES.get(b, b) for b in backends]
    lines = [
        f"Measured with `netlab compare --backends {','.join(backends)}`: every bundled scenario that "
        f"{' and '.join(titles[1:])} can express, run on each backend; the scenario's expectations are Docker's. "
        "A cell differs when its outcome is not the same on every backend." + _emulated(runs),
        "",
        "| scenario | " + " | ".join(titles) + " | cells that differ |",
        "|---|" + "---|" * (len(backends) + 1),
    ]
    for name, found in runs.items():
        marks = []
        for b in backends:
            r = found[b]
            marks.append(
                ("not applicable" if r else "not run") if isinstance(r, str) else f"{len(r.observations)} cells"
            )
        diff = differences(found)
        ran = sum(isinstance(r, Result) for r in found.values()) == len(backends)
        lines.append(f"| {name} | " + " | ".join(marks) + f" | {len(diff) if ran else '–'} |")
    lines += ["", "### Where they differ, and the rules behind it", ""]
    for name, found in runs.items():
        diff = differences(found)
        stuck = {b: r for b, r in found.items() if isinstance(r, str) and r}
        if not diff and not stuck:
            if all(isinstance(r, Result) for r in found.values()):
                lines.append(f"- **{name}**: the same on every backend, cell for cell.")
            continue
        if stuck and not diff:
            reasons = "; ".join(f"{BACKEND_TITLES.get(b, b)}: {r}" for b, r in stuck.items())
            lines.append(f"- **{name}**: {reasons}")
            continue
        lines.append(f"- **{name}**: {len(diff)} cells differ.")
        for (stage, src, dst, probe), seen in diff:
            what = "; ".join(f"{BACKEND_TITLES.get(b, b)} {o} ({d})" for b, (o, d) in seen.items())
            lines.append(f"  - {stage}: {src} -> {dst} {probe}: {what}")
        for b, r in found.items():
            if isinstance(r, Result):
                made = chains_touched(r, r.topology.stages[0].name)
                lines.append(
                    f"  - {BACKEND_TITLES.get(b, b)}'s rules (chain, rules added): " + (", ".join(made) or "none")
                )
    lines += [
        "",
        "### The lecture's cards",
        "",
        "| driver | the lecture says | " + " | ".join(titles) + " |",
        "|---|---|" + "---|" * len(backends),
    ]
    per_backend = {}
    for b in backends:
        results = {d: runs[s][b] for d, s in SCENARIOS.items() if s in runs}
        more = {s: runs[s][b] for s in {n for n in MORE.values()} if s in runs}
        per_backend[b] = (results, table(results, more))
    for claim in CLAIMS:
        row = []
        for b in backends:
            results, cells = per_backend[b]
            got = results.get(claim.driver)
            if got is None or isinstance(got, str):
                row.append("not applicable" if got else "not run")
                continue
            held = verdict(claim, measured(cells, claim.driver))
            row.append({True: "holds", False: "**differs**", None: "not measurable"}[held])
        words = claim.wording + (f" (in English: {claim.english})" if claim.english else "")
        lines.append(f"| {claim.driver} | {words} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"

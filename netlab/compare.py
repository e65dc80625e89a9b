"""`netlab compare`: the lecture's comparison of Docker's network drivers, measured.

Each driver's bundled scenario is run; its result (observations of the first stage, before any stage
repaired something, and the evidence) answers the same questions for every driver. A cell is ✓ or ✗
with a short reference to what showed it, or `–` when the scenario cannot tell (no second node, no
second network of the driver).
"""

from __future__ import annotations

from collections.abc import Iterable

from netlab.errors import NetlabError
from netlab.evidence.claims import PROPERTIES, Cell
from netlab.result import Result
from netlab.runner import run_scenario

#: driver -> the bundled scenario that shows it (ipvlan: L3 mode, as on the lecture's card)
SCENARIOS = {"bridge": "bridge", "host": "host", "macvlan": "macvlan", "ipvlan": "ipvlan", "overlay": "overlay"}


def table(results: dict[str, Result | str]) -> dict[str, dict[str, Cell]]:
    """property id -> driver -> cell; a driver whose scenario could not run has the reason in every cell."""
    out: dict[str, dict[str, Cell]] = {}
    for prop in PROPERTIES:
        row: dict[str, Cell] = {}
        for driver, found in results.items():
            row[driver] = Cell(None, found) if isinstance(found, str) else prop.measure(found, driver)
        out[prop.id] = row
    return out


def measured(cells: dict[str, dict[str, Cell]], driver: str) -> dict[str, bool | None]:
    return {prop: row[driver].value for prop, row in cells.items() if driver in row}


def render(cells: dict[str, dict[str, Cell]], results: dict[str, Result | str], backend: str) -> str:
    """The comparison table, the lecture's claims with their verdicts, and every cell's evidence (markdown)."""
    from netlab.model.claims import CLAIMS, verdict

    drivers = list(results)
    ran = {d: r for d, r in results.items() if not isinstance(r, str)}
    how = ", ".join(
        f"{d}: scenario `{SCENARIOS[d]}`"
        + (" in user-mode Linux" if r.environment.get("kernel_runner") == "uml" else "")
        for d, r in ran.items()
    )
    lines = [
        f"Measured with `netlab compare` on the {backend} backend ({how}). Cells: ✓ measured true, ✗ measured "
        "false, – the scenario cannot tell; properties come from each scenario's first stage (before any stage "
        "repairs something) and its evidence.",
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
        lines.append(f"| {claim.driver} | {claim.wording} | {what} | {label}{note} |")
    lines += ["", "### Evidence per cell", ""]
    for prop in PROPERTIES:
        for d in drivers:
            c = cells[prop.id][d]
            lines.append(f"- {prop.id} / {d}: {c.mark} {c.evidence}")
    return "\n".join(lines) + "\n"


def run(drivers: Iterable[str], backend: str = "netns") -> dict[str, Result | str]:
    """Each driver's scenario; on the netns backend a kernel without ipvlan runs it in user-mode Linux.
    A driver that cannot run here gets the reason instead of a result."""
    from netlab import loader
    from netlab.kernel import features, uml

    out: dict[str, Result | str] = {}
    for driver in drivers:
        name = SCENARIOS[driver]
        kernel = "host"
        if backend == "netns":
            missing = [
                k
                for k, why in features.link_kinds(frozenset(features.link_kinds_needed(loader.load(name)))).items()
                if why
            ]
            if missing and not uml.available():
                kernel = "uml"
        try:
            out[driver] = run_scenario(name, backend=backend, kernel=kernel)
        except NetlabError as e:
            out[driver] = f"not run: {e}"
    return out

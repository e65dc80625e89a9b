"""Finding and loading scenario scripts: `bridge` (bundled) or `path/to/file.py` (any file)."""

from __future__ import annotations

import os
import runpy
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from netlab.errors import ScenarioError
from netlab.model import InvalidScenario, Scenario, Topology


def bundled_dir() -> Path:
    return Path(str(resources.files("netlab.scenarios")))


@dataclass(frozen=True, slots=True)
class ScenarioInfo:
    name: str
    path: Path
    title: str


def locate(spec: str) -> Path:
    """A path to an existing .py file, or the name of a bundled scenario."""
    if spec.endswith(".py") or os.sep in spec:
        path = Path(spec)
        if not path.is_file():
            raise ScenarioError(f"{spec}: no such scenario file")
        return path
    path = bundled_dir() / f"{spec}.py"
    if not path.is_file() or spec.startswith("_"):
        known = ", ".join(i.name for i in bundled())
        raise ScenarioError(f"unknown scenario {spec!r}; bundled scenarios are: {known} (or give a path to a .py file)")
    return path


def load(spec: str, subnet_offset: int = 0) -> Topology:
    """Run the scenario script, take its SCENARIO, validate and freeze it. Creates nothing. `subnet_offset`:
    see Scenario.build."""
    path = locate(spec)
    try:
        namespace = runpy.run_path(str(path), run_name=f"netlab_scenario_{path.stem}")
    except InvalidScenario as e:
        raise ScenarioError(f"{path}: {e}") from e
    except SyntaxError as e:
        raise ScenarioError(f"{path}:{e.lineno}: syntax error: {e.msg}") from e
    except Exception as e:  # a scenario is user code: any failure is a bad scenario
        raise ScenarioError(f"{path}: the scenario script raised {type(e).__name__}: {e}") from e
    scenario = namespace.get("SCENARIO")
    if scenario is None:
        raise ScenarioError(f"{path}: defines no SCENARIO (end the script with `SCENARIO = s`)")
    if not isinstance(scenario, Scenario):
        raise ScenarioError(f"{path}: SCENARIO is a {type(scenario).__name__}, not a netlab.Scenario")
    try:
        topology = scenario.build(subnet_offset)
    except InvalidScenario as e:
        raise ScenarioError(f"{path}: {e}") from e
    return replace(topology, source=str(path))


def bundled() -> list[ScenarioInfo]:
    out = []
    for path in sorted(bundled_dir().glob("*.py")):
        if path.name.startswith("_"):
            continue
        title = ""
        try:
            title = load(str(path)).title
        except ScenarioError as e:
            title = f"(broken: {e})"
        out.append(ScenarioInfo(path.stem, path, title))
    return out

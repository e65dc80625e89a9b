"""netlab: make Docker's network drivers visible and testable.

Public API: `Scenario` (build a scenario), `run_scenario(spec, backend=..., ...) -> Result` (deploy, measure,
compare, destroy; `spec` is a bundled name, a file (a scenario script or a compose file), a `Scenario` or a built
topology), `scan(project=..., containers=[...]) -> Result` (containers already running, measured as they are) and
`Result` (`.ok`,
`.observations`, `.verdict`, `.evidence`, `.expect(table)` or `.expect(src, dst, probe, reachable=...)`,
`.to_json()`); `netlab.testing.assert_reachability` for tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netlab.model import Scenario
    from netlab.result import Result

__all__ = ["Result", "Scenario", "run_scenario", "scan"]
__version__ = "0.1.0"


def run_scenario(spec: Any, *args: Any, **options: Any) -> Result:
    """Deploy a scenario (a bundled name, a file, a Scenario or a built Topology), measure every stage, compare with its
    expectations, destroy; see netlab.runner.run_scenario for the options (every field of netlab.options.RunOptions)."""
    from netlab.runner import run_scenario as run

    return run(spec, *args, **options)


def scan(project: str | None = None, containers: Any = (), **options: Any) -> Result:
    """The reachability matrix of containers already running (a compose project, or containers by name), measured
    without changing them; see netlab.runner.scan."""
    from netlab.runner import scan as scanning

    return scanning(project, containers, **options)


def __getattr__(name: str) -> Any:
    """`Scenario` and `Result` are imported on first use: `import netlab` (and every `netlab` command, whose
    package this is) stays light; `netlab --help` needs neither."""
    if name == "Scenario":
        from netlab.model import Scenario

        return Scenario
    if name == "Result":
        from netlab.result import Result

        return Result
    raise AttributeError(name)

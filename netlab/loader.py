"""Finding and loading scenario scripts: `bridge` (bundled) or `path/to/file.py` (any file)."""

from __future__ import annotations

import contextlib
import os
import runpy
import signal
import threading
from collections.abc import Iterator
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


#: a scenario script only declares; one that runs longer than this (an endless loop, a blocking call) is
#: stopped and reported. NETLAB_LOAD_TIMEOUT overrides it (seconds).
LOAD_TIMEOUT_S = 10.0


class _LoadTimeout(BaseException):
    """Raised inside the scenario script by the timer; BaseException so the script's `except Exception`
    cannot swallow it."""


def load_timeout() -> float:
    raw = os.environ.get("NETLAB_LOAD_TIMEOUT", "")
    try:
        value = float(raw) if raw else LOAD_TIMEOUT_S
    except ValueError as e:
        raise ScenarioError(f"NETLAB_LOAD_TIMEOUT={raw!r}: not a number of seconds") from e
    if not 0 < value <= 3600:
        raise ScenarioError(f"NETLAB_LOAD_TIMEOUT={raw!r}: must be between 0 and 3600 seconds")
    return value


@contextlib.contextmanager
def _bounded(seconds: float) -> Iterator[None]:
    """Interrupt the scenario script after `seconds` (SIGALRM: main thread only; elsewhere unbounded)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise _LoadTimeout

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def load(spec: str, subnet_offset: int = 0) -> Topology:
    """Run the scenario script, take its SCENARIO, validate and freeze it. Creates nothing. `subnet_offset`:
    see Scenario.build."""
    path = locate(spec)
    limit = load_timeout()
    try:
        with _bounded(limit):
            namespace = runpy.run_path(str(path), run_name=f"netlab_scenario_{path.stem}")
    except _LoadTimeout as e:
        raise ScenarioError(
            f"{path}: the scenario script was still running after {limit:g} s (an endless loop or a blocking "
            "call?); a scenario only declares networks and containers (NETLAB_LOAD_TIMEOUT raises the limit)"
        ) from e
    except SystemExit as e:
        raise ScenarioError(f"{path}: the scenario script called exit({e.code!r}); it must define SCENARIO") from e
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

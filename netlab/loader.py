"""Finding and loading scenario scripts: `bridge` (bundled) or `path/to/file.py` (any file); reading expected
matrix files (`--expect`, parsed by netlab/model/matrixfile.py)."""

from __future__ import annotations

import contextlib
import os
import runpy
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from netlab.errors import ScenarioError
from netlab.model import InvalidScenario, Scenario, Topology, matrixfile


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


def _compose_file(spec: str, subnet_offset: int) -> Topology:
    from netlab import compose

    if not os.path.isfile(spec):
        raise ScenarioError(f"{spec}: no such compose file")
    try:
        # the file is the topology's source, as a scenario script's path is (errors name it, `netlab why` reloads it)
        return replace(compose.load(spec).scenario.build(subnet_offset), source=spec)
    except InvalidScenario as e:
        raise ScenarioError(f"{spec}: {e}") from e


#: a scenario script only declares; one that runs longer than this (an endless loop, a blocking call) is
#: stopped and reported. NETLAB_LOAD_TIMEOUT overrides it (seconds).
LOAD_TIMEOUT_S = 10.0


STUCK = (
    "the scenario script was still running after {limit:g} s (an endless loop or a blocking call?); a scenario "
    "only declares networks and containers (NETLAB_LOAD_TIMEOUT raises the limit)"
)
#: alarms (every 0.2 s after the limit) a script may swallow before netlab ends the process itself
ESCALATE_AFTER = 10


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
def _bounded(seconds: float, path: Path) -> Iterator[None]:
    """Interrupt the scenario script after `seconds` (SIGALRM: main thread only; elsewhere unbounded)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    active = [True]
    fired = [0]

    def expired(signum: int, frame: object) -> None:
        if not active[0]:
            return
        fired[0] += 1
        if fired[0] > ESCALATE_AFTER:  # the script swallowed every interruption for another second or two
            os.write(2, f"netlab: {path}: {STUCK.format(limit=seconds)}; it ignored every interruption\n".encode())
            os._exit(2)  # nothing exists yet but the script's own doing: the run has created nothing
        raise _LoadTimeout

    t0 = time.monotonic()
    old = signal.signal(signal.SIGALRM, expired)
    # again every 0.2 s after the first: a script whose bare `except:` swallows one alarm meets the next
    outer = signal.setitimer(signal.ITIMER_REAL, seconds, 0.2)
    try:
        yield
    finally:
        while active[0]:
            try:
                active[0] = False  # from here on the handler ignores the alarm
            except _LoadTimeout:
                continue
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
            while signal.SIGALRM in signal.sigpending():  # one of ours, raised before the timer stopped
                signal.sigtimedwait([signal.SIGALRM], 0)
            signal.signal(signal.SIGALRM, old)
            if outer[0] > 0:  # the caller had a timer running (pytest-timeout, ...): it goes on
                signal.setitimer(signal.ITIMER_REAL, max(outer[0] - (time.monotonic() - t0), 0.001), outer[1])
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def load(spec: str, subnet_offset: int = 0) -> Topology:
    """Run the scenario script, take its SCENARIO, validate and freeze it. Creates nothing. `subnet_offset`:
    see Scenario.build. A compose file (.yml, .yaml) is read as `netlab compose` reads it."""
    if spec.endswith((".yml", ".yaml")):
        return _compose_file(spec, subnet_offset)
    path = locate(spec)
    limit = load_timeout()
    try:
        with _bounded(limit, path):
            namespace = runpy.run_path(str(path), run_name=f"netlab_scenario_{path.stem}")
    except _LoadTimeout as e:
        raise ScenarioError(f"{path}: {STUCK.format(limit=limit)}") from e
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


def load_matrix(path: str | Path) -> list[matrixfile.Cell]:
    """The cells of a matrix file: YAML (`.yaml`/`.yml`, or a file whose first setting is `matrices:`) or
    the plain format."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise matrixfile.MatrixError(f"{path}: cannot read the expected matrix ({e.strerror or e})") from e
    return matrixfile.parse(text, str(path), as_yaml=p.suffix in (".yaml", ".yml"))


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

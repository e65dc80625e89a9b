"""pytest plugin (registered through the `pytest11` entry point as `netlab`): reachability tests.

    import pytest
    from netlab.testing import assert_reachability

    @pytest.mark.netlab(scenario="layout.py")        # a path next to the test file, or a bundled name
    def test_layout(netlab_result):
        assert_reachability(netlab_result, '''
                web  db
            web  -   X
            db   X   -
        ''')

    def test_by_hand(netlab_run):
        result = netlab_run("bridge")               # on the backend this test was parametrized with
        result.expect("   web app\\nweb  -   .\\n")

    def test_live_project(netlab_scan):              # containers already running, measured as they are
        netlab_scan(project="app").expect(open("app.matrix").read())

Every test that uses `netlab_result`, `netlab_run` or `netlab_backend` runs once per backend: by default
both, netns and docker (`--netlab-backend netns` or `docker` picks one), with ids `[netns]`, `[docker]`;
an instance whose backend cannot run here is skipped with the reason (not root, no Docker daemon). A marked scenario
runs once per backend and session, however many tests read it. `--netlab-keep` leaves deployments up
(remove them with `netlab clean`); `--netlab-junit-cells` adds one test item per expectation of each
marked scenario, so `--junitxml` reports every cell as a test case of its own.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

ALL_BACKENDS = ("netns", "docker")
DEFAULT_BACKENDS = ALL_BACKENDS


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("netlab", "netlab reachability tests")
    group.addoption(
        "--netlab-backend",
        default=None,
        help="backends to run netlab tests on, comma-separated: netns, docker, or all (default: all; those that "
        "cannot run here are skipped with the reason)",
    )
    group.addoption(
        "--netlab-keep",
        action="store_true",
        help="leave each deployment up after its run (`netlab clean` removes them)",
    )
    group.addoption(
        "--netlab-junit-cells",
        action="store_true",
        help="one test item per expectation of each @pytest.mark.netlab scenario (one JUnit test case per cell)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "netlab(scenario, backend=None, expect=None): run SCENARIO (a path relative to the test file, or a bundled "
        "name) once per backend; the test receives the Result as `netlab_result`. `expect`: a matrix file.",
    )
    config.stash[_CACHE] = {}
    backends(config)  # a misspelt backend is a usage error before anything is collected


_CACHE = pytest.StashKey[dict[tuple[str, str, str | None], Any]]()


def backends(config: pytest.Config) -> list[str]:
    option = config.getoption("netlab_backend") or ",".join(DEFAULT_BACKENDS)
    names = list(ALL_BACKENDS) if option.strip() == "all" else [x.strip() for x in option.split(",") if x.strip()]
    for name in names:
        if name not in (*ALL_BACKENDS, "fake"):
            raise pytest.UsageError(f"--netlab-backend: unknown backend {name!r}; use netns, docker or all")
    return names


@functools.cache
def unavailable(name: str) -> str:
    """'' when the backend can run here, else why not (from the backend's own check)."""
    from netlab.backends import registry
    from netlab.errors import NetlabError

    try:
        registry.get(name).check(None)
    except NetlabError as e:
        return str(e)
    return ""


def _marker(node: Any) -> Any:
    return node.get_closest_marker("netlab")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    wanted = {"netlab_backend", "netlab_run", "netlab_result"} & set(metafunc.fixturenames)
    if not wanted:
        return
    marker = _marker(metafunc.definition)
    fixed = marker.kwargs.get("backend") if marker is not None else None
    names = [fixed] if fixed else backends(metafunc.config)
    metafunc.parametrize("netlab_backend", names, ids=names, indirect=True)


@pytest.fixture
def netlab_backend(request: pytest.FixtureRequest) -> str:
    """The backend this test instance runs on; skips when it cannot run here."""
    name = getattr(request, "param", None) or backends(request.config)[0]
    reason = unavailable(name)
    if reason:
        pytest.skip(f"netlab backend {name} unavailable: {reason}")
    return str(name)


@pytest.fixture
def netlab_run(request: pytest.FixtureRequest, netlab_backend: str) -> Any:
    """`netlab_run(scenario, backend=None, **options) -> Result`: a fresh run (relative paths: from the test's
    directory), on this test's backend unless one is given; `options` are those of netlab.options.RunOptions
    (timeout, kernel, expect, why, pcap, keep...)."""
    from netlab import runner
    from netlab.options import RunOptions

    keep = bool(request.config.getoption("netlab_keep"))
    here = Path(str(request.node.path)).parent

    def run(scenario: Any, backend: str | None = None, **options: Any) -> Any:
        spec = _resolve(scenario, here) if isinstance(scenario, str) else scenario
        options.setdefault("keep", keep)
        return runner.run(spec, RunOptions(backend=backend or netlab_backend, **options))

    return run


@pytest.fixture
def netlab_scan() -> Any:
    """`netlab_scan(project=None, containers=(), **options) -> Result`: the matrix of containers already running
    (a compose project by its label, or containers by name), measured without changing them; `options`: expect,
    timeout, why, json_file (netlab.runner.scan). Needs root and a Docker daemon, like the docker backend."""
    from netlab import runner

    reason = unavailable("docker")
    if reason:
        pytest.skip(f"netlab scan unavailable: {reason}")
    return runner.scan


@pytest.fixture
def netlab_result(request: pytest.FixtureRequest, netlab_backend: str) -> Any:
    """The Result of the scenario named by the test's @pytest.mark.netlab, run once per backend and session."""
    marker = _marker(request.node)
    if marker is None:
        pytest.fail("netlab_result needs @pytest.mark.netlab(scenario=...) on the test", pytrace=False)
    scenario, expect = _marked(marker, Path(str(request.node.path)).parent)
    return cached_run(request.config, scenario, netlab_backend, expect)


def _resolve(spec: str, here: Path) -> str:
    candidate = here / spec
    return str(candidate) if candidate.is_file() else spec


def _marked(marker: Any, here: Path) -> tuple[str, str | None]:
    scenario = marker.kwargs.get("scenario") or (marker.args[0] if marker.args else None)
    if not isinstance(scenario, str):
        raise pytest.UsageError("@pytest.mark.netlab needs scenario='name or path'")
    expect = marker.kwargs.get("expect")
    return _resolve(scenario, here), (_resolve(expect, here) if expect else None)


def cached_run(config: pytest.Config, scenario: str, backend: str, expect: str | None) -> Any:
    from netlab import runner
    from netlab.options import RunOptions

    cache = config.stash[_CACHE]
    key = (scenario, backend, expect)
    if key not in cache:
        try:
            options = RunOptions(backend=backend, expect=expect, keep=bool(config.getoption("netlab_keep")))
            cache[key] = runner.run(scenario, options)
        except Exception as e:  # remembered, so the cells of a scenario that cannot run fail once each, fast
            cache[key] = e
    found = cache[key]
    if isinstance(found, Exception):
        raise found
    return found


class NetlabCell(pytest.Item):
    """One expectation of a marked scenario as a test item of its own (--netlab-junit-cells)."""

    def __init__(self, *, scenario: str, expect: str | None, backend: str, key: tuple[str, str, str, str], **kw: Any):
        super().__init__(**kw)
        self.scenario, self.expect, self.backend, self.key = scenario, expect, backend, key

    def runtest(self) -> None:
        reason = unavailable(self.backend)
        if reason:
            pytest.skip(f"netlab backend {self.backend} unavailable: {reason}")
        result = cached_run(self.config, self.scenario, self.backend, self.expect)
        stage, src, dst, probe = self.key
        for c in result.verdict.checks:
            e = c.expectation
            if (e.stage, e.src, e.dst, str(e.probe)) == self.key:
                if not c.ok:
                    detail = c.reason if c.undecided else c.observation.detail if c.observation else "not measured"
                    raise AssertionError(
                        f"{stage}: {src} -> {dst} {probe}: expected {c.expected}, observed {c.observed} ({detail})"
                    )
                return
        skipped = not_applying(result, self.key)
        if skipped:
            pytest.skip(f"{stage}: {src} -> {dst} {probe}: {skipped}")
        raise AssertionError(f"{stage}: {src} -> {dst} {probe}: the run has no such expectation")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, AssertionError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, self.name


def not_applying(result: Any, key: tuple[str, str, str, str]) -> str:
    """Why the run judged no expectation of this cell: every one is conditional and no condition holds on this
    host ('' when the cell has an unconditional expectation, or none at all)."""
    from netlab.model import conditions
    from netlab.verdict import judged_on

    variants = [
        e for s in result.topology.stages for e in s.expectations if (s.name, e.src, e.dst, str(e.probe)) == key
    ]
    if not variants or not all(e.when for e in variants):
        return ""
    if all(e in result.verdict.docker_only for e in variants):
        kind = str(result.environment.get("engine_kind"))
        wanted = " or ".join(f"({conditions.text(e.when)})" for e in variants)
        return f"Docker's only, where {wanted}: not judged on {conditions.ENGINE_KINDS.get(kind, kind)}"
    facts = conditions.facts_of(result.environment, judged_on(result.topology, variants[0]))
    wanted = " or ".join(f"({conditions.text(e.when)})" for e in variants)
    have = ", ".join(f"{k}={v}" for k, v in sorted(facts.items())) or "no facts"
    return f"applies only where {wanted}; this host: {have}"


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("netlab_junit_cells"):
        return
    from netlab import loader
    from netlab.errors import NetlabError
    from netlab.model import matrixfile

    out: list[pytest.Item] = []
    for item in items:
        out.append(item)
        marker = _marker(item)
        if marker is None or not isinstance(item, pytest.Function):
            continue
        scenario, expect = _marked(marker, Path(str(item.path)).parent)
        backend = getattr(item, "callspec", None) and item.callspec.params.get("netlab_backend")
        backend = backend or backends(config)[0]
        try:
            topology = loader.load(scenario)
            if expect:
                topology = matrixfile.apply(topology, loader.load_matrix(expect), expect)
        except NetlabError as err:
            raise pytest.UsageError(f"{item.nodeid}: {err}") from err
        assert item.parent is not None
        keys: set[tuple[str, str, str, str]] = set()
        for stage in topology.stages:
            for e in stage.expectations:
                key = (stage.name, e.src, e.dst, str(e.probe))
                if key in keys:  # one cell with an outcome per host condition: one item, judged as it applied
                    continue
                keys.add(key)
                out.append(
                    NetlabCell.from_parent(
                        item.parent,
                        name=f"{item.originalname}[{backend}:{stage.name}:{e.src}->{e.dst}:{e.probe}]",
                        scenario=scenario,
                        expect=expect,
                        backend=backend,
                        key=key,
                    )
                )
    items[:] = out

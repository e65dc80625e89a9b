"""Imports run one way (docs/architecture.md, "Layers"): a module imports only its own layer and the
layers below it, no concrete backend is imported outside the backends (and the registry), and no import
circle exists. Walked with ast over the whole package, function-level imports and imports under
`if TYPE_CHECKING:` included (they are dependencies all the same: an annotation naming a type of a layer above
is that layer's knowledge; a Protocol of the layer's own says what it reads instead).

KNOWN lists the violations that remain while issue 16 is under way, each with what removes it: the
test fails on a new violation, and also when a known one is gone (so the list only shrinks)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "netlab"

#: bottom to top; a module may import its own layer and every layer below
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("netlab.errors", "netlab.safety", "netlab.faults", "netlab.waiting", "netlab.nsthread", "netlab.i18n")),
    ("model", ("netlab.model",)),
    ("loading", ("netlab.loader", "netlab.lease", "netlab.compose")),
    (
        "kernel",
        (
            "netlab.kernel",
            "netlab.kernel.features",
            "netlab.kernel.hoststate",
            "netlab.kernel.iptables",
            "netlab.kernel.pyroute",
            "netlab.kernel.rtnetlink",
        ),
    ),
    ("backends", ("netlab.backends", "netlab.kernel.uml", "netlab.kernel.uml_launch")),
    ("probes", ("netlab.probes",)),
    ("evidence", ("netlab.evidence",)),
    ("verdict", ("netlab.verdict", "netlab.narrate", "netlab.predict")),
    ("report", ("netlab.report",)),
    ("result", ("netlab.result",)),
    (
        "runner",
        (
            "netlab.options",
            "netlab.runner",
            "netlab.cleanup",
            "netlab.kept",
            "netlab.compare",
            "netlab.upgrade",
            "netlab.kernel.doctor",
            "netlab.kernel.uml_guest",
        ),
    ),
    ("edge", ("netlab.cli", "netlab.pytest_plugin", "netlab.testing", "netlab")),
]
#: entries that name one module, not a package with everything under it: `netlab` is the package's own
#: __init__ (the public API), which must not give every module of netlab a layer; `netlab.kernel`'s modules
#: sit in several layers, each listed by name
EXACT = {"netlab", "netlab.kernel"}
#: concrete backends: only the backends themselves and the registry (or the CLI's image command) name them
CONCRETE = ("netlab.backends.docker", "netlab.backends.netns")
MAY_NAME_CONCRETE = ("netlab.backends", "netlab.cli.image")

#: what the backends still do themselves that belongs above them (issue 16, item 2: the runner calls the
#: probe engine with what a backend hands out, reads the firewall and removes trace tables itself, and
#: passes the progress and --step hooks in)
KNOWN: set[str] = set()
KNOWN_CIRCLES: set[frozenset[str]] = set()


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str:
    while name not in MODULES and "." in name:
        name = name.rpartition(".")[0]
    return name


def imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for mod, path in MODULES.items():
        tree = ast.parse(path.read_text())
        deps: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "netlab":
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    deps.add(full if full in MODULES else _resolve(node.module))
            elif isinstance(node, ast.Import):
                deps |= {_resolve(a.name) for a in node.names if a.name.split(".")[0] == "netlab"}
        graph[mod] = deps - {mod}
    return graph


def layer(mod: str) -> int:
    best, index = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (mod == p or (p not in EXACT and mod.startswith(p + "."))) and len(p) > best:
                best, index = len(p), i
    assert index >= 0, f"{mod} is in no layer: add it to LAYERS (and to docs/architecture.md)"
    return index


def violations() -> set[str]:
    out = set()
    for mod, deps in imports().items():
        for dep in deps:
            if layer(dep) > layer(mod):
                out.add(f"{mod} -> {dep} ({LAYERS[layer(mod)][0]} imports {LAYERS[layer(dep)][0]})")
            concrete = any(dep == c or dep.startswith(c + ".") for c in CONCRETE)
            if concrete and not any(mod == m or mod.startswith(m + ".") for m in MAY_NAME_CONCRETE):
                out.add(f"{mod} -> {dep} (a concrete backend outside the backends)")
    return out


def circles() -> set[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph = imports()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: set[frozenset[str]] = set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.add(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_module_has_a_layer() -> None:
    for mod in MODULES:
        layer(mod)


def test_a_module_of_no_layer_is_found() -> None:
    """Not blind: a new module under no listed prefix (nor under the package's bare name) has no layer."""
    for mod in ("netlab.newthing", "netlab.kernel.newthing"):
        with pytest.raises(AssertionError, match="is in no layer"):
            layer(mod)
    assert LAYERS[layer("netlab")][0] == "edge"


def test_imports_for_annotations_count_too(tmp_path: Path) -> None:
    """An import under `if TYPE_CHECKING:` is a dependency like any other."""
    global MODULES, PACKAGE
    pkg = tmp_path / "netlab"
    (pkg / "model").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "runner.py").write_text("")
    (pkg / "model" / "__init__.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from netlab.runner import x\n"
    )
    real = MODULES, PACKAGE
    try:
        PACKAGE = pkg
        MODULES = _modules()
        assert imports()["netlab.model"] == {"netlab.runner"}
        assert violations() == {"netlab.model -> netlab.runner (model imports runner)"}
    finally:
        MODULES, PACKAGE = real


def test_no_import_against_the_direction_of_the_layers() -> None:
    found = violations()
    assert sorted(found - KNOWN) == [], "new imports against the layers"
    assert sorted(KNOWN - found) == [], "fixed: remove these from KNOWN"


def test_no_import_circle() -> None:
    found = circles()
    assert [sorted(c) for c in found - KNOWN_CIRCLES] == [], "new import circles"
    assert [sorted(c) for c in KNOWN_CIRCLES - found] == [], "fixed: remove these from KNOWN_CIRCLES"


def test_the_checker_sees_a_violation_and_a_circle() -> None:
    """Not blind: a made-up upward import and a made-up circle are found."""
    assert layer("netlab.model.topology") < layer("netlab.runner")
    fake = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    global imports
    real = imports
    try:
        imports = lambda: fake  # noqa: E731
        assert circles() == {frozenset({"a", "b", "c"})}
    finally:
        imports = real

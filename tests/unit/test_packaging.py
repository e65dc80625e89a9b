"""The wheel ships every netlab package and the bundled scenarios (a package missing from the list
only shows up after a non-editable `pip install .`)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_netlab_package_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "netlab").rglob("__init__.py")} | {
        "netlab.scenarios"
    }
    assert on_disk <= listed, f"missing from pyproject.toml: {sorted(on_disk - listed)}"


def test_bundled_scenarios_are_mapped_into_the_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"]["netlab.scenarios"] == "scenarios"
    assert (ROOT / "scenarios" / "__init__.py").exists()


def test_test_modules_have_unique_basenames() -> None:
    """The suite runs every tier in one pytest session without packages under tests/: two files
    with one basename stop collection ("import file mismatch") only when run together, as CI does."""
    seen: dict[str, Path] = {}
    clashes = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.name in seen and path.name != "conftest.py":
            clashes.append(f"{seen[path.name].relative_to(ROOT)} and {path.relative_to(ROOT)}")
        seen.setdefault(path.name, path)
    assert not clashes, "same basename: " + "; ".join(clashes)

"""The documentation stands on its own: no reference to files outside the repository, no tracker labels in
headings, every in-repository link to a heading finds it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
SOURCES = sorted([*(ROOT / "netlab").rglob("*.py"), *(ROOT / "scenarios").glob("*.py"), *DOCS])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_cites_a_file_outside_the_repository(path: Path) -> None:
    text = path.read_text()
    assert "shared/reference" not in text and "docker-drivers.md" not in text


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_headings_carry_no_tracker_labels_and_links_to_headings_resolve() -> None:
    anchors: dict[str, set[str]] = {}
    for doc in DOCS:
        headings = [ln.lstrip("#").strip() for ln in doc.read_text().splitlines() if ln.startswith("#")]
        assert not [h for h in headings if re.search(r"\bissue \d+", h)], doc
        anchors[doc.name] = {_anchor(h) for h in headings}
    for doc in DOCS:
        for target, anchor in re.findall(r"\]\((?:docs/)?([a-z]+\.md)#([a-z0-9-]+)\)", doc.read_text()):
            assert anchor in anchors.get(target, set()), f"{doc.name}: {target}#{anchor}"


def test_every_option_of_every_command_is_documented() -> None:
    from typer.main import get_command

    from netlab.cli import app

    text = "".join(doc.read_text() for doc in DOCS)
    missing = [
        f"netlab {name} {opt}"
        for name, command in get_command(app).commands.items()  # type: ignore[attr-defined]
        for param in command.params
        for opt in getattr(param, "opts", [])
        if opt.startswith("--") and opt != "--help" and opt not in text
    ]
    assert missing == [], "document these in README.md or docs/: " + ", ".join(missing)

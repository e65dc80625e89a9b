"""Writing a benchmark's section into docs/performance.md, leaving every other section as it is."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def replace_section(heading: str, section: str, doc: Path = DOC) -> None:
    """Replace the section that starts with `heading` (up to the next `## `), or append it."""
    text = doc.read_text() if doc.exists() else "# Performance\n\n"
    if heading in text:
        start = text.index(heading)
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.write_text(text)

"""Writing a benchmark's section into docs/performance.md, leaving every other section as it is."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def replace_section(heading: str, section: str, doc: Path = DOC) -> None:
    """Replace the section that starts with `heading` (up to the next `## `, or the first `### ` below it: the
    sessions' notes under a generated table are written by hand and kept), or append it."""
    text = doc.read_text() if doc.exists() else "# Performance\n\n"
    if heading in text:
        start = text.index(heading)
        ends = [e for e in (text.find("\n## ", start + 1), text.find("\n### ", start + 1)) if e != -1]
        end = min(ends) if ends else -1
        text = text[:start] + (section.rstrip("\n") + "\n\n" + text[end + 1 :] if end != -1 else section)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.write_text(text)

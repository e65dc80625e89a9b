"""Files a run writes besides the terminal (`--json`, `--html`, `explain --svg`): checked before the run,
so a typo in a path costs nothing, and written with one clear error."""

from __future__ import annotations

import os
import shutil

from netlab.errors import EnvironmentProblem, UsageError


def check_output(path: str, needs_graphviz: bool = False) -> None:
    """Before a run: the file can be written (its directory exists) and, for pictures, Graphviz is there."""
    where = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(where):
        raise UsageError(f"{path}: directory {where} does not exist")
    if needs_graphviz and shutil.which("dot") is None:
        raise EnvironmentProblem(f"{path}: drawing the topology needs Graphviz (apt-get install graphviz)")


def write_output(path: str, text: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from e

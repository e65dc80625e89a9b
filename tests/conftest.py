"""Test tiers by directory: tests/unit (no root), tests/netns (root, real namespaces), tests/docker."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

ROOT_REASON = "needs root: the netns tier creates network namespaces (CI runs it as root)"

#: `netlab` commands the tests start write to a pipe, which netlab fits to 100 columns (netlab/report/fit.py); the
#: tests read what they print, not how it is laid out, so they get lines wide enough to hold any of it whole. The
#: layout itself is tested at the widths that matter (tests/unit/test_fit.py, tests/netns/test_readme_sample.py).
os.environ.setdefault("COLUMNS", "400")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "netns" in parts:
            item.add_marker(pytest.mark.netns)
            if os.geteuid() != 0:
                item.add_marker(pytest.mark.skip(reason=ROOT_REASON))

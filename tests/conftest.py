"""Test tiers by directory: tests/unit (no root), tests/netns (root, real namespaces), tests/docker."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab import i18n

sys.path.insert(0, str(Path(__file__).parent))
from uplinkcap import UplinkCapture, uplink

ROOT_REASON = "needs root: the netns tier creates network namespaces (CI runs it as root)"

#: `netlab` commands the tests start write to a pipe, which netlab fits to 100 columns (netlab/report/fit.py); the
#: tests read what they print, not how it is laid out, so they get lines wide enough to hold any of it whole. The
#: layout itself is tested at the widths that matter (tests/unit/test_fit.py, tests/netns/test_readme_sample.py).
os.environ.setdefault("COLUMNS", "400")
#: a shell's background job (tests/run.sh runs the suite in two) starts with SIGINT ignored, and so would every `netlab`
#: a test starts, which inherits it: the tests that interrupt a run need SIGINT as a terminal delivers it
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
#: the tests read English; a tester whose LANG is ru_RU still gets it (tests/unit/test_i18n.py asks for Russian)
if any(os.environ.get(v, "").lower().startswith("ru") for v in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")):
    os.environ["LANGUAGE"] = "en"


@pytest.fixture(autouse=True)
def _english_after_each_test() -> Iterator[None]:
    """A test that asks for Russian (`--lang ru` in-process) leaves netlab speaking English for the next one."""
    yield
    i18n.use("en")


@pytest.fixture
def nothing_off_machine() -> Iterator[UplinkCapture]:
    """The machine's real uplink captured for the whole test (every frame in and out, tests/uplinkcap.py): the test
    fails on any frame of the run's (a pool address, a MAC other than the uplink's, a DNS question for a bare name).
    Used by the tests that run every bundled scenario, on each backend."""
    ifname = uplink()
    if ifname is None:
        pytest.fail("this machine has no default route: there is no uplink to watch")
    with UplinkCapture(ifname) as cap:
        yield cap
    assert cap.violations == [], cap.violations[:20]
    # the capture is not blind: whenever the kernel counted frames on the uplink meanwhile, it saw some too
    assert cap.frames >= min(cap.kernel_counted, 1), (cap.frames, cap.kernel_counted)


#: tests/run.sh runs the suite in two parts side by side: "docker" (the docker tier and the fault points of the
#: docker backend, on this machine) and "sandbox" (everything else, inside tests/sandbox.sh's machine of its own)
PART = os.environ.get("NETLAB_TEST_PART", "")


def _needs_docker(item: pytest.Item) -> bool:
    parts = Path(str(item.fspath)).parts
    return "docker" in parts or ("faults" in parts and "docker" in item.name)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PART:
        if PART not in ("docker", "sandbox"):
            raise pytest.UsageError(f"NETLAB_TEST_PART={PART}: use docker or sandbox")
        keep = [item for item in items if _needs_docker(item) == (PART == "docker")]
        config.hook.pytest_deselected(items=[item for item in items if _needs_docker(item) != (PART == "docker")])
        items[:] = keep
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "netns" in parts:
            item.add_marker(pytest.mark.netns)
            if os.geteuid() != 0:
                item.add_marker(pytest.mark.skip(reason=ROOT_REASON))

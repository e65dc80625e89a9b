"""Unit tier: no root, no kernel objects, no /run. Every test gets its own journal and lease directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _no_journal_under_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fixtures of a wider scope are set up before `journal_dir`; they must not reach /run/netlab either."""
    with pytest.MonkeyPatch.context() as mp:
        state = tmp_path_factory.mktemp("netlab-state")
        mp.setattr("netlab.backends.journal.JOURNAL_DIR", str(state))
        mp.setattr("netlab.lease.STATE_DIR", str(state))  # the address pool's leases too: a run of the unit tier
        mp.setattr("netlab.lease.LEASE_DIR", str(state / "leases"))  # must not shift a real run's subnets
        mp.setenv("NETLAB_STATE_DIR", str(state))
        yield


@pytest.fixture(autouse=True)
def journal_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Runs record their journal under tmp_path, never under /run/netlab (also for subprocesses)."""
    monkeypatch.setattr("netlab.backends.journal.JOURNAL_DIR", str(tmp_path))
    monkeypatch.setattr("netlab.lease.STATE_DIR", str(tmp_path))
    monkeypatch.setattr("netlab.lease.LEASE_DIR", str(tmp_path / "leases"))
    monkeypatch.setenv("NETLAB_STATE_DIR", str(tmp_path))
    return tmp_path

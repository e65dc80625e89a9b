"""`--why`'s trace tables are removed whatever happens: loading them fails half-way, the tracing could not
remove the one in the machine's own namespace (the runner removes it before closing the journal), or the run
was killed (`netlab clean`); one helper, nftrace.remove_root_tables, serves the last two. No nft runs here:
the calls are recorded."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest

from netlab import Scenario
from netlab.backends import journal as journals
from netlab.backends.base import Deployment
from netlab.backends.fake import FakeBackend
from netlab.probes import nftrace
from netlab.runner import run_topology

Job = tuple[str, Sequence[str], str | None]


class Nft:
    """nsthread.run_many as `nft` would answer: `load` says what `nft -f` does per namespace."""

    def __init__(self, load: dict[str, int] | BaseException) -> None:
        self.load = load
        self.deleted: list[str] = []

    def __call__(self, jobs: Sequence[Job], timeout: float = 30.0) -> list[subprocess.CompletedProcess[str]]:
        out = []
        for netns, argv, _ in jobs:
            if argv[1] == "delete":
                self.deleted.append(netns)
                out.append(subprocess.CompletedProcess(list(argv), 0, "", ""))
                continue
            if isinstance(self.load, BaseException):
                raise self.load
            out.append(subprocess.CompletedProcess(list(argv), self.load[netns], "", ""))
        return out


@pytest.fixture
def namespaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(nftrace.shutil, "which", lambda tool: f"/usr/sbin/{tool}")
    paths = {}
    for name in ("c1", "c2"):
        (tmp_path / name).write_text("")
        paths[str(tmp_path / name)] = name
    return paths


def _dep() -> Deployment:
    s = Scenario("one")
    s.container("c1")
    return Deployment("ab12", "fake", s.build(), None)  # type: ignore[arg-type]


ADDRESSES = [IPv4Address("198.18.0.2")]


def test_a_load_cut_short_still_removes_every_table_it_may_have_made(
    namespaces: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    nft = Nft(KeyboardInterrupt())
    monkeypatch.setattr(nftrace.nsthread, "run_many", nft)
    with pytest.raises(KeyboardInterrupt), nftrace.tracing(_dep(), namespaces, ADDRESSES):
        pytest.fail("not reached: loading the tables failed")
    assert nft.deleted == list(namespaces)


def test_only_the_tables_loaded_are_traced_and_removed(namespaces: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    first, second = list(namespaces)
    nft = Nft({first: 0, second: 1})
    monkeypatch.setattr(nftrace.nsthread, "run_many", nft)
    with nftrace.tracing(_dep(), namespaces, ADDRESSES) as traced:
        assert traced == [first] and nft.deleted == []
    assert nft.deleted == [first]


def _record(entries: list[dict[str, Any]]) -> journals.RunRecord:
    entry = [journals.Entry(e.pop("kind"), e.pop("name"), e) for e in entries]
    return journals.RunRecord("ab12", "/nonexistent", {}, tuple(entry))


def test_remove_root_tables_removes_only_a_journaled_root_table_that_is_still_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = nftrace.table_name("ab12")
    removed: list[tuple[str, str]] = []
    present = [("inet", name)]
    monkeypatch.setattr(nftrace, "nft_tables", lambda netns: list(present))
    monkeypatch.setattr(nftrace, "remove_table", lambda netns, run: removed.append((netns, run)) or True)
    rec = _record([{"kind": "nft-table", "name": name, "netns": "root"}, {"kind": "netns", "name": "x"}])
    assert nftrace.remove_root_tables(rec) == [f"nft table inet {name}"]
    assert removed == [(nftrace.nsthread.HOME, "ab12")]
    present.clear()  # the tracing removed it already: no nft process at all
    assert nftrace.remove_root_tables(rec) == [] and len(removed) == 1


class _Traced(FakeBackend):
    """A deployment whose --why journaled a trace table in the machine's own namespace."""

    def deploy(self, topology, run, journal, hooks=None):  # type: ignore[no-untyped-def]
        dep = super().deploy(topology, run, journal)
        journal.record("nft-table", nftrace.table_name(run), netns="root")
        return dep


def _one() -> Scenario:
    s = Scenario("one")
    net = s.network("net")
    s.expect(s.container("a", net), s.container("b", net))
    return s


def test_the_runner_removes_a_journaled_root_table_before_closing_the_journal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, ...]] = []

    def remove(rec: journals.RunRecord) -> list[str]:
        assert os.path.exists(rec.path)  # still journaled while it is removed
        seen.append(tuple(e.kind for e in rec.entries))
        return []

    monkeypatch.setattr(nftrace, "remove_root_tables", remove)
    result = run_topology(_one().build(), backend=_Traced())
    assert seen == [("nft-table",)]
    assert not os.path.exists(os.path.join(journals.JOURNAL_DIR, f"{result.run}.journal"))


def test_a_table_the_runner_cannot_remove_keeps_the_journal_for_netlab_clean(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def remove(rec: journals.RunRecord) -> list[str]:
        raise OSError("nft is gone")

    monkeypatch.setattr(nftrace, "remove_root_tables", remove)
    result = run_topology(_one().build(), backend=_Traced())
    path = os.path.join(journals.JOURNAL_DIR, f"{result.run}.journal")
    assert [e.kind for e in journals.read(path).entries] == ["nft-table"]

"""Finishing what killed runs left: undo, by run id only, what their journals name."""

from __future__ import annotations

import os
from dataclasses import dataclass

from netlab import safety
from netlab.backends import journal, registry
from netlab.errors import NetlabError, UsageError
from netlab.options import MAX_DAEMON_TIMEOUT_S
from netlab.probes import nftrace


@dataclass(frozen=True, slots=True)
class Cleaned:
    run: str
    removed: tuple[str, ...]


def stale() -> list[journal.RunRecord]:
    """Journals of runs whose process is gone (killed, or deployments kept with --keep): what they made is
    still there until `netlab clean`."""
    return [r for r in journal.runs() if not r.alive]


def stale_hint(records: list[journal.RunRecord]) -> str:
    """One line for `netlab run`: which dead runs left objects behind, and what to do."""
    runs = ", ".join(f"{r.run} ({r.head.get('scenario', '?')}, {len(r.entries)} objects)" for r in records)
    return (
        f"netlab: {len(records)} earlier run(s) left objects behind: {runs}; `netlab clean` removes them "
        "(or run with --clean-stale)"
    )


def clean(run: str | None = None, daemon_timeout: float | None = None) -> list[Cleaned]:
    """Clean dead runs (all of them, or the one named). A live run is never touched. `daemon_timeout`: how
    long one request to a Docker daemon may take (runs of the docker backend)."""
    if daemon_timeout is not None and not 0 < daemon_timeout <= MAX_DAEMON_TIMEOUT_S:
        raise UsageError("--daemon-timeout takes seconds between 0 and 3600")
    safety.require_privileges("netlab clean")
    records = list(journal.runs())
    if run is not None:
        records = [r for r in records if r.run == run]
        if not records:
            raise UsageError(f"no journal for run {run!r}; `netlab clean` lists nothing to clean for it")
    out = []
    failed: list[NetlabError] = []
    for rec in records:
        if rec.alive:
            if run is not None:
                raise UsageError(f"run {rec.run} is still running (pid {rec.head.get('pid')}); stop it first")
            continue
        name = str(rec.head.get("backend", "netns"))
        options = {"daemon_timeout": daemon_timeout} if name == "docker" and daemon_timeout is not None else {}
        backend = registry.get(name, **options)
        try:
            removed = [*nftrace.remove_root_tables(rec), *backend.cleanup(rec)]
        except NetlabError as e:  # the other dead runs are still cleaned; this one keeps its journal
            failed.append(e)
            continue
        os.unlink(rec.path)
        out.append(Cleaned(rec.run, tuple(removed)))
    if failed:
        done = f" (cleaned {len(out)} other run(s))" if out else ""
        raise type(failed[0])("; ".join(str(e) for e in failed) + done)
    return out

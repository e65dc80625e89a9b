"""Run ids and the names derived from them: every object netlab creates carries its run id."""

from __future__ import annotations

import secrets

PREFIX = "nl"
LABEL_RUN = "netlab.run"
IFNAMSIZ = 15


def new_run_id() -> str:
    return secrets.token_hex(2)


def ns_name(run: str, obj: str) -> str:
    """Namespace of a scenario object: nl<run>-<object> (object names are unique per scenario)."""
    return f"{PREFIX}{run}-{obj}"


#: netlab's own objects among a run's scenario objects: scenario names never start with '_'
DNS = "_dns"


def sandbox(node: str, network: str) -> str:
    """The object name of a node's sandbox of an overlay network ('+' is in no scenario name)."""
    return f"_{node}+{network}"


def hostprobe(node: str) -> str:
    """The object name of the container through which a remote node's own probes run."""
    return f"_host.{node}"


def run_prefix(run: str) -> str:
    return f"{PREFIX}{run}-"

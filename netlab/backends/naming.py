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


def run_prefix(run: str) -> str:
    return f"{PREFIX}{run}-"

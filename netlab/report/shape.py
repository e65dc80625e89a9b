"""What the reports read of a run: `Result`, a Protocol that netlab.result.Result meets. The result layer sits
above the reports (Result renders itself with them), so the reports name its shape, not its module."""

from __future__ import annotations

from typing import Any, Protocol

from netlab.model.deployed import Endpoint
from netlab.model.results import Observation
from netlab.model.topology import Topology
from netlab.predict import Prediction
from netlab.verdict import Verdict


class Result(Protocol):
    """A run as the console, JSON and HTML reports read it (netlab.result.Result)."""

    @property
    def topology(self) -> Topology: ...

    @property
    def backend(self) -> str: ...

    @property
    def run(self) -> str: ...

    @property
    def environment(self) -> dict[str, Any]: ...

    @property
    def endpoints(self) -> dict[str, Endpoint]: ...

    @property
    def observations(self) -> list[Observation]: ...

    @property
    def verdict(self) -> Verdict: ...

    @property
    def evidence(self) -> dict[str, Any]: ...

    @property
    def timings(self) -> dict[str, float]: ...

    @property
    def claims(self) -> list[dict[str, Any]]: ...

    @property
    def host_changes(self) -> list[str]: ...

    @property
    def ok(self) -> bool: ...

    def predicted(self) -> Prediction: ...

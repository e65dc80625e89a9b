"""The result of a run: what was deployed, observed and concluded, with its evidence. Built by the runner,
read by the reports, the pytest plugin and scripts (`netlab.run_scenario(...)` returns one)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from netlab.errors import UsageError
from netlab.model.deployed import Address, Endpoint, segment
from netlab.model.expectations import parse_probe
from netlab.model.results import Observation, Outcome
from netlab.model.topology import EndpointKind, Topology
from netlab.predict import Prediction, judge
from netlab.verdict import Verdict, compare


@dataclass(slots=True)
class Result:
    topology: Topology
    backend: str
    run: str
    environment: dict[str, Any]
    endpoints: dict[str, Endpoint]
    observations: list[Observation]
    verdict: Verdict
    evidence: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    #: the lecture's claims the scenario asked to check on the evidence (netlab.compare.check_claims)
    claims: list[dict[str, Any]] = field(default_factory=list)
    #: root-namespace sysctls that differed after the run (`key old -> new`); netlab writes none, so
    #: anything here was changed by something else meanwhile, or is a bug of netlab's
    host_changes: list[str] = field(default_factory=list)
    #: what Docker's rules make of every measured cell (netlab/predict.py), beside what was measured
    prediction: Prediction | None = None

    def predicted(self) -> Prediction:
        """Docker's rules' prediction of this run's cells, compared with its observations."""
        if self.prediction is None:
            self.prediction = judge(self.topology, self.endpoints, self.observations, self.environment)
        return self.prediction

    def check_predicted(self) -> Prediction:
        """Assert that every measured cell is what Docker's rules predict for the run's engine and host (`--check
        predicted`); raises AssertionError with the predicted / measured / diff tables otherwise. Cells the rules
        do not cover are listed, not judged."""
        from netlab.report import console

        prediction = self.predicted()
        if not prediction.ok:
            raise AssertionError("\n" + console.prediction_lines_text(self))
        return prediction

    @property
    def ok(self) -> bool:
        return self.verdict.ok and all(c["as_expected"] is not False for c in self.claims)

    def to_json(self) -> dict[str, Any]:
        """The result as schema-1 JSON (what `netlab run --json` writes)."""
        from netlab.report.json import result_to_json

        return result_to_json(self)

    def expect(
        self,
        table: Any,
        dst: Any = None,
        probe: str = "icmp",
        reachable: bool = True,
        stage: str | None = None,
    ) -> Verdict:
        """Check this run's observations, in either of two forms:

        - `result.expect(table, probe="icmp", stage=None)`: a truth table (netlab/model/matrixfile.py: a header
          of destinations, one row per source, `.` reachable, `X` unreachable, `-` not checked);
        - `result.expect(src, dst, probe="icmp", reachable=True, stage=None)`: one cell, in the words of
          `Scenario.expect` (src and dst are names or the scenario's objects).

        `stage` defaults to the first. Returns the verdict; raises AssertionError whose message is the expected /
        observed / diff table when a cell is wrong. Cells of probes the run did not measure are errors: the
        full icmp matrix is always measured, other probes only where the scenario expects something."""
        from netlab.model import matrixfile

        if isinstance(table, str) and "\n" in table:  # a table; a second positional argument is its probe
            probe = dst if isinstance(dst, str) else probe
            cells = matrixfile.parse_table(table, "expected matrix", probe=probe.lower(), stage=stage)
            return self.check_cells(cells, "expected matrix")
        if dst is None:
            raise UsageError(
                "Result.expect: give a truth table (several lines: destinations, then one row per source) "
                "or a cell: expect(src, dst, probe='icmp', reachable=True)"
            )
        src_name, dst_name = getattr(table, "name", table), getattr(dst, "name", dst)
        cell = matrixfile.Cell(stage, probe.lower(), str(src_name), str(dst_name), reachable, 0, 0, 0, 0, 0)
        return self.check_cells([cell], f"expect({src_name!r}, {dst_name!r}, {probe!r})")

    def check_cells(self, cells: Sequence[Any], source: str) -> Verdict:
        """`expect` for cells already parsed (matrixfile.parse_table or loader.load_matrix)."""
        from netlab.model import matrixfile
        from netlab.report import console

        if not cells:
            raise matrixfile.MatrixError(
                f"{source}: no cell to check (a table is a header of destinations, then rows of '.', 'X' or '-')"
            )
        topology = matrixfile.apply(self.topology, cells, source)
        self._require_measured(cells, source)
        covered = {c.stage or topology.stages[0].name for c in cells}
        topology = replace(topology, stages=tuple(s for s in topology.stages if s.name in covered))
        verdict = compare(topology, self.observations, self.environment)
        if not verdict.ok:
            raise AssertionError("\n" + console.render_check(replace(self, topology=topology, verdict=verdict)))
        return verdict

    def _require_measured(self, cells: Sequence[Any], source: str) -> None:
        """A cell of a probe the run never sent cannot be checked: say which probe and how to have it measured."""
        from netlab.model import matrixfile
        from netlab.model.expectations import parse_probe

        first = self.topology.stages[0].name
        sent: dict[str, set[str]] = {}
        for o in self.observations:
            sent.setdefault(o.stage, set()).add(str(o.probe))
        for c in cells:
            stage = c.stage or first
            probe = str(parse_probe(c.probe))
            if probe not in sent.get(stage, set()):
                measured = ", ".join(sorted(sent.get(stage, set()))) or "nothing"
                raise matrixfile.MatrixError(
                    f"{source}: probe {probe!r} was not measured in stage {stage!r} (measured there: {measured}); a "
                    f"run measures the icmp matrix and other probes only where the scenario names them: add "
                    f"s.expect({c.src!r}, {c.dst!r}, {probe!r}, ...) or s.measure({c.src!r}, {c.dst!r}, {probe!r}) "
                    "to the scenario"
                )


def result_from_json(data: dict[str, Any], topology: Topology) -> Result:
    """Rebuild a Result from schema-1 JSON (a run made elsewhere, e.g. inside user-mode Linux)."""

    endpoints = {}
    for name, ep in data["endpoints"].items():
        six = ep.get("addresses6", {})
        addrs = [
            Address(
                net, segment(topology, net, ep["node"]), IPv4Address(a), IPv6Address(six[net]) if net in six else None
            )
            for net, a in ep["addresses"].items()
        ]
        endpoints[name] = Endpoint(name, EndpointKind(ep["kind"]), ep["node"], None, addrs)
    observations = [
        Observation(
            stage=o["stage"],
            src=o["src"],
            dst=o["dst"],
            address=ip_address(o["address"]) if o["address"] else None,
            probe=parse_probe(o["probe"]),
            outcome=Outcome(o["outcome"]),
            rtt_ms=o["rtt_ms"],
            detail=o["detail"],
            why=o.get("why", ""),
        )
        for o in data["observations"]
    ]
    return Result(
        topology=topology,
        backend=data["backend"],
        run=data["run"],
        environment=dict(data["environment"]),
        endpoints=endpoints,
        observations=observations,
        verdict=compare(topology, observations, data["environment"]),
        evidence=dict(data.get("evidence", {})),
        claims=list(data.get("claims", [])),
        timings=dict(data.get("timings", {})),
        host_changes=list(data.get("host_changes", [])),
    )

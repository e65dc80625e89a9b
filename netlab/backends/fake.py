"""A backend that creates nothing: for unit tests of the runner, reports and CLI (no root needed).

Endpoints get the addresses the topology declares; `decide(src, dst, probe)` says what each probe
observes (default: reachable when the two share a segment, the simplest plausible network).
"""

from __future__ import annotations

from collections.abc import Callable

from netlab.backends.base import Address, Deployment, Endpoint
from netlab.backends.journal import Journal, RunRecord
from netlab.model.results import Observation, Outcome
from netlab.model.topology import Driver, EndpointKind, Probe, Stage, Topology
from netlab.probes.matrix import plan

Decide = Callable[[Endpoint, Endpoint, Probe], Outcome]


def share_a_segment(src: Endpoint, dst: Endpoint, probe: Probe) -> Outcome:
    shared = {a.segment for a in src.addresses} & {a.segment for a in dst.addresses}
    return Outcome.REACHABLE if shared else Outcome.UNREACHABLE


class FakeBackend:
    name = "fake"
    uses_host_routes = False  # nothing is deployed: the machine's routes do not matter

    def __init__(self, decide: Decide = share_a_segment) -> None:
        self.decide = decide
        self.deployed: list[str] = []
        self.destroyed: list[str] = []
        self.applied: list[int] = []

    def check(self, topology: Topology | None) -> None:
        return None

    def deploy(self, topology: Topology, run: str, journal: Journal) -> Deployment:
        dep = Deployment(run=run, backend=self.name, topology=topology, journal=journal)
        self.deployed.append(run)
        self._endpoints(dep, 0)
        return dep

    def _endpoints(self, dep: Deployment, stage_index: int) -> None:
        t = dep.topology
        eps: dict[str, Endpoint] = {}
        for node in t.nodes:
            addrs = [Address(u.lan, f"lan:{u.lan}", u.address) for u in t.uplinks_of(node.name)]
            eps[node.name] = Endpoint(node.name, EndpointKind.HOST, node.name, f"fake:{node.name}", addrs)
        for c in t.containers_at(stage_index):
            if any(t.network(a.network).driver == Driver.HOST for a in c.attachments):
                eps[c.name] = Endpoint(c.name, EndpointKind.CONTAINER, c.node, f"fake:{c.node}", eps[c.node].addresses)
                continue
            addrs = [Address(a.network, t.segment(a.network, c.node), a.address) for a in c.attachments if a.address]
            eps[c.name] = Endpoint(c.name, EndpointKind.CONTAINER, c.node, f"fake:{c.name}", addrs)
        for p in t.peers:
            eps[p.name] = Endpoint(
                p.name, EndpointKind.PEER, None, f"fake:{p.name}", [Address(p.lan, f"lan:{p.lan}", p.address)]
            )
        dep.endpoints = {n: eps[n] for n in t.endpoint_names()}

    def apply(self, dep: Deployment, stage_index: int) -> None:
        self.applied.append(stage_index)
        dep.stage_index = stage_index
        self._endpoints(dep, stage_index)

    def measure(self, dep: Deployment, stage: Stage, timeout: float) -> list[Observation]:
        out = []
        for task in plan(dep, stage):
            src, dst = dep.endpoints[task.src], dep.endpoints[task.dst]
            outcome = self.decide(src, dst, task.probe)
            out.append(Observation(stage.name, task.src, task.dst, task.address, task.probe, outcome, 0.01, "fake"))
        return out

    def destroy(self, dep: Deployment) -> None:
        self.destroyed.append(dep.run)

    def cleanup(self, record: RunRecord) -> list[str]:
        return []

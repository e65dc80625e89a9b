"""A backend that creates nothing: for unit tests of the runner, reports and CLI (no root needed).

Endpoints get the addresses the topology declares; `decide(src, dst, probe)` says what each probe
observes (default: reachable when the two share a segment, the simplest plausible network): the probe
engine asks it instead of sending packets (model/probing.py: Decided).
"""

from __future__ import annotations

from collections.abc import Callable

from netlab.backends import endpoints as common
from netlab.backends.base import NO_HOOKS, Address, Backend, Deployment, Endpoint, Hooks
from netlab.backends.journal import Journal, RunRecord
from netlab.model.probing import Answer, Decided, Probing, Task
from netlab.model.results import Outcome
from netlab.model.topology import Driver, EndpointKind, Probe, Topology

Decide = Callable[[Endpoint, Endpoint, Probe], Outcome]


def share_a_segment(src: Endpoint, dst: Endpoint, probe: Probe) -> Outcome:
    shared = {a.segment for a in src.addresses} & {a.segment for a in dst.addresses}
    return Outcome.REACHABLE if shared else Outcome.UNREACHABLE


class FakeBackend(Backend):
    name = "fake"

    def __init__(self, decide: Decide = share_a_segment, node_gateways: bool = False) -> None:
        self.decide = decide
        self.node_gateways = node_gateways
        self.deployed: list[str] = []
        self.destroyed: list[str] = []
        self.applied: list[int] = []

    def check(self, topology: Topology | None) -> None:
        return None

    def uses_host_routes(self) -> bool:
        return False  # nothing is deployed: the machine's routes do not matter

    def deploy(self, topology: Topology, run: str, journal: Journal, hooks: Hooks = NO_HOOKS) -> Deployment:
        dep = Deployment(run=run, backend=self.name, topology=topology, journal=journal, hooks=hooks)
        dep.facts["forward_policy"] = "DROP"  # the host it pretends to be: Docker's default on a fresh machine
        self.deployed.append(run)
        self._endpoints(dep, 0)
        return dep

    def _endpoints(self, dep: Deployment, stage_index: int) -> None:
        t = dep.topology
        eps: dict[str, Endpoint] = {}
        for node in t.nodes:
            addrs = common.uplink_addresses(t, node.name)
            if self.node_gateways:  # the node's addresses on its bridges, as the real backends give them
                addrs += common.gateway_addresses(t, node.name)
            eps[node.name] = Endpoint(node.name, EndpointKind.HOST, node.name, f"fake:{node.name}", addrs)
        for c in t.containers_at(stage_index):
            if any(t.network(a.network).driver == Driver.HOST for a in c.attachments):
                eps[c.name] = common.sharing_node(c, eps[c.node])
                continue
            if c.joins:
                eps[c.name] = common.joining(c, eps[c.joins])
                continue
            addrs = [
                Address(a.network, t.segment(a.network, c.node), a.address, t.network(a.network).v6_for(a))
                for a in c.attachments
                if a.address
            ]
            eps[c.name] = Endpoint(c.name, EndpointKind.CONTAINER, c.node, f"fake:{c.name}", addrs)
        for p in t.peers:
            eps[p.name] = common.peer(t, p, f"fake:{p.name}")
        dep.endpoints = {n: eps[n] for n in t.endpoint_names()}

    def apply(self, dep: Deployment, stage_index: int) -> None:
        self.applied.append(stage_index)
        dep.stage_index = stage_index
        self._endpoints(dep, stage_index)

    def probing(self, dep: Deployment) -> Probing:
        def answer(task: Task) -> Answer:
            outcome = self.decide(dep.endpoints[task.src], dep.endpoints[task.dst], task.probe)
            return Answer(outcome, 0.01, "fake")

        return Decided(answer)

    def destroy(self, dep: Deployment) -> None:
        self.destroyed.append(dep.run)

    def cleanup(self, record: RunRecord) -> list[str]:
        return []

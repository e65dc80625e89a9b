"""The backend contract: about five methods, picked from an explicit registry.

check(topology)            raise EnvironmentProblem before anything is created
deploy(topology, run)      -> Deployment (stage "initial" applied)
apply(deployment, index)   apply the actions of stage `index`
destroy(deployment)        idempotent; always called
cleanup(record)            undo what a dead run's journal names
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Protocol

from netlab.backends.journal import Journal, RunRecord
from netlab.model.deployed import Address, CapturePoint, Endpoint, Listen
from netlab.model.results import Observation
from netlab.model.topology import Stage, Topology


@dataclass(slots=True)
class Deployment:
    run: str
    backend: str
    topology: Topology
    journal: Journal
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    stage_index: int = 0
    #: the resolver each endpoint really uses (dns:NAME probes are sent there)
    resolvers: dict[str, IPv4Address] = field(default_factory=dict)
    #: DNS servers netlab runs while probing (embedded DNS of the netns backend, the run's upstream)
    dns_servers: list[Listen] = field(default_factory=list)
    #: facts about the environment the backend found (e.g. "firewall": "iptables-legacy")
    facts: dict[str, str] = field(default_factory=dict)
    #: node -> (its namespace, its iptables-save text with the daemon up but no scenario network created):
    #: what the firewall evidence diffs against; nodes netlab cannot read (remote engines) are absent
    firewall_baseline: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: where packets are captured while each stage is probed
    capture_points: list[CapturePoint] = field(default_factory=list)
    #: backend-private state (kept out of the model, STYLE rule 1)
    state: dict[str, object] = field(default_factory=dict)


class Backend(Protocol):
    name: str

    def check(self, topology: Topology) -> None: ...

    def deploy(self, topology: Topology, run: str, journal: Journal) -> Deployment: ...

    def apply(self, dep: Deployment, stage_index: int) -> None: ...

    def measure(self, dep: Deployment, stage: Stage, timeout: float) -> list[Observation]: ...

    def destroy(self, dep: Deployment) -> None: ...

    def cleanup(self, record: RunRecord) -> list[str]: ...


__all__ = ["Address", "Backend", "CapturePoint", "Deployment", "Endpoint", "Listen"]

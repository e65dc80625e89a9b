"""The backend contract: a few methods, picked from an explicit registry.

check(topology)                  raise EnvironmentProblem before anything is created
deploy(topology, run, journal, hooks)
                                 -> Deployment (stage "initial" applied); tells `hooks` as it goes
apply(deployment, index)         apply the actions of stage `index`
probing(deployment)              how the endpoints can be probed now (called before each stage is probed)
trace_root(deployment)           the namespace netlab runs in, when the deployment uses it (else None)
uses_host_routes()               whether the machine's own routes matter (subnets must not overlap them)
destroy(deployment)              idempotent; always called
cleanup(record)                  undo what a dead run's journal names

A backend builds and removes; it never sends probes or reads evidence itself. The runner asks the probe
engine (netlab/probes) to probe what `probing` describes, and the evidence modules read the namespaces
the deployment names. What a backend has to tell while it builds goes through `Hooks`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any, Protocol

from netlab.backends.journal import Journal, RunRecord
from netlab.model.deployed import Address, CapturePoint, Endpoint, Listen
from netlab.model.probing import FromNamespaces, Probing
from netlab.model.topology import Topology


def _ignore(*args: object) -> None:
    return None


def _no_text(netns: str, flavour: str | None = None) -> str:
    return ""


class ReadFirewall(Protocol):
    """The namespace's rules as iptables-save prints them, with the save tool of `flavour` (iptables-nft,
    iptables-legacy) where the caller knows what its rules were loaded with, else iptables-nft's first."""

    def __call__(self, netns: str, flavour: str | None = None) -> str: ...


@dataclass(frozen=True, slots=True)
class Hooks:
    """What a backend tells the runner while it builds; each does nothing unless the runner says otherwise."""

    #: progress of a long loop: (what, done, total), e.g. ("starting containers", 37, 100)
    tick: Callable[[str, int, int], None] = _ignore
    #: right before a lan, network, container or stage action is created: (kind, name); `--step` waits here
    gate: Callable[[str, str], None] = _ignore
    #: a node's Docker daemon is up and none of the scenario's networks exists yet: the node's firewall
    #: rules now (iptables-save text of the namespace at that path), the baseline the firewall evidence
    #: diffs against
    read_firewall: ReadFirewall = _no_text


NO_HOOKS = Hooks()


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
    #: where a node's published port lands, as the backend programmed it: (node, proto, host port) ->
    #: (container, address, container port); Docker maps ports to the container's gateway endpoint. Ports
    #: missing here are taken to land on the container's first address
    published: dict[tuple[str, str, int], tuple[str, str, int]] = field(default_factory=dict)
    #: the userland proxies netlab runs while probing (relays on the published ports of netns nodes whose
    #: emulated Docker runs docker-proxy)
    proxies: list[Listen] = field(default_factory=list)
    #: facts about the environment the backend found ("firewall": "iptables-legacy", "engine": "Docker Engine
    #: 20.10.24", "userland_proxy": "on", "daemon_options": {...}); they end up in Result.environment
    facts: dict[str, Any] = field(default_factory=dict)
    #: node -> (its namespace, its iptables-save text with the daemon up but no scenario network created):
    #: what the firewall evidence diffs against; nodes netlab cannot read (remote engines) are absent
    firewall_baseline: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: node -> its namespace, where netlab created nothing and only reads the rules that name the topology's
    #: networks and containers (`netlab scan`: the rules Docker holds for what was scanned)
    firewall_read_only: dict[str, str] = field(default_factory=dict)
    #: where packets are captured while each stage is probed
    capture_points: list[CapturePoint] = field(default_factory=list)
    #: backend-private state (kept out of the model, STYLE rule 1)
    state: dict[str, object] = field(default_factory=dict)
    #: what the backend tells while it builds (deploy and apply)
    hooks: Hooks = NO_HOOKS


class Backend(Protocol):
    """Backends subclass this explicitly, so the methods with a default need no code where nothing differs."""

    name: str

    def check(self, topology: Topology | None) -> None: ...

    def deploy(self, topology: Topology, run: str, journal: Journal, hooks: Hooks = NO_HOOKS) -> Deployment: ...

    def apply(self, dep: Deployment, stage_index: int) -> None: ...

    def probing(self, dep: Deployment) -> Probing:
        """How the endpoints are probed: from inside their namespaces unless a backend says otherwise."""
        return FromNamespaces()

    def trace_root(self, dep: Deployment) -> str | None:
        """The namespace netlab itself runs in (Docker's rules live there), when the deployment uses it:
        `--why` traces it and the kept-run record writes it as "root". None: it does not."""
        return None

    def uses_host_routes(self) -> bool:
        """Whether the deployment is routed by this machine (its routes must not overlap the scenario's)."""
        return True

    def destroy(self, dep: Deployment) -> None: ...

    def cleanup(self, record: RunRecord) -> list[str]: ...


__all__ = ["NO_HOOKS", "Address", "Backend", "CapturePoint", "Deployment", "Endpoint", "Hooks", "Listen"]

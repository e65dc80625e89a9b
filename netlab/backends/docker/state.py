"""What the docker backend knows about one deployment (kept in Deployment.state["docker"]), and the
names and labels it gives Docker objects. One deployment is in one of three modes:
  local    the machine's own engine (one node): lans, peers and the run's resolver are namespaces here
  private  a dockerd per node, each in a namespace of the run (several nodes, overlay: a swarm of them)
  remote   engines netlab cannot enter (`--node NAME=URL`): probed through `docker exec`
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from netlab import nsthread
from netlab.backends import naming
from netlab.backends.base import Deployment
from netlab.backends.docker import daemons
from netlab.model.probing import Shell

#: the namespace netlab started in: the local engine's Docker host
ROOT_NS = nsthread.HOME
EMBEDDED_DNS = IPv4Address("127.0.0.11")
REMOTE_DNS = "127.0.0.1"  # remote engines: containers' upstream resolver is their own loopback (nothing there)


@dataclass(slots=True)
class State:
    ns: dict[str, str] = field(default_factory=dict)  # lans, peers, resolver -> namespace path
    uplinks: dict[tuple[str, str], str] = field(default_factory=dict)  # (node, lan) -> ifname in the node
    networks: dict[str, str] = field(default_factory=dict)  # scenario network -> docker network name
    bridges: dict[tuple[str, str], str] = field(default_factory=dict)  # (node, bridge network) -> Linux bridge
    containers: dict[str, str] = field(default_factory=dict)  # scenario container -> docker container id
    resolver: IPv4Address | None = None
    shims: list[tuple[str, IPv4Address]] = field(default_factory=list)
    #: private mode: every node is a namespace with a dockerd of its own (multi-node, overlay/swarm)
    private: bool = False
    node_ns: dict[str, str] = field(default_factory=dict)
    clients: dict[str, Any] = field(default_factory=dict)
    daemons: dict[str, daemons.PrivateDaemon] = field(default_factory=dict)
    #: remote mode (--node NAME=URL): engines netlab cannot enter; probes go through docker exec
    engines: dict[str, str] = field(default_factory=dict)  # node -> engine URL
    where: dict[str, Shell] = field(default_factory=dict)  # endpoint -> container its probes run in
    hostprobes: dict[str, str] = field(default_factory=dict)  # node -> id of its network_mode=host container
    user_rules: dict[str, int] = field(default_factory=dict)  # node -> DOCKER-USER rules this run inserted there


def state(dep: Deployment) -> State:
    st = dep.state["docker"]
    assert isinstance(st, State)
    return st


def labels(run: str, scenario: str, role: str) -> dict[str, str]:
    return {naming.LABEL_RUN: run, "netlab.scenario": scenario, "netlab.role": role}


def docker_network(st: State, network: str) -> str:
    """The Docker name of a scenario network (predefined ones, bridge, host and none, by their own names)."""
    return st.networks.get(network, network)


def record(dep: Deployment, kind: str, name: str, node: str) -> None:
    """Journal a Docker object before it is created; on a remote engine with that engine's URL."""
    engine = state(dep).engines.get(node)
    if engine:
        dep.journal.record(kind, name, engine=engine)
    else:
        dep.journal.record(kind, name)

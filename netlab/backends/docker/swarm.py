"""Private mode: a dockerd per node, each inside the node's namespace (netlab/backends/docker/daemons.py),
for scenarios with several nodes or overlay networks; with overlays the daemons form a real swarm, the
first node its manager, over the first lan."""

from __future__ import annotations

from typing import Any

from netlab import faults
from netlab.backends.base import Deployment
from netlab.backends.docker import daemons
from netlab.backends.docker.state import state
from netlab.model.topology import Driver
from netlab.waiting import wait_until

SWARM_TIMEOUT_S = 60.0


def start(dep: Deployment, daemon_timeout: float) -> None:
    """A dockerd per node inside the node's namespace; a swarm of them when overlays are used."""
    t, st = dep.topology, state(dep)
    for i, n in enumerate(t.nodes):
        faults.point("docker.daemon")
        flags = t.daemon_flags()  # the scenario's own (Scenario.daemon)
        d = daemons.start(dep.run, n.name, i, st.node_ns[n.name], st.resolver, dep.journal, daemon_timeout, flags)
        st.daemons[n.name] = d
        st.clients[n.name] = d.client
    if not any(net.driver == Driver.OVERLAY for net in t.networks):
        return
    manager = t.nodes[0].name
    underlay = t.lans[0].name
    mgr_ip = t.uplink(manager, underlay)
    assert mgr_ip is not None
    _, pool = daemons.addressing(dep.run, len(t.nodes))
    faults.point("docker.swarm.init")
    st.clients[manager].swarm.init(
        advertise_addr=str(mgr_ip.address),
        listen_addr=f"{mgr_ip.address}:2377",
        default_addr_pool=[pool],
        subnet_size=24,
    )
    token = st.clients[manager].swarm.attrs["JoinTokens"]["Worker"]
    for n in t.nodes[1:]:
        up = t.uplink(n.name, underlay)
        assert up is not None
        faults.point("docker.swarm.join")
        st.clients[n.name].swarm.join(
            remote_addrs=[f"{mgr_ip.address}:2377"],
            join_token=token,
            listen_addr=f"{up.address}:2377",
            advertise_addr=str(up.address),
        )
    wait_until(
        lambda: _ready_nodes(st.clients[manager]) >= len(t.nodes),
        SWARM_TIMEOUT_S,
        f"all {len(t.nodes)} swarm nodes ready",
    )


def _ready_nodes(client: Any) -> int:
    return sum(1 for n in client.nodes.list() if n.attrs.get("Status", {}).get("State") == "ready")

"""`--backend podman`: the docker backend on Podman's Docker-compatible service, one per node in the node's own
namespace (netlab/backends/docker/podman.py starts it), so that a scenario runs on Podman through the same Docker
API calls it runs on Docker with."""

from __future__ import annotations

from typing import Any

from netlab import faults, nsthread, safety
from netlab.backends.base import NO_HOOKS, Deployment, Hooks
from netlab.backends.docker import podman
from netlab.backends.docker.backend import DockerBackend
from netlab.backends.docker.state import state
from netlab.backends.journal import Journal
from netlab.backends.netns.links import netlink_in
from netlab.errors import EnvironmentProblem, UsageError
from netlab.model.topology import Container, Driver, Network, Topology

IPV6_LINKS = {"net.ipv6.conf.default.disable_ipv6": "0"}
#: Docker's default network `bridge` on Podman: its default network and that network's bridge (CNI backend)
DEFAULT_NETWORK, DEFAULT_BRIDGE = "podman", "cni-podman0"


class PodmanBackend(DockerBackend):
    name = "podman"

    def check(self, topology: Topology | None) -> None:
        if self.nodes:
            raise UsageError("--node names Docker engines; --backend podman starts Podman's service on this machine")
        safety.require_privileges("the podman backend")
        missing = podman.missing_tools()
        if missing:
            raise EnvironmentProblem(f"--backend podman needs {', '.join(missing)}: {podman.PACKAGES}")
        self._check_parent()
        if topology is None:
            return
        why = podman.refusal(topology)
        if why:
            raise EnvironmentProblem(f"scenario {topology.name!r} cannot run on Podman: {why}")
        self._check_machine(topology)

    def version(self) -> str:
        return podman.version()

    def _private(self, t: Topology) -> bool:
        return True  # every node gets a Podman service of the run's own: netlab never uses the machine's

    def _engine_facts(self, dep: Deployment) -> None:
        dep.facts["docker"] = ""
        dep.facts["engine_kind"] = "podman"  # no Docker Engine: a scenario's Docker-version expectations don't apply
        dep.facts["podman"] = self.version()
        dep.facts["engine"] = f"Podman {dep.facts['podman']} (its Docker-compatible API, CNI networks)"

    def _start_daemons(self, dep: Deployment) -> None:
        t, st = dep.topology, state(dep)
        # Docker's default network numbered as the scenario numbers it (netlab's emulation of docker0 does the same)
        default = next((net.subnet for net in t.networks if net.name == "bridge" and net.predefined), None)
        for i, n in enumerate(t.nodes):
            if t.dual_stack:  # netlab makes namespaces with IPv6 off; the CNI plugins' bridges need it on (dockerd's
                nsthread.write_sysctls(st.node_ns[n.name], IPV6_LINKS)  # turns it on per bridge itself)
            faults.point("podman.service")
            d = podman.start(
                dep.run, n.name, i, st.node_ns[n.name], st.resolver, dep.journal, self.daemon_timeout, default
            )
            st.daemons[n.name] = d
            st.clients[n.name] = d.client
            st.bridges[(n.name, "bridge")] = DEFAULT_BRIDGE
        st.networks["bridge"] = DEFAULT_NETWORK

    def _daemon_facts(self, dep: Deployment) -> None:
        return  # dockerd's command line and daemon.json say nothing about Podman

    def _host_config(self, dep: Deployment, c: Container) -> dict[str, Any]:
        from netlab.backends import cgroups

        d = state(dep).daemons[c.node]
        assert d.proc is not None
        return {"ulimits": podman.limits(d.proc.pid), "cgroup_parent": cgroups.container_parent(dep.run, c.node)}

    def _networking_config(self, api: Any, net: Network, name: str, endpoint: Any) -> Any:
        if net.driver in (Driver.HOST, Driver.NONE):
            return None  # Podman refuses an endpoint on them ("only be used with Bridge mode networking")
        return super()._networking_config(api, net, name, endpoint)

    def deploy(self, topology: Topology, run: str, journal: Journal, hooks: Hooks = NO_HOOKS) -> Deployment:
        dep = super().deploy(topology, run, journal, hooks)
        _no_idle_default_bridge(dep)
        return dep

    def apply(self, dep: Deployment, stage_index: int) -> None:
        super().apply(dep, stage_index)
        _no_idle_default_bridge(dep)

    def _network_options(self, net: Network, options: dict[str, str]) -> dict[str, str]:
        out = {k: v for k, v in options.items() if k not in podman.MODES}
        for key in podman.MODES:  # Docker's macvlan_mode and ipvlan_mode are Podman's (and CNI's) `mode`
            if key in options:
                out["mode"] = options[key]
        if net.driver == Driver.BRIDGE and net.bridge_name and "com.docker.network.bridge.name" not in out:
            out["com.docker.network.bridge.name"] = net.bridge_name  # the name Docker's would have: br-<id>
        return out


def _no_idle_default_bridge(dep: Deployment) -> None:
    """Podman's CNI plugins make a network's bridge when a container first joins it (Docker makes it with the
    network, docker0 with the daemon): no capture on one that is not there yet."""
    kept = []
    for p in dep.capture_points:
        if p.role == "bridge":
            with netlink_in(p.netns) as nl:
                if not nl.exists(p.ifname):
                    continue
        kept.append(p)
    dep.capture_points = kept

"""A scenario's network as a CNI network configuration list (`.conflist`): the reference plugins a runtime
would chain for it, with the scenario's own subnet and gateway.

  bridge   `bridge` (isGateway: the gateway address on the Linux bridge, ip_forward on; ipMasq unless the
           network turns masquerading off; hairpinMode, so a container reaches itself through a published port),
           then `portmap` (its `portMappings` capability: what `publish` becomes), then `firewall` (iptables; ingress
           policy open, its default: it accepts each container's traffic in FORWARD, which matters on a host whose
           FORWARD policy is DROP, and isolates nothing: Podman asks it for `same-bridge`, Kubernetes for nothing).
  macvlan  `macvlan` on the parent device the scenario names, in its mode (bridge by default).
  ipvlan   `ipvlan` on the parent device, in its mode (l2 by default, l3, l3s). In L3 mode the container's
           default route still names the range's gateway (host-local always has one) where Docker's is
           `default dev eth0`: an L3 child has no ARP, so the next hop is never resolved and the packet takes the
           same way; the routes in the evidence show the difference.

IPAM is `host-local` with the network's subnets and gateways (the further IPv4 subnets of `--subnet A --subnet B`
as further ranges of the same range set, so a container gets one address, from the range holding the one asked
for; the IPv6 subnet as a second range set, dual stack), its leases kept
in the run's own directory (`dataDir`), each container asking for the addresses the scenario gives it (the `ips`
capability); a container's default route goes through the gateway of the network Docker would take it from
(`default_route`).

What Docker adds and CNI's reference plugins do not (isolation between networks, an embedded DNS, internal
networks) is left out on purpose: measuring that difference is the point of running both.
"""

from __future__ import annotations

from typing import Any

from netlab.backends.cni.plugins import CNI_VERSION
from netlab.errors import UsageError
from netlab.model.topology import Driver, Network

MASQUERADE = "com.docker.network.bridge.enable_ip_masquerade"
#: the plugin types each driver's list uses (checked for before anything is created)
PLUGINS = {
    Driver.BRIDGE: ("bridge", "portmap", "firewall", "host-local"),
    Driver.MACVLAN: ("macvlan", "host-local"),
    Driver.IPVLAN: ("ipvlan", "host-local"),
}


def expressible(net: Network) -> str:
    """Why CNI's reference plugins cannot build this network as netlab maps it ('' when they can)."""
    if net.driver not in PLUGINS:
        return (
            f"the {net.driver.value} driver has no mapping to CNI plugins in netlab yet (bridge, macvlan and ipvlan do)"
        )
    if net.subnet is None or net.gateway is None:
        return "it has no IPv4 subnet and gateway (host-local needs both)"
    if net.internal:
        return "it is internal (no CNI reference plugin has Docker's internal networks)"
    if net.mode is not None and not net.parent:
        kind = net.driver.value
        return f"it is a {kind} network without a parent (the {kind} plugin needs a master device)"
    return ""


def _ipam(net: Network, data_dir: str, default_route: bool) -> dict[str, Any]:
    ranges = [[{"subnet": str(s), "gateway": str(net.gateway_of(s))} for s in net.subnets]]
    if net.subnet6 is not None:  # dual stack: a second range set, the container gets an address from each
        ranges.append([{"subnet": str(net.subnet6), "gateway": str(net.gateway6)}])
    ipam: dict[str, Any] = {"type": "host-local", "ranges": ranges, "dataDir": data_dir}
    if default_route:  # no gw: through the range's gateway
        ipam["routes"] = [{"dst": "0.0.0.0/0"}] + ([{"dst": "::/0"}] if net.subnet6 is not None else [])
    return ipam


def build(net: Network, master: str | None, data_dir: str, default_route: bool = True) -> dict[str, Any]:
    """The configuration list for one network on one node. `master`: the macvlan parent's device name on that
    node; `data_dir`: where host-local keeps its leases (inside the run's directory); `default_route`: the
    container's default route goes through this network's gateway (Docker's gateway endpoint: one per
    container; a second default route would make the plugin fail)."""
    why = expressible(net)
    if why:
        raise UsageError(f"network {net.name!r} cannot run on the cni backend: {why}")
    if net.driver == Driver.BRIDGE:
        assert net.bridge_name is not None
        first: dict[str, Any] = {
            "type": "bridge",
            "bridge": net.bridge_name,
            "isGateway": True,
            "ipMasq": net.option(MASQUERADE, "true") == "true",
            "hairpinMode": True,
            "ipam": _ipam(net, data_dir, default_route),
            "capabilities": {"ips": True},
        }
        plugins = [
            first,
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
            {"type": "firewall", "backend": "iptables"},
        ]
    else:
        assert master is not None
        plugins = [
            {
                "type": net.driver.value,
                "master": master,
                "mode": net.mode,
                "ipam": _ipam(net, data_dir, default_route),
                "capabilities": {"ips": True},
            }
        ]
    return {"cniVersion": CNI_VERSION, "name": net.name, "plugins": plugins}

"""The lecture's comparison cards, statement by statement, and what measures each one.

Every statement of the Bridged, Host Mode, MacVLAN Bridge Mode L2 and IPVLAN L3 Mode cards, and the
Overlay driver's description, is a Claim. A claim names the measured properties of `netlab.compare`
that decide it and the value each must have; `verdict` says whether the measurement bears it out.
Some are decided by reachability, some by evidence only (iptables rules, MACs on the wire, NAT seen in
a capture). Where Docker's sources show the lecture is outdated (docs/drivers.md), `note` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netlab.i18n import N_


@dataclass(frozen=True, slots=True)
class Claim:
    id: str
    driver: str
    wording: str  # the lecture's words
    expects: dict[str, bool] = field(default_factory=dict)  # compare property id -> the value that bears it out
    note: str = ""
    #: the bundled scenario that measures it, where the driver's own (`netlab compare`'s) cannot
    scenario: str | None = None
    #: an English rendering, where the lecture's words are Russian (its driver list)
    english: str = ""


CLAIMS = [
    Claim(
        "bridge.broadcast-domain",
        "bridge",
        "Can only reach each other on the same broadcast domain.",
        {"same-network": True, "cross-network": False},
    ),
    Claim(
        "bridge.return-route",
        "bridge",
        "Unless NAT is disabled, not hosted on the parent interface network for return communications, "
        "so needs a host route to get back to container.",
        {"nat": True, "peer-to-container": False, "broadcast-domain": False},
        N_(
            "scenario bridge_nonat shows the other half: masquerade off, the peer sees the container's address "
            "and reaches it once it routes the subnet via the host"
        ),
    ),
    Claim(
        "bridge.host-access", "bridge", "Host system has network access to the container.", {"host-to-container": True}
    ),
    Claim("bridge.iptables", "bridge", "Uses IPTables.", {"iptables": True}),
    Claim(
        "bridge.microsegmentation",
        "bridge",
        "Allows microsegmentation.",
        {"cross-network": False},
        N_(
            "isolation between bridge networks; scenario bridge_icc shows icc=false separating containers of one "
            "network"
        ),
    ),
    Claim(
        "host.parent-interfaces",
        "host",
        "Can use parent network interfaces in the same way as parent.",
        {"container-to-lan": True, "peer-to-container": True, "nat": False},
    ),
    Claim("host.no-iptables", "host", "No automatic IPTables for container.", {"iptables": False}),
    Claim(
        "host.shared",
        "host",
        "Host and all containers share interface and associated addresses/ports.",
        {"own-mac": False, "broadcast-domain": True},
    ),
    Claim(
        "host.explicit-assignment",
        "host",
        "Explicit assignment required.",
        {"port-clash": True},
        N_(
            "scenario host: h2 cannot bind port 8081, which h1 holds, and answers on the 8082 assigned to it; h1's "
            "-p 9000:9000 is discarded, as Docker warns"
        ),
    ),
    Claim(
        "macvlan.independent",
        "macvlan",
        "Containers interact with the network as if they are independent systems.",
        {"own-mac": True, "peer-to-container": True, "broadcast-domain": True, "nat": False},
    ),
    Claim(
        "macvlan.host-no-access",
        "macvlan",
        "Host system does NOT have network access to the container via bridge, "
        "but may use alternative interface for connectivity.",
        {"host-to-container": False},
        N_("the alternative interface is the shim stage of scenario macvlan: a macvlan of the host's own"),
    ),
    Claim(
        "macvlan.no-iptables",
        "macvlan",
        "No IPTables.",
        {"iptables": False},
        N_(
            "in the host's namespace; inside each container Docker's embedded DNS still has its nat rules "
            "(evidence.container_firewall), as on every user-defined network"
        ),
    ),
    Claim(
        "macvlan.vlan",
        "macvlan",
        "этот драйвер дает контейнерам прямой доступ к интерфейсу и суб-интерфейсу (vlan) хоста. "
        "Также он разрешает транкинг.",
        {"vlan-trunk": True},
        N_(
            "the lecture's driver list (in Russian); scenario macvlan_vlan: macvlan networks on parent=lan0.50 and "
            "lan0.60 of one trunk"
        ),
        scenario="macvlan_vlan",
        english="This driver gives containers direct access to the host's interface and sub-interface (vlan). "
        "It also allows trunking.",
    ),
    Claim(
        "ipvlan.cross-subnet",
        "ipvlan",
        "Containers can reach each other, even on different subnets as long as they are on the same parent interface.",
        {"same-network": True},
        N_("the scenario's network has two subnets on one parent; same-network covers c1 -> c3 across them"),
    ),
    Claim(
        "ipvlan.router",
        "ipvlan",
        "Host interface acts as a router but no route advertisement.",
        {"peer-to-container": False, "nat": False},
        N_("the lan learns no route: the scenario's route stage adds one on the peer, then it reaches them"),
    ),
    Claim(
        "ipvlan.iptables",
        "ipvlan",
        "IPTables use but experimental-ish.",
        {"iptables": True},
        N_(
            "outdated: Docker 20.10 writes no iptables rules for ipvlan networks, and the driver left "
            "experimental in 19.03 (docs/drivers.md, Ipvlan)"
        ),
    ),
    Claim(
        "overlay.multi-host",
        "overlay",
        "этот драйвер позволяет строить сети на нескольких хостах с Docker (обычно на Docker Swarm кластере). У "
        "контейнеров также есть свои адреса сети и подсети, и они могут напрямую обмениваться данными, даже если они "
        "располагаются физически на разных хостах",
        {"spans-hosts": True, "same-network": True},
        N_("the lecture's driver list (in Russian)"),
        english="This driver builds networks across several Docker hosts (usually a Docker Swarm cluster). "
        "Containers also have their own network addresses and subnets, and they can exchange data directly even "
        "when they are physically on different hosts.",
    ),
]


BY_ID = {c.id: c for c in CLAIMS}


def verdict(claim: Claim, measured: dict[str, bool | None]) -> bool | None:
    """True: every property the claim names was measured with the value it needs; False: one was measured
    otherwise; None: the claim names none, or one was not measurable."""
    if not claim.expects:
        return None
    values = [measured.get(p) for p in claim.expects]
    if any(v is None for v in values):
        return None
    return all(measured[p] == want for p, want in claim.expects.items())

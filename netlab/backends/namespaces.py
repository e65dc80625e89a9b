"""The run's network namespaces, created with the sysctls of their role.

A new namespace copies its IPv4 settings (forwarding among them) from the machine's root namespace
(`net.core.devconf_inherit_init_net` = 0, the default), so every namespace netlab creates gets the
values its role has on a real machine written explicitly: nothing the run shows may depend on
whether this machine happens to forward. All writes go through `nsthread.write_sysctls`, inside
the namespace they belong to.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from netlab import nsthread
from netlab.backends import naming
from netlab.backends.journal import Journal

#: netlab configures no IPv6: without it no link-local address sends router solicitations
NO_IPV6 = {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}


class Role(Enum):
    """What a namespace stands for, and so how it forwards."""

    #: a Docker host simulated by the netns backend: forwarding on, as dockerd turns it on at start
    #: (net.ipv4.ip_forward sets conf/all, conf/default and every existing interface)
    DOCKER_HOST = "docker-host"
    #: a node whose own dockerd runs inside it (docker backend, multi-node): off, as on a freshly
    #: booted machine, so dockerd turns it on itself (and, being the one that did, sets FORWARD to DROP)
    FRESH_HOST = "fresh-host"
    #: what Docker creates on a host (containers, overlay sandboxes): a namespace created on a Docker
    #: host copies the host's forwarding, which dockerd has turned on
    ON_DOCKER_HOST = "on-docker-host"
    #: a lan's switch, a peer, the run's resolver: ordinary machines that do not route
    PLAIN = "plain"


FORWARDING = {Role.DOCKER_HOST: "1", Role.FRESH_HOST: "0", Role.ON_DOCKER_HOST: "1", Role.PLAIN: "0"}


#: a Docker host of a dual-stack run has IPv6 as hosts have it: ::1 on its loopback (Docker binds a published port
#: on `::` only where it can listen on IPv6: libnetwork's IsV6Listenable); its other interfaces stay as they are
IPV6_HOST = {"net.ipv6.conf.lo.disable_ipv6": "0"}


def sysctls(role: Role) -> Mapping[str, str]:
    return {**NO_IPV6, "net.ipv4.ip_forward": FORWARDING[role]}


def create(journal: Journal, run: str, obj: str, role: Role) -> str:
    """Journal, create and configure the namespace nl<run>-<obj>; returns its path."""
    name = naming.ns_name(run, obj)
    journal.record("netns", name)
    path = nsthread.create(name)
    nsthread.write_sysctls(path, sysctls(role), optional=NO_IPV6)
    return path

"""Addresses: every subnet netlab chooses comes from the benchmarking range 198.18.0.0/15."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

POOL = IPv4Network("198.18.0.0/15")
#: netlab's IPv6 pool: one ULA /48 (RFC 4193; global id 6e:6574:6c, "netl" in ASCII). A network's /64 is the
#: one whose number is its IPv4 /24's place in POOL, so the v4 leases of concurrent runs cover their v6 subnets too
POOL6 = IPv6Network("fd6e:6574:6c00::/48")
PREFIX6 = 64
#: where the subnets netlab picks for scenarios come from (198.19.0.0/16 holds the docker backend's own blocks)
SCENARIO_BLOCK = IPv4Network("198.18.0.0/16")
DEFAULT_PREFIX = 24


def in_pool(subnet: IPv4Network) -> bool:
    return subnet.subnet_of(POOL)


def in_pool6(subnet: IPv6Network) -> bool:
    return subnet.subnet_of(POOL6)


def mirror6(subnet: IPv4Network | None, subnet6: IPv6Network | None, address: IPv4Address | None) -> IPv6Address | None:
    """The IPv6 address that goes with `address` of a dual-stack subnet: its IPv4 host part in `subnet6` (None when
    the subnet is IPv4-only or the address not in it)."""
    if subnet6 is None or address is None or subnet is None or address not in subnet:
        return None
    return subnet6.network_address + (int(address) - int(subnet.network_address))


def subnet6_for(subnet: IPv4Network) -> IPv6Network:
    """The /64 of POOL6 that goes with an IPv4 subnet of POOL (its first /24's place in the pool); subnets outside
    POOL (compose --keep-subnets) get theirs from POOL6's upper half, by their own number."""
    if subnet.subnet_of(POOL):
        index = (int(subnet.network_address) - int(POOL.network_address)) >> 8
    else:
        index = 0x8000 + ((int(subnet.network_address) >> 8) % 0x8000)
    return IPv6Network((int(POOL6.network_address) + (index << (128 - PREFIX6)), PREFIX6))


class SubnetAllocator:
    """Hands out /24s from the pool, skipping every subnet already taken.

    `offset` lets concurrent runs start at different places of the pool; allocation wraps around within
    198.18.0.0/16 (the docker backend numbers its daemons from 198.19.0.0/16).
    """

    def __init__(self, taken: Iterable[IPv4Network] = (), offset: int = 0) -> None:
        self._taken = list(taken)
        self._candidates = list(SCENARIO_BLOCK.subnets(new_prefix=DEFAULT_PREFIX))
        n = len(self._candidates)
        offset %= n
        self._candidates = self._candidates[offset:] + self._candidates[:offset]

    def take(self, subnet: IPv4Network) -> None:
        self._taken.append(subnet)

    def allocate(self) -> IPv4Network:
        for cand in self._candidates:
            if not any(cand.overlaps(t) for t in self._taken):
                self._taken.append(cand)
                return cand
        raise ValueError(f"address pool {POOL} is exhausted")


class HostAllocator:
    """Hands out host addresses of one subnet in Docker's IPAM order (lowest first)."""

    def __init__(self, subnet: IPv4Network, reserved: Iterable[IPv4Address] = ()) -> None:
        self.subnet = subnet
        self._used = set(reserved)
        self._hosts = subnet.hosts()

    def reserve(self, addr: IPv4Address) -> None:
        self._used.add(addr)

    def is_used(self, addr: IPv4Address) -> bool:
        return addr in self._used

    def next(self) -> IPv4Address:
        for addr in self._hosts:
            if addr not in self._used:
                self._used.add(addr)
                return addr
        raise ValueError(f"subnet {self.subnet} has no free address left")

    def next_from_top(self) -> IPv4Address:
        """Lan addresses of nodes and peers come from the top, so IPAM (bottom up) does not collide."""
        top = int(self.subnet.broadcast_address) - 1
        bottom = int(self.subnet.network_address) + 1
        for i in range(top, bottom - 1, -1):
            addr = IPv4Address(i)
            if addr not in self._used:
                self._used.add(addr)
                return addr
        raise ValueError(f"subnet {self.subnet} has no free address left")


def docker_network_id(scenario: str, network: str) -> str:
    """A stable 64-hex id standing in for Docker's network id (bridge names use its first 12)."""
    return hashlib.sha256(f"{scenario}/{network}".encode()).hexdigest()

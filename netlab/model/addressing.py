"""Addresses: every subnet netlab chooses comes from the benchmarking range 198.18.0.0/15."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network

POOL = IPv4Network("198.18.0.0/15")
#: where the subnets netlab picks for scenarios come from (198.19.0.0/16 holds the docker backend's own blocks)
SCENARIO_BLOCK = IPv4Network("198.18.0.0/16")
DEFAULT_PREFIX = 24


def in_pool(subnet: IPv4Network) -> bool:
    return subnet.subnet_of(POOL)


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

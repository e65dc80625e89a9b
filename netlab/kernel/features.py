"""Which link kinds this kernel can really create: found by trying, in a scratch namespace.

A scratch namespace belongs to one short-lived thread that unshares into it and never comes
back; when the thread ends the namespace and everything created in it are gone. Results are
cached per process.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Iterable

from netlab.errors import KernelFeatureMissing
from netlab.model.topology import Driver, Shim, Topology

KINDS = ("bridge", "veth", "macvlan", "ipvlan", "vxlan")

REMEDY = {
    "ipvlan": "this kernel has no ipvlan support (CONFIG_IPVLAN); rerun with --kernel uml to use "
    "user-mode Linux, whose kernel has it (apt-get install user-mode-linux kmod)",
    "macvlan": "this kernel has no macvlan support (CONFIG_MACVLAN); rerun with --kernel uml",
    "vxlan": "this kernel has no vxlan support (CONFIG_VXLAN), which overlay networks need; rerun with --kernel uml",
    "bridge": "this kernel has no Linux bridge support (CONFIG_BRIDGE)",
    "veth": "this kernel has no veth support (CONFIG_VETH)",
}


def _reason(e: Exception) -> str:
    args: tuple[object, ...] = tuple(e.args)
    if len(args) == 2 and isinstance(args[1], str):
        return args[1]
    return str(e) or type(e).__name__


def _try_kinds() -> dict[str, str]:
    """Create one link of each kind in a scratch namespace; '' for success, else the error."""
    result: dict[str, str] = {}

    def probe() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x40000000) != 0:  # CLONE_NEWNET, for this thread only
            for k in KINDS:
                result[k] = "cannot create a scratch namespace (not root?)"
            return
        from pyroute2 import IPRoute

        with IPRoute() as ipr:
            attempts: list[tuple[str, dict[str, object]]] = [
                ("bridge", {"ifname": "nlt-br", "kind": "bridge"}),
                ("veth", {"ifname": "nlt-v0", "kind": "veth", "peer": "nlt-v1"}),
            ]
            for kind, spec in attempts:
                try:
                    ipr.link("add", **spec)
                    result[kind] = ""
                except Exception as e:  # NetlinkError: EOPNOTSUPP and friends
                    result[kind] = _reason(e)
            parent = ipr.link_lookup(ifname="nlt-v0")
            for kind, spec in (
                ("macvlan", {"ifname": "nlt-mv", "kind": "macvlan", "macvlan_mode": 4}),
                ("ipvlan", {"ifname": "nlt-iv", "kind": "ipvlan", "ipvlan_mode": 1}),
            ):
                if not parent:
                    result[kind] = "no veth to use as parent"
                    continue
                try:
                    ipr.link("add", link=parent[0], **spec)
                    result[kind] = ""
                except Exception as e:
                    result[kind] = _reason(e)
            try:
                ipr.link("add", ifname="nlt-vx", kind="vxlan", vxlan_id=42, vxlan_port=4789)
                result["vxlan"] = ""
            except Exception as e:
                result["vxlan"] = _reason(e)

    t = threading.Thread(target=probe, name="netlab-kernel-probe")
    t.start()
    t.join(timeout=30)
    return result


@functools.cache
def link_kinds() -> dict[str, str]:
    return _try_kinds()


def link_kinds_needed(t: Topology) -> set[str]:
    kinds = {"bridge", "veth"}
    for node in t.nodes:
        for net in t.networks_on(node.name):
            if net.driver == Driver.MACVLAN:
                kinds.add("macvlan")
            elif net.driver == Driver.IPVLAN:
                kinds.add("ipvlan")
            elif net.driver == Driver.OVERLAY:
                kinds.add("vxlan")
    for stage in t.stages:
        if any(isinstance(a, Shim) for a in stage.actions):
            kinds.add("macvlan")
    return kinds


def require(kinds: Iterable[str]) -> None:
    have = link_kinds()
    for kind in sorted(kinds):
        err = have.get(kind, "not probed")
        if err:
            raise KernelFeatureMissing(
                f"{kind}: {REMEDY.get(kind, 'not supported by this kernel')} [kernel said: {err}]"
            )

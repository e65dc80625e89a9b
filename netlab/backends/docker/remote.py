"""Remote mode: Docker engines netlab cannot enter (`--node NAME=URL`, e.g. ssh://user@host). What a
scenario may use there is checked before anything is created; each node gets a container sharing the
remote host's namespace; every container is probed through a Shell (model/probing.py) that runs
`sh -c SCRIPT` in it with `docker exec` (the scripts are the probe engine's: netlab/probes/shells.py)."""

from __future__ import annotations

import contextlib
from typing import Any

from netlab.backends import naming
from netlab.backends.base import Deployment
from netlab.backends.docker.engine import Engines
from netlab.backends.docker.state import REMOTE_DNS, labels, record, state
from netlab.errors import EnvironmentProblem, UsageError
from netlab.model.probing import Shell
from netlab.model.topology import Driver, Route, Shim, Topology


def shell(api: Any, container: str, shares_host: bool = False) -> Shell:
    """`docker exec CONTAINER sh -c TEXT` through the engine's low-level `api` client."""
    return Shell(container, lambda text: _exec(api, container, text), shares_host=shares_host)


def _exec(api: Any, container: str, text: str) -> str:
    """Run `sh -c text` in the container; its stdout. The stream is read off the raw socket: over an
    ssh:// engine the SDK's own read ends in a broken pipe once `docker system dial-stdio` has quit."""
    from docker.utils import socket as frames

    exec_id = api.exec_create(container, ["sh", "-c", text])["Id"]
    sock = api.exec_start(exec_id, socket=True)
    try:
        out = b"".join(data for stream, data in frames.frames_iter(sock, tty=False) if stream == frames.STDOUT)
    finally:
        with contextlib.suppress(OSError):
            sock.close()
    return out.decode(errors="replace")


def check(engines: Engines, nodes: dict[str, str], parent: str | None, t: Topology | None) -> None:
    """What a scenario may use on engines netlab cannot enter; every problem before anything is created."""
    if t is not None:
        names = [n.name for n in t.nodes]
        unknown = sorted(set(nodes) - set(names))
        if unknown:
            raise UsageError(f"--node {unknown[0]}: scenario {t.name!r} has no such node (nodes: {', '.join(names)})")
        missing = [n for n in names if n not in nodes]
        if missing:
            raise UsageError(f"--node: every node needs an engine; missing {', '.join(f'{n}=URL' for n in missing)}")
        local = [*(lan.name for lan in t.wires()), *(p.name for p in t.peers)]
        if local:
            raise UsageError(
                f"scenario {t.name!r} has lans/peers ({', '.join(local)}): they are namespaces on this machine "
                "and cannot be wired to a remote engine; --node runs scenarios without lans and peers"
            )
        for net in t.networks:
            if net.driver in (Driver.MACVLAN, Driver.IPVLAN) and not parent:
                raise UsageError(
                    f"network {net.name!r} ({net.driver}) needs a parent NIC on the remote host: name it with "
                    "--parent IFACE (netlab never picks a real NIC itself)"
                )
        for stage in t.stages:
            for action in stage.actions:
                if isinstance(action, (Route, Shim)):
                    raise UsageError(
                        f"stage {stage.name!r}: {type(action).__name__.lower()} would change a remote host's own "
                        "routes or links, which netlab never does; --node runs connect/disconnect stages only"
                    )
    clients = {node: engines.engine(url) for node, url in sorted(nodes.items())}
    if t is not None and any(net.driver == Driver.OVERLAY for net in t.networks):
        manager = clients[t.nodes[0].name].info().get("Swarm") or {}
        if manager.get("LocalNodeState") != "active" or not manager.get("ControlAvailable"):
            raise EnvironmentProblem(
                f"overlay on remote engines: the engine of {t.nodes[0].name!r} must be a manager of an active "
                "swarm that every other node's engine has joined; netlab never changes the swarm state of "
                "engines it did not start"
            )
        members = {n.attrs.get("ID") for n in clients[t.nodes[0].name].nodes.list()}
        for node, c in clients.items():
            if (c.info().get("Swarm") or {}).get("NodeID") not in members:
                raise EnvironmentProblem(f"overlay on remote engines: the engine of {node!r} is not in the swarm")


def hostprobe(dep: Deployment, node: str, image: str) -> None:
    """Remote mode: a container sharing the remote host's namespace, from which the node's probes run."""
    st = state(dep)
    api = st.clients[node].api
    name = naming.ns_name(dep.run, naming.hostprobe(node))
    record(dep, "docker-container", name, node)
    created = api.create_container(
        image,
        name=name,
        labels=labels(dep.run, dep.topology.name, "hostprobe"),
        host_config=api.create_host_config(network_mode="host", dns=[REMOTE_DNS]),
    )
    api.start(created["Id"])
    st.hostprobes[node] = created["Id"]

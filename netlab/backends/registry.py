"""Backends by name, imported lazily so optional dependencies stay optional."""

from __future__ import annotations

import importlib
from typing import Any

from netlab.backends.base import Backend
from netlab.errors import UsageError

BACKENDS = {
    "netns": "netlab.backends.netns.backend:NetnsBackend",
    "docker": "netlab.backends.docker.backend:DockerBackend",
    "cni": "netlab.backends.cni.backend:CniBackend",
    "podman": "netlab.backends.docker.podman_backend:PodmanBackend",
    "fake": "netlab.backends.fake:FakeBackend",
}


def get(name: str, **options: object) -> Backend:
    try:
        target = BACKENDS[name]
    except KeyError:
        raise UsageError(
            f"backend {name!r} is not supported; supported backends are {', '.join(sorted(BACKENDS))}"
        ) from None
    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    backend: Backend = cls(**options)
    return backend


def resolve(name: str, daemon_timeout: float | None = None) -> str:
    """`auto` is docker when a daemon answers (within `daemon_timeout` seconds a request, as --daemon-timeout
    says; None: the docker backend's default), else netns."""
    if name != "auto":
        return name
    if "docker" in BACKENDS:
        probe = get("docker", **({"daemon_timeout": daemon_timeout} if daemon_timeout is not None else {}))
        try:
            probe.check(None)
            return "docker"
        except Exception:
            pass
    return "netns"


def local_docker(timeout: float = 2.0) -> Any:
    """The Docker daemon answering on this machine's default socket (backends/docker/local.py): its version,
    firewall backend, FORWARD policy and userland proxy, or None."""
    return importlib.import_module("netlab.backends.docker.local").answering(timeout)


def scanning(project: str | None, containers: list[str]) -> tuple[Any, Backend]:
    """Containers already running (a compose project by its label, or by name) as a topology, and the backend that
    measures them without changing them (backends/docker/scan.py)."""
    found, backend = importlib.import_module("netlab.backends.docker.scan").scan(project, containers)
    return found.topology, backend


def engine_pieces() -> list[tuple[str, bool, str]]:
    """What the cni and podman backends need of this machine, as `netlab doctor` lists it: (name, present, detail)."""
    from netlab.errors import EnvironmentProblem

    conflist = importlib.import_module("netlab.backends.cni.conflist")
    plugins = importlib.import_module("netlab.backends.cni.plugins")
    podman = importlib.import_module("netlab.backends.docker.podman")
    types = sorted({t for chain in conflist.PLUGINS.values() for t in chain})
    out = []
    try:
        out.append(("CNI plugins", True, f"{', '.join(types)} in {plugins.plugin_dir(types)} (--backend cni)"))
    except EnvironmentProblem as e:
        out.append(("CNI plugins", False, str(e)))
    try:
        out.append(("podman", True, f"Podman {podman.version()} (--backend podman)"))
    except EnvironmentProblem as e:
        out.append(("podman", False, str(e)))
    return out

"""Backends by name, imported lazily so optional dependencies stay optional."""

from __future__ import annotations

import importlib

from netlab.backends.base import Backend
from netlab.errors import UsageError

BACKENDS = {
    "netns": "netlab.backends.netns.backend:NetnsBackend",
    "docker": "netlab.backends.docker.backend:DockerBackend",
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


def resolve(name: str) -> str:
    """`auto` is docker when a daemon answers, else netns."""
    if name != "auto":
        return name
    if "docker" in BACKENDS:
        probe = get("docker")
        try:
            probe.check(None)
            return "docker"
        except Exception:
            pass
    return "netns"

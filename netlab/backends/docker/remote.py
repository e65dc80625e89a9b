"""Containers on Docker engines netlab cannot enter (`--node NAME=URL`, e.g. ssh://user@host): each is
probed through a Shell (model/probing.py) that runs `sh -c SCRIPT` in it with `docker exec`; the
scripts themselves are the probe engine's (netlab/probes/shells.py)."""

from __future__ import annotations

import contextlib
from typing import Any

from netlab.model.probing import Shell


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

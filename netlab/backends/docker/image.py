"""The probe image `netlab/probe`, built without a registry from a static busybox on this machine.

Containers only sleep: probes run from the netlab process inside each container's network
namespace, so the image needs nothing but something to keep a process alive.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from typing import Any

from netlab.errors import EnvironmentProblem

IMAGE = "netlab/probe:latest"
LABEL = "netlab.probe"
SLEEP = ["/bin/busybox", "sleep", "2147483647"]
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")


def find_busybox() -> str:
    for path in BUSYBOX_CANDIDATES:
        if os.path.isfile(path) and _is_static(path):
            return path
    found = shutil.which("busybox")
    if found and _is_static(found):
        return found
    raise EnvironmentProblem(
        "no static busybox found to build the probe image from: apt-get install busybox-static "
        "(or pass --image with an image of your own that has /bin/busybox or sleep)"
    )


def _is_static(path: str) -> bool:
    """A static ELF has no PT_INTERP program header."""
    with open(path, "rb") as f:
        head = f.read(4096)
    return head[:4] == b"\x7fELF" and b"/lib64/ld-linux" not in head and b"/lib/ld-" not in head


def rootfs_tar(busybox: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("bin", "etc", "tmp", "proc", "sys", "dev"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for applet in ("sh", "sleep", "ping", "nc", "nslookup"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
    return buf.getvalue()


def ensure(client: Any, image: str | None = None) -> str:
    """The image to run: `image` if given (it must exist), else netlab/probe, imported when absent."""
    import docker.errors

    if image:
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound as e:
            raise EnvironmentProblem(f"--image {image}: no such image on the daemon (no registry is used)") from e
        return image
    try:
        client.images.get(IMAGE)
        return IMAGE
    except docker.errors.ImageNotFound:
        pass
    data = rootfs_tar(find_busybox())
    repo, tag = IMAGE.split(":")
    client.api.import_image_from_data(
        data,
        repository=repo,
        tag=tag,
        changes=[f"LABEL {LABEL}=1", f"CMD {SLEEP!r}".replace("'", '"')],
    )
    client.images.get(IMAGE)
    return IMAGE

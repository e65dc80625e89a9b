"""netlab image: build (when absent) and show the probe image of the docker backend."""

from __future__ import annotations

from typing import Annotated

import typer


def image(
    name: Annotated[str | None, typer.Option("--image", help="check this image instead of netlab/probe")] = None,
) -> None:
    """Make sure the probe image exists on the local daemon (imported from a static busybox, no registry)."""
    from netlab.backends.docker import image as probe_image  # imported here: `netlab run` does not need it
    from netlab.backends.docker.backend import DockerBackend

    client = DockerBackend().client()
    tag = probe_image.ensure(client, name)
    img = client.images.get(tag)
    typer.echo(f"{tag}  {img.short_id}  {img.attrs.get('Size', 0) // 1024} KiB")

"""netlab ps / shell / exec / capture: look at and step into the runs left up with `netlab run --keep`."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Annotated

import typer

from netlab import kept, safety
from netlab.errors import EnvironmentProblem


def ps() -> None:
    """List the runs left up with `netlab run --keep` (until `netlab clean`)."""
    found = kept.runs()
    if not found:
        typer.echo("no kept runs (`netlab run SCENARIO --keep` leaves one up)")
        return
    rows = [("RUN", "SCENARIO", "BACKEND", "STAGE", "AGE", "ENDPOINTS")]
    rows += [(k.run, k.scenario, k.backend, str(k.stage), kept.age(k.age_s), " ".join(k.endpoints)) for k in found]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        typer.echo("  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]]))


def shell(
    run: Annotated[str, typer.Argument(help="the run id (`netlab ps`)")],
    endpoint: Annotated[str, typer.Argument(help="an endpoint of the run: a container, a node, a peer")],
) -> None:
    """Open a shell in ENDPOINT's network namespace of a kept run, with this machine's tools (ip, ping, ss)."""
    safety.require_privileges("netlab shell")
    k = kept.find(run)
    path = kept.namespace(k, endpoint)
    sh = os.environ.get("SHELL") or shutil.which("bash") or "/bin/sh"
    env = dict(os.environ, PS1=f"[netlab {run} {endpoint}] \\w# ", NETLAB_RUN=run, NETLAB_ENDPOINT=endpoint)
    typer.echo(f"{endpoint} of run {run} ({k.scenario}): its network namespace, this machine's tools; exit to leave")
    _become(kept.enter(path, [sh, "-i"]), env)


def exec_(
    run: Annotated[str, typer.Argument(help="the run id (`netlab ps`)")],
    endpoint: Annotated[str, typer.Argument(help="an endpoint of the run")],
    command: Annotated[list[str], typer.Argument(help="the command and its arguments, after --")],
) -> None:
    """Run one command in ENDPOINT's network namespace of a kept run: `netlab exec RUN web -- ip route`."""
    safety.require_privileges("netlab exec")
    k = kept.find(run)
    path = kept.namespace(k, endpoint)
    _become(kept.enter(path, command))


def capture(
    run: Annotated[str, typer.Argument(help="the run id (`netlab ps`)")],
    point: Annotated[str, typer.Argument(help="a capture point of the run (lan0, host-front...)")],
    count: Annotated[int | None, typer.Option("--count", "-c", help="stop after this many packets")] = None,
) -> None:
    """Stream a live decode (tcpdump) of a capture point of a kept run: what crosses that lan or bridge now."""
    safety.require_privileges("netlab capture")
    k = kept.find(run)
    path, ifname = kept.capture_point(k, point)
    tcpdump = shutil.which("tcpdump")
    if tcpdump is None:
        raise EnvironmentProblem("tcpdump not found: install it (apt-get install tcpdump)")
    argv = [tcpdump, "-l", "-n", "-e", "-i", ifname, *(["-c", str(count)] if count is not None else [])]
    _become(kept.enter(path, argv))


def _become(argv: list[str], env: dict[str, str] | None = None) -> None:
    """Replace netlab with the command: its exit code is the command's, a signal to it reaches the command, and
    nothing of it (a tcpdump, a shell) outlives netlab."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(argv[0], argv, env if env is not None else dict(os.environ))
    except FileNotFoundError as e:
        raise EnvironmentProblem(f"{argv[0]}: not found on this machine") from e

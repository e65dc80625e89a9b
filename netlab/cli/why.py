"""netlab why RESULT.json SRC DST [PROBE]: explain one cell of a run kept up with `--keep`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from netlab.cli.run import Width
from netlab.errors import UsageError
from netlab.report import fit


def why(
    result: Annotated[str, typer.Argument(help="the JSON result of a run kept up (netlab run X --keep --json FILE)")],
    src: Annotated[str, typer.Argument(help="source endpoint")],
    dst: Annotated[str, typer.Argument(help="destination endpoint")],
    probe: Annotated[str, typer.Argument(help="icmp (default), tcp:PORT, udp:PORT")] = "icmp",
    width: Width = None,
) -> None:
    """Re-send one probe of a kept run with nftables tracing and say what ended it (or that it got through)."""
    from netlab import safety
    from netlab.evidence import why as why_evidence
    from netlab.model.expectations import parse_probe
    from netlab.model.probing import Task
    from netlab.model.results import Observation, Outcome
    from netlab.options import require_nft
    from netlab.probes import matrix

    try:
        with open(result) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise UsageError(f"{result}: not a netlab JSON result ({e})") from e
    if not isinstance(data, dict) or data.get("schema") != 1 or "run" not in data:
        raise UsageError(f"{result}: not a netlab JSON result (schema 1)")
    try:
        spec = parse_probe(probe)
    except ValueError as e:
        raise UsageError(f"probe {probe!r}: {e}") from e
    if spec.kind.value == "dns":
        raise UsageError("dns probes need netlab's resolvers, which run only during a run: use `netlab run --why`")
    safety.require_privileges("netlab why")
    require_nft("netlab why")
    dep, root = why_evidence.kept_deployment(data)
    for name in (src, dst):
        if name not in dep.endpoints:
            raise UsageError(f"{name!r} is not an endpoint of run {dep.run}; endpoints: {', '.join(dep.endpoints)}")
    address = matrix.pick_address(dep.endpoints[src], dep.endpoints[dst], v6=spec.v6)
    if address is None:
        raise UsageError(f"{dst!r} has no {'IPv6 ' if spec.v6 else ''}address to send {probe} to")
    stage = dep.topology.stages[dep.stage_index].name
    obs = Observation(stage, src, dst, address, spec, Outcome.UNREACHABLE)
    tasks = [Task(src, dst, spec, address)]
    prober = matrix.LocalProber()
    with prober.listening(dep, tasks):
        answered = prober.run(dep, tasks, 1.0)[0]
    if answered.outcome is not Outcome.UNREACHABLE:
        typer.echo(
            f"{src} -> {dst} {probe} ({address}): {answered.outcome} now ({answered.detail}); nothing to explain"
        )
        return
    explained = why_evidence.explain(dep, [obs], root=root)[0]
    typer.echo(f"{src} -> {dst} {probe} ({address}), stage {stage}: unreachable")
    typer.echo(fit.fit(f"  why: {explained.why}", fit.width(width)))

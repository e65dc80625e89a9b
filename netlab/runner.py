"""Load → check → deploy → (apply stage → measure)* → compare → destroy, always destroying.

`run_scenario` is the public entry point for scripts that are not the CLI:

    from netlab.runner import run_scenario
    result = run_scenario("bridge", backend="netns")
    assert result.verdict.ok, result.verdict.summary()
"""

from __future__ import annotations

import os
import platform
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from types import FrameType
from typing import Any

from netlab import faults, lease, loader
from netlab.backends import journal as journals
from netlab.backends import naming, registry
from netlab.backends.base import Backend, Deployment, Endpoint, Hooks
from netlab.backends.journal import Journal
from netlab.errors import Interrupted as Interrupted  # re-exported: where SIGTERM is turned into it
from netlab.errors import NetlabError, ScenarioError, UsageError
from netlab.evidence import capture as capture_evidence
from netlab.evidence import cells as cell_evidence
from netlab.evidence import claims as claim_evidence
from netlab.evidence import firewall as firewall_evidence
from netlab.evidence import hostfacts
from netlab.evidence import routes as route_evidence
from netlab.kernel import hoststate
from netlab.model import Scenario
from netlab.model.probing import FromNamespaces, Probing, ThroughShells
from netlab.model.results import Observation
from netlab.model.topology import Stage, Topology
from netlab.options import UML_BACKENDS, UML_ENGINE, RunOptions
from netlab.options import Narrator as Narrator  # re-exported: report/step.py's narrator implements it
from netlab.probes import matrix, nftrace
from netlab.report import files, progress
from netlab.result import Result as Result  # re-exported: `from netlab.runner import Result` keeps working
from netlab.verdict import compare


def environment(backend: str) -> dict[str, Any]:
    return {
        "kernel": platform.release(),
        "kernel_runner": "host",
        "docker": None,
        "firewall": hoststate.firewall_flavour(),
        "backend": backend,
    }


@contextmanager
def _terminate_raises() -> Iterator[None]:
    """Turn SIGTERM into an exception (main thread only) so teardown runs."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextmanager
def _signals_blocked() -> Iterator[None]:
    """Teardown must not be cut short by a second Ctrl-C."""
    sigs = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextmanager
def deployed(
    backend: Backend,
    topology: Topology,
    run: str,
    timings: dict[str, float],
    keep: bool = False,
    host_changes: list[str] | None = None,
    narrator: Narrator | None = None,
) -> Iterator[Deployment]:
    """Setup and teardown as one context manager: errors, Ctrl-C and SIGTERM still tear down. `keep`: a
    deployment that ran to the end is left up (its journal too, so `netlab clean` removes it later).
    `host_changes` receives the root-namespace sysctls that differ afterwards (kernel/hoststate.py).
    `narrator` (--step) is told right before each object the backend creates."""
    sysctls_before = hoststate.root_sysctls()
    journal = Journal.open(run, backend.name, topology.name)
    dep: Deployment | None = None
    t0 = time.monotonic()
    finished = False
    try:
        with _terminate_raises():
            dep = backend.deploy(topology, run, journal, _hooks(narrator))
            timings["deploy_s"] = round(time.monotonic() - t0, 3)
            faults.point("runner.deployed")
            yield dep
            finished = True
    finally:
        if keep and finished:
            assert dep is not None
            _record_kept(backend, dep)
            timings["destroy_s"] = 0.0
        else:
            progress.phase("removing everything the run created")
            t1 = time.monotonic()
            with _signals_blocked():
                if dep is None:
                    dep = Deployment(run, backend.name, topology, journal)
                backend.destroy(dep)
                if _remove_trace_tables(journal):
                    journal.close()
            timings["destroy_s"] = round(time.monotonic() - t1, 3)
        if host_changes is not None:
            host_changes += hoststate.changes(sysctls_before, hoststate.root_sysctls())
        progress.clear()


def _remove_trace_tables(journal: Journal) -> bool:
    """`--why`'s trace table in the machine's own namespace is removed by the tracing itself; one it could not
    remove is removed here, while the journal still names it (`netlab clean` does the same for a killed run).
    False: that failed, so the journal must stay for `netlab clean`."""
    try:
        nftrace.remove_root_tables(journals.read(journal.path))
    except (OSError, ValueError, NetlabError):
        return False
    return True


def _hooks(narrator: Narrator | None) -> Hooks:
    """What the backend tells while it builds: progress on the terminal, each object to the narrator of
    `--step` right before it is created, and each node's firewall as its daemon has it before any network
    of the scenario exists (the baseline of the firewall evidence)."""

    def gate(kind: str, name: str) -> None:
        if narrator is not None:
            progress.clear()
            narrator.gate(kind, name)

    return Hooks(tick=progress.tick, gate=gate, read_firewall=firewall_evidence.save)


def _explain(
    be: Backend, dep: Deployment, observations: list[Observation], stage: Stage, probing: Probing
) -> list[Observation]:
    """`--why` (netlab/evidence/why.py); probes that do not run in namespaces netlab can enter
    (remote engines) say so in each cell instead."""
    from netlab.evidence import why as why_evidence

    root = be.trace_root(dep)
    if isinstance(probing, ThroughShells):
        note = "not explained: probes on remote engines run through docker exec, where netlab cannot trace"
        return [replace(o, why=note) if o.outcome.value == "unreachable" else o for o in observations]
    blocked = frozenset((e.src, e.dst, str(e.probe)) for e in stage.expectations if not e.reachable)
    how = probing if isinstance(probing, FromNamespaces) else None
    return why_evidence.explain(dep, observations, root=root, surprising=blocked, how=how)


def check_host_routes(topology: Topology) -> None:
    """Refuse subnets the host already routes (its own networks, a VPN, leftovers of a killed run): netlab's
    traffic must never be mistaken for, or shadow, the machine's. Checked before anything is created."""
    mine: list[tuple[str, Any]] = [(f"lan {x.name!r}", x.subnet) for x in topology.lans]
    for n in topology.networks:
        if not n.predefined:  # Docker's own (docker0, docker_gwbridge) are the daemon's business
            mine += [(f"network {n.name!r}", sub) for sub in n.subnets]
    # a subnet outside the pool (--keep-subnets) must not overlap even a wide route (a VPN's 10.0.0.0/8)
    host = hoststate.host_networks(min_prefix=1 if topology.own_subnets else 15)
    if topology.own_subnets:
        _check_kept_subnets(topology, mine)
    for what, subnet in mine:
        clash = next((text for net, text in host if subnet is not None and net.overlaps(subnet)), None)
        if clash is not None and topology.own_subnets:
            raise ScenarioError(
                (f"{topology.source}: " if topology.source else "")
                + f"{what}: subnet {subnet} overlaps the host's route {clash}; netlab uses your subnets as written "
                "only where no route of this machine overlaps them: drop --keep-subnets (netlab then moves them "
                "into its pool) or change the subnet"
            )
        if clash is not None:
            raise ScenarioError(
                (f"{topology.source}: " if topology.source else "")
                + f"{what}: subnet {subnet} overlaps the host's route {clash}; pick another subnet inside "
                "198.18.0.0/15 (if that route is a leftover of a killed netlab run, `netlab clean` removes it)"
            )


def _check_kept_subnets(topology: Topology, mine: list[tuple[str, Any]]) -> None:
    """Subnets kept as written are private ones holding none of the machine's DNS servers: a public range, or the
    one a resolver sits in, would draw the machine's own traffic for it into the run's bridges while it runs."""
    where = f"{topology.source}: " if topology.source else ""
    servers = hoststate.nameservers()
    for what, subnet in mine:
        if subnet is None:
            continue
        if not subnet.is_private:
            raise ScenarioError(
                f"{where}{what}: subnet {subnet} is not a private range; netlab keeps only private subnets as written "
                "(this machine's traffic for a public one would go into the run's bridges): drop --keep-subnets"
            )
        held = next((s for s in servers if s in subnet), None)
        if held is not None:
            raise ScenarioError(
                f"{where}{what}: subnet {subnet} holds this machine's DNS server {held} (/etc/resolv.conf): drop "
                "--keep-subnets (netlab then moves it into its pool) or change the subnet"
            )


def _record_kept(backend: Backend, dep: Deployment) -> None:
    """A deployment left up: its journal also says where each endpoint's namespace is, so that `netlab why`
    can probe it later (netlab/evidence/why.py: kept_deployment). The netlab process's own namespace (the
    Docker host's) is written as "root": its path is only valid in this process."""
    root = backend.trace_root(dep)
    dep.journal.record(
        "kept",
        dep.topology.name,
        source=os.path.abspath(dep.topology.source) if dep.topology.source else "",
        subnet_offset=dep.topology.subnet_offset,
        stage=dep.stage_index,
        endpoints={n: ("root" if ep.netns == root else ep.netns) for n, ep in dep.endpoints.items()},
        captures=[
            [c.name, "root" if c.netns == root else c.netns, c.role, c.node, c.ifname] for c in dep.capture_points
        ],
        # what answers a published port: where it lands and the emulated docker-proxy relays
        published=[[*key, *value] for key, value in dep.published.items()],
        proxies=[
            [w.netns, w.proto, w.port, w.bind, *w.upstream, w.v6only] for w in dep.proxies if w.upstream is not None
        ],
    )


StageHook = Callable[[Deployment, int, list[Observation]], None]


def run_topology(
    topology: Topology,
    backend: str | Backend = "netns",
    timeout: float = matrix.DEFAULT_TIMEOUT,
    on_stage: StageHook | None = None,
    pcap: str | None = None,
    decode: bool = True,
    keep: bool = False,
    narrator: Narrator | None = None,
    why: bool = False,
    decide: str = "signals",
) -> Result:
    """Deploy, measure every stage, collect its evidence, destroy (unless `keep`: then left up for
    inspection, removed later by `netlab clean`). `pcap`: a directory for one pcap per
    stage and capture point; `decode=False` leaves the captured frames raw in the evidence (user-mode
    Linux: the host decodes them)."""
    if isinstance(backend, str):
        name = registry.resolve(backend)
        be = registry.get(name)
    else:
        be, name = backend, backend.name
    be.check(topology)
    if be.uses_host_routes():
        check_host_routes(topology)
    if narrator is not None:
        narrator.before_deploy(topology)
    progress.phase(f"deploying {topology.name} on {name} ({len(topology.containers)} containers)")
    run = _fresh_run_id()
    timings: dict[str, float] = {"deploy_s": 0.0, "probe_s": 0.0, "evidence_s": 0.0, "destroy_s": 0.0}
    observations: list[Observation] = []
    endpoints: dict[str, Endpoint] = {}
    facts: dict[str, Any] = {}
    firewall: dict[str, Any] = {}
    container_firewall: dict[str, Any] = {}
    routes: dict[str, Any] = {}
    captures: list[dict[str, Any]] = []
    host_changes: list[str] = []
    trace_cost = nftrace.TraceCost()  # early decision's tracing, over every stage
    with (
        deployed(be, topology, run, timings, keep=keep, host_changes=host_changes, narrator=narrator) as dep,
        capture_evidence.Capture(dep.capture_points, everything=pcap is not None) as cap,
    ):
        seen = {node: text for node, (_, text) in dep.firewall_baseline.items()}
        seen_inside: dict[str, str] = {}  # container -> its namespace's rules (Docker creates it empty)
        for i, stage in enumerate(topology.stages):
            if i > 0:
                faults.point("runner.stage")
                if narrator is not None:
                    narrator.before_stage(topology, i)
                t = time.monotonic()
                be.apply(dep, i)
                timings["deploy_s"] = round(timings["deploy_s"] + time.monotonic() - t, 3)
            t = time.monotonic()
            progress.phase(f"probing stage {stage.name}")
            faults.point("runner.measure")
            cap.start()
            faults.point("runner.capture")
            probing = be.probing(dep)
            early = (
                matrix.Early(root=be.trace_root(dep), explain=why, cost=trace_cost)
                if decide == "signals" and isinstance(probing, FromNamespaces)
                else None
            )
            stage_obs = matrix.measure(dep, stage, timeout, prober=matrix.prober_for(probing), early=early)
            packets = cap.stop()
            timings["probe_s"] = round(timings["probe_s"] + time.monotonic() - t, 3)
            if why:
                t = time.monotonic()
                progress.phase(f"explaining the blocked cells of stage {stage.name}")
                stage_obs = _explain(be, dep, stage_obs, stage, probing)
                timings["why_s"] = round(timings.get("why_s", 0.0) + time.monotonic() - t, 3)
            observations.extend(stage_obs)
            t = time.monotonic()
            progress.phase(f"reading the evidence of stage {stage.name}")
            faults.point("runner.evidence")
            reread = i == 0 or firewall_evidence.touched_by(stage)
            firewall[stage.name] = firewall_evidence.node_changes(dep, seen, reread=reread)
            if dep.firewall_read_only and reread:  # nothing deployed there: the rules naming what is measured
                firewall[stage.name].update(firewall_evidence.read_only(dep))
            if i == 0:
                facts["nodes"] = hostfacts.nodes(dep, seen)
            # the containers' rules (iptables-save processes, waited for) while the routes are read (netlink dumps)
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="netlab-evidence") as pool:
                inside = pool.submit(firewall_evidence.container_changes, dep, seen_inside, reread=reread)
                routes[stage.name] = route_evidence.collect(dep)
                container_firewall[stage.name] = inside.result()
            stage_captures = capture_evidence.entries(stage.name, packets)
            if decode:
                capture_evidence.finish(stage_captures, dep.endpoints, pcap)
            captures += stage_captures
            timings["evidence_s"] = round(timings["evidence_s"] + time.monotonic() - t, 3)
            _merge_endpoints(endpoints, dep.endpoints)
            facts.update(dep.facts)
            progress.clear()
            if on_stage is not None:
                on_stage(dep, i, stage_obs)
            if narrator is not None:
                narrator.after_stage(topology, i, stage_obs, dep.endpoints, {**environment(name), **facts})
    if trace_cost.setup_s:
        timings["trace_setup_s"] = round(trace_cost.setup_s, 3)
        timings["trace_read_s"] = round(trace_cost.read_s, 3)
        facts["early_decision"] = {"traced_packets": trace_cost.packets, "trace_reports": trace_cost.reports}
    env = {**environment(name), **facts}
    result = Result(
        topology=topology,
        backend=name,
        run=run,
        environment=env,
        endpoints=endpoints,
        observations=observations,
        verdict=compare(topology, observations, env),
        evidence={
            "firewall": firewall,
            "container_firewall": container_firewall,
            "routes": routes,
            "captures": captures,
            "cells": cell_evidence.attach(topology, endpoints, observations, captures) if decode else [],
        },
        timings=timings,
        host_changes=host_changes,
    )
    if decode:
        _check_claims(result)
    return result  # Docker's rules' prediction (result.predicted()) is made when asked for: 0.6 s at 62,750 cells


def _check_claims(result: Result) -> None:
    result.claims = claim_evidence.check_claims(result)


#: run_scenario's parameters after `backend`, in the order its callers may still give them by position
POSITIONAL = ("timeout", "kernel", "pcap", "decode", "expect", "keep", "narrator", "why")


def run_scenario(
    spec: str | Scenario | Topology, backend: str | Backend = "netns", *args: Any, **kwargs: Any
) -> Result:
    """`run(spec, RunOptions(backend=backend, **kwargs))`: every field of RunOptions is a keyword (timeout,
    kernel, why, daemon_timeout, image, forward_policy, json_file...). After `backend`, timeout, kernel, pcap,
    decode, expect, keep, narrator and why may also be given by position, in that order."""
    if len(args) > len(POSITIONAL):
        raise TypeError(f"run_scenario() takes at most {2 + len(POSITIONAL)} positional arguments")
    for name, value in zip(POSITIONAL, args, strict=False):
        if name in kwargs:
            raise TypeError(f"run_scenario() got multiple values for argument {name!r}")
        kwargs[name] = value
    return run(spec, RunOptions(backend=backend, **kwargs))


def run(spec: str | Scenario | Topology, options: RunOptions) -> Result:
    """Load (a bundled name or a file), build (a `Scenario` made with the API: netlab picks its subnets as for a
    file) or take a built topology, run it as `options` say, write the files they name, return the Result.
    `options.expect`: a matrix file (netlab/model/matrixfile.py) whose tables replace the expectations of the
    stages they cover."""
    options.check()
    result = _measure(spec, options)
    if options.json_file:
        from netlab.report import json as json_report

        json_report.dump(result, options.json_file)
    if options.html_file:
        from netlab.report import html

        files.write_output(options.html_file, html.render(result, options.html_file))
    return result


def scan(project: str | None = None, containers: Sequence[str] = (), **options: Any) -> Result:
    """The reachability matrix of containers that already run (a compose project by its label, or containers by
    name), measured without changing them (netlab/backends/docker/scan.py). `options`: expect, timeout, why,
    json_file, html_file (as in RunOptions); `result.expect(table)` works as for a run."""
    names = [containers] if isinstance(containers, str) else list(containers)
    topology, backend = registry.scanning(project, names)
    return run(topology, RunOptions(backend=backend, **options))


def _measure(spec: str | Scenario | Topology, options: RunOptions) -> Result:
    if options.kernel == "uml":  # the guest is a kernel of its own: nothing to share, no lease
        if options.narrator is not None:
            raise UsageError("--step runs on the host kernel only (inside user-mode Linux nobody can press Enter)")
        if options.keep:
            raise UsageError("--keep runs on the host kernel only (the user-mode Linux guest ends with the run)")
        if not isinstance(spec, str):
            raise UsageError("--kernel uml runs a scenario file or name, not an in-memory scenario or topology")
        if options.backend_name not in UML_BACKENDS:
            raise UsageError(
                "--kernel uml runs the netns and cni backends (there is no Docker inside the guest); "
                f"not --backend {options.backend_name}"
            )
        topology = _expecting(loader.load(spec), options.expect)
        host = ((options.forward_policy or "drop").lower(), (options.userland_proxy or "on").lower())
        backend = "netns" if options.backend_name == "auto" else options.backend_name
        emulated = (*host, options.engine or UML_ENGINE)
        return run_in_uml(spec, topology, options.timeout, options.pcap, options.expect, options.why, emulated, backend)
    options = options.resolved()
    if isinstance(spec, Topology):  # built by the caller: its addresses are as given
        return _run(_expecting(spec, options.expect), options)
    # runs at the same time take different parts of the pool for the subnets netlab picks (netlab/lease.py)
    with lease.lease() as held:
        offset = held.slot * lease.SLOT_SUBNETS
        built = spec.build(offset) if isinstance(spec, Scenario) else loader.load(spec, subnet_offset=offset)
        result = _run(_expecting(built, options.expect), options)
        if options.keep:  # the deployment outlives this process: so does the lease, until `netlab clean`
            held.keep_for(result.run)
        return result


def _run(topology: Topology, o: RunOptions) -> Result:
    return run_topology(
        topology,
        o.chosen,
        o.timeout,
        pcap=o.pcap,
        decode=o.decode,
        keep=o.keep,
        narrator=o.narrator,
        why=o.why,
        decide=o.decide,
    )


def _expecting(topology: Topology, expect: str | None) -> Topology:
    if expect is None:
        return topology
    from netlab.model import matrixfile

    return matrixfile.apply(topology, loader.load_matrix(expect), expect)


def run_in_uml(
    spec: str,
    topology: Topology,
    timeout: float,
    pcap: str | None = None,
    expect: str | None = None,
    why: bool = False,
    host: tuple[str, str, str] = ("drop", "on", UML_ENGINE),
    backend: str = "netns",
) -> Result:
    """The same scenario on the netns (or cni) backend inside user-mode Linux, reported as usual. `host`: the
    FORWARD policy, userland proxy and engine profile of the Docker host the guest emulates (netns). The guest
    sends its captured frames back raw; they are decoded (and written to pcaps) here."""
    from netlab.kernel import features, uml
    from netlab.result import result_from_json

    run = _fresh_run_id()
    sysctls_before = hoststate.root_sysctls()
    journal = Journal.open(run, "netns", topology.name)
    try:
        with _terminate_raises():
            progress.phase(f"running {topology.name} inside user-mode Linux")
            kinds = sorted(features.link_kinds_needed(topology))
            data = uml.run(spec, timeout, journal, kinds, expect, why, host, backend)
    finally:
        progress.clear()
        with _signals_blocked():
            registry.get("netns").cleanup(journals.read(journal.path))
            journal.close()
    if "error" in data:
        err = NetlabError(f"inside user-mode Linux: {data['error']}")
        err.exit_code = int(data.get("exit_code", 3))
        raise err
    result = result_from_json(data, topology)
    result.host_changes = [f"inside user-mode Linux: {c}" for c in result.host_changes]
    result.host_changes += hoststate.changes(sysctls_before, hoststate.root_sysctls())
    result.environment["kernel_runner"] = "uml"
    captures = result.evidence.get("captures", [])
    capture_evidence.frames_from_json(captures)
    capture_evidence.finish(captures, result.endpoints, pcap)
    result.evidence["cells"] = cell_evidence.attach(topology, result.endpoints, result.observations, captures)
    _check_claims(result)
    return result


def _merge_endpoints(into: dict[str, Endpoint], now: dict[str, Endpoint]) -> None:
    for name, ep in now.items():
        if name not in into:
            into[name] = Endpoint(ep.name, ep.kind, ep.node, ep.netns, list(ep.addresses))
            continue
        known = {(a.network, a.address) for a in into[name].addresses}
        into[name].addresses += [a for a in ep.addresses if (a.network, a.address) not in known]


def _fresh_run_id() -> str:
    from netlab.backends import journal

    live = {r.run for r in journal.runs()}
    for _ in range(100):
        run = naming.new_run_id()
        if run not in live and not os.path.exists(os.path.join(journal.JOURNAL_DIR, f"{run}.journal")):
            return run
    raise NetlabError("could not find a free run id")

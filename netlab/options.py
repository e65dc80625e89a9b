"""What one run is asked for, in one object: built once by the CLI (`netlab run`) or the pytest plugin
(`netlab_run`), checked once, its backend resolved once, and handed to `runner.run(spec, options)`.

    from netlab.options import RunOptions
    from netlab.runner import run
    result = run("bridge", RunOptions(backend="docker", timeout=0.5, why=True))
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from netlab.backends import engines, registry
from netlab.backends.base import Backend, Endpoint
from netlab.errors import EnvironmentProblem, UsageError
from netlab.model.results import Observation
from netlab.model.topology import Topology
from netlab.probes.matrix import DEFAULT_TIMEOUT
from netlab.report import files

KERNELS = ("host", "uml")
MAX_DAEMON_TIMEOUT_S = 3600.0
DOCKER_ONLY = "--image, --parent and --node apply to the docker backend only"
FORWARD_ON_NETNS = (
    "--forward-policy emulates a host on the netns backend; the docker backend runs on the host's own policy "
    "(the run reports it as `node ...: FORWARD policy`)"
)

PROXY_ON_NETNS = (
    "--userland-proxy chooses whether the Docker the netns backend emulates runs docker-proxy; the docker backend "
    "runs the daemon's own setting (the run reports it as `userland proxy`)"
)
IP6TABLES_ON_NETNS = (
    "--ip6tables chooses whether the Docker the netns backend emulates writes IPv6 rules; the docker backend runs "
    "the daemon's own setting (a scenario's `s.daemon(ip6tables=True)` starts daemons of netlab's own with it)"
)
ENGINE_ON_NETNS = (
    "--engine chooses the Docker version the netns backend emulates; the docker backend runs the daemon's own "
    "(the run reports it as `engine`)"
)
UML_ENGINE = "20.10"
#: the profiles a user-mode Linux guest can emulate: Docker's iptables ones (the guest kernel's nf_tables has no nat
#: chain type, so Docker's rules go in with iptables-legacy, and 29-nftables cannot)
UML_ENGINES = ("20.10", "28", "29")
#: why the others are not
UML_NO_NFTABLES = "the guest kernel's nf_tables has no nat chain type"
#: the backends a user-mode Linux guest runs (no Docker daemon inside it): auto is netns there
UML_BACKENDS = ("netns", "auto", "cni")


class Narrator(Protocol):
    """Lecture mode (`netlab run --step`, netlab/report/step.py): told before the deployment, before each
    later stage's actions, and after each stage was measured."""

    def before_deploy(self, topology: Topology) -> None: ...

    def gate(self, kind: str, name: str) -> None:
        """Right before the backend creates a lan, network or container, or does a stage's action."""

    def before_stage(self, topology: Topology, index: int) -> None: ...

    def after_stage(
        self,
        topology: Topology,
        index: int,
        observations: list[Observation],
        endpoints: dict[str, Endpoint],
        environment: dict[str, Any],
    ) -> None:
        """`environment`: the run's facts so far (conditional expectations are judged on them)."""


#: `--decide`: close a dropped cell at once from its trace (signals) or wait for every silent cell's timeout
DECIDE = ("signals", "timeout")


@dataclass(frozen=True, slots=True)
class RunOptions:
    #: auto | netns | docker (a registry name) or a Backend object; None: netns, or docker with `nodes`
    backend: str | Backend | None = None
    kernel: str = "host"  # host | uml (user-mode Linux)
    timeout: float = DEFAULT_TIMEOUT  # per probe, seconds
    #: docker backend: seconds one request to a daemon may take (None: NETLAB_DAEMON_TIMEOUT, else 60)
    daemon_timeout: float | None = None
    image: str | None = None  # docker backend: the probe image
    parent: str | None = None  # docker backend: a real NIC as macvlan/ipvlan parent (named by the user only)
    nodes: dict[str, str] = field(default_factory=dict)  # docker backend: scenario node -> remote engine URL
    expect: str | None = None  # a matrix file replacing the expectations of the stages it covers
    pcap: str | None = None  # a directory for one pcap per stage and capture point
    keep: bool = False  # leave the deployment up (until `netlab clean`)
    why: bool = False  # explain every blocked cell (nftables trace)
    #: how a blocked cell is decided: "signals" (a traced drop closes it at once, where nft can trace) or "timeout"
    #: (every silent cell waits for its timeout, as before early decision: for comparison)
    decide: str = "signals"
    decode: bool = True  # decode captured frames here (False: left raw, user-mode Linux's guest)
    narrator: Narrator | None = None  # `--step`
    #: netns backend: the FORWARD policy of the simulated hosts, accept | drop (None: drop, Docker's own
    #: choice on a host where it turned forwarding on)
    forward_policy: str | None = None
    #: netns backend: the Docker version whose rules it writes (engines.NAMES); None: the version of the
    #: Docker daemon answering on this machine, else the newest (`resolved()` decides and says why)
    engine: str | None = None
    #: netns backend: whether the emulated Docker runs its userland proxy (docker-proxy), on | off (None: as
    #: the Docker daemon answering on this machine, else on, Docker's default)
    userland_proxy: str | None = None
    #: netns backend: whether the emulated Docker writes IPv6 rules (dockerd --ip6tables), on | off (None: as the
    #: Docker daemon answering on this machine, else the release's default: off before 27, on since)
    ip6tables: str | None = None
    json_file: str | None = None  # write the result (schema 1) here
    html_file: str | None = None  # write the one-file HTML report here (needs Graphviz)

    def check(self) -> None:
        """Every problem of the options themselves, before anything is read or created."""
        if self.kernel not in KERNELS:
            raise UsageError(f"--kernel {self.kernel!r}: use 'host' or 'uml'")
        if not 0 < self.timeout <= 30:
            raise UsageError("--timeout must be between 0 and 30 seconds")
        if self.daemon_timeout is not None and not 0 < self.daemon_timeout <= MAX_DAEMON_TIMEOUT_S:
            raise UsageError("--daemon-timeout takes seconds between 0 and 3600")
        if self._docker_only and (self.backend_name not in ("docker", "auto") or self.kernel == "uml"):
            raise UsageError(DOCKER_ONLY)  # the default (None) is netns; user-mode Linux runs no docker backend
        if self.kernel == "uml" and self.backend_name not in UML_BACKENDS:
            raise UsageError(
                "--kernel uml runs the netns and cni backends (there is no Docker inside the guest); "
                f"not --backend {self.backend_name}"
            )
        if self.nodes and self.kernel != "host":
            raise UsageError("--node runs on remote engines; --kernel uml is for the netns backend")
        if self.forward_policy is not None:
            if self.forward_policy.lower() not in ("accept", "drop"):
                raise UsageError(f"--forward-policy {self.forward_policy!r}: use accept or drop")
            if (isinstance(self.backend, str) and self.backend not in ("netns", "auto")) or self.nodes:
                raise UsageError(FORWARD_ON_NETNS)
        if self.userland_proxy is not None:
            if self.userland_proxy.lower() not in ("on", "off"):
                raise UsageError(f"--userland-proxy {self.userland_proxy!r}: use on or off")
            if (isinstance(self.backend, str) and self.backend not in ("netns", "auto")) or self.nodes:
                raise UsageError(PROXY_ON_NETNS)
        if self.ip6tables is not None:
            if self.ip6tables.lower() not in ("on", "off"):
                raise UsageError(f"--ip6tables {self.ip6tables!r}: use on or off")
            if (isinstance(self.backend, str) and self.backend not in ("netns", "auto")) or self.nodes:
                raise UsageError(IP6TABLES_ON_NETNS)
            if self.kernel == "uml":
                raise UsageError(
                    "--kernel uml emulates each Docker release with its own --ip6tables default (no --ip6tables yet)"
                )
        if self.engine is not None:
            if self.engine not in engines.NAMES:
                raise UsageError(f"--engine {self.engine!r}: use one of {', '.join(engines.NAMES)}")
            if (isinstance(self.backend, str) and self.backend not in ("netns", "auto")) or self.nodes:
                raise UsageError(ENGINE_ON_NETNS)
            if self.kernel == "uml" and self.engine not in UML_ENGINES:
                raise UsageError(
                    f"--kernel uml emulates Docker's iptables profiles ({', '.join(UML_ENGINES)}), not --engine "
                    f"{self.engine}: {UML_NO_NFTABLES}"
                )
        if self.decide not in DECIDE:
            raise UsageError(f"--decide {self.decide!r}: use {' or '.join(DECIDE)}")
        if self.why:
            require_nft("--why")
        if self.html_file:
            files.check_output(self.html_file, needs_graphviz=True)
        if self.json_file:
            files.check_output(self.json_file)

    @property
    def _docker_only(self) -> bool:
        return bool(self.image or self.parent or self.nodes)

    @property
    def backend_name(self) -> str:
        if isinstance(self.backend, str):
            return self.backend
        return self.backend.name if self.backend is not None else ("docker" if self.nodes else "netns")

    def resolved(self) -> RunOptions:
        """The same options with the backend made: `auto` decided (docker when a daemon answers), the docker
        backend given its image, parent, remote engines and daemon timeout. Done once per run."""
        if self.backend is not None and not isinstance(self.backend, str):
            return self
        if self.nodes and self.backend in (None, "auto"):
            name = "docker"
        else:
            name = registry.resolve(self.backend_name, self.daemon_timeout)
        if self._docker_only and name != "docker":
            raise UsageError(DOCKER_ONLY)
        options: dict[str, object] = {}
        if self.forward_policy is not None and name != "netns":
            raise UsageError(FORWARD_ON_NETNS)
        if self.engine is not None and name != "netns":
            raise UsageError(ENGINE_ON_NETNS)
        if self.userland_proxy is not None and name != "netns":
            raise UsageError(PROXY_ON_NETNS)
        if self.ip6tables is not None and name != "netns":
            raise UsageError(IP6TABLES_ON_NETNS)
        if name == "netns":
            options.update(self._netns_defaults())
        if name == "docker":
            options = {"image": self.image, "parent": self.parent, "nodes": dict(self.nodes)}
            options["daemon_timeout"] = self.daemon_timeout
        if name == "podman":
            options = {"image": self.image, "parent": self.parent, "daemon_timeout": self.daemon_timeout}
        return replace(self, backend=registry.get(name, **options))

    def _netns_defaults(self) -> dict[str, object]:
        """The engine profile and FORWARD policy the netns backend emulates: as asked, else those of the Docker
        daemon answering on this machine, else the newest profile with Docker's defaults; and why."""
        if self.kernel == "uml":
            return {
                "engine": self.engine or UML_ENGINE,
                "forward_policy": self.forward_policy,
                "chosen": "user-mode Linux",
            }
        daemon = None
        if self.engine is None or self.forward_policy is None or self.userland_proxy is None:
            daemon = registry.local_docker(timeout=min(self.daemon_timeout or 2.0, 2.0))
        engine, policy = self.engine, self.forward_policy
        reasons = []
        if engine is None:
            if daemon is not None:
                engine = engines.for_version(daemon.version, daemon.firewall_backend)
                reasons.append(f"the profile of Docker {daemon.version}, the daemon answering on this machine")
            else:
                engine = engines.NEWEST
                reasons.append("no Docker daemon answers on this machine: the newest profile")
        host_policy = daemon.forward_policy if daemon is not None else None
        if policy is None and engines.get(engine).sets_forward_policy and host_policy in ("ACCEPT", "DROP"):
            policy = host_policy.lower()
            reasons.append(f"this machine's FORWARD policy {host_policy}")
        proxy = self.userland_proxy
        if proxy is None and daemon is not None and not daemon.userland_proxy:
            proxy = "off"
            reasons.append("its daemon's userland proxy off")
        six = self.ip6tables
        if six is None and daemon is not None and daemon.ip6tables is not None and self.engine is None:
            six = daemon.ip6tables  # the machine's daemon as it runs, where its release is the one emulated
            if six != ("on" if engines.get(engine).ip6tables else "off"):
                reasons.append(f"its daemon's ip6tables {six}")
        return {
            "engine": engine,
            "forward_policy": policy,
            "userland_proxy": proxy,
            "ip6tables": six,
            "chosen": "; ".join(reasons) or "as asked",
        }

    @property
    def chosen(self) -> Backend:
        """The backend of resolved options."""
        assert self.backend is not None and not isinstance(self.backend, str), "call resolved() first"
        return self.backend


def require_nft(what: str) -> None:
    """`--why` and `netlab why` follow the probe with nftables tracing: without the nft tool they could only say
    nothing, so they stop before anything is created (exit 3)."""
    if shutil.which("nft") is None:
        raise EnvironmentProblem(
            f"{what} traces packets with nftables and nft is not installed: apt-get install nftables"
        )

"""netlab run SCENARIO: deploy, measure every stage, compare, report, destroy."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from netlab import i18n
from netlab.errors import UsageError
from netlab.report import fit

if TYPE_CHECKING:  # imported where used: `netlab --help` and the other commands do without them
    from netlab.options import Narrator, RunOptions
    from netlab.result import Result

BackendOpt = Annotated[
    str | None,
    typer.Option("--backend", "-b", help="auto | netns | docker | cni | podman (default: netns; docker with --node)"),
]
Kernel = Annotated[str, typer.Option("--kernel", help="host | uml (user-mode Linux)")]
PcapDir = Annotated[str | None, typer.Option("--pcap", help="write one pcap per stage and capture point into DIR")]
JsonOut = Annotated[str | None, typer.Option("--json", help="write the result (schema 1) to FILE")]
Timeout = Annotated[float, typer.Option("--timeout", help="per-probe timeout in seconds")]
DaemonTimeout = Annotated[
    float | None,
    typer.Option(
        "--daemon-timeout",
        help="docker backend: seconds one request to a Docker daemon may take before netlab gives up on it "
        "(default 60, or NETLAB_DAEMON_TIMEOUT); exit 3 naming the request",
    ),
]


Color = Annotated[bool | None, typer.Option("--color/--no-color", help="ANSI colour (default: on a terminal)")]
Width = Annotated[
    int | None,
    typer.Option(
        "--width",
        help="lay the output out for N columns: grids stack, long lines wrap with a ` \\` (default: $COLUMNS, "
        "else the terminal's width, else 100)",
    ),
]
Lang = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="en | ru: the language of the narration, the claims and the report's headings (default: from "
        "LANGUAGE, LC_ALL, LC_MESSAGES or LANG; ru_RU.UTF-8 speaks Russian)",
    ),
]


def use_language(lang: str | None) -> None:
    """`--lang` (else the environment's language) for what this command prints; exit 2 on an unknown one."""
    try:
        i18n.use(lang)
    except ValueError as e:
        raise UsageError(f"--lang {lang}: netlab speaks {' and '.join(i18n.LANGUAGES)}") from e


#: `--check predicted` (and `--check=predicted`) arrive as this flag: netlab/cli/__init__.py rewrites them, as click
#: has no option that is a flag alone and takes a value after it
CheckPredicted = Annotated[
    bool,
    typer.Option(
        "--check-predicted",
        help="the same as `--check predicted`: also compare every measured cell with what Docker's rules predict "
        "for this engine and host, and exit 1 where one differs",
    ),
]
PREDICTED_HELP = "; `--check predicted`: also exit 1 where a measured cell is not what Docker's rules predict"


def predicted_argv(argv: list[str]) -> list[str]:
    """`--check predicted` / `--check=predicted` as `--check --check-predicted`."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] == "--check=predicted" or (argv[i] == "--check" and argv[i + 1 : i + 2] == ["predicted"]):
            out += ["--check", "--check-predicted"]
            i += 1 if argv[i] == "--check=predicted" else 2
            continue
        out.append(argv[i])
        i += 1
    return out


def report(
    result: Result, check: bool, check_predicted: bool, color: bool, predicted: bool = False, width: int | None = None
) -> None:
    """Print the report (`--check`: the tables only; the prediction where asked for or where `predicted`), fitted
    to the terminal (`width`: --width), and leave with the exit code: 1 where an expectation failed or, with
    `--check predicted`, a cell differs from Docker's rules."""
    from netlab.report import console

    shown = predicted or check_predicted
    columns = fit.width(width)
    text = (
        console.render_check(result, color=color, predicted=shown, width=columns)
        if check
        else console.render(result, color=color, predicted=shown, width=columns)
    )
    sys.stdout.write(fit.fit(text, columns))
    ok = result.ok and (not check_predicted or result.predicted().ok)
    raise typer.Exit(0 if ok else 1)


def parse_nodes(specs: list[str]) -> dict[str, str]:
    """`--node NAME=URL` options as {name: url}."""
    out: dict[str, str] = {}
    for spec in specs:
        name, sep, url = spec.partition("=")
        if not sep or not name or "://" not in url:
            raise UsageError(
                f"--node {spec!r}: expected NAME=URL, e.g. host=ssh://user@server or host=tcp://10.0.0.5:2375"
            )
        if name in out:
            raise UsageError(f"--node {name}: given twice")
        out[name] = url
    return out


def run(
    scenario: Annotated[str, typer.Argument(help="bundled scenario name or path to a .py file")],
    backend: BackendOpt = None,
    kernel: Kernel = "host",
    json_file: JsonOut = None,
    pcap: PcapDir = None,
    timeout: Timeout = 1.0,
    color: Color = None,
    width: Width = None,
    lang: Lang = None,
    decide: Annotated[
        str,
        typer.Option(
            "--decide",
            help="signals | timeout: close a cell whose packet a rule dropped as soon as nftables traces the drop "
            "(default), or let every silent cell wait for its timeout (the way before, for comparison)",
        ),
    ] = "signals",
    image: Annotated[str | None, typer.Option("--image", help="docker backend: probe image to use")] = None,
    parent: Annotated[
        str | None, typer.Option("--parent", help="docker backend: a real NIC as macvlan/ipvlan parent (explicit only)")
    ] = None,
    expect: Annotated[
        str | None,
        typer.Option(
            "--expect",
            help="an expected-matrix file (plain tables or YAML) replacing the expectations of the stages it covers",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="print only the expected, observed and diff tables and the summary; exit 1 on a wrong cell"
            + PREDICTED_HELP,
        ),
    ] = False,
    check_predicted: CheckPredicted = False,
    html_file: Annotated[
        str | None,
        typer.Option("--html", help="write a self-contained HTML report (diagram, tables, evidence) to FILE"),
    ] = None,
    clean_stale: Annotated[
        bool,
        typer.Option("--clean-stale", help="first remove what dead earlier runs left behind (as `netlab clean`)"),
    ] = False,
    step: Annotated[
        bool,
        typer.Option(
            "--step", help="lecture mode: narrate each step with its commands, wait for Enter, show each stage"
        ),
    ] = False,
    pause: Annotated[
        float | None, typer.Option("--pause", help="with --step: wait SECONDS instead of for Enter (unattended demos)")
    ] = None,
    node: Annotated[
        list[str] | None,
        typer.Option(
            "--node",
            help="docker backend: run scenario node NAME on the engine at URL (NAME=URL, repeatable; "
            "unix://, tcp://, ssh://user@host); probes then go through docker exec",
        ),
    ] = None,
    daemon_timeout: DaemonTimeout = None,
    forward_policy: Annotated[
        str | None,
        typer.Option(
            "--forward-policy",
            help="netns backend: the simulated hosts' FORWARD policy, drop (Docker's on a fresh host, the default) "
            "or accept (a host whose IP forwarding was on before Docker started)",
        ),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="netns backend: the Docker version whose rules to emulate, 20.10, 28, 29 or 29-nftables "
            "(default: the version of the Docker daemon answering on this machine, else 29)",
        ),
    ] = None,
    userland_proxy: Annotated[
        str | None,
        typer.Option(
            "--userland-proxy",
            help="netns backend: whether the emulated Docker runs docker-proxy on published ports, on (Docker's "
            "default) or off (hairpin NAT); default: as the Docker daemon answering on this machine",
        ),
    ] = None,
    ip6tables: Annotated[
        str | None,
        typer.Option(
            "--ip6tables",
            help="netns backend: whether the emulated Docker writes IPv6 rules, on or off (dockerd's --ip6tables; "
            "default: as the Docker daemon answering on this machine, else the release's: off for 20.10, on since "
            "27)",
        ),
    ] = None,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep",
            help="leave the deployment up after the run (until `netlab clean`); `netlab why` can then probe it",
        ),
    ] = False,
    why: Annotated[
        bool,
        typer.Option(
            "--why",
            help="explain every X: re-send its probe with nftables tracing and name the rule or kernel decision "
            "that ended it",
        ),
    ] = False,
) -> None:
    """Deploy SCENARIO, measure the reachability matrix after every stage and compare with its expectations."""
    from netlab import runner
    from netlab.options import RunOptions

    use_language(lang)
    use_color = sys.stdout.isatty() if color is None else color
    if pause is not None and (pause < 0 or not step):
        raise UsageError("--pause takes seconds >= 0 and goes with --step")
    options = RunOptions(
        backend=backend,
        json_file=json_file,
        html_file=html_file,
        kernel=kernel,
        timeout=timeout,
        daemon_timeout=daemon_timeout,
        forward_policy=forward_policy,
        engine=engine,
        userland_proxy=userland_proxy,
        ip6tables=ip6tables,
        image=image,
        parent=parent,
        nodes=parse_nodes(node or []),
        expect=expect,
        pcap=pcap,
        keep=keep,
        why=why,
        decide=decide,
        narrator=_narrator(pause, use_color, fit.width(width)) if step else None,
    )
    options.check()
    if options.kernel == "host":  # decided once (`auto` asks the daemon); user-mode Linux runs netns
        options = options.resolved()
    prepare(options, clean_stale)
    result = runner.run(scenario, options)
    if keep:
        print(
            f"netlab: run {result.run} is kept up; "
            + (f"`netlab why {json_file} SRC DST` explains a cell, " if json_file else "")
            + f"`netlab clean --run {result.run}` removes it",
            file=sys.stderr,
        )
    report(result, check, check_predicted, use_color, width=width)


def _narrator(pause: float | None, color: bool, width: int) -> Narrator:
    from netlab.report.step import StepNarrator

    return StepNarrator(pause=pause, color=color, width=width)


def prepare(options: RunOptions, clean_stale: bool) -> None:
    """Before the run: root where this machine is used, what dead runs left (removed or named), progress on a
    terminal only."""
    from netlab import cleanup, safety
    from netlab.report import progress

    if not options.nodes:  # before anything reads or writes netlab's directories
        name = "netns" if options.kernel == "uml" else options.backend_name
        safety.require_privileges(f"the {name} backend")
    leftovers = cleanup.stale()  # runs whose process is gone; a live run is never listed, never touched
    if leftovers and clean_stale:
        for c in cleanup.clean(daemon_timeout=options.daemon_timeout):
            print(f"netlab: run {c.run} (dead): removed {len(c.removed)} objects", file=sys.stderr)
    elif leftovers:
        print(cleanup.stale_hint(leftovers), file=sys.stderr)
    progress.enable()  # a terminal only: pipes and CI logs stay quiet

"""Plain-text truth tables: expected / observed / diff per stage and probe.

Cells: `.` reachable, `X` unreachable, `!` error, `-` not checked; the diff marks wrong cells only: `*`
a wrong one, `!` an error, a right one stays blank. Colour (ANSI) only when asked, so pipes and CI logs stay readable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from netlab import i18n
from netlab.i18n import _
from netlab.model import conditions
from netlab.model.results import Observation, Outcome
from netlab.model.topology import Expectation, Stage
from netlab.report.shape import Result
from netlab.verdict import Check

RED, GREEN, YELLOW, DIM, BOLD, RESET = "\033[31m", "\033[32m", "\033[33m", "\033[2m", "\033[1m", "\033[0m"
#: the width reports are laid out for unless told (a library caller, an AssertionError's message); the CLI passes
#: the terminal's (netlab/report/fit.py)
WIDTH = 160


Grid = dict[tuple[str, str], str]


def _paint(cell: str, color: bool) -> str:
    if not color:
        return cell
    code = {".": GREEN, "X": RED, "!": YELLOW, "*": RED + BOLD, "=": DIM, "-": DIM}.get(cell.strip()[:1])
    return f"{code}{cell}{RESET}" if code else cell


def table(title: str, names: Sequence[str], grid: Grid, color: bool = False, numbered: bool = False) -> list[str]:
    """Rows are sources, columns destinations (`numbered`: columns headed 1, 2... in the rows' order, for a grid
    too wide for the terminal with its names; `legend` says which is which)."""
    heads = [str(i) for i in range(1, len(names) + 1)] if numbered else list(names)
    label = max([len(n) for n in names] + [len(title)])
    # a column is as wide as its name or its widest cell (`Xa` with --why), plus one space before it
    widths = [
        max([len(h), 1] + [len(v) for (_src, d), v in grid.items() if d == n]) + 1
        for n, h in zip(names, heads, strict=True)
    ]
    head = title.ljust(label) + " " + "".join(h.rjust(w) for h, w in zip(heads, widths, strict=True))
    lines = [head]
    for src in names:
        cells = []
        for dst, w in zip(names, widths, strict=True):
            sym = " " if src == dst else grid.get((src, dst), "-")
            cells.append(_paint(sym.rjust(w), color))
        lines.append(src.ljust(label) + " " + "".join(cells))
    return lines


def legend(names: Sequence[str]) -> str:
    """Which name each numbered column stands for."""
    return _("columns: {legend}").format(legend="  ".join(f"{i}={n}" for i, n in enumerate(names, 1)))


def _side_by_side(
    blocks: list[list[str]], gap: int = 4, plain_width: list[int] | None = None, width: int = WIDTH
) -> list[str]:
    """Blocks beside each other where they fit in `width`, else one under the other."""
    widths = plain_width or [max(len(line) for line in b) for b in blocks]
    if sum(widths) + gap * (len(blocks) - 1) > width:
        out: list[str] = []
        for b in blocks:
            out += [*b, ""]
        return out[:-1]
    rows = max(len(b) for b in blocks)
    out = []
    for i in range(rows):
        parts = []
        for b, w in zip(blocks, widths, strict=True):
            line = b[i] if i < len(b) else ""
            parts.append(line + " " * (w - _visible_len(line)))
        out.append((" " * gap).join(parts).rstrip())
    return out


def _visible_len(s: str) -> int:
    import re

    return len(re.sub(r"\033\[[0-9;]*m", "", s))


def _diff_mark(c: Check) -> str:
    """The diff marks wrong cells only: `*` wrong, `!` an error (nothing measured); a right cell stays blank."""
    if c.ok:
        return " "
    return "!" if c.error else "*"


def why_letters(observations: Sequence[Observation]) -> dict[tuple[str, str, str], str]:
    """`--why`: a label per explained cell (src, dst, probe), in observation order: a ... z, then aa, ab, ..."""
    out: dict[tuple[str, str, str], str] = {}
    for o in observations:
        key = (o.src, o.dst, str(o.probe))
        if o.why and key not in out:
            n = len(out)
            out[key] = LETTERS[n] if n < 26 else LETTERS[n // 26 - 1] + LETTERS[n % 26] if n < 702 else "+"
    return out


LETTERS = "abcdefghijklmnopqrstuvwxyz"


def why_lines(observations: Sequence[Observation], color: bool) -> list[str]:
    """The explanations behind the letters of the observed table."""
    letters = why_letters(observations)
    if not letters:
        return []
    out = ["  " + _("why (the letters in the observed table):")]
    seen: set[tuple[str, str, str]] = set()
    for o in observations:
        key = (o.src, o.dst, str(o.probe))
        if o.why and key not in seen:
            seen.add(key)
            out.append(f"    {_bold(letters[key], color)} {o.src} -> {o.dst} {o.probe}: {o.why}")
    return out


def stage_tables(
    stage: Stage,
    names: Sequence[str],
    observations: Sequence[Observation],
    checks: Sequence[Check],
    color: bool,
    label: str = "expected",
    width: int = WIDTH,
) -> list[str]:
    """The icmp matrix as three grids side by side where they fit in `width`, else one under the other (and the
    icmp6 one below it on a dual-stack topology); every other probe as one row per expectation. With `--why` an
    explained X carries its letter (see why_lines)."""
    letters = why_letters(observations)
    out: list[str] = []
    for grid in GRID_PROBES:
        if grid != "icmp" and not any(str(o.probe) == grid for o in observations):
            continue
        if out:
            out += ["", _("over IPv6 ({probe})").format(probe=grid)]
        out += _grids(grid, names, observations, checks, color, label, letters, width)
    others = [c for c in checks if str(c.expectation.probe) not in GRID_PROBES]
    if others:
        width_p = max(len(str(c.expectation.probe)) for c in others)
        width_e = max(len(f"{c.expectation.src} -> {c.expectation.dst}") for c in others)
        caption, seen_head, diff_head = _caption(label), _caption("observed"), _caption("diff")
        w, w_seen, w_diff = max(8, len(caption)), max(8, len(seen_head)), max(4, len(diff_head))
        heads = f"{_('probe').ljust(width_p)}  {_('pair').ljust(width_e)}  {caption.ljust(w)}"
        out += ["", f"{heads} {seen_head.ljust(w_seen)} {diff_head}"]
        for c in others:
            pair = f"{c.expectation.src} -> {c.expectation.dst}"
            mark = _diff_mark(c).strip()
            sym = c.observed.symbol + letters.get((c.expectation.src, c.expectation.dst, str(c.expectation.probe)), "")
            seen = sym.center(w_seen) if mark else sym.center(w_seen).rstrip()
            out.append(
                f"{str(c.expectation.probe).ljust(width_p)}  {pair.ljust(width_e)}  "
                f"{_paint(c.expected.symbol.center(w), color)} {_paint(seen, color)}"
                + (f" {_paint(mark.center(w_diff), color)}" if mark else "")
            )
    expected_cells = {(c.expectation.src, c.expectation.dst, str(c.expectation.probe)) for c in others}
    if label == "expected":
        nothing = _("nothing expected")
    elif label == "predicted":
        nothing = _("nothing predicted")
    else:
        nothing = _("nothing {label}").format(label=_caption(label))
    out += measured_lines(stage, observations, expected_cells, nothing)
    out.append("")
    return out


#: the probes shown as a grid of every pair (the others one row per cell)
GRID_PROBES = ("icmp", "icmp6")


def _caption(label: str) -> str:
    """A grid's or column's caption in the language in use; the code keeps the English label
    ("expected", "predicted", "observed", "diff") as its key."""
    captions = {"expected": _("expected"), "predicted": _("predicted"), "observed": _("observed"), "diff": _("diff")}
    return captions.get(label, label)


def _grids(
    probe: str,
    names: Sequence[str],
    observations: Sequence[Observation],
    checks: Sequence[Check],
    color: bool,
    label: str,
    letters: dict[tuple[str, str, str], str],
    width: int = WIDTH,
) -> list[str]:
    """One probe's expected, observed and diff grids side by side (or stacked, or with numbered columns and a
    legend where one grid alone is wider than `width`)."""
    expected: Grid = {}
    diff: Grid = {}
    observed: Grid = {(o.src, o.dst): o.outcome.symbol for o in observations if str(o.probe) == probe}
    for c in checks:
        if str(c.expectation.probe) != probe:
            continue
        key = (c.expectation.src, c.expectation.dst)
        expected[key] = c.expected.symbol
        if c.observation is not None:
            observed[key] = c.observed.symbol
        diff[key] = _diff_mark(c)
    for (src, dst, p), letter in letters.items():
        if p == probe and observed.get((src, dst)) in ("X", "."):
            observed[(src, dst)] += letter
    grids = ((_caption(label), expected), (_caption("observed"), observed), (_caption("diff"), diff))
    numbered = max(len(line) for line in table(_caption("observed"), names, observed)) > width
    blocks = [table(t, names, g, color, numbered) for t, g in grids]
    plain = [max(len(line) for line in table(t, names, g, False, numbered)) for t, g in grids]
    return ([legend(names)] if numbered else []) + _side_by_side(blocks, plain_width=plain, width=width)


def measured_lines(
    stage: Stage,
    observations: Sequence[Observation],
    expected: set[tuple[str, str, str]],
    nothing: str | None = None,
) -> list[str]:
    """The tcp, udp and dns cells the stage measures with no outcome expected (`s.measure`), one row each;
    `nothing`: what the header says of them (default "nothing expected", in the language in use)."""
    wanted = {(m.src, m.dst, str(m.probe)) for m in stage.measurements if str(m.probe) not in GRID_PROBES} - expected
    rows = [o for o in observations if (o.src, o.dst, str(o.probe)) in wanted]
    if not rows:
        return []
    width_p = max(len(str(o.probe)) for o in rows)
    width_e = max(len(f"{o.src} -> {o.dst}") for o in rows)
    if nothing is None:
        nothing = _("nothing expected")
    measured = _("measured ({nothing})").format(nothing=nothing)
    out = ["", f"{_('probe').ljust(width_p)}  {_('pair').ljust(width_e)}  {measured}"]
    for o in rows:
        pair = f"{o.src} -> {o.dst}"
        out.append(f"{str(o.probe).ljust(width_p)}  {pair.ljust(width_e)}  {o.outcome.symbol}  {o.detail}")
    return out


def _detail(c: Check) -> str:
    if c.undecided:
        return c.reason or _("not judged: this run cannot tell whether {condition} holds here").format(
            condition=c.condition
        )
    return c.observation.detail if c.observation else _("not measured")


def _outcome(o: Outcome | str) -> str:
    """An outcome's word (reachable, unreachable, error) in the language in use."""
    words = {"reachable": _("reachable"), "unreachable": _("unreachable"), "error": _("error")}
    return words.get(str(o), str(o))


def condition_lines(checks: Sequence[Check]) -> list[str]:
    """Which conditional expectations applied, grouped by the condition the host met."""
    by: dict[str, list[str]] = {}
    for c in checks:
        if c.condition and not c.undecided:
            e = c.expectation
            by.setdefault(c.condition, []).append(f"{e.src} -> {e.dst} {e.probe}")
    return [
        "  " + _("on this host ({condition}): {cells}").format(condition=cond, cells=", ".join(cells))
        for cond, cells in by.items()
    ]


def docker_only_lines(expectations: Sequence[Expectation], env: Mapping[str, Any]) -> list[str]:
    """The expectations about some Docker release that do not apply to this run's engine (CNI, Podman), grouped by
    their condition: the cells are measured and shown, and judged against nothing."""
    by: dict[str, list[str]] = {}
    for e in expectations:
        by.setdefault(conditions.text(e.when), []).append(f"{e.src} -> {e.dst} {e.probe}")
    kind = conditions.ENGINE_KINDS.get(str(env.get("engine_kind")), str(env.get("engine_kind")))
    return [
        "  "
        + _("Docker's only, not judged on {engine} (where {condition}): {cells}").format(
            engine=kind, condition=cond, cells=", ".join(cells)
        )
        for cond, cells in by.items()
    ]


def environment_lines(env: dict[str, Any], dual_stack: bool = False) -> list[str]:
    """The engine and the Docker hosts as they decide reachability (netlab/evidence/hostfacts.py); `dual_stack`:
    their IPv6 forwarding and ip6tables FORWARD policy too."""
    out = []
    if env.get("engine"):
        proxy = env.get("userland_proxy")
        extra = [_("userland proxy {proxy}").format(proxy=proxy)] if proxy else []
        if dual_stack and env.get("ip6tables"):
            extra.append(f"ip6tables {env['ip6tables']}")
        options = env.get("daemon_options") or {}
        if options:
            extra.append(_("daemon {options}").format(options=" ".join(f"{k}={v}" for k, v in sorted(options.items()))))
        out.append(_("engine: {engine}").format(engine=env["engine"]) + (f" ({'; '.join(extra)})" if extra else ""))
        if env.get("engine_chosen") and env["engine_chosen"] != "as asked":
            chosen = _("chosen: {chosen} (--engine and --forward-policy choose others)")
            out.append("  " + chosen.format(chosen=env["engine_chosen"]))
    for node, facts in (env.get("nodes") or {}).items():
        nf = facts.get("bridge_nf_call_iptables")
        six = ""
        if dual_stack:
            six = _("; IPv6 forwarding {forwarding}, FORWARD policy {policy}").format(
                forwarding=facts.get("ipv6_forwarding"),
                policy=facts.get("forward_policy6") or _("ACCEPT (no ip6tables filter table)"),
            )
        out.append(
            _(
                "node {node}: FORWARD policy {policy}, ip_forward {ip_forward}, bridge-nf-call-iptables {nf}{ipv6}"
            ).format(
                node=node,
                policy=facts.get("forward_policy") or _("unknown (rules not read)"),
                ip_forward=facts.get("ip_forward"),
                nf=nf if nf is not None else _("missing"),
                ipv6=six,
            )
        )
    return out


def render(r: Result, color: bool = False, predicted: bool = False, width: int = WIDTH) -> str:
    """The full report; `predicted`: with Docker's rules' prediction beside the measurement (prediction_lines)."""
    t = r.topology
    names = list(r.endpoints)
    env = r.environment
    runner = " " + _("in user-mode Linux") if env.get("kernel_runner") == "uml" else ""
    lines = [
        f"{_bold('netlab run ' + t.name, color)}: {_(t.title)}",
        _("backend: {backend}  kernel: {kernel}{runner}  firewall: {firewall}  run: {run}").format(
            backend=r.backend,
            kernel=env.get("kernel", "?"),
            runner=runner,
            firewall=env.get("firewall", "?"),
            run=r.run,
        ),
    ]
    lines += environment_lines(env, t.dual_stack)
    docker_said = env.get("docker_warnings") or {}
    if docker_said:  # the daemon's own words (the docker backend), in place of netlab's rendering of them
        lines += [
            _("warning (Docker, container {container!r}): {warning}").format(container=c, warning=w)
            for c, ws in sorted(docker_said.items())
            for w in ws
        ]
    else:
        lines += [_("warning: {warning}").format(warning=w) for w in t.warnings]
    for stage in t.stages:
        checks = r.verdict.stage(stage.name)
        obs = [o for o in r.observations if o.stage == stage.name]
        lines += ["", _bold(_stage_head(stage), color)]
        lines += stage_tables(stage, names, obs, checks, color, width=width)
        for c in checks:
            if c.ok:
                continue
            e = c.expectation
            addr = f" ({c.observation.address})" if c.observation and c.observation.address else ""
            lines.append("  " + _wrong_line(c, addr, color))
            if e.claim:
                lines.append("        " + _("claim: {claim}").format(claim=_(e.claim)))
        lines += condition_lines(checks)
        lines += docker_only_lines(r.verdict.docker_only_in(stage.name), r.environment)
        lines += why_lines(obs, color)
        lines += firewall_lines(r.evidence.get("firewall", {}).get(stage.name, {}), color)
        lines += container_firewall_lines(r.evidence.get("container_firewall", {}).get(stage.name, {}), color)
        lines += route_lines(r, stage.name, color)
        lines += capture_lines([c for c in r.evidence.get("captures", []) if c.get("stage") == stage.name], color)
    claims = [c for c in r.verdict.checks if c.expectation.claim]
    seen = {(x["stage"], x["src"], x["dst"], x["probe"]): x["facts"] for x in r.evidence.get("cells", [])}
    if claims:
        lines += ["", _bold(_("claims"), color)]
        for c in claims:
            e = c.expectation
            mark = _green(_held(), color) if c.ok else _red(_failed(), color)
            # a claim that depends on the host or version
            where = _("; where {condition}").format(condition=c.condition) if c.condition else ""
            lines.append(f"  {mark} {_(e.claim or '')}  [{e.src} -> {e.dst} {e.probe}{where}]")
            facts = seen.get((e.stage, e.src, e.dst, str(e.probe)), [])
            lines += ["         " + _("seen: {fact}").format(fact=fact) for fact in facts]
    if r.claims:
        lines += ["", _bold(_("the lecture's claims, checked on the evidence"), color)]
        for lc in r.claims:
            good = lc["as_expected"]
            if lc["held"] is None:
                mark = _yellow(_("NOT MEASURED"), color)
            elif lc["expected"]:
                mark = _green(_held(), color) if good else _red(_failed(), color)
            else:  # the scenario shows the lecture wrong
                mark = _green(_("wrong, as expected"), color) if good else _red(_("HELD, expected wrong"), color)
            lines.append(f"  {mark} {lc['driver']}: {lc['wording']}")  # the lecture's own words, never translated
            if lc.get("english") and i18n.language() == "en":
                lines.append(f"         (in English: {lc['english']})")
            lines += [f"         {k}: {v['evidence']}" for k, v in lc["measured"].items()]
            if lc["note"] and not lc["expected"]:
                lines.append(f"         ({_(lc['note'])})")
    if predicted:
        lines += ["", *prediction_lines(r, color, width)]
    if r.host_changes:
        lines += ["", _red(_("warning: the machine's own sysctls differ after the run (netlab writes none):"), color)]
        lines += [f"  {change}" for change in r.host_changes]
    tm = r.timings
    spent = [_("deploy {seconds:.2f} s").format(seconds=tm.get("deploy_s", 0))]
    spent.append(_("probe {seconds:.2f} s").format(seconds=tm.get("probe_s", 0)))
    if "why_s" in tm:
        spent.append(_("why {seconds:.2f} s").format(seconds=tm["why_s"]))
    spent.append(_("destroy {seconds:.2f} s").format(seconds=tm.get("destroy_s", 0)))
    timings = _("(backend {backend}{runner}; {timings})").format(
        backend=r.backend, runner=runner, timings=", ".join(spent)
    )
    lines += ["", f"{r.verdict.summary()}{_claims_summary(r)}  {timings}"]
    return "\n".join(lines) + "\n"


def _stage_head(stage: Stage) -> str:
    """`stage NAME: what it does` (the doc of a bundled scenario in the language in use)."""
    if stage.doc:
        return _("stage {name}: {doc}").format(name=stage.name, doc=_(stage.doc))
    return _("stage {name}").format(name=stage.name)


def _held() -> str:
    """The mark of a claim that held, as wide as that of one that failed (the claims' words line up)."""
    return _("held").ljust(len(_("FAILED")))


def _failed() -> str:
    return _("FAILED").ljust(len(_("held")))


def _wrong_line(c: Check, address: str, color: bool) -> str:
    """A wrong cell: `WRONG a -> b icmp: expected reachable, observed unreachable (detail)`."""
    mark = _red(_("WRONG"), color) if not c.error else _yellow(_("ERROR"), color)
    e = c.expectation
    return _("{mark} {src} -> {dst}{address} {probe}: expected {expected}, observed {observed} ({detail})").format(
        mark=mark,
        src=e.src,
        dst=e.dst,
        address=address,
        probe=e.probe,
        expected=_outcome(c.expected),
        observed=_outcome(c.observed),
        detail=_detail(c),
    )


def prediction_lines(r: Result, color: bool = False, width: int = WIDTH) -> list[str]:
    """Docker's rules' prediction beside the measurement: per stage the predicted, observed and diff tables, every
    cell measured otherwise with the rule that predicted it and what was seen, and the cells not predicted."""
    p = r.predicted()
    names = list(r.endpoints)
    facts = ", ".join(
        _("node {node}: FORWARD policy {policy}").format(node=n, policy=f.get("forward_policy") or _("unknown"))
        for n, f in (r.environment.get("nodes") or {}).items()
    )
    if r.topology.dual_stack and r.environment.get("ip6tables"):
        facts = ", ".join(x for x in (f"ip6tables {r.environment['ip6tables']}", facts) if x)
    head = _("predicted from Docker's rules (engine {engine}{facts})").format(
        engine=p.engine or _("unknown"), facts=f"; {facts}" if facts else ""
    )
    lines = [_bold(head, color)]
    for stage in p.topology.stages:
        checks = p.verdict.stage(stage.name)
        obs = [o for o in r.observations if o.stage == stage.name]
        lines += ["", _bold(_("stage {name}, predicted").format(name=stage.name), color)]
        lines += stage_tables(stage, names, obs, checks, color, label="predicted", width=width)
        for c in checks:
            if c.ok:
                continue
            e = c.expectation
            addr = f" ({e.address})" if e.address else ""
            mark = _red(_("DIFFERS"), color) if not c.error else _yellow(_("ERROR"), color)
            differs = _("{mark} {src} -> {dst}{address} {probe}: predicted {predicted}, measured {measured}")
            lines.append(
                "  "
                + differs.format(
                    mark=mark,
                    src=e.src,
                    dst=e.dst,
                    address=addr,
                    probe=e.probe,
                    predicted=_outcome(c.expected),
                    measured=_outcome(c.observed),
                )
            )
            rule = p.why(e.stage, e.src, e.dst, str(e.probe), e.address)
            lines.append("        " + _("Docker's rule: {rule}").format(rule=rule))
            lines.append("        " + _("measured: {evidence}").format(evidence=p.evidence(c)))
        for cell in p.unpredicted:
            if cell.stage == stage.name:
                unpredicted = _("not predicted: {src} -> {dst} {probe}: {reason}")
                lines.append(
                    "  " + unpredicted.format(src=cell.src, dst=cell.dst, probe=cell.probe, reason=cell.reason)
                )
    lines += ["", _("prediction: {summary}").format(summary=p.summary())]
    return lines


def prediction_lines_text(r: Result) -> str:
    return "\n".join(prediction_lines(r)) + "\n"


def render_check(r: Result, color: bool = False, predicted: bool = False, width: int = WIDTH) -> str:
    """`netlab run --check`: per stage the expected, observed and diff tables and the wrong cells, then
    `N correct, M wrong, K errors`; no evidence (the JSON and the full report have it). `predicted`: Docker's
    rules' prediction too (`--check predicted`)."""
    t = r.topology
    names = list(r.endpoints)
    lines = [
        _bold("netlab run " + t.name, color)
        + " "
        + _("--check (backend {backend}, run {run})").format(backend=r.backend, run=r.run)
    ]
    for stage in t.stages if r.verdict.checks or not predicted else ():  # nothing expected: the prediction only
        checks = r.verdict.stage(stage.name)
        obs = [o for o in r.observations if o.stage == stage.name]
        lines += ["", _bold(_("stage {name}").format(name=stage.name), color)]
        lines += stage_tables(stage, names, obs, checks, color, width=width)
        for c in checks:
            if not c.ok:
                lines.append("  " + _wrong_line(c, "", color))
        lines += why_lines(obs, color)
    if predicted:
        lines += ["", *prediction_lines(r, color, width)]
    v = r.verdict
    lines += [
        "",
        _("{correct} correct, {wrong} wrong, {errors} errors").format(
            correct=v.correct, wrong=v.wrong, errors=v.errors
        ),
    ]
    return "\n".join(lines) + "\n"


def firewall_lines(nodes: dict[str, Any], color: bool) -> list[str]:
    """What the stage changed in each node's rules, grouped by table and chain (`+` added, `-` removed)."""
    out: list[str] = []
    for node, found in sorted(nodes.items()):
        if found.get("read_only"):
            out += [
                "",
                _bold(
                    _("firewall of {node} ({tool}): the rules naming what was measured (read only)").format(
                        node=node, tool=found.get("tool")
                    ),
                    color,
                ),
            ]
            for table, chains in found.get("rules", {}).items():
                for chain_rules in chains.values():
                    out += [f"  {table:<7}   {rule}" for rule in chain_rules]
            if not found.get("rules"):
                out.append("  " + _("(none)"))
            continue
        changes = found.get("changes", {})
        tool = found.get("tool", "iptables")
        if not changes:
            why = (
                " " + _("(not read again: this stage's actions make Docker write no rule)")
                if found.get("read") is False
                else ""
            )
            out += ["", _("firewall of {node} ({tool}): no change{why}").format(node=node, tool=tool, why=why)]
            continue
        heading = _("firewall of {node} ({tool}): rules added (+) and removed (-)").format(node=node, tool=tool)
        out += ["", _bold(heading, color)]
        w = max(7, *(len(table) for table in changes))
        for table, entry in changes.items():
            for chain in entry.get("chains_created", []):
                out.append(f"  {table:<{w}} + " + _("chain {chain}").format(chain=chain))
            for chain in entry.get("chains_deleted", []):
                out.append(f"  {table:<{w}} - " + _("chain {chain}").format(chain=chain))
            for chain, change in entry.get("policies", {}).items():
                out.append(f"  {table:<{w}}   " + _("policy {chain}: {change}").format(chain=chain, change=change))
            for sign, key in (("+", "added"), ("-", "removed")):
                for rules in entry.get(key, {}).values():
                    out += [f"  {table:<{w}} {sign} {rule}" for rule in rules]
    return out


def container_firewall_lines(containers: dict[str, Any], color: bool) -> list[str]:
    """Rules inside containers' own namespaces (Docker's embedded DNS), apart from the nodes': the first
    container's in full, the others as the ports their resolver got when their rules have the same shape."""
    changed = {c: v for c, v in containers.items() if v.get("changes")}
    if not changed:
        return []
    out = ["", _bold(_("rules inside containers (Docker's embedded DNS: each container's own nat table)"), color)]
    shown: dict[str, str] = {}  # rule shape (ports blanked) -> first container showing it
    for name, found in changed.items():
        rules = [
            f"{'+' if key == 'added' else '-'} {rule}"
            for table, entry in found["changes"].items()
            for key in ("added", "removed")
            for chain_rules in entry.get(key, {}).values()
            for rule in chain_rules
        ]
        shape = re.sub(r"\b\d{4,5}\b", "N", "\n".join(rules))
        ports = sorted(set(re.findall(r"127\.0\.0\.11:(\d+)", "\n".join(rules))))
        if shape in shown:
            same = _("{container}: the same as {other}, resolver ports {ports}")
            out.append("  " + same.format(container=name, other=shown[shape], ports=", ".join(ports) or "-"))
            continue
        shown[shape] = name
        out.append(f"  {name} ({found.get('tool', 'iptables')}):")
        out += [f"    {rule}" for rule in rules]
    return out


def route_lines(r: Result, stage: str, color: bool) -> list[str]:
    """Routes and ARP entries per endpoint after the stage was probed: all of them after the first stage,
    afterwards only the endpoints whose tables changed (multicast NOARP entries left out); IPv6 routes and NDP
    entries in a dual-stack run."""
    stages = [s.name for s in r.topology.stages]
    now = r.evidence.get("routes", {}).get(stage, {})
    before = r.evidence.get("routes", {}).get(stages[stages.index(stage) - 1], {}) if stages.index(stage) else {}
    shown = [n for n in r.endpoints if n in now and _tables(now[n]) != _tables(before.get(n))]
    if not shown:
        return []
    width = max(len(n) for n in shown)
    if before:
        heading = _("routes and neighbours after stage {stage} (what changed)").format(stage=stage)
    else:
        heading = _("routes and neighbours after stage {stage}").format(stage=stage)
    out = ["", _bold(heading, color)]
    for name in shown:
        rows = table_rows(now[name])
        for i, row in enumerate(rows or [_("(none)")]):
            out.append(f"  {(name if i == 0 else '').ljust(width)}  {row}")
    return out


def table_rows(found: dict[str, Any]) -> list[str]:
    """One endpoint's routes and neighbours as `ip route`/`ip neigh` lines, each family labelled."""
    rows = [f"route  {x}" for x in found.get("routes", [])]
    rows += [f"arp    {x}" for x in found.get("neighbours", []) if not x.endswith(" NOARP")]
    rows += [f"route6 {x}" for x in found.get("routes6", [])]
    rows += [f"ndp    {x}" for x in found.get("neighbours6", []) if not x.endswith(" NOARP")]
    return rows


def capture_lines(captures: list[dict[str, Any]], color: bool, most: int = 4) -> list[str]:
    """What the packets captured during the stage prove, per capture point (the facts decoded from its frames)."""
    out: list[str] = []
    for c in captures:
        facts = c.get("facts", {})
        if not facts and not c.get("error"):
            continue
        pcap = f", {c['pcap']}" if c.get("pcap") else ""
        decoded = c.get("decoded", c["packets"])
        first = _(", the first {decoded} decoded").format(decoded=decoded) if decoded < c["packets"] else ""
        first += _(" of more (the rest was not kept)") if c.get("truncated") else ""
        where = _("{point} ({interface}, {packets} packets{first}{pcap})").format(
            point=c["point"], interface=c["interface"], packets=c["packets"], first=first, pcap=pcap
        )
        if not out:
            out += ["", _bold(_("captured while probing"), color)]
        out.append(f"  {where}")
        if c.get("error"):
            out.append("    " + _("error: {error}").format(error=c["error"]))
        if facts.get("sources"):
            seen = ", ".join(f"{a} x{n}" for a, n in facts["sources"].items())
            out.append("    " + _("traffic to the lan's peers came from: {sources}").format(sources=seen))
        if facts.get("macs"):
            macs = ", ".join(f"{a} {m}" for a, m in facts["macs"].items())
            out.append("    " + _("MACs on the wire: {macs}").format(macs=macs))
        if facts.get("vxlan"):
            out += [f"    VXLAN {what} x{n}" for what, n in facts["vxlan"].items()]
        if facts.get("vlans"):
            out += [f"    802.1Q {vid}: " + ", ".join(senders) for vid, senders in facts["vlans"].items()]
        for key, label in (("arp", "ARP"), ("ndp", "NDP")):
            if facts.get(key):
                asked = list(facts[key])
                more = _(" and {count} more").format(count=len(asked) - most) if len(asked) > most else ""
                out.append(f"    {label}: {'; '.join(asked[:most])}{more}")
    return out


def _tables(found: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    """Routes, and neighbours without their state (REACHABLE turns STALE by itself)."""
    if not found:
        return [], []
    neighbours = [*found.get("neighbours", []), *found.get("neighbours6", [])]
    return [*found.get("routes", []), *found.get("routes6", [])], [n.rsplit(" ", 1)[0] for n in neighbours]


def _claims_summary(r: Result) -> str:
    if not r.claims:
        return ""
    good = sum(1 for c in r.claims if c["as_expected"])
    unseen = sum(1 for c in r.claims if c["as_expected"] is None)
    return _("; {good} of {total} lecture claims as expected").format(good=good, total=len(r.claims)) + (
        _(" ({unseen} not measurable here)").format(unseen=unseen) if unseen else ""
    )


def _bold(s: str, color: bool) -> str:
    return f"{BOLD}{s}{RESET}" if color else s


def _red(s: str, color: bool) -> str:
    return f"{RED}{s}{RESET}" if color else s


def _green(s: str, color: bool) -> str:
    return f"{GREEN}{s}{RESET}" if color else s


def _yellow(s: str, color: bool) -> str:
    return f"{YELLOW}{s}{RESET}" if color else s


__all__ = ["Outcome", "render", "table"]

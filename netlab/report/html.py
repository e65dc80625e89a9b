"""`netlab run --html FILE`: one self-contained page (no fetches: styles inline, the diagram as inline SVG)
made for a projector: large type, high contrast. The lecture's card with what was measured, the topology
with reachability drawn over it per stage, the truth tables as colour-coded grids whose cells tell their
detail on hover (address, probe, round trip, what the kernel said, capture facts), the firewall changes,
the rules inside containers, routes and neighbours, capture facts with links to the pcaps, environment."""

from __future__ import annotations

import html
import os
from typing import Any

from netlab.model import conditions
from netlab.report import console, diagram
from netlab.report.console import _diff_mark
from netlab.report.shape import Result

CSS = """
body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; font-size: 20px; color: #000; background: #fff;
       margin: 1.5em 2em; line-height: 1.4; }
h1 { font-size: 2em; margin: 0 0 .2em 0; } h2 { font-size: 1.5em; border-bottom: 3px solid #000; margin-top: 1.6em; }
h3 { font-size: 1.2em; }
.summary { font-size: 1.3em; font-weight: bold; padding: .4em .8em; display: inline-block; }
.ok { background: #1a7f37; color: #fff; } .bad { background: #cf222e; color: #fff; }
table.grid { border-collapse: collapse; margin: .5em 2em .5em 0; display: inline-table; vertical-align: top; }
table.grid caption { font-weight: bold; text-align: left; padding-bottom: .2em; }
table.grid th, table.grid td { border: 2px solid #000; min-width: 2.4em; height: 2.2em; text-align: center;
       font-size: 1.05em; padding: 0 .3em; }
td.reach { background: #1a7f37; color: #fff; } td.block { background: #cf222e; color: #fff; }
td.error { background: #9a6700; color: #fff; } td.unchecked { background: #f0f0f0; color: #555; }
td.self { background: #fff; } td.wrong { background: #cf222e; color: #fff; font-weight: bold; }
td.right { background: #ffffff; }
td[title] { cursor: help; }
pre { background: #f6f8fa; border: 2px solid #000; padding: .6em; font-size: .8em; overflow-x: auto; }
.diagram svg { max-width: 100%; height: auto; border: 2px solid #000; }
ul.claims li { margin: .3em 0; }
.held { color: #1a7f37; font-weight: bold; } .unmeasured { color: #555; font-weight: bold; }
.failed { color: #cf222e; font-weight: bold; }
table.env td { padding: .1em .8em; border-bottom: 1px solid #999; }
"""

SYMBOL_CLASS = {".": "reach", "X": "block", "!": "error", "-": "unchecked"}


def _e(x: object) -> str:
    return html.escape(str(x))


def _cell_detail(r: Result, stage: str, src: str, dst: str, probe: str) -> str:
    obs = next((o for o in r.observations if (o.stage, o.src, o.dst, str(o.probe)) == (stage, src, dst, probe)), None)
    parts = [f"{src} -> {dst} {probe}"]
    exp = next(
        (
            c
            for c in r.verdict.checks
            if (c.expectation.stage, c.expectation.src, c.expectation.dst, str(c.expectation.probe))
            == (stage, src, dst, probe)
        ),
        None,
    )
    if exp is not None:
        parts.append(f"expected {exp.expected}" + (f" ({exp.expectation.claim})" if exp.expectation.claim else ""))
        if exp.undecided:
            parts.append(exp.reason)
    for e in r.verdict.docker_only_in(stage):
        if (e.src, e.dst, str(e.probe)) == (src, dst, probe):
            outcome = "reachable" if e.reachable else "unreachable"
            parts.append(f"Docker's only, not judged here: {outcome} where {conditions.text(e.when)}")
    if obs is not None:
        parts.append(f"observed {obs.outcome} at {obs.address}")
        if obs.rtt_ms is not None:
            parts.append(f"round trip {obs.rtt_ms:.3f} ms")
        if obs.detail:
            parts.append(obs.detail)
        if obs.why:
            parts.append(f"why: {obs.why}")
    for cell in r.evidence.get("cells", []):
        if (cell.get("stage"), cell.get("src"), cell.get("dst"), cell.get("probe")) == (stage, src, dst, probe):
            parts += [f"seen: {f}" for f in cell.get("facts", [])]
    return "\n".join(parts)


def _grid(r: Result, stage: str, kind: str) -> str:
    names = list(r.endpoints)
    checks = {
        (c.expectation.src, c.expectation.dst): c for c in r.verdict.stage(stage) if str(c.expectation.probe) == "icmp"
    }
    observed = {(o.src, o.dst): o.outcome for o in r.observations if o.stage == stage and str(o.probe) == "icmp"}
    rows = [f"<caption>{_e(kind)}</caption>", "<tr><th></th>" + "".join(f"<th>{_e(n)}</th>" for n in names) + "</tr>"]
    for src in names:
        cells = [f"<th>{_e(src)}</th>"]
        for dst in names:
            if src == dst:
                cells.append('<td class="self"></td>')
                continue
            c = checks.get((src, dst))
            if kind == "expected":
                sym = c.expected.symbol if c else "-"
                cls = SYMBOL_CLASS[sym]
            elif kind == "observed":
                out = observed.get((src, dst))
                sym = out.symbol if out is not None else "-"
                cls = SYMBOL_CLASS.get(sym, "unchecked")
            else:
                sym = _diff_mark(c).strip() if c else "-"
                cls = "unchecked" if c is None else ("right" if not sym else "wrong")
            title = _e(_cell_detail(r, stage, src, dst, "icmp"))
            cells.append(f'<td class="{cls}" title="{title}">{_e(sym)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return '<table class="grid">' + "".join(rows) + "</table>"


def _others(r: Result, stage: str) -> str:
    checks = [c for c in r.verdict.stage(stage) if str(c.expectation.probe) != "icmp"]
    if not checks:
        return ""
    rows = ["<tr><th>probe</th><th>pair</th><th>expected</th><th>observed</th><th>diff</th></tr>"]
    for c in checks:
        e = c.expectation
        title = _e(_cell_detail(r, stage, e.src, e.dst, str(e.probe)))
        mark = _diff_mark(c).strip()
        rows.append(
            f"<tr><td>{_e(e.probe)}</td><td>{_e(e.src)} &rarr; {_e(e.dst)}</td>"
            f'<td class="{SYMBOL_CLASS[c.expected.symbol]}" title="{title}">{_e(c.expected.symbol)}</td>'
            f'<td class="{SYMBOL_CLASS.get(c.observed.symbol, "error")}" title="{title}">{_e(c.observed.symbol)}</td>'
            f'<td class="{"wrong" if mark else "right"}">{_e(mark)}</td></tr>'
        )
    return '<table class="grid"><caption>other probes</caption>' + "".join(rows) + "</table>"


def _firewall(changes: dict[str, Any]) -> list[str]:
    lines = []
    for table, entry in changes.items():
        lines += [f"{table:<7} + chain {c}" for c in entry.get("chains_created", [])]
        lines += [f"{table:<7} - chain {c}" for c in entry.get("chains_deleted", [])]
        for sign, key in (("+", "added"), ("-", "removed")):
            for rules in entry.get(key, {}).values():
                lines += [f"{table:<7} {sign} {rule}" for rule in rules]
    return lines


def _evidence(r: Result, stage: str, html_dir: str) -> str:
    out: list[str] = []
    for node, found in sorted(r.evidence.get("firewall", {}).get(stage, {}).items()):
        lines = _firewall(found.get("changes", {}))
        note = " (not read again: the stage makes Docker write no rule)" if found.get("read") is False else ""
        if found.get("read_only"):  # netlab scan: the rules naming what was measured, nothing diffed
            lines = [
                f"{table:<7} {rule}"
                for table, chains in found["rules"].items()
                for rs in chains.values()
                for rule in rs
            ]
            note = ": the rules naming what was measured (read only)"
        out.append(f"<h3>firewall of {_e(node)} ({_e(found.get('tool', 'iptables'))}){_e(note)}</h3>")
        out.append(f"<pre>{_e(chr(10).join(lines) or 'no change')}</pre>")
    inside = {c: v for c, v in r.evidence.get("container_firewall", {}).get(stage, {}).items() if v.get("changes")}
    if inside:
        out.append("<h3>rules inside containers (Docker's embedded DNS)</h3>")
        text = "\n\n".join(f"{c}:\n" + "\n".join("  " + x for x in _firewall(v["changes"])) for c, v in inside.items())
        out.append(f"<pre>{_e(text)}</pre>")
    routes = r.evidence.get("routes", {}).get(stage, {})
    if routes:
        text = "\n".join(
            f"{name}\n" + "\n".join(f"  {row}" for row in console.table_rows(found)) for name, found in routes.items()
        )
        out.append(f"<h3>routes and neighbours</h3><pre>{_e(text)}</pre>")
    for cap in (c for c in r.evidence.get("captures", []) if c.get("stage") == stage):
        facts = cap.get("facts", {})
        head = f"captured on {cap.get('point')} ({cap.get('interface')}, {cap.get('packets')} packets)"
        link = ""
        if cap.get("pcap"):
            rel = os.path.relpath(str(cap["pcap"]), html_dir or ".")
            link = f' &mdash; <a href="{_e(rel)}">{_e(os.path.basename(str(cap["pcap"])))}</a>'
        body = "\n".join(f"{kind}: {value}" for kind, value in facts.items()) or "nothing to report"
        out.append(f"<h3>{_e(head)}{link}</h3><pre>{_e(body)}</pre>")
    return "\n".join(out)


def render(r: Result, html_path: str = "") -> str:
    t = r.topology
    html_dir = os.path.dirname(os.path.abspath(html_path)) if html_path else ""
    v = r.verdict
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>netlab run {_e(t.name)}</title><style>{CSS}</style></head><body>",
        f"<h1>netlab run {_e(t.name)}</h1><p>{_e(t.title)}</p>",
        f'<p class="summary {"ok" if r.ok else "bad"}">{v.correct} correct, {v.wrong} wrong, {v.errors} errors</p>',
    ]
    if r.claims:
        items = []
        for c in r.claims:
            good = c["as_expected"]
            if c["held"] is None:  # the evidence it needs is not readable here (e.g. remote engines)
                mark, label = "unmeasured", "not measured"
            else:
                mark = "held" if good else "failed"
                label = ("as expected" if good else "NOT as expected") + (
                    "" if c["expected"] else " (the lecture is wrong here)"
                )
            measured = "; ".join(f"{k}: {m['evidence']}" for k, m in c["measured"].items())
            items.append(
                f'<li><span class="{mark}">{_e(label)}</span> {_e(c["driver"])}: {_e(c["wording"])}'
                f"<br><small>{_e(measured)}</small></li>"
            )
        parts += ["<h2>The lecture's card</h2>", f'<ul class="claims">{"".join(items)}</ul>']
    for stage in t.stages:
        dot = diagram.dot_source(t, r.observations, stage.name, title=f"stage {stage.name}")
        parts += [
            f"<h2>stage {_e(stage.name)}{(': ' + _e(stage.doc)) if stage.doc else ''}</h2>",
            f'<div class="diagram">{diagram.svg(dot)}</div>',
            "<p>Green arrows reached, red dashed ones did not; hover a cell for its detail.</p>",
            _grid(r, stage.name, "expected") + _grid(r, stage.name, "observed") + _grid(r, stage.name, "diff"),
            _others(r, stage.name),
            _evidence(r, stage.name, html_dir),
        ]
    shown = {k: v for k, v in r.environment.items() if k not in ("nodes", "daemon_options")}
    for line in console.environment_lines(r.environment, r.topology.dual_stack):
        key, _, value = line.partition(": ")
        shown[key] = value
    env = {**shown, "backend": r.backend, "run": r.run, **{k: f"{v:.3f} s" for k, v in r.timings.items()}}
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(val)}</td></tr>" for k, val in env.items())
    parts += ["<h2>Environment</h2>", f'<table class="env">{rows}</table>', "</body></html>"]
    return "\n".join(p for p in parts if p) + "\n"

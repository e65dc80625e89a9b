"""Expected matrices written as truth tables: rows are sources, columns destinations.

Plain format (a `.matrix` or `.txt` file, or the text given to `Scenario.expect_matrix`)::

    # comments start with '#'
    stage: initial          # optional: which stage the tables below belong to (default: the first)
    probe: icmp             # optional: which probe (default icmp); tcp:80, udp:53, dns:web, icmp6, tcp6:80 ...
            web  app  db
    web      -    .    X
    app      .    -    X
    db       X    X    -

Cells: `.` reachable, `X` unreachable, `-` not checked. A `stage:` or `probe:` line or a blank line ends a
table; the next non-blank line is a new table's header, which may begin with a corner label holding a
backslash (`src\\dst`). YAML holds the same tables; there the corner label is needed, since a block's first
line sets its indentation::

    matrices:
      - stage: initial
        probe: tcp:80
        table: |
          src\\dst web app
          ext      .   X

Parsing is strict: every problem is reported as `SOURCE:LINE:COLUMN: what is wrong`, nothing is guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from netlab.errors import UsageError
from netlab.model import conditions
from netlab.model.expectations import parse_probe
from netlab.model.topology import Expectation, Topology

SYMBOLS = {".": True, "X": False, "-": None}
_TOKEN = re.compile(r"\S+")
_DIRECTIVE = re.compile(r"^\s*(stage|probe)\s*:\s*(\S*)\s*$")
_ANY_DIRECTIVE = re.compile(r"^\s*([A-Za-z_]+)\s*:")


class MatrixError(UsageError):
    """A matrix file or table that cannot be read: names the place (source, line, column) and the problem."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One checked cell of a table, with where it was written (1-based line and column)."""

    stage: str | None  # None: the scenario's first stage
    probe: str
    src: str
    dst: str
    reachable: bool
    line: int
    col: int
    src_col: int
    dst_line: int
    dst_col: int
    stage_line: int = 0
    probe_line: int = 0


def _strip_comment(line: str) -> str:
    at = line.find("#")
    return line if at < 0 else line[:at]


def parse_table(
    text: str,
    source: str = "<matrix>",
    first_line: int = 1,
    indent: int = 0,
    stage: str | None = None,
    probe: str = "icmp",
) -> list[Cell]:
    """The checked cells of the tables in `text` (`-` cells are left out). `first_line` and `indent` place the
    text inside a larger file (a YAML block), so messages point at the right line and column."""

    def fail(line: int, col: int, msg: str) -> MatrixError:
        return MatrixError(f"{source}:{line}:{col}: {msg}")

    cells: list[Cell] = []
    seen: dict[tuple[str | None, str, str, str], int] = {}
    header: list[tuple[str, int]] | None = None
    stage_line = probe_line = 0
    rows_seen: set[str] = set()
    for i, raw in enumerate(text.splitlines()):
        lineno = first_line + i
        body = _strip_comment(raw)
        if not body.strip():
            header = None
            continue
        m = _DIRECTIVE.match(body)
        if m:
            key, value = m.groups()
            col = indent + body.index(key) + 1
            if not value:
                raise fail(lineno, col, f"'{key}:' needs a value")
            if key == "stage":
                stage, stage_line = value, lineno
            else:
                try:
                    parse_probe(value)
                except ValueError as e:
                    raise fail(lineno, indent + m.start(2) + 1, str(e)) from e
                probe, probe_line = value.lower(), lineno
            header = None
            continue
        other = _ANY_DIRECTIVE.match(body)
        if other and header is None:
            raise fail(
                lineno,
                indent + body.index(other.group(1)) + 1,
                f"unknown setting {other.group(1)!r}: use stage: or probe:",
            )
        tokens = [(m.group(0), indent + m.start() + 1) for m in _TOKEN.finditer(body)]
        if header is None:
            if "\\" in tokens[0][0]:  # a corner label such as src\dst (a YAML block's first line sets its indent)
                tokens = tokens[1:]
                if not tokens:
                    raise fail(lineno, indent + 1, "header: no destination names after the corner label")
            names = [t for t, _ in tokens]
            for k, (name, col) in enumerate(tokens):
                if name in SYMBOLS:
                    raise fail(
                        lineno,
                        col,
                        f"header: {name!r} is a cell, not a destination name (a table starts "
                        "with a line of destination names)",
                    )
                if name in names[:k]:
                    raise fail(lineno, col, f"header: destination {name!r} appears twice")
            header, header_line, rows_seen = tokens, lineno, set()
            continue
        (src, src_col), row = tokens[0], tokens[1:]
        if src in rows_seen:
            raise fail(lineno, src_col, f"source {src!r} has a second row in this table")
        rows_seen.add(src)
        if len(row) != len(header):
            col = row[len(header)][1] if len(row) > len(header) else (tokens[-1][1] + len(tokens[-1][0]))
            raise fail(
                lineno,
                col,
                f"row {src!r} has {len(row)} cells for {len(header)} destinations ({' '.join(n for n, _ in header)})",
            )
        for (symbol, col), (dst, dst_col) in zip(row, header, strict=True):
            if symbol not in SYMBOLS:
                raise fail(
                    lineno,
                    col,
                    f"cell {src} -> {dst} is {symbol!r}: use '.' reachable, 'X' unreachable, '-' not checked",
                )
            if src == dst and symbol != "-":
                raise fail(lineno, col, f"cell {src} -> {dst}: an endpoint is not probed from itself, write '-'")
            reachable = SYMBOLS[symbol]
            if reachable is None:
                continue
            key = (stage, probe, src, dst)
            if key in seen:
                raise fail(lineno, col, f"cell {src} -> {dst} ({probe}) was already given on line {seen[key]}")
            seen[key] = lineno
            cells.append(
                Cell(
                    stage,
                    probe,
                    src,
                    dst,
                    reachable,
                    lineno,
                    col,
                    src_col,
                    header_line,
                    dst_col,
                    stage_line,
                    probe_line,
                )
            )
    return cells


def parse(text: str, source: str, as_yaml: bool = False) -> list[Cell]:
    """The cells of a matrix file's text: YAML when `as_yaml` (the file is named `.yaml`/`.yml`) or when its
    first setting is `matrices:`, else the plain format. Reading the file is the loading layer's
    (netlab/loader.py, `load_matrix`)."""
    first = next((ln.strip() for ln in text.splitlines() if _strip_comment(ln).strip()), "")
    if as_yaml or first.startswith("matrices:"):
        return parse_yaml(text, source)
    return parse_table(text, source)


def parse_yaml(text: str, source: str) -> list[Cell]:
    """The cells of a YAML matrix file's text (`matrices: [{stage, probe, table}]`)."""
    import yaml

    try:
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "1:1"
        raise MatrixError(f"{source}:{where}: not valid YAML ({getattr(e, 'problem', None) or e})") from e
    lines = text.splitlines()

    def fail(node: yaml.Node | None, msg: str) -> MatrixError:
        line, col = (node.start_mark.line + 1, node.start_mark.column + 1) if node is not None else (1, 1)
        return MatrixError(f"{source}:{line}:{col}: {msg}")

    if not isinstance(root, yaml.MappingNode):
        raise fail(root, "expected a mapping with a 'matrices:' list")
    top = {k.value: (k, v) for k, v in root.value}
    for key, (knode, _) in top.items():
        if key != "matrices":
            raise fail(knode, f"unknown key {key!r}: the file holds 'matrices:' only")
    if "matrices" not in top or not isinstance(top["matrices"][1], yaml.SequenceNode):
        raise fail(top.get("matrices", (root, root))[1], "'matrices:' must be a list of {stage, probe, table}")
    cells: list[Cell] = []
    for item in top["matrices"][1].value:
        if not isinstance(item, yaml.MappingNode):
            raise fail(item, "each matrix is a mapping with 'table:' (and optionally 'stage:', 'probe:')")
        fields = {k.value: (k, v) for k, v in item.value}
        for key, (knode, vnode) in fields.items():
            if key not in ("stage", "probe", "table"):
                raise fail(knode, f"unknown key {key!r}: use stage, probe, table")
            if not isinstance(vnode, yaml.ScalarNode):
                raise fail(vnode, f"{key!r} must be a single value")
        if "table" not in fields:
            raise fail(item, "this matrix has no 'table:'")
        table = fields["table"][1]
        probe = fields["probe"][1].value if "probe" in fields else "icmp"
        if "probe" in fields:
            try:
                parse_probe(probe)
            except ValueError as e:
                raise fail(fields["probe"][1], str(e)) from e
        stage = fields["stage"][1].value if "stage" in fields else None
        if table.style == "|":  # literal block: its lines start on the line after the indicator
            first = table.start_mark.line + 1
            content = next((ln for ln in lines[first:] if ln.strip()), "")
            indent = len(content) - len(content.lstrip(" "))
            found = parse_table(table.value, source, first + 1, indent, stage, probe.lower())
        else:
            found = parse_table(table.value, source, table.start_mark.line + 1, 0, stage, probe.lower())
        stage_line = fields["stage"][1].start_mark.line + 1 if "stage" in fields else 0
        cells += [replace(c, stage_line=stage_line) if c.stage_line == 0 else c for c in found]
    return cells


def expectations(cells: Iterable[Cell], topology: Topology, source: str = "<matrix>") -> dict[str, list[Expectation]]:
    """The cells as expectations per stage, every name checked against the topology."""
    names = set(topology.endpoint_names())
    stages = [s.name for s in topology.stages]
    out: dict[str, list[Expectation]] = {}
    for c in cells:
        stage = c.stage or stages[0]
        if stage not in stages:
            raise MatrixError(
                f"{source}:{c.stage_line}:1: unknown stage {stage!r}; the scenario has {', '.join(stages)}"
            )
        for name, line, col in ((c.src, c.line, c.src_col), (c.dst, c.dst_line, c.dst_col)):
            if name not in names:
                raise MatrixError(
                    f"{source}:{line}:{col}: unknown endpoint {name!r}; {topology.name} has {', '.join(sorted(names))}"
                )
        out.setdefault(stage, []).append(Expectation(stage, c.src, c.dst, parse_probe(c.probe), c.reachable))
    return out


def apply(topology: Topology, cells: Iterable[Cell], source: str = "<matrix>") -> Topology:
    """The topology with the expectations of every stage the matrix covers replaced by the matrix's."""
    by_stage = expectations(cells, topology, source)
    stages = tuple(
        replace(s, expectations=tuple(by_stage[s.name])) if s.name in by_stage else s for s in topology.stages
    )
    return replace(topology, stages=stages)


def render(topology: Topology) -> str:
    """The topology's expectations in the plain format (what `--expect` reads back): one table per stage and probe.

    The format has no conditions: a cell whose outcome depends on the host (`when=`) is written `-` (not
    checked) in the table and followed by a comment naming each outcome with its condition, so the variants
    are not lost from sight; a file read back (`--expect`) checks only the unconditional cells."""
    out: list[str] = []
    for st in topology.stages:
        probes: dict[str, dict[tuple[str, str], bool | None]] = {}
        conditional: dict[str, dict[tuple[str, str], list[str]]] = {}
        for e in st.expectations:
            if e.address is not None:
                continue
            grid = probes.setdefault(str(e.probe), {})
            if e.when:
                grid.setdefault((e.src, e.dst), None)
                variant = f"{'.' if e.reachable else 'X'} where {conditions.text(e.when)}"
                conditional.setdefault(str(e.probe), {}).setdefault((e.src, e.dst), []).append(variant)
            else:
                grid[(e.src, e.dst)] = e.reachable
        for probe, grid in probes.items():
            srcs = list(dict.fromkeys(s for s, _ in grid))
            dsts = list(dict.fromkeys(d for _, d in grid))
            width = max(len(n) for n in [*srcs, *dsts])
            out += [f"stage: {st.name}", f"probe: {probe}", " " * width + "  " + " ".join(d.rjust(width) for d in dsts)]
            for s in srcs:
                cells = [{True: ".", False: "X", None: "-"}[grid.get((s, d))].rjust(width) for d in dsts]
                out.append(s.ljust(width) + "  " + " ".join(cells))
            for (src, dst), variants in conditional.get(probe, {}).items():
                out.append(f"# conditional, not in the table: {src} -> {dst}: {'; '.join(variants)}")
            out.append("")
    return "\n".join(out)

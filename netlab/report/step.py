"""`netlab run --step`: lecture mode. Before the deployment and before each later stage, what is about to
happen in plain words with the commands a student would type; then a wait for Enter (or `--pause S`); after
each stage its truth tables and the cells that changed since the previous stage. Plain text that reads the
same on a projector, over ssh and in a log; colour only when asked."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any, TextIO

from netlab import narrate
from netlab.i18n import N_, _
from netlab.model.deployed import Endpoint
from netlab.model.results import Observation
from netlab.model.topology import Topology
from netlab.report import explain, fit
from netlab.report.console import WIDTH, _bold, stage_tables
from netlab.verdict import compare


def _renumber(line: str, first: int) -> str:
    """`  3. text` of a list numbered from 1 -> the same step numbered from `first`."""
    head, sep, rest = line.partition(". ")
    if sep and head.strip().isdigit() and head.startswith("  ") and not head.startswith("     "):
        return f"  {int(head) + first - 1}. {rest}"
    return line


class StepNarrator:
    def __init__(
        self,
        pause: float | None = None,
        out: TextIO | None = None,
        inp: TextIO | None = None,
        color: bool = False,
        width: int = WIDTH,
    ) -> None:
        self.pause, self.out, self.inp, self.color = pause, out or sys.stdout, inp or sys.stdin, color
        self.width = width  # lay the narration out for this many columns (netlab/report/fit.py)
        self.previous: dict[tuple[str, str, str], str] = {}
        self.steps: list[narrate.Step] = []
        self.told = 0

    def _say(self, lines: list[str]) -> None:
        self.out.write(fit.fit("\n".join(lines), self.width) + "\n")
        self.out.flush()

    def _wait(self, what: str) -> None:
        """`what`: the English words of what comes next (marked with N_), said in the language in use."""
        if self.pause is not None:
            self._say([_("({what} in {seconds:g} s)").format(what=_(what), seconds=self.pause)])
            time.sleep(self.pause)
            return
        self.out.write(_("press Enter to {what}").format(what=_(what)) + " ")
        self.out.flush()
        with contextlib.suppress(OSError, ValueError):  # no terminal to read from: go on
            self.inp.readline()
        self.out.write("\n")

    def before_deploy(self, topology: Topology) -> None:
        """The picture and the plan; then each step is told, and waited for, right before the backend does it
        (the runner calls `gate`), so the audience sees one thing happen at a time."""
        self.steps = narrate.deploy_steps(topology)
        self.told = 0
        lines = [_bold(f"netlab run {topology.name} --step: {_(topology.title)}", self.color), ""]
        lines += [_("topology"), *("  " + x for x in narrate.diagram(topology)), ""]
        lines += [_bold(_("the plan"), self.color), *(f"  {i}. {s.what}" for i, s in enumerate(self.steps, 1)), ""]
        lines += [_("each step shows the Docker CLI command ($) and what it does in the kernel (#)")]
        self._say(lines)

    def gate(self, kind: str, name: str) -> None:
        at = next((i for i, s in enumerate(self.steps) if s.key == (kind, name)), None)
        if at is None or at < self.told:
            return  # told already (a network created on several nodes) or not a step of its own
        self._tell(at + 1)
        self._wait(N_("do it"))

    def _tell(self, upto: int) -> None:
        if upto <= self.told:
            return
        lines = explain.steps_lines(self.steps[self.told : upto])
        # steps_lines numbers from 1: renumber to the plan's numbers
        first = self.told + 1
        self._say([_renumber(line, first) for line in lines])
        self.told = upto

    def before_stage(self, topology: Topology, index: int) -> None:
        """The stage's plan; each action is then told and waited for right before the backend does it."""
        stage = topology.stages[index]
        self.steps, self.told = narrate.stage_steps(topology, stage), 0
        if stage.doc:
            head = _("next: stage {name}: {doc}").format(name=stage.name, doc=_(stage.doc))
        else:
            head = _("next: stage {name}").format(name=stage.name)
        lines = [_bold(head, self.color)]
        lines += [f"  {i}. {s.what}" for i, s in enumerate(self.steps, 1)]
        self._say(lines)

    def after_stage(
        self,
        topology: Topology,
        index: int,
        observations: list[Observation],
        endpoints: dict[str, Endpoint],
        environment: dict[str, Any],
    ) -> None:
        self._tell(len(self.steps))  # what no backend step announced (e.g. Docker's own docker_gwbridge)
        stage = topology.stages[index]
        checks = compare(topology, observations, environment).stage(stage.name)
        lines = ["", _bold(_("stage {name}: measured").format(name=stage.name), self.color)]
        lines += stage_tables(stage, list(endpoints), observations, checks, self.color, width=self.width)
        now = {(o.src, o.dst, str(o.probe)): o.outcome.symbol for o in observations}
        if index:
            changed = [
                f"  {src} -> {dst} {probe}: {self.previous[(src, dst, probe)]} -> {sym}"
                for (src, dst, probe), sym in now.items()
                if (src, dst, probe) in self.previous and self.previous[(src, dst, probe)] != sym
            ]
            lines += [_("what changed since the previous stage"), *(changed or ["  " + _("nothing")])]
        self.previous = now
        self._say(lines)

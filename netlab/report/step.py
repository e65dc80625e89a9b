"""`netlab run --step`: lecture mode. Before the deployment and before each later stage, what is about to
happen in plain words with the commands a student would type; then a wait for Enter (or `--pause S`); after
each stage its truth tables and the cells that changed since the previous stage. Plain text that reads the
same on a projector, over ssh and in a log; colour only when asked."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import TextIO

from netlab import narrate
from netlab.backends.base import Endpoint
from netlab.model.results import Observation
from netlab.model.topology import Topology
from netlab.report import explain
from netlab.report.console import _bold, stage_tables
from netlab.verdict import compare


class StepNarrator:
    def __init__(
        self,
        pause: float | None = None,
        out: TextIO | None = None,
        inp: TextIO | None = None,
        color: bool = False,
    ) -> None:
        self.pause, self.out, self.inp, self.color = pause, out or sys.stdout, inp or sys.stdin, color
        self.previous: dict[tuple[str, str, str], str] = {}

    def _say(self, lines: list[str]) -> None:
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()

    def _wait(self, what: str) -> None:
        if self.pause is not None:
            self._say([f"({what} in {self.pause:g} s)"])
            time.sleep(self.pause)
            return
        self.out.write(f"press Enter to {what} ")
        self.out.flush()
        with contextlib.suppress(OSError, ValueError):  # no terminal to read from: go on
            self.inp.readline()
        self.out.write("\n")

    def before_deploy(self, topology: Topology) -> None:
        lines = [_bold(f"netlab run {topology.name} --step: {topology.title}", self.color), ""]
        lines += ["topology", *("  " + x for x in narrate.diagram(topology)), ""]
        lines += [_bold("about to build ($ the Docker CLI, # what that does in the kernel)", self.color)]
        lines += explain.steps_lines(narrate.deploy_steps(topology))
        self._say(lines)
        self._wait("build it")

    def before_stage(self, topology: Topology, index: int) -> None:
        stage = topology.stages[index]
        lines = [_bold(f"next: stage {stage.name}" + (f": {stage.doc}" if stage.doc else ""), self.color)]
        lines += explain.steps_lines(narrate.stage_steps(topology, stage))
        self._say(lines)
        self._wait(f"apply stage {stage.name}")

    def after_stage(
        self, topology: Topology, index: int, observations: list[Observation], endpoints: dict[str, Endpoint]
    ) -> None:
        stage = topology.stages[index]
        checks = compare(topology, observations).stage(stage.name)
        lines = ["", _bold(f"stage {stage.name}: measured", self.color)]
        lines += stage_tables(stage, list(endpoints), observations, checks, self.color)
        now = {(o.src, o.dst, str(o.probe)): o.outcome.symbol for o in observations}
        if index:
            changed = [
                f"  {src} -> {dst} {probe}: {self.previous[(src, dst, probe)]} -> {sym}"
                for (src, dst, probe), sym in now.items()
                if (src, dst, probe) in self.previous and self.previous[(src, dst, probe)] != sym
            ]
            lines += ["what changed since the previous stage", *(changed or ["  nothing"])]
        self.previous = now
        self._say(lines)

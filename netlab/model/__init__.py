"""The pure model: scenario builder, frozen topology, addressing. Imports nothing else from netlab."""

from netlab.model.errors import InvalidScenario
from netlab.model.expectations import parse_probe
from netlab.model.scenario import Ref, Scenario
from netlab.model.topology import Driver, Probe, ProbeKind, Topology

__all__ = ["Driver", "InvalidScenario", "Probe", "ProbeKind", "Ref", "Scenario", "Topology", "parse_probe"]

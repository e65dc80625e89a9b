"""Compose files as netlab scenarios (`netlab compose FILE`): read.py reads the file as compose does,
convert.py turns its networks and services into a Scenario with what to measure."""

from netlab.compose.convert import Imported, load

__all__ = ["Imported", "load"]

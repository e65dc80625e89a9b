"""netlab: make Docker's network drivers visible and testable."""

from netlab.model import Scenario

__all__ = ["Scenario"]
__version__ = "0.1.0"

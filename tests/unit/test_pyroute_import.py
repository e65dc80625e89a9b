"""pyroute2 imported without its package's `__init__` (netlab/kernel/pyroute.py): netlab's own import of IPRoute
skips IPDB, NDB and the rest, and a caller's code in the same process still gets all of pyroute2 when it asks."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
from netlab.kernel import pyroute
assert pyroute.LEAN
assert not [m for m in sys.modules if m.startswith(("pyroute2.ndb", "pyroute2.ipdb", "pyroute2.conntrack"))]
import pyroute2
from pyroute2 import NDB, IPRoute
assert IPRoute is pyroute.IPRoute and NDB.__module__ == "pyroute2.ndb.main"
assert pyroute2.__version__ and "pyroute2.ndb.main" in sys.modules
print("ok")
"""

AFTER = """
import pyroute2  # the caller's own import first: netlab leaves it alone
from netlab.kernel import pyroute
assert not pyroute.LEAN and pyroute.IPRoute is pyroute2.IPRoute
print("ok")
"""


def test_netlab_imports_iproute_alone_and_the_rest_of_pyroute2_still_loads_on_demand() -> None:
    for code in (CHECK, AFTER):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert done.stdout.strip() == "ok", done.stderr

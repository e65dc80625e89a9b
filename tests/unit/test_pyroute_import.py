"""pyroute2 imported without its package's `__init__` (netlab/kernel/pyroute.py): netlab's own import of IPRoute
skips IPDB, NDB and the rest, and a caller's code in the same process still gets all of pyroute2 when it asks: by
name, by submodule attribute, from several threads at once, with pyroute2's logging set up as usual."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import logging, sys
from netlab.kernel import pyroute
assert pyroute.LEAN
assert not [m for m in sys.modules if m.startswith(("pyroute2.ndb", "pyroute2.ipdb", "pyroute2.conntrack"))]
assert any(type(h).__name__ == "NullHandler" for h in logging.getLogger("pyroute2").handlers)
import pyroute2
assert pyroute2.ipdb.__name__ == "pyroute2.ipdb"  # a submodule as an attribute, as on the real package
from pyroute2 import NDB, IPRoute
assert IPRoute is pyroute.IPRoute and NDB.__module__ == "pyroute2.ndb.main"
assert pyroute2.__version__ and "pyroute2.ndb.main" in sys.modules
print("ok")
"""

THREADS = """
import threading
from netlab.kernel import pyroute
assert pyroute.LEAN
failed = []
def ask():
    try:
        from pyroute2 import NDB, IPSet  # noqa: F401
    except Exception as e:
        failed.append(repr(e))
threads = [threading.Thread(target=ask) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
assert not failed, failed
print("ok")
"""

AFTER = """
import pyroute2  # the caller's own import first: netlab leaves it alone
from netlab.kernel import pyroute
assert not pyroute.LEAN and pyroute.IPRoute is pyroute2.IPRoute
print("ok")
"""


@pytest.mark.parametrize("code", [CHECK, THREADS, AFTER], ids=["by-name", "threads", "caller-first"])
def test_netlab_imports_iproute_alone_and_the_rest_of_pyroute2_still_loads_on_demand(code: str) -> None:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr

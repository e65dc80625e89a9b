"""pyroute2's IPRoute and netlink exceptions, imported without the package's `__init__`.

pyroute2's `__init__` imports every part of the library (IPDB, NDB, conntrack, ipset, wireguard...): about 85 ms
of a `netlab run` that needs IPRoute only, and 1.5-2 s inside user-mode Linux, where every page fault and file
lookup crosses to the host. Importing this module puts a stand-in package in `sys.modules["pyroute2"]` whose
submodules load as usual (an attribute naming one imports it, as on the real package); the first time anything
asks the stand-in for another name it does not have (`from pyroute2 import NDB`, `pyroute2.__version__`), it runs
the real `__init__` in its own namespace, under a lock, so code of the caller's that uses the rest of pyroute2 in
the same process still gets it. pyroute2's logging set-up (`pyroute2.config.log`, a NullHandler on its logger) is
imported first, as the real `__init__` does. Where pyroute2 was imported already, or this pyroute2 will not load
that way, the normal import is used.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

_COMPLETING = threading.RLock()


def _lean() -> bool:
    if "pyroute2" in sys.modules:
        return False
    spec = importlib.util.find_spec("pyroute2")
    if spec is None or not spec.submodule_search_locations or spec.origin is None:
        return False
    pkg = types.ModuleType("pyroute2")
    pkg.__path__ = list(spec.submodule_search_locations)
    pkg.__spec__ = spec
    pkg.__file__ = spec.origin
    origin = spec.origin

    def complete(name: str) -> Any:
        """A submodule, imported; else the real `__init__`, run once in the stand-in's namespace, then the name."""
        if name.startswith("__") and name not in ("__version__", "__all__"):
            raise AttributeError(name)
        if importlib.util.find_spec(f"pyroute2.{name}") is not None:
            return importlib.import_module(f"pyroute2.{name}")
        with _COMPLETING:  # another thread asking meanwhile waits, as on a module's import lock
            if not pkg.__dict__.get("_netlab_completed"):
                pkg.__dict__["_netlab_completed"] = True  # set first: the real __init__'s own imports come back here
                with open(origin, "rb") as f:
                    exec(compile(f.read(), origin, "exec"), pkg.__dict__)  # pyroute2's own __init__
        try:
            return pkg.__dict__[name]
        except KeyError:
            raise AttributeError(f"module 'pyroute2' has no attribute {name!r}") from None

    pkg.__getattr__ = complete  # type: ignore[method-assign]
    sys.modules["pyroute2"] = pkg
    try:
        import pyroute2.config.log  # noqa: F401 - the NullHandler the real __init__ installs first
        from pyroute2.iproute.linux import IPRoute as _IPRoute
    except Exception:  # any failure: forget the partial import, take the normal path
        for name in [m for m in sys.modules if m == "pyroute2" or m.startswith("pyroute2.")]:
            del sys.modules[name]
        return False
    pkg.IPRoute = _IPRoute  # type: ignore[attr-defined]
    return True


LEAN = _lean()  # whether the stand-in was installed

from pyroute2.iproute.linux import IPRoute  # noqa: E402
from pyroute2.netlink.exceptions import ChaoticException, NetlinkDecodeError, NetlinkError  # noqa: E402

__all__ = ["LEAN", "ChaoticException", "IPRoute", "NetlinkDecodeError", "NetlinkError"]

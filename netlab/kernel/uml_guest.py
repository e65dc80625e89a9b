"""Inside the user-mode Linux guest: run the scenario on the netns (or cni) backend and write schema-1 JSON.

Invoked by the guest's init (see uml.py) as
`python -m netlab.kernel.uml_guest SPEC TIMEOUT OUT EXPECT WHY POLICY PROXY BACKEND`.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import traceback
import types


def lean_pyroute2() -> bool:
    """Import pyroute2's IPRoute without the package's `__init__`, which also imports ipdb, ndb and
    conntrack: 1.5-2 s of the guest's time, where every page fault and file lookup crosses to the host.
    netlab uses IPRoute and its exceptions only. Falls back to the normal import if this pyroute2 will not
    load that way. True when the lean import was used."""
    spec = importlib.util.find_spec("pyroute2")
    if spec is None or not spec.submodule_search_locations:
        return False
    pkg = types.ModuleType("pyroute2")
    pkg.__path__ = list(spec.submodule_search_locations)
    pkg.__spec__ = spec
    pkg.__file__ = spec.origin
    sys.modules["pyroute2"] = pkg
    try:
        from pyroute2.iproute.linux import IPRoute
    except Exception:  # any failure: forget the partial import, take the normal path
        for name in [m for m in sys.modules if m == "pyroute2" or m.startswith("pyroute2.")]:
            del sys.modules[name]
        return False
    pkg.IPRoute = IPRoute  # type: ignore[attr-defined]
    return True


def main(argv: list[str]) -> int:
    lean_pyroute2()
    from netlab.errors import NetlabError  # after the lean pyroute2 import
    from netlab.evidence import capture
    from netlab.options import UML_ENGINE, RunOptions
    from netlab.runner import run

    spec, timeout, out = argv[0], float(argv[1]), argv[2]
    expect = argv[3] if len(argv) > 3 and argv[3] else None
    why = len(argv) > 4 and argv[4] == "why"
    policy, proxy = (argv[5], argv[6]) if len(argv) > 6 else ("drop", "on")
    backend = argv[7] if len(argv) > 7 else "netns"
    try:
        # no daemon to ask in the guest: the one profile its firewall takes, on the host the caller asked for
        emulated = {"engine": UML_ENGINE, "forward_policy": policy, "userland_proxy": proxy}
        options = RunOptions(
            backend=backend,
            timeout=timeout,
            decode=False,
            expect=expect,
            why=why,
            **(emulated if backend == "netns" else {}),  # type: ignore[arg-type]
        )
        result = run(spec, options)
    except NetlabError as e:
        traceback.print_exc()  # goes to the guest log in the scratch directory
        with open(out, "w") as f:
            json.dump({"schema": 1, "error": str(e), "exit_code": e.exit_code}, f)
        return e.exit_code
    data = result.to_json()
    data["environment"]["kernel_runner"] = "uml"
    capture.frames_to_json(data["evidence"]["captures"])  # decoded (and pcaps written) on the host
    with open(out, "w") as f:
        json.dump(data, f)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Inside the user-mode Linux guest: run the scenario on the netns (or cni) backend and write schema-1 JSON.

Invoked by the guest's init (see uml.py) as
`python -m netlab.kernel.uml_guest SPEC TIMEOUT OUT EXPECT WHY POLICY PROXY BACKEND ENGINE`.
"""

from __future__ import annotations

import json
import sys
import traceback


def main(argv: list[str]) -> int:
    from netlab.errors import NetlabError
    from netlab.evidence import capture
    from netlab.kernel import pyroute  # noqa: F401 - pyroute2's IPRoute without its package's imports
    from netlab.options import UML_ENGINE, RunOptions
    from netlab.runner import run

    spec, timeout, out = argv[0], float(argv[1]), argv[2]
    expect = argv[3] if len(argv) > 3 and argv[3] else None
    why = len(argv) > 4 and argv[4] == "why"
    policy, proxy = (argv[5], argv[6]) if len(argv) > 6 else ("drop", "on")
    backend = argv[7] if len(argv) > 7 else "netns"
    engine = argv[8] if len(argv) > 8 else UML_ENGINE
    try:
        # no daemon to ask in the guest: the one profile its firewall takes, on the host the caller asked for
        emulated = {"engine": engine, "forward_policy": policy, "userland_proxy": proxy}
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

"""Inside the user-mode Linux guest: run the scenario on the netns backend and write schema-1 JSON.

Invoked by the guest's init (see uml.py) as `python -m netlab.kernel.uml_guest SPEC TIMEOUT OUT`.
"""

from __future__ import annotations

import json
import sys
import traceback

from netlab.errors import NetlabError
from netlab.evidence import capture
from netlab.runner import run_scenario


def main(argv: list[str]) -> int:
    spec, timeout, out = argv[0], float(argv[1]), argv[2]
    try:
        result = run_scenario(spec, backend="netns", timeout=timeout, decode=False)
    except NetlabError as e:
        traceback.print_exc()  # goes to the guest log in the scratch directory
        with open(out, "w") as f:
            json.dump({"schema": 1, "error": str(e), "exit_code": e.exit_code}, f)
        return e.exit_code
    data = result.to_json()
    data["environment"]["kernel_runner"] = "uml"
    capture.frames_to_json(data["evidence"]["captures"])  # the host decodes them: scapy costs seconds here
    with open(out, "w") as f:
        json.dump(data, f)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""What Docker's rules' prediction (netlab/predict.py) costs beside a run: N containers on one bridge, every icmp
cell predicted and judged. No root needed: the fake backend gives the endpoints and observations (the predictor
reads only the topology, the endpoints and the observations' addresses).

    python benchmarks/predict.py [--sizes 50,100,250]

Not a test: prints one line per N (cells, seconds, microseconds per cell)."""

from __future__ import annotations

import argparse
import time

from netlab import Scenario, predict
from netlab.backends.fake import FakeBackend
from netlab.runner import run_topology


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50,100,250")
    args = parser.parse_args()
    for n in (int(x) for x in args.sizes.split(",")):
        s = Scenario(f"n{n}")
        net = s.network("flat", subnet="198.18.64.0/22")
        for i in range(n):
            s.container(f"c{i}", net)
        r = run_topology(s.build(), FakeBackend(node_gateways=True), decode=False)
        t0 = time.perf_counter()
        p = predict.judge(r.topology, r.endpoints, r.observations, r.environment)
        took = time.perf_counter() - t0
        cells = len(p.cells)
        print(f"N={n}: {cells} cells predicted and judged in {took:.2f} s ({took / cells * 1e6:.1f} us per cell)")


if __name__ == "__main__":
    main()

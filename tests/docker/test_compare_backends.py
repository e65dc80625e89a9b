"""`netlab compare` on a real Docker Engine gives the same table as on the netns backend."""

from __future__ import annotations

from netlab import compare

DRIVERS = ["bridge", "host", "macvlan", "overlay", "ipvlan"]


def test_docker_and_netns_tables_agree(host_and_docker_unchanged: None) -> None:
    docker = compare.run(DRIVERS, backend="docker")
    netns = compare.run(DRIVERS[:-1], backend="netns")
    on_docker, on_netns = compare.table(docker), compare.table(netns)
    for prop, row in on_netns.items():
        assert {d: c.mark for d, c in row.items()} == {d: on_docker[prop][d].mark for d in row}, prop
    # ipvlan cannot run on this kernel's Docker: the column says why instead of guessing
    if isinstance(docker["ipvlan"], str):
        assert docker["ipvlan"].startswith("not run: ipvlan")
        assert all(on_docker[p]["ipvlan"].value is None for p in on_docker)
    else:  # a kernel with ipvlan: Docker's own driver, and the lecture's iptables claim still fails
        assert on_docker["iptables"]["ipvlan"].mark == "✗"

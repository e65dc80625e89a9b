"""`netlab scan` on containers netlab did not start: a project the test builds with the docker SDK, and the
three-tier example brought up by Debian's docker-compose 1.29.2. The scan measures them, changes nothing in
them (Docker objects, the machine's rules, every container's addresses, routes and rules), and gives the
matrix `netlab compose` gives for the same file on both backends."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

from netlab import compose, runner
from netlab.backends.docker import image as probe_image
from netlab.backends.docker import scan
from netlab.options import RunOptions

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "compose"
#: what `docker ps` says of a container, less what changes with the clock
PS = "{{.ID}} {{.Image}} {{.Command}} {{.State}} {{.Ports}} {{.Names}} {{.Mounts}}"  # (.Networks: in random order)


def _listen(*ports: int) -> list[str]:
    """A command that keeps a TCP listener on each port (busybox nc; the probe image has nothing else)."""
    if not ports:
        return list(probe_image.SLEEP)
    script = " ".join(f"nc -ll -p {p} -e /bin/busybox true &" for p in ports) + " wait"
    return ["/bin/sh", "-c", script]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _inside(pid: int) -> str:
    """What a scan must not change in a container's namespace: addresses, routes, rules (counters left out)."""
    text = subprocess.run(
        ["nsenter", f"--net=/proc/{pid}/ns/net", "sh", "-c", "ip -o addr; ip -o route; iptables-save"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    return "\n".join(line for line in text.splitlines() if not line.startswith(("#", ":")))


def _state(client: Any, label: str) -> dict[str, Any]:
    containers = client.containers.list(all=True, filters={"label": label})
    return {
        "docker": subprocess.run(
            ["docker", "ps", "-a", "--no-trunc", "--format", PS], capture_output=True, text=True
        ).stdout
        + subprocess.run(["docker", "network", "ls", "--no-trunc"], capture_output=True, text=True).stdout,
        "rules": _rules(subprocess.run(["iptables-save"], capture_output=True, text=True).stdout),
        "inside": {c.name: _inside(int(client.api.inspect_container(c.id)["State"]["Pid"])) for c in containers},
    }


def _rules(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith(("#", ":")))


def _cells(observations: list[Any]) -> dict[tuple[str, str, str], str]:
    return {(o["src"], o["dst"], o["probe"]): o["outcome"] for o in observations}


@pytest.fixture
def project(host_and_docker_unchanged: None) -> Iterator[tuple[Any, str]]:
    """Three services of a made-up compose project, started with the docker SDK as compose would label them:
    node-proxy on front (listening on 80, published), my-api on front (alias api) and back (listening on 5000;
    its DNS servers are its own loopback), db on back (exposes 5432, nothing listens)."""
    client = docker.from_env()
    image = probe_image.ensure(client)
    name = f"nlscan{os.getpid()}"
    made: list[Any] = []

    def labels(**more: str) -> dict[str, str]:
        return {scan.PROJECT_LABEL: name, **more}

    try:
        front = client.networks.create(f"{name}_front", labels=labels(**{scan.NETWORK_LABEL: "front"}))
        made.append(front)
        back = client.networks.create(f"{name}_back", internal=True, labels=labels(**{scan.NETWORK_LABEL: "back"}))
        made.append(back)

        def start(service: str, network: Any, command: list[str], **kwargs: Any) -> Any:
            c = client.containers.run(
                image,
                command,
                name=f"{name}_{service}_1",
                network=network.name,
                labels=labels(**{scan.SERVICE_LABEL: service, scan.NUMBER_LABEL: "1"}),
                detach=True,
                **kwargs,
            )
            made.insert(0, c)
            return c

        start("node-proxy", front, _listen(80), ports={"80/tcp": _free_port()})
        api = start("my-api", front, _listen(5000), dns=["127.0.0.1"])
        front.disconnect(api)
        front.connect(api, aliases=["my-api", "api"])
        back.connect(api, aliases=["my-api"])
        # exposed, not published: the low-level API (the high-level one publishes what it exposes)
        db = client.api.create_container(
            image,
            _listen(),
            name=f"{name}_db_1",
            ports=[5432],
            labels=labels(**{scan.SERVICE_LABEL: "db", scan.NUMBER_LABEL: "1"}),
            host_config=client.api.create_host_config(network_mode=back.name),
            networking_config=client.api.create_networking_config(
                {back.name: client.api.create_endpoint_config(aliases=["db"])}
            ),
        )
        made.insert(0, client.containers.get(db["Id"]))
        client.api.start(db["Id"])
        yield client, name
    finally:
        for obj in made:
            obj.remove(**({"force": True} if hasattr(obj, "image") else {}))


def test_a_scan_measures_a_project_and_changes_nothing(project: tuple[Any, str], tmp_path: Path) -> None:
    client, name = project
    label = f"{scan.PROJECT_LABEL}={name}"
    before = _state(client, label)
    out = tmp_path / "scan.json"
    proc = subprocess.run(
        ["netlab", "scan", "--project", name, "--json", str(out)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = _state(client, label)
    assert after["docker"] == before["docker"]
    assert after["rules"] == before["rules"]
    assert after["inside"] == before["inside"]
    data = json.loads(out.read_text())
    assert data["backend"] == "scan"
    cells = _cells(data["observations"])
    # the bridges as Docker made them: front shared, back internal, no route between the two
    assert cells[("node-proxy", "my-api", "icmp")] == "reachable"
    assert cells[("my-api", "db", "icmp")] == "reachable"
    assert cells[("node-proxy", "db", "icmp")] == "unreachable"
    assert cells[("host", "node-proxy", "tcp:80")] == "reachable"  # a real listener answers
    assert cells[("node-proxy", "my-api", "tcp:5000")] == "reachable"
    assert cells[("my-api", "db", "tcp:5432")] == "unreachable"  # exposed, but nothing listens
    assert cells[("node-proxy", "my-api", "dns:api")] == "reachable"  # the alias, on the network they share
    assert cells[("my-api", "db", "dns:db")] == "reachable"
    # db is on no network node-proxy shares: Docker would forward the query off the machine, so it is not sent
    withheld = next(
        o for o in data["observations"] if (o["src"], o["dst"]) == ("node-proxy", "db") and o["probe"] == "dns:db"
    )
    assert withheld["outcome"] == "error" and "not sent" in withheld["detail"]
    # my-api's own DNS servers are its loopback: every name it asks about is measured
    assert not any(o["src"] == "my-api" and o["outcome"] == "error" for o in data["observations"])
    # Docker's rules predict every other cell; the one they do not is explained by what was measured
    prediction = data["prediction"]
    assert prediction["summary"]["not_predicted"] == 0
    differ = {(d["src"], d["dst"], d["probe"]): d for d in prediction["differences"]}
    assert set(differ) == {("my-api", "db", "tcp:5432"), ("host", "db", "tcp:5432")}, differ
    for cell in differ.values():
        assert cell["predicted"] == "reachable" and "nothing listens on 5432" in cell["evidence"]
    assert "predicted from Docker's rules (engine 20.10" in proc.stdout, proc.stdout[-3000:]
    assert "DIFFERS my-api -> db" in proc.stdout
    # the machine's rules for what was scanned, read only: the DNAT of node-proxy's published port, back's
    # internal isolation; nothing of the rest of the firewall
    fw = data["evidence"]["firewall"]["initial"]["host"]
    assert fw["read_only"] is True
    proxy_addr = data["endpoints"]["node-proxy"]["addresses"]["front"]
    assert any(f"--to-destination {proxy_addr}:80" in r for r in fw["rules"]["nat"]["DOCKER"])
    back = json.dumps(fw["rules"]["filter"])
    assert "DOCKER-ISOLATION-STAGE-1" in back and "-j DROP" in back
    named = ("br-", "docker0", "198.19.", proxy_addr)
    assert all(
        any(w in r for w in named) for chains in fw["rules"].values() for rules in chains.values() for r in rules
    )
    assert "the rules naming what was measured (read only)" in proc.stdout


def test_why_traces_in_the_machine_s_namespace_only(project: tuple[Any, str], tmp_path: Path) -> None:
    client, name = project
    label = f"{scan.PROJECT_LABEL}={name}"
    before = _state(client, label)
    out = tmp_path / "why.json"
    proc = subprocess.run(
        ["netlab", "scan", "--project", name, "--why", "--json", str(out)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _state(client, label) == before  # no trace table, no listener inside the containers
    why = {(o["src"], o["dst"], o["probe"]): o.get("why", "") for o in json.loads(out.read_text())["observations"]}
    assert "DOCKER-ISOLATION-STAGE-1" in why[("node-proxy", "db", "icmp")], why[("node-proxy", "db", "icmp")]


def test_a_scan_of_a_name_nobody_runs_says_so() -> None:
    proc = subprocess.run(["netlab", "scan", "nl-no-such-container"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "container 'nl-no-such-container'" in proc.stderr


def _for_docker_compose(path: Path, topology: Any) -> dict[str, Any]:
    """The example as docker-compose runs it here: netlab's probe image in place of every image, a listener on
    each port the service exposes or publishes (netlab compose plants the same ones), the subnets and fixed
    addresses netlab moved them to, and DNS servers on the container's own loopback (no query leaves)."""
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    data.pop("name", None)
    data.pop("volumes", None)
    for svc_name, svc in data["services"].items():
        ports = [int(str(p).split("/")[0]) for p in svc.get("expose", [])]
        ports += [int(str(p).split(":")[-1].split("/")[0]) for p in svc.get("ports", [])]
        for key in ("build", "volumes", "environment"):
            svc.pop(key, None)
        svc["image"] = probe_image.IMAGE
        svc["command"] = _listen(*ports)
        svc["dns"] = ["127.0.0.1"]
        networks = svc.get("networks") or {}
        for net, opts in networks.items() if isinstance(networks, dict) else []:
            if isinstance(opts, dict) and opts.get("ipv4_address"):
                att = next(a for a in topology.container(svc_name).attachments if a.network == net)
                opts["ipv4_address"] = str(att.address)
    for net_name, spec in data["networks"].items():
        for cfg in spec.get("ipam", {}).get("config", []):
            cfg["subnet"] = str(topology.network(net_name).subnet)
    return data


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_docker_compose_brings_up_the_example_and_the_scan_gives_netlab_compose_s_matrix(
    host_and_docker_unchanged: None, tmp_path: Path
) -> None:
    source = EXAMPLES / "three-tier.yml"
    imported = compose.load(source)
    topology = imported.scenario.build()
    derived = tmp_path / "docker-compose.yml"
    derived.write_text(yaml.safe_dump(_for_docker_compose(source, topology)))
    name = f"nlshop{os.getpid()}"
    up = ["docker-compose", "-p", name, "-f", str(derived)]
    client = docker.from_env()
    probe_image.ensure(client)
    try:
        started = subprocess.run([*up, "up", "-d"], capture_output=True, text=True, timeout=300)
        assert started.returncode == 0, started.stdout + started.stderr
        before = _state(client, f"{scan.PROJECT_LABEL}={name}")
        out = tmp_path / "scan.json"
        matrix = str(EXAMPLES / "three-tier.matrix")
        scanned = subprocess.run(
            ["netlab", "scan", "--project", name, "--expect", matrix, "--check", "predicted", "--json", str(out)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert _state(client, f"{scan.PROJECT_LABEL}={name}") == before
    finally:
        down = subprocess.run([*up, "down", "-v"], capture_output=True, text=True, timeout=300)
        assert down.returncode == 0, down.stdout + down.stderr
    assert scanned.returncode == 0, scanned.stdout + scanned.stderr
    results = {}
    for backend_name in ("docker", "netns"):
        results[backend_name] = runner.run(compose.load(source).scenario, RunOptions(backend=backend_name))

    def cells(result: runner.Result) -> dict[tuple[str, str, str], str]:
        return {(o.src, o.dst, str(o.probe)): o.outcome.value for o in result.observations}

    assert _cells(json.loads(out.read_text())["observations"]) == cells(results["docker"]) == cells(results["netns"])


def test_the_pytest_fixture_gives_a_result_to_expect_on(project: tuple[Any, str], netlab_scan: Any) -> None:
    _, name = project
    result = netlab_scan(project=name, timeout=0.5)
    result.expect(
        """
                    node-proxy  my-api  db
        node-proxy  -           .       X
        my-api      .           -       .
        db          X           .       -
        """
    )
    result.expect("host", "node-proxy", "tcp:80", reachable=True)

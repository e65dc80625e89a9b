"""netlab scan's reading of `docker inspect` (netlab/backends/docker/scan.py), on inspect data shaped like Docker
20.10's: names in tables, networks, ports, and which DNS queries it must never send. The real scan of real
containers is tests/docker/test_scan_live.py."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

import pytest

from netlab.backends.docker import scan
from netlab.errors import UsageError

EMBEDDED = IPv4Address("127.0.0.11")


def _container(
    cid: str,
    name: str,
    networks: dict[str, dict[str, Any]],
    service: str | None = None,
    project: str = "shop",
    number: int = 1,
    exposed: tuple[str, ...] = (),
    bindings: dict[str, list[dict[str, str]]] | None = None,
    mode: str = "default",
    dns: tuple[str, ...] = (),
) -> dict[str, Any]:
    labels = {}
    if service:
        labels = {
            scan.PROJECT_LABEL: project,
            scan.SERVICE_LABEL: service,
            scan.NUMBER_LABEL: str(number),
        }
    return {
        "Id": cid * 64,
        "Name": f"/{name}",
        "State": {"Running": True, "Pid": 4242},
        "Config": {"Labels": labels, "ExposedPorts": {p: {} for p in exposed}},
        "HostConfig": {"NetworkMode": mode, "PortBindings": bindings or {}, "Dns": list(dns)},
        "NetworkSettings": {"Networks": networks},
    }


def _network(name: str, subnet: str, driver: str = "bridge", key: str | None = None) -> dict[str, Any]:
    labels = {scan.PROJECT_LABEL: "shop", scan.NETWORK_LABEL: key} if key else {}
    return {
        "Name": name,
        "Driver": driver,
        "IPAM": {"Config": [{"Subnet": subnet, "Gateway": subnet.rsplit(".", 1)[0] + ".1"}] if subnet else []},
        "Internal": False,
        "Options": {},
        "Labels": labels,
    }


class FakeApi:
    def __init__(self, containers: list[dict[str, Any]], networks: list[dict[str, Any]]) -> None:
        self.by_id = {c["Id"]: c for c in containers}
        self.networks = {n["Name"]: n for n in networks}

    def containers(self, filters: dict[str, str]) -> list[dict[str, str]]:
        key, _, value = filters["label"].partition("=")
        return [{"Id": c["Id"]} for c in self.by_id.values() if c["Config"]["Labels"].get(key) == value]

    def inspect_container(self, ref: str) -> dict[str, Any]:
        for c in self.by_id.values():
            if ref in (c["Id"], c["Name"].lstrip("/")):
                return c
        raise LookupError(f"No such container: {ref}")

    def inspect_network(self, name: str) -> dict[str, Any]:
        return self.networks[name]


class FakeClient:
    def __init__(self, containers: list[dict[str, Any]], networks: list[dict[str, Any]]) -> None:
        self.api = FakeApi(containers, networks)


@pytest.fixture(autouse=True)
def _no_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "_nameserver", lambda pid: EMBEDDED)
    monkeypatch.setattr(scan, "listening_tcp", lambda pid: set())


def _shop() -> FakeClient:
    def ep(ip: str, *aliases: str) -> dict[str, Any]:
        return {"IPAddress": ip, "Aliases": list(aliases)}

    containers = [
        _container("a", "shop_node-proxy_1", {"shop_front": ep("10.9.0.2", "node-proxy", "aaaaaaaaaaaa")},
                   service="node-proxy", bindings={"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}),
        _container("b", "shop_my-api_1", {"shop_front": ep("10.9.0.3", "my-api", "api"),
                                           "shop_back": ep("10.9.1.3", "my-api")},
                   service="my-api", exposed=("5000/tcp",)),
        _container("c", "shop-db", {"shop_back": ep("10.9.1.10", "db")}, service="db", exposed=("5432/tcp",)),
    ]  # fmt: skip
    networks = [_network("shop_front", "10.9.0.0/24", key="front"), _network("shop_back", "10.9.1.0/24", key="back")]
    return FakeClient(containers, networks)


def _cells(found: scan.Found) -> set[tuple[str, str, str]]:
    return {(m.src, m.dst, str(m.probe)) for m in found.topology.stages[0].measurements}


def test_a_compose_project_is_read_with_its_service_and_network_names() -> None:
    found = scan.find(_shop(), "shop", [])
    t = found.topology
    assert [c.name for c in t.containers] == ["db", "my-api", "node-proxy"]
    assert {n.name for n in t.networks} == {"front", "back"}
    assert {a.network: str(a.address) for a in t.container("my-api").attachments} == {
        "front": "10.9.0.3",
        "back": "10.9.1.3",
    }
    assert [(p.host_port, p.container_port, p.proto) for p in t.container("node-proxy").publish] == [(8080, 80, "tcp")]
    assert {str(g) for g in found.gateways.values()} == {"10.9.0.1", "10.9.1.1"}
    cells = _cells(found)
    # published and exposed ports, from the host and every other container
    assert {("host", "node-proxy", "tcp:80"), ("db", "node-proxy", "tcp:80"), ("my-api", "db", "tcp:5432")} <= cells
    # the alias, the container name a user gave (not the one compose made up) and no short id
    assert ("node-proxy", "my-api", "dns:api") in cells and ("my-api", "db", "dns:shop-db") in cells
    assert not any("shop_my-api_1" in c[2] or "aaaaaaaaaaaa" in c[2] for c in cells)


def test_dns_queries_that_would_leave_the_machine_are_withheld() -> None:
    found = scan.find(_shop(), "shop", [])
    # node-proxy shares no network with db: Docker's embedded DNS would forward "db" upstream
    why = found.withheld[("node-proxy", "db", "dns:db")]
    assert "forward the query to the machine's resolver" in why
    # names on a shared network are answered by the embedded DNS itself: sent
    assert ("node-proxy", "my-api", "dns:my-api") not in found.withheld
    assert ("my-api", "db", "dns:db") not in found.withheld


def test_loopback_dns_servers_make_every_query_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _shop()
    client.api.by_id["a" * 64]["HostConfig"]["Dns"] = ["127.0.0.1"]
    found = scan.find(client, "shop", [])
    assert ("node-proxy", "db", "dns:db") not in found.withheld


def test_a_resolver_that_is_not_the_embedded_dns_is_never_queried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "_nameserver", lambda pid: IPv4Address("192.0.2.53"))
    found = scan.find(_shop(), "shop", [])
    assert "not Docker's embedded DNS" in found.withheld[("my-api", "db", "dns:db")]


def test_listening_ports_come_from_the_socket_table(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    table = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n"
        "   1: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2\n"
        "   2: 0200A8C0:0050 0300A8C0:C350 01 00000000:00000000 00:00000000 00000000     0        0 3\n"
    )
    table6 = (
        "  sl  local_address                         remote_address                        st\n"
        "   0: 00000000000000000000000000000000:1388 00000000000000000000000000000000:0000 0A\n"
        "   1: 00000000000000000000000001000000:0019 00000000000000000000000000000000:0000 0A\n"
    )
    real_open = open

    def fake_open(path: str, *args: Any, **kwargs: Any) -> Any:
        if path == "/proc/7/net/tcp":
            path = str(tmp_path / "tcp")
        elif path == "/proc/7/net/tcp6":
            path = str(tmp_path / "tcp6")
        return real_open(path, *args, **kwargs)

    (tmp_path / "tcp").write_text(table)
    (tmp_path / "tcp6").write_text(table6)
    monkeypatch.undo()  # the real listening_tcp
    monkeypatch.setattr("builtins.open", fake_open)
    # 8080 on 0.0.0.0 and 5000 on ::; 631 on 127.0.0.1 and 25 on ::1 are loopback only; 80 is a connection
    assert scan.listening_tcp(7) == {8080, 5000}


def test_named_containers_and_their_problems() -> None:
    client = FakeClient(
        [
            _container("d", "web", {"bridge": {"IPAddress": "172.17.0.2", "Aliases": None}}),
            _container("e", "probe", {"lab": {"IPAddress": "10.7.0.2", "Aliases": ["eeeeeeeeeeee"]}}),
        ],
        [_network("bridge", "172.17.0.0/16"), _network("lab", "10.7.0.0/24")],
    )
    found = scan.find(client, None, ["web", "probe"])
    assert {c.name for c in found.topology.containers} == {"web", "probe"}
    assert found.topology.network("bridge").predefined
    with pytest.raises(UsageError, match="container 'nothere'"):
        scan.find(client, None, ["nothere"])
    with pytest.raises(UsageError, match="--project NAME"):
        scan.find(client, None, [])
    with pytest.raises(UsageError, match="no running container carries the label"):
        scan.find(client, "other", [])


def test_networks_beyond_this_machines_bridges_are_refused() -> None:
    client = FakeClient(
        [_container("f", "m", {"mv": {"IPAddress": "10.8.0.2", "Aliases": []}})],
        [_network("mv", "10.8.0.0/24", driver="macvlan")],
    )
    with pytest.raises(UsageError, match="macvlan driver"):
        scan.find(client, None, ["m"])


def test_a_service_name_docker_does_not_answer_is_not_taken_for_a_local_name() -> None:
    client = _shop()
    client.api.by_id["c" * 64]["NetworkSettings"]["Networks"]["shop_back"]["Aliases"] = []  # labelled, no alias
    found = scan.find(client, "shop", [])
    # Docker would forward "db" upstream: withheld; the container's own name is answered: sent
    assert "forward the query" in found.withheld[("my-api", "db", "dns:db")]
    assert ("my-api", "db", "dns:shop-db") not in found.withheld


def test_dns_probes_an_expect_file_adds_are_withheld_unless_docker_answers_them_itself() -> None:
    from netlab.model.probing import FromNamespaces, Task
    from netlab.model.topology import Probe, ProbeKind
    from netlab.probes.matrix import LocalProber

    found = scan.find(_shop(), "shop", [])
    prober = LocalProber(FromNamespaces(listeners=False, withheld=found.withheld, dns_names=found.dns_names))
    outside = Task("node-proxy", "my-api", Probe(ProbeKind.DNS, name="example.com"), None)
    assert "would forward 'example.com' off this machine" in str(prober._withheld(outside))
    assert prober._withheld(Task("node-proxy", "my-api", Probe(ProbeKind.DNS, name="api"), None)) is None
    assert prober._withheld(Task("host", "my-api", Probe(ProbeKind.DNS, name="api"), None)) is not None


def test_a_host_network_container_is_not_credited_with_the_host_s_listeners(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "listening_tcp", lambda pid: {22, 5432})
    client = FakeClient(
        [_container("h", "hostie", {"host": {"IPAddress": "", "Aliases": None}}, mode="host", exposed=("9000/tcp",))],
        [_network("host", "", driver="host")],
    )
    found = scan.find(client, None, ["hostie"])
    assert found.containers["hostie"].ports == {("tcp", 9000)}


def test_links_are_read_measured_from_everyone_and_sent_only_where_docker_answers_them() -> None:
    client = _shop()
    back = client.api.by_id["b" * 64]["NetworkSettings"]["Networks"]["shop_back"]
    back["Links"] = ["shop-db:database", "/shop_node-proxy_1:/shop_my-api_1/edge"]  # compose's and the daemon's form
    # docker-compose 1.29 also links every container of the service by the names it made up
    back["Links"] += ["shop_node-proxy_1:shop_node-proxy_1", "shop_node-proxy_1:node-proxy_1"]
    found = scan.find(client, "shop", [])
    assert found.topology.container("my-api").links[:2] == (("db", "database"), ("node-proxy", "edge"))
    cells = _cells(found)
    assert {("my-api", "db", "dns:database"), ("node-proxy", "db", "dns:database")} <= cells
    assert ("my-api", "db", "dns:database") not in found.withheld  # db is on back, which my-api shares
    assert not {c for c in cells if c[2] in ("dns:shop_node-proxy_1", "dns:node-proxy_1")}
    # node-proxy has no such link: Docker's embedded DNS would forward the name upstream
    assert "forward the query" in found.withheld[("node-proxy", "db", "dns:database")]
    # node-proxy is on front only: my-api's link to it resolves on no network of the link, so it is not sent
    assert "forward the query" in found.withheld[("my-api", "node-proxy", "dns:edge")]

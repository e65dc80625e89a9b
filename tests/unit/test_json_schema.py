"""netlab/report/schema1.json describes what `--json` writes (DESIGN.md, schema 1)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from unit_helpers import schema1

from netlab import loader
from netlab.backends.fake import FakeBackend
from netlab.model.deployed import Endpoint
from netlab.model.results import Outcome
from netlab.model.topology import Probe
from netlab.report import json as json_report
from netlab.result import result_from_json
from netlab.runner import run_topology

BUNDLED = [i.name for i in loader.bundled()]


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema1(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def errors(doc: dict[str, Any]) -> list[str]:
    return [e.message for e in validator().iter_errors(doc)]


def fake_result_json(name: str = "bridge") -> dict[str, Any]:
    doc: dict[str, Any] = run_topology(loader.load(name), backend=FakeBackend()).to_json()
    return doc


def design_example() -> dict[str, Any]:
    """The example of DESIGN.md, with one value picked where it lists alternatives."""
    return {
        "schema": 1,
        "scenario": "macvlan",
        "backend": "netns",
        "ok": True,
        "environment": {"kernel": "6.1.0", "kernel_runner": "host", "docker": None, "firewall": "iptables-nft"},
        "endpoints": {"c1": {"kind": "container", "node": "host", "addresses": {"mv": "198.18.1.10"}}},
        "observations": [
            {
                "stage": "initial",
                "src": "c1",
                "dst": "c2",
                "address": "198.18.1.11",
                "probe": "icmp",
                "outcome": "reachable",
                "rtt_ms": 0.08,
                "detail": "",
            }
        ],
        "expectations": [
            {
                "stage": "initial",
                "src": "host",
                "dst": "c1",
                "probe": "icmp",
                "expected": "unreachable",
                "observed": "unreachable",
                "ok": True,
                "claim": "...",
            }
        ],
        "evidence": {"firewall": {}, "routes": {}, "captures": []},
        "timings": {"deploy_s": 0.9, "probe_s": 0.2, "evidence_s": 0.1, "destroy_s": 0.5},
    }


def test_schema_is_a_valid_draft_2020_12_schema():
    schema = schema1()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_file_ships_inside_the_package():
    import netlab.report

    assert (Path(netlab.report.__file__).parent / "schema1.json").is_file()


def test_design_example_is_valid():
    assert errors(design_example()) == []


@pytest.mark.parametrize("name", BUNDLED)
def test_fake_result_of_each_bundled_scenario_is_valid(name: str):
    assert errors(fake_result_json(name)) == []


def test_result_with_every_outcome_and_a_missing_address_is_valid():
    def cycle(src: Endpoint, dst: Endpoint, probe: Probe) -> Outcome:
        return list(Outcome)[(len(src.name) + len(dst.name)) % 3]

    doc = run_topology(loader.load("bridge"), backend=FakeBackend(decide=cycle)).to_json()
    assert {o["outcome"] for o in doc["observations"]} == {"reachable", "unreachable", "error"}
    doc["observations"][0]["address"] = None
    doc["observations"][0]["rtt_ms"] = None
    assert errors(doc) == []


def test_dumped_file_is_valid_json_with_schema_1(tmp_path: Path):
    result = run_topology(loader.load("bridge"), backend=FakeBackend())
    out = tmp_path / "result.json"
    json_report.dump(result, str(out))
    doc = json.loads(out.read_text())
    assert doc["schema"] == 1
    assert errors(doc) == []


@pytest.mark.parametrize(
    "key",
    [
        "schema",
        "scenario",
        "backend",
        "ok",
        "environment",
        "endpoints",
        "observations",
        "expectations",
        "evidence",
        "timings",
    ],
)
def test_each_design_key_is_required(key: str):
    doc = design_example()
    del doc[key]
    assert errors(doc), f"a document without {key!r} passed"


def test_extra_top_level_keys_are_allowed():
    doc = design_example()
    doc.update(title="T", run="3fa2", summary={"correct": 1, "wrong": 0, "errors": 0}, warnings=["w"], future={"x": 1})
    assert errors(doc) == []


def mutated(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(design_example())
    target: Any = doc
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("schema",), 2),
        (("ok",), "yes"),
        (("observations", 0, "outcome"), "timeout"),
        (("observations", 0, "outcome"), "REACHABLE"),
        (("observations", 0, "address"), "not-an-address"),
        (("observations", 0, "probe"), "ping"),
        (("expectations", 0, "expected"), "error"),
        (("expectations", 0, "observed"), "maybe"),
        (("expectations", 0, "ok"), 1),
        (("endpoints", "c1", "kind"), "router"),
        (("endpoints", "c1", "addresses", "mv"), "198.18.1"),
        (("environment", "kernel_runner"), "qemu"),
        (("timings", "deploy_s"), -1),
        (("evidence", "captures"), {}),
    ],
)
def test_invalid_values_are_rejected(path: tuple[str | int, ...], value: Any):
    assert errors(mutated(path, value)), f"{path} = {value!r} passed"


@pytest.mark.parametrize(
    ("path", "key"),
    [
        (("observations", 0), "outcome"),
        (("observations", 0), "address"),
        (("expectations", 0), "observed"),
        (("endpoints", "c1"), "kind"),
        (("environment",), "kernel"),
        (("timings",), "destroy_s"),
    ],
)
def test_nested_required_keys_are_enforced(path: tuple[str | int, ...], key: str):
    doc = design_example()
    target: Any = doc
    for p in path:
        target = target[p]
    del target[key]
    assert errors(doc)


@pytest.mark.parametrize("name", BUNDLED)
def test_result_read_back_from_json_has_the_same_observations_verdict_and_json(name: str):
    topology = loader.load(name)
    result = run_topology(topology, backend=FakeBackend())
    doc = json.loads(json.dumps(result.to_json()))
    back = result_from_json(doc, topology)
    assert back.observations == result.observations
    assert back.verdict == result.verdict
    assert back.to_json() == doc


def test_result_json_carries_the_extra_keys_json_report_writes():
    doc = fake_result_json("bridge")
    assert doc["title"] and doc["run"]
    assert set(doc["summary"]) == {"correct", "wrong", "errors"}
    assert isinstance(doc["warnings"], list)
    assert "backend" not in doc["environment"]

"""`netlab explain`: the scenario's story without deploying, compared with golden files.

Regenerate after a deliberate change: `netlab explain macvlan > tests/data/explain_macvlan.txt` (and bridge),
then read the diff."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import run_main

from netlab import loader, narrate
from netlab.report import explain

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.mark.parametrize("name", ["macvlan", "bridge"])
def test_explain_matches_the_golden_file(name: str) -> None:
    assert explain.render(loader.load(name)) == (DATA / f"explain_{name}.txt").read_text()


def test_explain_cli_prints_it_and_deploys_nothing(monkeypatch, capsys) -> None:
    code, out, err = run_main(monkeypatch, capsys, "explain", "macvlan")
    assert code == 0, err
    assert out == (DATA / "explain_macvlan.txt").read_text()
    code, out, err = run_main(monkeypatch, capsys, "explain", "no_such_scenario")
    assert code == 2 and out == ""
    assert "no_such_scenario" in err


def test_every_bundled_scenario_can_be_told() -> None:
    for info in loader.bundled():
        name = info.name
        t = loader.load(name)
        text = explain.render(t)
        assert f"netlab explain {name}:" in text
        steps = narrate.deploy_steps(t)
        assert steps and all(s.what for s in steps)
        for stage in t.stages[1:]:
            assert len(narrate.stage_steps(t, stage)) == len(stage.actions)


def test_explain_backend_cni_shows_each_network_s_plugin_chain_and_each_add(monkeypatch, capsys) -> None:
    code, out, err = run_main(monkeypatch, capsys, "explain", "bridge", "--backend", "cni", "--width", "400")
    assert code == 0, err
    assert "  network front: bridge + portmap + firewall, IPAM host-local" in out
    # the .conflist's plugins as the run writes them (tests/netns/test_cni_backend.py: the chains a real run reports)
    assert '    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}' in out
    assert '"ranges": [[{"subnet": "198.18.2.0/24", "gateway": "198.18.2.1"}]]' in out
    assert "    CNI_COMMAND=ADD web (ips 198.18.2.2/24, default route" in out and "portMappings 8080->80/tcp)" in out
    assert "on the cni backend" not in explain.render(loader.load("bridge"))  # Docker's story alone by default
    ov = explain.render(loader.load("overlay"), backend="cni")
    assert "not on the cni backend: the overlay driver has no mapping to CNI plugins" in ov
    code, out, err = run_main(monkeypatch, capsys, "explain", "bridge", "--backend", "bogus")
    assert code == 2 and "--backend bogus" in err

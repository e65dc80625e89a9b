"""The `netlab` command: thin shells, exit codes decided at the edge (0 ok, 1 failed, 2 usage/scenario)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner
from unit_helpers import schema1

from netlab import cli, loader
from netlab.errors import ScenarioError, UsageError

runner = CliRunner()

ALL_HOLD = """\
from netlab import Scenario
s = Scenario("twins", title="Two containers on one bridge")
net = s.network("net")
a = s.container("a", net)
b = s.container("b", net)
s.expect(a, b, "icmp", reachable=True)
SCENARIO = s
"""

ONE_FAILS = ALL_HOLD.replace("reachable=True", "reachable=False, claim='a cannot reach b'")


def scenario_file(tmp_path: Path, body: str, name: str = "scen.py") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Call netlab.cli.main() as the console script does; return (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["netlab", *args])
    with pytest.raises(SystemExit) as info:
        cli.main()
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), out, err


# -- list ----------------------------------------------------------------------


def test_list_shows_every_bundled_scenario_with_its_title():
    result = runner.invoke(cli.app, ["list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    bridge = [line for line in lines if line.split()[0] == "bridge"]
    assert len(bridge) == 1
    assert loader.load("bridge").title in bridge[0]
    assert {line.split()[0] for line in lines} == {i.name for i in loader.bundled()}


def test_list_marks_no_bundled_scenario_as_broken():
    result = runner.invoke(cli.app, ["list"])
    assert "(broken" not in result.output


# -- run: exit codes through main() --------------------------------------------


def test_run_of_a_bad_scenario_exits_2_with_one_line_naming_the_file(monkeypatch, capsys, tmp_path: Path):
    path = scenario_file(tmp_path, ALL_HOLD.replace('"net")', '"net", driver="vlan")'), "bad.py")
    code, out, err = run_main(monkeypatch, capsys, "run", str(path), "--backend", "fake")
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"netlab: {path}: ")
    assert "unknown driver 'vlan'" in lines[0]


def test_run_of_a_script_with_a_syntax_error_exits_2_naming_file_and_line(monkeypatch, capsys, tmp_path: Path):
    path = scenario_file(tmp_path, "from netlab import Scenario\nSCENARIO = Scenario('x'\n", "broken.py")
    code, _, err = run_main(monkeypatch, capsys, "run", str(path), "--backend", "fake")
    assert code == 2
    assert err.startswith(f"netlab: {path}:")
    assert len(err.strip().splitlines()) == 1


def test_run_of_a_missing_file_exits_2(monkeypatch, capsys, tmp_path: Path):
    code, _, err = run_main(monkeypatch, capsys, "run", str(tmp_path / "absent.py"))
    assert code == 2
    assert "absent.py" in err and "no such scenario file" in err


def test_run_of_an_unknown_bundled_name_exits_2_listing_the_bundled_ones(monkeypatch, capsys):
    code, _, err = run_main(monkeypatch, capsys, "run", "nosuch")
    assert code == 2
    assert "'nosuch'" in err and "bridge" in err


def test_run_with_an_unknown_backend_exits_2_listing_the_supported_backends(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "run", "bridge", "--backend", "nosuch")
    assert code == 2
    assert out == ""
    assert "'nosuch'" in err
    assert "supported backends are" in err and "netns" in err and "fake" in err


@pytest.mark.parametrize("timeout", ["0", "-1", "31"])
def test_run_with_a_timeout_out_of_range_exits_2(monkeypatch, capsys, timeout: str):
    code, out, err = run_main(monkeypatch, capsys, "run", "bridge", "--backend", "fake", "--timeout", timeout)
    assert code == 2
    assert "--timeout" in err
    assert out == ""


def test_run_with_an_unknown_kernel_runner_exits_2_naming_it(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "run", "bridge", "--backend", "fake", "--kernel", "qemu")
    assert code == 2
    assert "--kernel" in err and "qemu" in err
    assert out == ""


def test_run_with_a_non_numeric_timeout_exits_2_naming_the_option(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "run", "bridge", "--timeout", "soon")
    assert code == 2
    assert "--timeout" in out + err


def test_unknown_command_exits_2_naming_it(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "frobnicate")
    assert code == 2
    assert "frobnicate" in out + err
    assert "Traceback" not in out + err


def test_no_arguments_exits_2_showing_usage(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys)
    assert code == 2
    assert "Usage" in out + err


def test_run_where_every_expectation_holds_exits_0(monkeypatch, capsys, tmp_path: Path):
    path = scenario_file(tmp_path, ALL_HOLD)
    code, out, err = run_main(monkeypatch, capsys, "run", str(path), "--backend", "fake", "--no-color")
    assert code == 0, err
    assert "1 correct, 0 wrong" in out
    assert "\033[" not in out


def test_run_where_an_expectation_fails_exits_1_and_names_the_claim(monkeypatch, capsys, tmp_path: Path):
    path = scenario_file(tmp_path, ONE_FAILS)
    code, out, _ = run_main(monkeypatch, capsys, "run", str(path), "--backend", "fake", "--no-color")
    assert code == 1
    assert "0 correct, 1 wrong" in out
    assert "a cannot reach b" in out


def test_run_writes_a_schema_1_json_file(monkeypatch, capsys, tmp_path: Path):
    path = scenario_file(tmp_path, ONE_FAILS)
    out_file = tmp_path / "out.json"
    code, _, _ = run_main(monkeypatch, capsys, "run", str(path), "--backend", "fake", "--json", str(out_file))
    assert code == 1
    doc = json.loads(out_file.read_text())
    jsonschema.Draft202012Validator(schema1()).validate(doc)
    assert (doc["scenario"], doc["backend"], doc["ok"]) == ("twins", "fake", False)


def test_run_leaves_no_journal_behind(monkeypatch, capsys, tmp_path: Path, journal_dir: Path):
    path = scenario_file(tmp_path, ALL_HOLD)
    code, _, _ = run_main(monkeypatch, capsys, "run", str(path), "--backend", "fake")
    assert code == 0
    assert not list(journal_dir.glob("*.journal"))


# -- run through CliRunner: errors surface as the exception main() maps ------------


def test_cli_runner_run_of_a_bad_scenario_raises_scenario_error_with_exit_code_2(tmp_path: Path):
    path = scenario_file(tmp_path, "x = 1\n", "empty.py")
    result = runner.invoke(cli.app, ["run", str(path), "--backend", "fake"])
    assert isinstance(result.exception, ScenarioError)
    assert result.exception.exit_code == 2
    assert str(result.exception).startswith(str(path))


def test_cli_runner_run_with_timeout_0_raises_usage_error():
    result = runner.invoke(cli.app, ["run", "bridge", "--backend", "fake", "--timeout", "0"])
    assert isinstance(result.exception, UsageError)
    assert result.exception.exit_code == 2


def test_cli_runner_run_with_the_fake_backend_prints_the_tables(tmp_path: Path):
    path = scenario_file(tmp_path, ALL_HOLD)
    result = runner.invoke(cli.app, ["run", str(path), "--backend", "fake", "--no-color"])
    assert result.exit_code == 0, result.output
    assert "expected" in result.output and "observed" in result.output and "diff" in result.output
    assert "backend: fake" in result.output


def test_cli_imports_without_the_click_package_which_netlab_does_not_declare():
    """typer (pyproject's dependency) no longer depends on click; a fresh venv may not have it."""
    code = "import sys; sys.modules['click'] = None; import netlab.cli; print('ok')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.stdout.strip() == "ok", proc.stderr.strip().splitlines()[-1:]


# -- the installed console script ----------------------------------------------


@pytest.mark.skipif(shutil.which("netlab") is None, reason="the netlab console script is not on PATH")
def test_console_script_run_of_a_bad_scenario_exits_2_before_creating_anything(tmp_path: Path, journal_dir: Path):
    path = scenario_file(tmp_path, "from netlab import Scenario\nSCENARIO = 'bridge'\n", "bad.py")
    env = {**os.environ, "NETLAB_STATE_DIR": str(journal_dir)}
    proc = subprocess.run(
        ["netlab", "run", str(path)], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [f"netlab: {path}: SCENARIO is a str, not a netlab.Scenario"]
    assert not list(journal_dir.glob("*.journal"))

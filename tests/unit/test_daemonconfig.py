"""A Docker daemon's options that change reachability: command line over daemon.json over Docker's defaults."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from netlab.backends.docker import daemonconfig


def test_defaults_without_a_daemon_to_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(daemonconfig, "DEFAULT_CONFIG", str(tmp_path / "none.json"))
    assert daemonconfig.read(None) == daemonconfig.DEFAULTS


def test_the_command_line_wins_over_the_file_and_the_file_over_the_defaults(tmp_path: Path) -> None:
    config = tmp_path / "daemon.json"
    config.write_text(json.dumps({"userland-proxy": False, "icc": False, "log-level": "warn", "ip": "10.0.0.1"}))
    flags = daemonconfig._flags(
        ["--config-file", str(config), "--icc=true", "--iptables", "--ip-forward-no-drop", "-H", "unix:///x.sock"]
    )
    assert flags["config-file"] == str(config) and flags["icc"] == "true" and flags["iptables"] == "true"
    merged = dict(daemonconfig.DEFAULTS)
    merged.update(daemonconfig._config(flags["config-file"]))
    assert merged["userland-proxy"] == "false" and merged["icc"] == "false" and merged["ip"] == "10.0.0.1"
    assert "log-level" not in merged  # only what changes reachability


def test_an_unreadable_config_is_no_config(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    assert daemonconfig._config(str(tmp_path / "bad.json")) == {}
    assert daemonconfig._config(str(tmp_path / "missing.json")) == {}


def test_this_process_as_a_daemon_reads_its_own_command_line() -> None:
    options = daemonconfig.read(os.getpid())
    assert set(daemonconfig.DEFAULTS) <= set(options)


@pytest.mark.parametrize(
    ("version", "flags", "expected"),
    [
        ("20.10.24", [], "off"),
        ("20.10.24", ["--ip6tables"], "off"),  # 20.10 refuses to start with it alone: never seen running
        ("20.10.24", ["--experimental", "--ip6tables"], "on"),
        ("26.1.4", ["--experimental", "--ip6tables=true"], "on"),
        ("27.0.1", [], "on"),
        ("28.5.2", ["--ip6tables=false"], "off"),
        ("garbage", [], None),
    ],
)
def test_ip6tables_is_the_release_default_unless_the_daemon_was_told(
    version: str, flags: list[str], expected: str | None
) -> None:
    options = {k: v for k, v in daemonconfig._flags(flags).items() if k in daemonconfig.LATER}
    assert daemonconfig.ip6tables(options, version) == expected

"""br_netfilter is loaded the way dockerd loads it, before anything is created; where it cannot be, exit 3 names
the command. A fake `modprobe` on PATH stands in for the kernel's module loader (this VM has it built in)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netlab.errors import KernelFeatureMissing
from netlab.kernel import features


def _fake_modprobe(bin_dir: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir.mkdir()
    tool = bin_dir / "modprobe"
    tool.write_text("#!/bin/sh\n" + script)
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return tool


def test_present_means_nothing_to_do(tmp_path: Path) -> None:
    assert features.require_br_netfilter(str(tmp_path)) is False


def test_missing_is_loaded_with_modprobe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sysctls = tmp_path / "bridge"
    calls = tmp_path / "calls"
    _fake_modprobe(tmp_path / "bin", f'echo "$@" >> {calls}\nmkdir {sysctls}\n', monkeypatch)
    assert features.require_br_netfilter(str(sysctls)) is True
    assert calls.read_text().split() == ["br_netfilter"]


def test_a_failed_load_names_the_command_and_what_modprobe_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_modprobe(tmp_path / "bin", 'echo "modprobe: FATAL: Module br_netfilter not found" >&2\nexit 1\n', monkeypatch)
    with pytest.raises(KernelFeatureMissing) as e:
        features.require_br_netfilter(str(tmp_path / "bridge"))
    assert "`modprobe br_netfilter` did not load it" in str(e.value)
    assert "Module br_netfilter not found" in str(e.value)
    assert e.value.exit_code == 3


def test_without_modprobe_the_message_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(KernelFeatureMissing, match=r"apt-get install kmod"):
        features.require_br_netfilter(str(tmp_path / "bridge"))

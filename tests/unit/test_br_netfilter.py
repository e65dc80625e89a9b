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


# -- netlab doctor: what a run will find, without loading anything -------------------------------------


def test_doctor_finds_a_loaded_br_netfilter_fine(tmp_path: Path) -> None:
    assert features.br_netfilter_status(str(tmp_path)) == (
        True,
        "loaded: bridged traffic passes iptables (Docker's icc/isolation rules work)",
    )


def test_doctor_finds_a_module_modprobe_can_load_fine_and_loads_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = tmp_path / "calls"
    _fake_modprobe(tmp_path / "bin", f'echo "$@" >> {calls}\n', monkeypatch)
    ok, detail = features.br_netfilter_status(str(tmp_path / "bridge"))
    assert ok and detail == "not loaded; netlab loads it before a run, as dockerd does (modprobe br_netfilter)"
    assert calls.read_text().split() == ["--dry-run", "br_netfilter"]


def test_doctor_fails_br_netfilter_only_where_it_cannot_be_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_modprobe(tmp_path / "bin", 'echo "modprobe: FATAL: Module br_netfilter not found" >&2\nexit 1\n', monkeypatch)
    ok, detail = features.br_netfilter_status(str(tmp_path / "bridge"))
    assert not ok and "cannot load it (modprobe: FATAL: Module br_netfilter not found)" in detail
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    ok, detail = features.br_netfilter_status(str(tmp_path / "bridge"))
    assert not ok and "apt-get install kmod" in detail


def test_doctor_reports_br_netfilter_as_the_kernel_layer_finds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from netlab.kernel import doctor

    monkeypatch.setattr(doctor.os, "geteuid", lambda: 1000)  # no link kinds tried: they need root
    monkeypatch.setattr(doctor, "docker_version", lambda: (None, "no daemon"))
    for status in ((True, "not loaded; netlab loads it"), (False, "cannot load it")):
        monkeypatch.setattr(features, "br_netfilter_status", lambda s=status: s)
        found = {f.name: f for f in doctor.findings()}["br_netfilter"]
        assert (found.ok, found.detail, found.essential) == (*status, True)

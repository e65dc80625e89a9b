"""The user-mode Linux runner's pure parts: the guest's init script and its phase timings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from netlab.kernel import uml, uml_launch


def test_guest_init_mounts_root_read_only_and_writes_only_to_its_scratch(tmp_path: Path) -> None:
    script = uml._guest_script("ipvlan", 1.0, str(tmp_path / "out"), "/usr/bin/python3", Path("/m"), ["ipvlan"])
    assert f"mount -t hostfs -o {tmp_path / 'out'} none /run/out" in script
    assert "modprobe -a -d /run/mods ipvlan br_netfilter" in script
    # every file the guest writes is under /run (its tmpfs) or /run/out (the scratch directory), apart
    # from its own kernel's sysctl that turns module autoloading off (0.2 s per failed attempt)
    targets = re.findall(r"\d?>>?\s*([^&\s]\S*)", script)
    assert len(targets) >= 5
    assert "/proc/sys/kernel/modprobe" in targets
    assert all(t.startswith("/run/") for t in targets if t != "/proc/sys/kernel/modprobe"), targets
    assert script.index("/proc/sys/kernel/modprobe") > script.index("mount -t proc proc /proc")
    assert [p for p in ("boot", "modules", "scenario") if f'echo "{p} $up"' in script] == [
        "boot",
        "modules",
        "scenario",
    ]


def test_phases_become_durations(tmp_path: Path) -> None:
    f = tmp_path / "phases"
    f.write_text("boot 1.75\nmodules 2.27\nscenario 11.01\n")
    assert uml._phases(str(f)) == {"uml_boot_s": 1.75, "uml_modules_s": 0.52, "uml_scenario_s": 8.74}


def test_missing_or_garbled_phases_give_what_is_there(tmp_path: Path) -> None:
    assert uml._phases(str(tmp_path / "absent")) == {}
    f = tmp_path / "phases"
    f.write_text("boot 2.0\nmodules ??\n")
    assert uml._phases(str(f)) == {"uml_boot_s": 2.0}


def test_the_guest_imports_netlab_from_a_bytecode_bundle(tmp_path: Path) -> None:
    bundle = uml._bytecode_bundle(str(tmp_path / "netlab.zip"))
    script = uml._guest_script("x.py", 1.0, str(tmp_path / "out"), "/usr/bin/python3", Path("/m"), [], bundle)
    assert f"export PYTHONPATH={bundle}" in script
    probe = "import netlab.runner, netlab.kernel.uml_guest; print(netlab.runner.__file__)"
    env = {**os.environ, "PYTHONPATH": bundle}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path, check=True
    )
    assert out.stdout.strip() == f"{bundle}/netlab/runner.pyc"  # compiled code, no source needed


def test_guest_init_passes_the_emulated_hosts_knobs_and_the_backend_to_the_guest(tmp_path: Path) -> None:
    script = uml._guest_script(
        "ipvlan",
        1.0,
        str(tmp_path / "out"),
        "/usr/bin/python3",
        Path("/m"),
        [],
        None,
        None,
        False,
        ("accept", "off", "28"),
        "cni",
    )
    line = next(ln for ln in script.splitlines() if "netlab.kernel.uml_guest" in ln)
    assert line.split(">/run/out/guest.log")[0].split()[-5:] == ["-", "accept", "off", "cni", "28"], line
    # the CNI plugins run `iptables` from PATH: in the guest that is iptables-legacy
    assert "export PATH=/run/legacy:$PATH" in script and "/run/legacy/$tool" in script


def test_a_crashed_go_plugin_is_named_by_its_panic_and_the_guest_s_cpu_settings_reach_the_plugins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Go runtime crash prints its goroutines' stacks after the words that matter; the variables that keep a
    user-mode Linux guest's programs off AVX (set by the guest's init) reach every plugin and its iptables."""
    from netlab.backends.cni import plugins

    stack = "fatal error: unknown caller pc\n\nruntime stack:\nruntime.throw(...)\n\truntime/mfinal.go:157 +0x45\n"
    assert plugins._error_text("", stack, 2) == "exit 2: fatal error: unknown caller pc"
    assert plugins._error_text("", "something failed\n", 1) == "exit 1: something failed"
    monkeypatch.setenv("GODEBUG", "cpu.avx=off,cpu.avx2=off")
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    att = plugins.Attachment("c", "/run/netns/x", "eth0", "/run/netns/h")
    env = plugins._environment("ADD", att, "/usr/lib/cni", "/tmp/lock")
    assert env["GODEBUG"] == "cpu.avx=off,cpu.avx2=off" and "GLIBC_TUNABLES" not in env
    assert set(uml_launch.GUEST_ENV) == set(plugins.PASSED_ON)

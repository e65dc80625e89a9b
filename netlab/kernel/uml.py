"""Run a scenario inside user-mode Linux (Debian's `user-mode-linux`): a Linux 6.1 kernel that
boots as a process, for link kinds the host kernel lacks (ipvlan here).

The guest's root is the host filesystem through hostfs, mounted READ-ONLY; the guest gets a tmpfs
on /run and one writable hostfs mount: the run's own scratch directory, where it writes
its JSON result. So the guest writes nothing of the host's outside that directory. Modules come
from the package's own tree (/usr/lib/uml/modules/<version>) through `modprobe -d`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import marshal
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netlab.backends.journal import Journal
from netlab.errors import EnvironmentProblem, Timeout
from netlab.kernel import uml_launch

if TYPE_CHECKING:
    from netlab.model.topology import Topology

MODULE_ROOT = Path("/usr/lib/uml/modules")
#: Modules every netns deployment needs (Docker's rules through iptables-nft or -legacy); link kinds are
#: added per scenario. One `modprobe -a` resolves dependencies (ipvlan: crc-ccitt, ipv6) in one pass:
#: one modprobe per module cost about 5 s over hostfs.
NETFILTER_MODULES = [
    "br_netfilter",
    "nf_tables",
    "nft_compat",
    "xt_addrtype",
    "xt_conntrack",
    "xt_MASQUERADE",
    "xt_nat",
    "xt_tcpudp",  # -p tcp/udp matches: published ports, the embedded DNS's DNAT
    "ip_tables",
    "iptable_filter",
    "iptable_nat",
]
#: what Docker 28 and 29's rules need besides: the raw table (its PREROUTING drops of direct routing to container
#: addresses) and ip6tables (on by default since Docker 27)
NEWER_DOCKER_MODULES = ["iptable_raw", "ip6_tables", "ip6table_filter", "ip6table_nat", "ip6table_raw"]
#: what the CNI plugins' rules need besides (ipMasq's and portmap's comments, portmap's marks and port lists)
CNI_MODULES = ["xt_comment", "xt_mark", "xt_multiport", "ip6_tables", "ip6table_filter", "ip6table_nat"]
#: link kinds whose kernel module is named otherwise
MODULE_OF = {"vlan": "8021q"}
BOOT_TIMEOUT_S = 120.0
#: the names under which the guest's PATH finds iptables-legacy (xtables-legacy-multi picks by its own name)
LEGACY_TOOLS = "iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore"
MEMORY = "512M"


def kernel_binary() -> str | None:
    return shutil.which("linux")


def module_dir() -> Path | None:
    if not MODULE_ROOT.is_dir():
        return None
    versions = sorted(p for p in MODULE_ROOT.iterdir() if (p / "modules.dep").is_file())
    return versions[-1] if versions else None


def available() -> str:
    """'' when user-mode Linux can run scenarios here, else what is missing and how to get it."""
    if kernel_binary() is None:
        return "user-mode Linux is not installed (apt-get install user-mode-linux kmod)"
    mods = module_dir()
    if mods is None or not any(mods.rglob("ipvlan.ko")):
        return f"user-mode Linux modules not found under {MODULE_ROOT} (apt-get install user-mode-linux)"
    if shutil.which("modprobe") is None:
        return "modprobe not found (apt-get install kmod)"
    return ""


def wanted(topology: Topology) -> bool:
    """Whether a topology should run here in user-mode Linux: it needs a link kind this kernel lacks (ipvlan, 802.1Q)
    and user-mode Linux is installed."""
    from netlab.kernel import features

    needed = frozenset(features.link_kinds_needed(topology))
    return any(why for why in features.link_kinds(needed).values()) and not available()


def _guest_script(
    spec: str,
    timeout: float,
    out: str,
    python: str,
    mods: Path,
    kinds: list[str],
    bundle: str | None = None,
    expect: str | None = None,
    why: bool = False,
    host: tuple[str, str, str] = ("drop", "on", "20.10"),
    backend: str = "netns",
) -> str:
    """`host`: the emulated Docker host's FORWARD policy, userland proxy and engine profile (--forward-policy,
    --userland-proxy, --engine); `backend`: netns or cni."""
    q = shlex.quote
    netfilter = NETFILTER_MODULES + (NEWER_DOCKER_MODULES if host[2] != "20.10" else [])
    netfilter += [m for m in CNI_MODULES if m not in netfilter] if backend == "cni" else []
    modules = " ".join(q(MODULE_OF.get(k, k)) for k in [*sorted(kinds), *netfilter])
    return f"""#!/bin/sh
# netlab user-mode Linux guest init: root is the host filesystem, read-only. Only /run gets a
# tmpfs (namespaces, journal, lock files); /tmp is left as the host's (read-only) because the
# caller's Python may live there.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin PYTHONDONTWRITEBYTECODE=1 HOME=/run/home TMPDIR=/run/tmp
export PYTHONPATH={q(":".join([bundle, *_host_path()] if bundle else _host_path()))}
# the guest kernel's nf_tables has no nat chain type: Docker's rules go in with iptables-legacy, and
# `iptables` on PATH (what the CNI plugins run) is iptables-legacy too
export NETLAB_FIREWALL=iptables-legacy
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/out /run/mods/lib/modules /run/home /run/tmp /run/legacy
for tool in {LEGACY_TOOLS}; do ln -s /usr/sbin/xtables-legacy-multi /run/legacy/$tool; done
export PATH=/run/legacy:$PATH
mount -t hostfs -o {q(out)} none /run/out
read up _ < /proc/uptime; echo "boot $up" >> /run/out/phases
ln -s {q(str(mods))} /run/mods/lib/modules/$(uname -r)
modprobe -a -d /run/mods {modules} 2>>/run/out/modprobe.log
# no module autoloading from here on: everything needed is loaded above, and each attempt the kernel
# makes (iptables asks for every match and target revision) spawns a modprobe that fails after 0.2 s
echo > /proc/sys/kernel/modprobe
read up _ < /proc/uptime; echo "modules $up" >> /run/out/phases
# -S: the caller's sys.path is given whole above, so site's .pth processing (a second of imports
# here) is not needed
{q(python)} -S -m netlab.kernel.uml_guest {q(spec)} {timeout} /run/out/result.json {q(expect or "")} \
    {"why" if why else "-"} {q(host[0])} {q(host[1])} {q(backend)} {q(host[2])} \
    >/run/out/guest.log 2>&1
echo "$?" > /run/out/exit
read up _ < /proc/uptime; echo "scenario $up" >> /run/out/phases
sync
poweroff -f
"""


def run(
    spec: str,
    timeout: float,
    journal: Journal,
    kinds: list[str],
    expect: str | None = None,
    why: bool = False,
    host: tuple[str, str, str] = ("drop", "on", "20.10"),
    backend: str = "netns",
) -> dict[str, Any]:
    """Boot user-mode Linux, run the scenario there on the netns (or cni) backend, return its JSON result."""
    missing = available()
    if missing:
        raise EnvironmentProblem(f"--kernel uml: {missing}")
    mods = module_dir()
    binary = kernel_binary()
    assert mods is not None and binary is not None
    if os.path.exists(spec):
        spec = os.path.abspath(spec)
    else:  # a bundled name: the guest loads the file (its netlab comes from the bundle, which has no scenarios)
        from netlab import loader

        bundled = loader.bundled_dir() / f"{spec}.py"
        spec = str(bundled) if bundled.is_file() else spec
    scratch = tempfile.mkdtemp(prefix=f"netlab-uml-{journal.run}-")
    journal.record("scratch", scratch)
    bundle = _bytecode_bundle(os.path.join(scratch, "netlab.zip"))
    out = os.path.join(scratch, "out")
    os.mkdir(out)
    init = os.path.join(scratch, "init")
    with open(init, "w") as f:
        f.write(
            _guest_script(
                spec,
                timeout,
                out,
                sys.executable,
                mods,
                kinds,
                bundle,
                expect and os.path.abspath(expect),
                why,
                host,
                backend,
            )
        )
    os.chmod(init, 0o755)
    argv = [
        binary,
        f"mem={MEMORY}",
        "root=/dev/root",
        "rootfstype=hostfs",
        "rootflags=/",
        "ro",
        f"init={init}",
        f"uml_dir={scratch}",
        f"umid=netlab-{journal.run}",
        "con=null",
        "con0=null,fd:1",
        "quiet",
    ]
    if uml_launch.needed():  # AVX-512/AMX host: UML 6.1 cannot save the FPU state (kernel/uml_launch.py)
        argv = [
            sys.executable,
            "-S",
            uml_launch.__file__,
            *argv,
            *(f"{k}={v}" for k, v in uml_launch.GUEST_ENV.items()),
        ]
    # UML backs the guest's RAM with an unlinked file in TMPDIR: on tmpfs it stays in memory (on a disk-backed
    # /tmp every guest page fault could become disk I/O)
    memdir = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else scratch
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR": memdir, "HOME": scratch}
    started = time.monotonic()
    with open(os.path.join(scratch, "console.log"), "w") as console:
        proc = subprocess.Popen(
            argv, stdout=console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )
        journal.record("uml", str(proc.pid), scratch=scratch)
        try:
            proc.wait(timeout=BOOT_TIMEOUT_S)
        except subprocess.TimeoutExpired as e:
            raise Timeout(f"--kernel uml: the guest did not finish within {BOOT_TIMEOUT_S:g} s") from e
        finally:
            stop(proc.pid)
    try:
        result_path = os.path.join(out, "result.json")
        if not os.path.exists(result_path):
            log = _tail(os.path.join(out, "guest.log")) or _tail(os.path.join(scratch, "console.log"))
            raise EnvironmentProblem(f"--kernel uml: the guest produced no result; its last words:\n{log}")
        with open(result_path) as f:
            result: dict[str, Any] = json.load(f)
        timings = result.setdefault("timings", {})
        timings["uml_total_s"] = round(time.monotonic() - started, 3)
        timings.update(_phases(os.path.join(out, "phases")))
        return result
    finally:
        if not os.environ.get("NETLAB_UML_KEEP"):
            shutil.rmtree(scratch, ignore_errors=True)


def _bytecode_bundle(path: str) -> str:
    """netlab's own modules compiled into a zip the guest imports from (PYTHONPATH).

    Where nothing wrote netlab's bytecode (an editable install run with PYTHONDONTWRITEBYTECODE, as
    on this project's VM), the guest would compile every module on each run: seconds of a kernel
    whose every system call is several host context switches. Compiling here takes 0.1 s."""
    root = Path(__file__).resolve().parents[1]  # the netlab package
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for src in sorted(root.rglob("*.py")):
            code = compile(src.read_bytes(), str(src), "exec", dont_inherit=True)
            name = src.relative_to(root.parent).with_suffix(".pyc").as_posix()
            # a pyc without source next to it: flags 0b01 (hash-based, unchecked), then the marshalled code
            header = (
                importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little") + importlib.util.source_hash(src.read_bytes())
            )
            z.writestr(name, header + marshal.dumps(code))
    return path


def _host_path() -> list[str]:
    """The caller's module search path (site-packages and whatever its .pth files added), for the guest."""
    return [p for p in sys.path if p and os.path.exists(p)]


def stop(pid: int) -> None:
    """Kill the guest's whole process group (UML runs several host processes), if still there."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def cleanup(run: str, kind: str, name: str) -> list[str]:
    """Undo a journal entry of a UML run: its guest process group, its scratch directory."""
    if kind == "uml":
        pid = int(name)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode(errors="replace")
        except OSError:
            return []
        if os.path.basename(argv0) != "linux" and argv0 != kernel_binary():
            return []  # the pid was reused by something that is not our guest
        stop(pid)
        return [f"uml guest {pid}"]
    if kind == "scratch" and os.path.basename(name).startswith(f"netlab-uml-{run}-") and os.path.isdir(name):
        shutil.rmtree(name, ignore_errors=True)
        return [f"scratch {name}"]
    return []


def _phases(path: str) -> dict[str, float]:
    """Guest uptime at the end of each phase (boot, modules, scenario) as durations: uml_boot_s, ..."""
    out: dict[str, float] = {}
    last = 0.0
    try:
        with open(path) as f:
            for line in f:
                name, _, value = line.partition(" ")
                with contextlib.suppress(ValueError):
                    at = float(value)
                    out[f"uml_{name}_s"] = round(at - last, 3)
                    last = at
    except OSError:
        pass
    return out


def _tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""

"""The CNI protocol (specification 1.0.0), spoken to the distribution's reference plugin binaries the way a
container runtime speaks it for a pod: one process per plugin of a network's list, parameters in CNI_*
environment variables, the plugin's configuration on stdin, its result (or error) as JSON on stdout.

Where a plugin acts: everything host-side (the bridge, the host end of the veth, the gateway address,
ip_forward, every iptables rule of ipMasq and portmap) happens in the network namespace the plugin process
runs in; only the container's side is configured inside CNI_NETNS. netlab starts each plugin inside the node's
namespace (the simulated host), so nothing of it reaches the machine's own.

ADD runs the list in order, each plugin given the previous one's result (`prevResult`); DEL runs it in reverse,
each given the final ADD result and the same runtime configuration (portmap removes nothing without its port
mappings). Every ADD is journalled before it runs, so `netlab clean` can DEL what a killed run added.

Sources: containernetworking/cni SPEC.md (spec-v1.0.0), containernetworking/plugins v1.1.1 (Debian 12's
containernetworking-plugins 1.1.1).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netlab import faults, nsthread
from netlab.errors import EnvironmentProblem

CNI_VERSION = "1.0.0"
#: where distributions install the plugins: Debian's package, then upstream's release tarball
PLUGIN_DIRS = ("/usr/lib/cni", "/opt/cni/bin")
PACKAGE = "containernetworking-plugins"
#: a plugin that has not answered by then is killed and the run ends with exit 3 (the bridge plugin itself may
#: wait 2.5 s for its veth to come up)
PLUGIN_TIMEOUT_S = 20.0
#: the caller's environment variables a plugin (and the iptables it runs) is given besides the CNI_* ones
PASSED_ON = ("GLIBC_TUNABLES", "OPENSSL_ia32cap", "GODEBUG")
#: error codes of the specification (section 5), for the messages
ERROR_CODES = {
    1: "incompatible CNI version",
    2: "unsupported field in the network configuration",
    3: "container unknown or does not exist",
    4: "invalid environment variables",
    5: "I/O failure",
    6: "failed to decode content",
    7: "invalid network configuration",
    11: "try again later",
}


class PluginError(EnvironmentProblem):
    """A plugin refused, hung, or printed something that is not a CNI result (exit 3)."""


def plugin_dir(types: Sequence[str], dirs: Sequence[str] = PLUGIN_DIRS) -> str:
    """The first directory holding every plugin named (exit 3 naming the package when none does)."""
    for d in dirs:
        if all(os.access(os.path.join(d, t), os.X_OK) for t in types):
            return d
    missing = sorted({t for t in types if not any(os.access(os.path.join(d, t), os.X_OK) for d in dirs)})
    raise EnvironmentProblem(
        f"the CNI plugins {', '.join(missing)} are not installed (looked in {', '.join(dirs)}): the cni backend runs "
        f"the distribution's reference plugins; install them (apt-get install {PACKAGE})"
    )


@dataclass(frozen=True, slots=True)
class Attachment:
    """One container on one network, as the runtime describes it to the plugins: `netns` the container's
    namespace, `host` the namespace the plugins run in (the node's), `args` CNI_ARGS (IP=... asks host-local for
    the scenario's address), `runtime` the capability arguments (portMappings)."""

    container_id: str
    netns: str
    ifname: str
    host: str
    args: Mapping[str, str] = field(default_factory=dict)
    runtime: Mapping[str, Any] = field(default_factory=dict)


def _plugin_conf(conflist: Mapping[str, Any], plugin: Mapping[str, Any], att: Attachment, prev: Any) -> dict[str, Any]:
    """What one plugin of the list gets on stdin (SPEC section 3, "Deriving execution configuration"): the list's
    name and version injected, prevResult when there is one, runtimeConfig holding only the capabilities the
    plugin declares, `capabilities` itself removed."""
    conf = {k: v for k, v in plugin.items() if k != "capabilities"}
    conf["name"], conf["cniVersion"] = conflist["name"], conflist["cniVersion"]
    wanted = {k for k, on in plugin.get("capabilities", {}).items() if on}
    runtime = {k: v for k, v in att.runtime.items() if k in wanted}
    if runtime:
        conf["runtimeConfig"] = runtime
    if prev is not None:
        conf["prevResult"] = prev
    return conf


def _environment(command: str, att: Attachment, path: str, lockfile: str) -> dict[str, str]:
    return {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": att.container_id,
        "CNI_NETNS": att.netns,
        "CNI_IFNAME": att.ifname,
        "CNI_ARGS": ";".join(["IgnoreUnknown=1", *(f"{k}={v}" for k, v in att.args.items())]),
        "CNI_PATH": path,
        # the plugins run `iptables` found on PATH (go-iptables); iptables-legacy's lock kept in the run's directory
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "XTABLES_LOCKFILE": lockfile,
        # what keeps programs off AVX in a user-mode Linux guest (kernel/uml_launch.py), where it is set
        **{k: os.environ[k] for k in PASSED_ON if k in os.environ},
    }


def call(
    command: str,
    conf: Mapping[str, Any],
    att: Attachment,
    path: str,
    lockfile: str,
    timeout: float = PLUGIN_TIMEOUT_S,
) -> dict[str, Any] | None:
    """Run one plugin once; its result (ADD), None (DEL). Raises PluginError naming the plugin, the command and
    what it said."""
    kind = str(conf.get("type", "?"))
    what = f"CNI plugin {kind!r} ({command}, network {conf.get('name')!r}, container {att.container_id!r})"
    try:
        rc, out, err = _run(
            att.host, os.path.join(path, kind), json.dumps(conf), _environment(command, att, path, lockfile), timeout
        )
    except subprocess.TimeoutExpired:
        raise PluginError(f"{what} did not answer within {timeout:g} s and was stopped") from None
    except OSError as e:
        raise PluginError(f"{what} could not be started: {e}") from e
    if rc != 0:
        raise PluginError(f"{what} failed: {_error_text(out, err, rc)}")
    if command != "ADD":
        return None
    try:
        result = json.loads(out)
    except ValueError:
        raise PluginError(f"{what} printed no CNI result (not JSON): {out.strip()[:200]!r}") from None
    if not isinstance(result, dict) or not isinstance(result.get("ips", []), list):
        raise PluginError(f"{what} printed something that is not a CNI result: {out.strip()[:200]!r}")
    return result


def _run(netns: str, binary: str, stdin: str, env: Mapping[str, str], timeout: float) -> tuple[int, str, str]:
    """The plugin started inside `netns`, in a process group of its own: on timeout the whole group is killed
    (a plugin's own children, iptables for one, must not outlive it)."""
    with nsthread.entered(netns):
        proc = subprocess.Popen(
            [binary],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(env),
            start_new_session=True,
        )
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return proc.returncode, out, err


def _error_text(stdout: str | None, stderr: str | None, rc: int) -> str:
    """A plugin's error: the JSON it printed on stdout ({code, msg, details}), else whatever it said."""
    try:
        err = json.loads(stdout or "")
    except ValueError:
        err = None
    if isinstance(err, dict) and "msg" in err:
        code = err.get("code")
        meaning = ERROR_CODES.get(code, "plugin error") if isinstance(code, int) else "plugin error"
        details = f": {err['details']}" if err.get("details") else ""
        return f"{err['msg']}{details} (CNI error {code}, {meaning})"
    said = (stderr or stdout or "").strip().splitlines()
    # a Go runtime crash ends in its goroutines' stacks: its first words are what went wrong
    crash = next((line for line in said if line.startswith(("panic: ", "fatal error: "))), None)
    return f"exit {rc}" + (f": {(crash or said[-1])[:200]}" if said else " and no message")


def add(conflist: Mapping[str, Any], att: Attachment, path: str, lockfile: str) -> dict[str, Any]:
    """ADD through the whole list; the final result (what DEL is given back)."""
    prev: dict[str, Any] | None = None
    for plugin in conflist["plugins"]:
        faults.point("cni.plugin")
        prev = call("ADD", _plugin_conf(conflist, plugin, att, prev), att, path, lockfile)
    assert prev is not None, "a network configuration list has at least one plugin"
    return prev


def delete(conflist: Mapping[str, Any], att: Attachment, result: Any, path: str, lockfile: str) -> list[str]:
    """DEL through the list in reverse, each plugin given the final ADD result. Every plugin is called even when
    one fails (DEL must release what it can); the failures, as messages."""
    failed = []
    for plugin in reversed(conflist["plugins"]):
        try:
            call("DEL", _plugin_conf(conflist, plugin, att, result), att, path, lockfile)
        except PluginError as e:
            failed.append(str(e))
    return failed


def addresses(result: Mapping[str, Any]) -> list[str]:
    """The CIDR addresses a result gives the container's interface (`ips[].address`)."""
    return [str(ip["address"]) for ip in result.get("ips", []) if isinstance(ip, dict) and "address" in ip]

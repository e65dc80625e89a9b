"""Choosing an engine profile (netlab/backends/engines, netlab/options.py): names, the profile of a daemon's
version, what the options refuse, and the comparison of runs under several profiles (netlab/upgrade.py)."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from netlab.backends import engines
from netlab.errors import UsageError
from netlab.model.expectations import parse_probe
from netlab.model.results import Observation, Outcome
from netlab.options import RunOptions
from netlab.upgrade import differences


@pytest.mark.parametrize(
    ("version", "backend", "profile"),
    [
        ("20.10.24", "iptables", "20.10"),
        ("24.0.7", "iptables", "20.10"),
        ("28.5.2", "iptables", "28"),
        ("29.1.0", "iptables", "29"),
        ("29.1.0", "nftables", "29-nftables"),
        ("30.0.0", "iptables", "29"),
        ("dev", "iptables", engines.NEWEST),
    ],
)
def test_a_daemon_version_maps_to_the_closest_profile(version: str, backend: str, profile: str):
    assert engines.for_version(version, backend) == profile


def test_an_unknown_engine_is_refused_naming_the_profiles():
    with pytest.raises(UsageError, match=r"20\.10, 28, 29, 29-nftables"):
        RunOptions(engine="27").check()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (RunOptions(backend="docker", engine="28"), "the docker backend runs the daemon's own"),
        (RunOptions(kernel="uml", engine="29-nftables"), "--kernel uml emulates Docker.s iptables profiles"),
    ],
)
def test_engine_is_for_the_netns_backend_on_the_host_kernel(options: RunOptions, message: str):
    with pytest.raises(UsageError, match=message):
        options.check()


def test_nftables_profile_refuses_a_drop_policy_it_never_sets():
    from netlab.backends.netns.backend import NetnsBackend

    with pytest.raises(UsageError, match="never sets a FORWARD policy"):
        NetnsBackend(forward_policy="drop", engine="29-nftables")
    assert NetnsBackend(engine="29-nftables").forward_policy == "accept"
    assert NetnsBackend(engine="28").forward_policy == "drop"


def test_asked_engine_and_policy_are_taken_as_asked_without_asking_a_daemon(monkeypatch: pytest.MonkeyPatch):
    from netlab.backends import registry

    def no_daemon(*_a: object, **_k: object) -> None:
        raise AssertionError("the daemon was asked although everything was given")

    monkeypatch.setattr(registry, "local_docker", no_daemon)
    backend = RunOptions(backend="netns", engine="28", forward_policy="accept", userland_proxy="on").resolved().chosen
    assert (backend.profile.name, backend.forward_policy) == ("28", "accept")  # type: ignore[attr-defined]


def test_without_a_daemon_the_newest_profile_with_dockers_defaults_is_chosen_and_said(
    monkeypatch: pytest.MonkeyPatch,
):
    from netlab.backends import registry

    monkeypatch.setattr(registry, "local_docker", lambda timeout=2.0: None)
    backend = RunOptions(backend="netns").resolved().chosen
    assert backend.profile.name == engines.NEWEST  # type: ignore[attr-defined]
    assert backend.forward_policy == "drop"  # type: ignore[attr-defined]
    assert "no Docker daemon answers" in backend.chosen  # type: ignore[attr-defined]


def test_a_local_daemon_gives_its_profile_and_its_hosts_policy(monkeypatch: pytest.MonkeyPatch):
    from netlab.backends import registry
    from netlab.backends.docker.local import LocalDaemon

    daemon = LocalDaemon(version="20.10.24", firewall_backend="iptables", forward_policy="ACCEPT", userland_proxy=True)
    monkeypatch.setattr(registry, "local_docker", lambda timeout=2.0: daemon)
    backend = RunOptions(backend="netns").resolved().chosen
    assert (backend.profile.name, backend.forward_policy) == ("20.10", "accept")  # type: ignore[attr-defined]
    assert "Docker 20.10.24" in backend.chosen and "FORWARD policy ACCEPT" in backend.chosen  # type: ignore[attr-defined]


def test_the_local_daemons_userland_proxy_is_emulated_unless_asked(monkeypatch: pytest.MonkeyPatch):
    from netlab.backends import registry
    from netlab.backends.docker.local import LocalDaemon

    daemon = LocalDaemon(version="28.5.2", firewall_backend="iptables", forward_policy="DROP", userland_proxy=False)
    monkeypatch.setattr(registry, "local_docker", lambda timeout=2.0: daemon)
    backend = RunOptions(backend="netns").resolved().chosen
    assert backend.userland_proxy == "off"  # type: ignore[attr-defined]
    assert "userland proxy off" in backend.chosen  # type: ignore[attr-defined]
    assert RunOptions(backend="netns", userland_proxy="on").resolved().chosen.userland_proxy == "on"  # type: ignore[attr-defined]
    monkeypatch.setattr(registry, "local_docker", lambda timeout=2.0: None)
    assert RunOptions(backend="netns").resolved().chosen.userland_proxy == "on"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (RunOptions(backend="netns", userland_proxy="maybe"), "use on or off"),
        (RunOptions(backend="docker", userland_proxy="off"), "docker backend runs the daemon's own"),
        (RunOptions(backend="netns", ip6tables="maybe"), "use on or off"),
        (RunOptions(backend="docker", ip6tables="on"), "s.daemon\\(ip6tables=True\\)"),
        (RunOptions(backend="netns", ip6tables="on", kernel="uml"), "no --ip6tables yet"),
    ],
)
def test_userland_proxy_option_is_checked(options: RunOptions, message: str):
    from netlab.errors import UsageError

    with pytest.raises(UsageError, match=message):
        options.check()


def test_the_rules_follow_the_userland_proxy_knob():
    from netlab.backends.netns.backend import NetnsBackend

    assert NetnsBackend(engine="20.10", userland_proxy="off").host().userland_proxy is False
    assert NetnsBackend(engine="20.10").host().userland_proxy is True


def _obs(stage: str, src: str, dst: str, outcome: Outcome, why: str = "") -> Observation:
    return Observation(stage, src, dst, IPv4Address("198.18.2.2"), parse_probe("icmp"), outcome, why=why)


class _Run:
    def __init__(self, observations: list[Observation]) -> None:
        self.observations = observations


def test_differences_list_only_cells_whose_outcome_changes_with_the_blocking_rule():
    old = _Run([_obs("route", "ext", "web", Outcome.REACHABLE), _obs("route", "ext", "db", Outcome.UNREACHABLE)])
    new = _Run(
        [
            _obs("route", "ext", "web", Outcome.UNREACHABLE, why="raw PREROUTING rule -d 198.18.2.2/32 -j DROP"),
            _obs("route", "ext", "db", Outcome.UNREACHABLE),
        ]
    )
    found = differences({"20.10": old, "28": new})  # type: ignore[dict-item]
    assert [(d.src, d.dst, d.marks) for d in found] == [("ext", "web", {"20.10": ".", "28": "X"})]
    assert found[0].why == {"28": "raw PREROUTING rule -d 198.18.2.2/32 -j DROP"}


def test_ip6tables_follows_the_release_the_option_and_the_machine_s_daemon(monkeypatch: pytest.MonkeyPatch):
    from netlab.backends import registry
    from netlab.backends.docker.local import LocalDaemon
    from netlab.backends.netns.backend import NetnsBackend

    assert NetnsBackend(engine="20.10").host().ip6tables is False
    assert NetnsBackend(engine="28").host().ip6tables is True
    assert NetnsBackend(engine="20.10", ip6tables="on").host().ip6tables is True
    daemon = LocalDaemon("20.10.24", "iptables", "DROP", userland_proxy=True, ip6tables="on")
    monkeypatch.setattr(registry, "local_docker", lambda timeout=2.0: daemon)
    backend = RunOptions(backend="netns").resolved().chosen
    assert backend.ip6tables == "on" and "ip6tables on" in backend.chosen  # type: ignore[attr-defined]
    asked = RunOptions(backend="netns", engine="28").resolved().chosen
    assert asked.ip6tables == "on"  # type: ignore[attr-defined]


def test_why_without_nft_stops_naming_the_package(monkeypatch: pytest.MonkeyPatch):
    import shutil

    from netlab.errors import EnvironmentProblem

    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda tool, *a, **k: None if tool == "nft" else real(tool, *a, **k))
    with pytest.raises(EnvironmentProblem, match="apt-get install nftables") as e:
        RunOptions(backend="netns", why=True).check()
    assert e.value.exit_code == 3
    RunOptions(backend="netns").check()  # without --why nft is not needed


def test_compare_engines_renders_a_comparison_where_at_most_one_profile_ran():
    """Under user-mode Linux 29-nftables cannot run: asked for alone, or beside one other profile, the report says
    there is nothing to compare instead of failing or claiming every cell is the same."""
    from netlab.upgrade import Comparison, render

    why = "user-mode Linux emulates Docker's iptables profiles only"
    alone = render(Comparison("ipvlan", [], "DROP", kernel="uml", not_run={"29-nftables": why}))
    assert "29-nftables  not run: user-mode Linux" in alone and "nothing to compare: no profile ran here" in alone


def test_compare_engines_names_what_to_install_for_a_scenario_this_kernel_cannot_run(
    monkeypatch: pytest.MonkeyPatch,
):
    from netlab.errors import KernelFeatureMissing
    from netlab.kernel import features, uml
    from netlab.upgrade import compare

    monkeypatch.setattr(features, "link_kinds", lambda wanted: {k: ("no" if k == "ipvlan" else "") for k in wanted})
    monkeypatch.setattr(uml, "available", lambda: "user-mode Linux is not installed (apt-get install user-mode-linux)")
    with pytest.raises(KernelFeatureMissing) as e:
        compare("ipvlan_l2", ["20.10"])
    assert "ipvlan_l2 needs ipvlan, which this kernel lacks; compare-engines runs it in user-mode Linux" in str(e.value)
    assert "--kernel" not in str(e.value) and "apt-get install user-mode-linux" in str(e.value)

"""Probe specs as scenarios write them: `icmp`, `tcp:PORT`, `udp:PORT`, `dns:NAME`."""

from __future__ import annotations

import pytest

from netlab.model import Probe, ProbeKind, parse_probe


@pytest.mark.parametrize(
    "spec",
    ["icmp", "tcp:1", "tcp:80", "tcp:65535", "udp:53", "udp:4789", "dns:c2", "dns:web.front", "dns:a", "dns:x_1.y-2"],
)
def test_canonical_spec_round_trips_through_parse_and_str(spec: str):
    assert str(parse_probe(spec)) == spec


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [("ICMP", "icmp"), (" tcp:80 ", "tcp:80"), ("TCP:443", "tcp:443"), ("Udp:53", "udp:53"), ("dns:C2", "dns:c2")],
)
def test_spec_is_normalised_to_lower_case_without_blanks(spec: str, canonical: str):
    assert str(parse_probe(spec)) == canonical


@pytest.mark.parametrize(
    ("spec", "probe"),
    [
        ("icmp", Probe(ProbeKind.ICMP)),
        ("tcp:80", Probe(ProbeKind.TCP, port=80)),
        ("udp:53", Probe(ProbeKind.UDP, port=53)),
        ("dns:c2", Probe(ProbeKind.DNS, name="c2")),
    ],
)
def test_spec_parses_into_kind_and_argument(spec: str, probe: Probe):
    assert parse_probe(spec) == probe


def test_equal_specs_give_equal_hashable_probes():
    assert parse_probe("tcp:80") == parse_probe("TCP:80")
    assert len({parse_probe("tcp:80"), parse_probe(" tcp:80"), parse_probe("udp:80")}) == 2


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "foo",
        "icmp:1",
        "tcp",
        "tcp:",
        "tcp:x",
        "tcp:0",
        "tcp:-1",
        "tcp:65536",
        "tcp:8o",
        "udp:",
        "sctp:80",
        "dns:",
        "dns:-c2",
        "dns:c2-",
        "dns:a b",
        "tcp:²",
    ],
)
def test_bad_spec_raises_value_error_naming_the_spec(spec: str):
    with pytest.raises(ValueError, match="bad probe") as info:
        parse_probe(spec)
    assert repr(spec) in str(info.value)


@pytest.mark.parametrize("spec", ["tcp:0", "tcp:65536", "udp:x"])
def test_bad_port_message_gives_the_valid_range(spec: str):
    with pytest.raises(ValueError, match="1 to 65535"):
        parse_probe(spec)


def test_non_string_spec_is_rejected():
    with pytest.raises(ValueError, match="expected a string"):
        parse_probe(80)  # type: ignore[arg-type]

"""Probing in words every layer can use: one probe asked (Task), what came back (Answer), and how a
deployment's endpoints can be probed (Probing), which a backend states and the probe engine
(netlab/probes/matrix.py) turns into the sockets or scripts that send the probes.

A backend never sends probes itself: it says where they can be sent from, and the runner asks the probe
engine to send them. Three ways exist:
  FromNamespaces  each endpoint's network namespace (Endpoint.netns) can be entered: the netns backend
                  and a local Docker engine
  ThroughShells   the endpoints cannot be entered but each runs a shell script on request: containers on
                  remote engines (`--node NAME=URL`), through `docker exec`
  Decided         no packets at all: the backend answers each probe itself (the fake backend of unit tests)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from netlab.model.results import Outcome
from netlab.model.topology import IPAddress, Probe


class Task(NamedTuple):
    """One probe to send from `src` to `dst` (at `address`, of the probe's family; None: it has no address of that
    family)."""

    src: str
    dst: str
    probe: Probe
    address: IPAddress | None
    override: bool = False  # the address came from the expectation


class Answer(NamedTuple):
    outcome: Outcome
    rtt_ms: float | None
    detail: str
    timed_out: bool = False
    stamped: bool = False  # rtt_ms from the kernel's receive stamp (else from when netlab read the answer)


@dataclass(frozen=True, slots=True)
class Shell:
    """An endpoint netlab cannot enter but can run a script in."""

    target: str  # what the script runs in (a container id): one listener is planted per target and port
    run: Callable[[str], str]  # `sh -c TEXT` inside the endpoint; its standard output
    shares_host: bool = False  # the node itself or a host-network container (its host's resolver is never asked)


@dataclass(frozen=True, slots=True)
class FromNamespaces:
    """Probes are sent from inside each endpoint's network namespace.

    `listeners`: netlab plants a listener for every tcp/udp probe (False: only what already listens there
    answers; `netlab scan` changes nothing in containers it did not start). `withheld`: probes never sent,
    (src, dst, probe) -> why (a DNS query Docker's embedded server would forward off the machine). `dns_names`:
    when given, the only names each source may ask its resolver for (None for a source: any name; a source not
    listed: none); every other DNS probe is withheld too, whoever asked for it (an --expect file included)."""

    listeners: bool = True
    withheld: Mapping[tuple[str, str, str], str] = field(default_factory=dict)
    dns_names: Mapping[str, frozenset[str] | None] | None = None


@dataclass(frozen=True, slots=True)
class ThroughShells:
    """Probes run as one shell script per source endpoint (an endpoint without a shell is not running)."""

    shells: dict[str, Shell] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decided:
    """No packets: `answer` says what each probe observes."""

    answer: Callable[[Task], Answer]


Probing = FromNamespaces | ThroughShells | Decided

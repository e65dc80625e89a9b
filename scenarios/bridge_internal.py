"""An internal bridge network (`docker network create --internal`), Docker 20.10 semantics.

No MASQUERADE, no DOCKER chain, two DOCKER-ISOLATION-STAGE-1 drops for traffic leaving or
entering the subnet. On 20.10 the container keeps its default route, so it can still reach the
host's other addresses (that traffic is delivered locally and never crosses FORWARD); Docker 25
removed the gateway of internal networks. The lan has a fixed subnet so the host's lan address
(the top address, .254) can be named below.

The network and the lan are dual-stack. Over IPv6 an internal network is internal only where Docker writes
ip6tables rules (27 and later; 20.10 with `--experimental --ip6tables`): without them nothing stops its containers'
IPv6, and a route on the lan reaches them (stage `route`). With them, Docker before 25 also drops the neighbour
solicitations the members send each other (its IPv6 DROPs match what stays on the bridge: moby fixed it in 25.0),
so c1 and c2 cannot talk over IPv6 at all.
"""

from netlab import Scenario

s = Scenario("bridge_internal", title="Internal bridge network: no way out, host still reachable")
lan = s.lan("lan0", subnet="198.18.100.0/24", ipv6=True)
ext = s.peer("ext", lan)
inner = s.network("inner", driver="bridge", internal=True, ipv6=True)
c1 = s.container("c1", inner)
c2 = s.container("c2", inner)
out = s.container("out", "bridge")

s.expect(c1, c2, "icmp", reachable=True)
s.expect("host", c1, "icmp", reachable=True, claim="Host system has network access to the container")
s.expect(c1, "host", "icmp", reachable=True)
s.expect(c1, "host", "icmp", reachable=True, address="198.18.100.254")
s.expect(c1, ext, "icmp", reachable=False, claim="An internal network has no external connectivity")
s.expect(ext, c1, "icmp", reachable=False)
s.expect(c1, out, "icmp", reachable=False)
s.expect(out, ext, "icmp", reachable=True)
s.expect(c1, c2, "icmp6", reachable=True, when={"ip6tables": "off"})
s.expect(
    c1,
    c2,
    "icmp6",
    reachable=False,
    claim="Docker before 25 with ip6tables: an internal network's members cannot reach each other over IPv6 (its "
    "DROPs catch their neighbour solicitations)",
    when={"ip6tables": "on", "engine": "<25"},
)
s.expect(c1, c2, "icmp6", reachable=True, when={"ip6tables": "on", "engine": ">=25"})
s.expect("host", c1, "icmp6", reachable=True)
s.expect(c1, ext, "icmp6", reachable=False)

with s.stage("route", "The peer routes the internal network via the host, over IPv4 and IPv6") as st:
    st.route(ext, inner, via="host")
    st.expect(ext, c1, "icmp", reachable=False)
    st.expect(
        ext,
        c1,
        "icmp6",
        reachable=True,
        claim="Without ip6tables an internal network is not internal over IPv6: a route on the lan reaches it",
        when={"ip6tables": "off"},
    )
    st.expect(ext, c1, "icmp6", reachable=False, when={"ip6tables": "on"})
    st.expect(c1, ext, "icmp6", reachable=True, when={"ip6tables": "off"})
    st.expect(c1, ext, "icmp6", reachable=False, when={"ip6tables": "on"})

SCENARIO = s

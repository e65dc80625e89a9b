"""The lecture's claims: each names measured properties that exist; verdicts follow the measurements."""

from __future__ import annotations

from netlab import compare
from netlab.evidence import claims as claims_evidence
from netlab.model.claims import CLAIMS, Claim, verdict


def test_every_claim_is_decided_by_properties_compare_measures() -> None:
    ids = {p.id for p in claims_evidence.PROPERTIES}
    for claim in CLAIMS:
        assert claim.driver in compare.SCENARIOS, claim.id
        assert set(claim.expects) <= ids, claim.id
        assert claim.expects or claim.note, f"{claim.id}: not measurable, so it must say why"
    assert len({c.id for c in CLAIMS}) == len(CLAIMS)


def test_every_card_of_the_lecture_is_covered() -> None:
    drivers = {c.driver for c in CLAIMS}
    assert drivers == {"bridge", "host", "macvlan", "ipvlan", "overlay"}
    wording = " ".join(c.wording for c in CLAIMS)
    for sentence in (
        "Can only reach each other on the same broadcast domain",
        "Uses IPTables",
        "Allows microsegmentation",
        "No automatic IPTables for container",
        "Explicit assignment required",
        "as if they are independent systems",
        "No IPTables",
        "even on different subnets",
        "no route advertisement",
        "IPTables use but experimental-ish",
    ):
        assert sentence in wording


def test_verdicts() -> None:
    c = Claim("x.y", "bridge", "words", {"iptables": True, "nat": False})
    assert verdict(c, {"iptables": True, "nat": False}) is True
    assert verdict(c, {"iptables": False, "nat": False}) is False
    assert verdict(c, {"iptables": True, "nat": None}) is None
    assert verdict(Claim("x.z", "host", "words", {}, "why"), {}) is None


def test_scenarios_name_claims_by_id_and_unknown_ids_are_refused() -> None:
    import pytest

    from netlab import Scenario, loader
    from netlab.model.errors import InvalidScenario

    assert ("ipvlan.iptables", False) in loader.load("ipvlan").claims  # the card is wrong there: expected to fail
    assert ("bridge.iptables", True) in loader.load("bridge").claims
    s = Scenario("x")
    with pytest.raises(InvalidScenario, match=r"claim .bridge\.nope.: unknown"):
        s.claim("bridge.nope")

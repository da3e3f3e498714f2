"""Evacuation placement, which domains move, and where a guest is after its migration: pure functions."""

from __future__ import annotations

import pytest

from hvdeck.backends.model import Domain, DomainState, HostInfo, HostSnapshot, HostStatus
from hvdeck.tui.wizards.migrate_logic import free_memory, locate, movable, place

G = 1 << 30


def dom(name: str, memory: int | None, state: DomainState = DomainState.RUNNING, host: str = "a", **kw) -> Domain:
    native = {DomainState.RUNNING: "running", DomainState.PAUSED: "paused", DomainState.STOPPED: "shut off"}[state]
    return Domain(host, name, state, native, memory_bytes=memory, uuid=f"uuid-{name}", **kw)


def names(placements) -> list[tuple[str, str | None]]:
    return [(p.domain.name, p.target) for p in placements]


def test_the_largest_goes_first_to_the_target_with_most_room():
    domains = [dom("small", 1 * G), dom("big", 6 * G), dom("mid", 3 * G)]
    placed = place(domains, ["b", "c"], {"b": 8 * G, "c": 7 * G})
    # big (6) -> b (8 free, most); mid (3) -> c (7 free vs b's 2); small (1) -> c (4 left vs 2)
    assert names(placed) == [("small", "c"), ("big", "b"), ("mid", "c")]
    assert placed[1].reason == "8G free there for 6G"


def test_ties_go_to_the_earlier_target_and_nothing_fits_says_so():
    assert names(place([dom("x", G)], ["b", "c"], {"b": 4 * G, "c": 4 * G})) == [("x", "b")]
    placed = place([dom("huge", 64 * G)], ["b", "c"], {"b": 4 * G, "c": 8 * G})
    assert names(placed) == [("huge", None)] and placed[0].reason == "no target has 64G free (the most is 8G)"
    none = place([dom("x", G)], [], {})
    assert names(none) == [("x", None)] and none[0].reason == "no target of the same kind"


def test_targets_of_unknown_room_take_domains_in_turn_only_when_none_known_fits():
    domains = [dom("d1", 4 * G), dom("d2", 4 * G), dom("d3", 4 * G), dom("d4", 4 * G)]
    placed = place(domains, ["known", "u1", "u2"], {"known": 5 * G, "u1": None, "u2": None})
    assert names(placed) == [("d1", "known"), ("d2", "u1"), ("d3", "u2"), ("d4", "u1")]
    assert placed[1].reason == "its free memory is not known: the pre-flight check decides"


def test_unknown_domain_memory_counts_as_nothing():
    assert names(place([dom("x", None)], ["b"], {"b": 0})) == [("x", "b")]


def test_what_an_evacuation_moves():
    assert movable(dom("web", G)) is None
    assert movable(dom("paused", G, DomainState.PAUSED)) is None
    assert movable(dom("off", G, DomainState.STOPPED)) == "off is shut off"
    control = dom("primary", G, flags="-n-cv-", flags_meaning="normal, control, vio-service")
    assert movable(control) == "primary is the control domain"


def snapshot(host: str, domains: tuple[Domain, ...], status: HostStatus = HostStatus.UP,
             memory: int | None = 16 * G) -> HostSnapshot:
    return HostSnapshot(host, "libvirt", status, 0.0, domains=domains,
                        info=HostInfo("libvirt", memory_bytes=memory))


def test_free_memory_of_a_host_from_its_poll():
    assert free_memory(snapshot("b", (dom("x", 4 * G, host="b"), dom("off", 8 * G, DomainState.STOPPED, host="b")))) \
        == 12 * G
    assert free_memory(snapshot("b", (), memory=None)) is None
    assert free_memory(snapshot("b", (), status=HostStatus.STALE)) is None


@pytest.mark.parametrize(("here", "there", "sentence", "arrived"), [
    (None, "running", "web is running on b; a no longer has it.", True),
    ("running", None, "web is still running on a; b does not have it.", False),
    (None, None, "web is on neither a nor b: look at both hosts before doing anything else.", False),
    ("running", "paused", "web is on both hosts: running on a, paused on b: look at both before doing anything else.",
     False),
])
def test_locate(here, there, sentence, arrived):
    states = {"running": DomainState.RUNNING, "paused": DomainState.PAUSED}
    source = snapshot("a", (dom("web", G, states[here]),) if here else ())
    target = snapshot("b", (dom("web", G, states[there], host="b"),) if there else ())
    where = locate("web", "web", source, target)
    assert (where.sentence, where.arrived) == (sentence, arrived)


def test_locate_under_a_new_name_and_with_a_host_down():
    target = snapshot("b", (dom("web", G, host="b"), dom("web2", G, host="b")))
    assert locate("web", "web2", snapshot("a", ()), target).sentence == "web (as web2) is running on b; a no longer has it."
    down = locate("web", "web", snapshot("a", ()), snapshot("b", (), status=HostStatus.DOWN))
    assert not down.arrived and down.sentence == "where web is cannot be told: b did not answer; look at both hosts"

"""libvirt's state table (backends/libvirt/states.py), every state and reason × every action.

The expected matrix below is written out again by hand from the sources the table cites (libvirt-domain.h
for the states and reasons, qemu_driver.c for what each call accepts), so a change to either is a
decision this test makes someone take twice.
"""

from __future__ import annotations

import pytest

from hvdeck.backends.base import Action
from hvdeck.backends.libvirt import states
from hvdeck.backends.model import Domain, DomainState

A = Action
# columns: Start, Shut down, Reboot, Pause, Unpause, Wake up, Force off; + allowed, . refused
COLUMNS = (A.START, A.SHUTDOWN, A.REBOOT, A.PAUSE, A.UNPAUSE, A.WAKEUP, A.FORCE_OFF)
EXPECTED = {
    # code: (virsh word, normalised state, vCPUs execute, S  D  R  P  U  W  F)
    0: ("no state", DomainState.UNKNOWN, False, "......+"),
    1: ("running", DomainState.RUNNING, True, ".+++..+"),
    2: ("idle", DomainState.RUNNING, True, ".+++..+"),
    3: ("paused", DomainState.PAUSED, False, "....+.+"),
    4: ("in shutdown", DomainState.TRANSITION, True, "......+"),
    5: ("shut off", DomainState.STOPPED, False, "+......"),
    6: ("crashed", DomainState.CRASHED, False, "......+"),
    7: ("pmsuspended", DomainState.PAUSED, False, ".....++"),
}
# paused reasons under which a libvirt job (or a crash) owns the domain: no Unpause, Force off stays
PAUSED_NO_UNPAUSE = {2: "migrating", 3: "saving", 4: "dumping", 8: "shutting down", 9: "creating snapshot",
                     10: "crashed", 11: "starting up", 12: "post-copy", 13: "post-copy failed"}
PAUSED_UNPAUSE = {0: "unknown", 1: "user", 5: "I/O error", 6: "watchdog", 7: "from snapshot", 14: "api error"}


def _domain(code: int, reason: int | None = None, *, active: bool | None = None, name: str = "vm1") -> Domain:
    word = EXPECTED[code][0]
    extra = ()
    if reason:
        extra = (("reason", states.REASONS[code][reason][1]),)
    if active is None:
        active = code != 5
    return Domain(host="h", name=name, state=EXPECTED[code][1], native_state=word, id=7 if active else None,
                  extra=extra)


def test_every_state_of_libvirt_domain_h_is_in_the_table():
    assert sorted(states.STATES) == list(range(8)) == sorted(EXPECTED)
    assert sorted(states.REASONS) == list(range(8))
    for code, row in states.STATES.items():
        assert (row.word, row.state, row.executing) == EXPECTED[code][:3]
        assert set(row.actions) == set(Action), f"{row.constant} leaves an action undecided"
        assert states.describe(code) == (row.state, row.word)


@pytest.mark.parametrize("code", range(8))
@pytest.mark.parametrize("action", list(Action))
def test_every_state_times_every_action(code, action):
    allowed = EXPECTED[code][3][COLUMNS.index(action)] == "+"
    reason = states.why_not(action, _domain(code, name="db-07"))
    if allowed:
        assert reason is None
    else:
        assert isinstance(reason, str) and "db-07" in reason
        assert "{" not in reason and "}" not in reason, "every placeholder is filled"


@pytest.mark.parametrize("reason", sorted(PAUSED_NO_UNPAUSE) + sorted(PAUSED_UNPAUSE))
@pytest.mark.parametrize("action", list(Action))
def test_every_paused_reason_times_every_action(reason, action):
    domain = _domain(3, reason)
    assert states.code_of(domain) == (3, reason if reason else None)
    got = states.why_not(action, domain)
    if action is A.UNPAUSE:
        assert (got is None) is (reason in PAUSED_UNPAUSE), got
    else:  # the reason changes nothing else: the paused row's decision
        assert got == states.why_not(action, _domain(3))


def test_reason_words_are_virsh_domstate_reason():
    assert states.REASONS[3][2] == ("MIGRATION", "migrating")
    assert {r: states.REASONS[3][r][1] for r in PAUSED_NO_UNPAUSE} == PAUSED_NO_UNPAUSE
    assert {r: states.REASONS[3][r][1] for r in PAUSED_UNPAUSE} == PAUSED_UNPAUSE
    assert states.reason_word(6, 1) == "panicked" and states.reason_word(5, 5) == "saved"
    assert states.reason_word(1, 99) == "reason 99" and states.reason_word(None, 1) is None
    assert states.REASON_ROWS[(3, 2)].constant == "VIR_DOMAIN_PAUSED_MIGRATION"


def test_pmsuspended_offers_wake_up_and_never_unpause_or_pause():
    sleepy = _domain(7, name="win-sleepy")
    assert states.why_not(A.WAKEUP, sleepy) is None
    assert "libvirt refuses to resume it; wake it up" in states.why_not(A.UNPAUSE, sleepy)
    assert states.why_not(A.PAUSE, sleepy) == (
        "win-sleepy is asleep in its own OS (pmsuspended); libvirt refuses to pause it")


def test_crashed_offers_force_off_not_start():
    crashed = _domain(6, name="legacy-app")
    assert states.why_not(A.FORCE_OFF, crashed) is None
    assert "already running" in states.why_not(A.START, crashed)
    # a driver that reports a crashed domain as inactive (no ID): it can be started, not forced off
    gone = _domain(6, active=False, name="legacy-app")
    assert states.why_not(A.START, gone) is None and states.why_not(A.FORCE_OFF, gone) is not None


def test_an_unknown_state_refuses_all_but_force_off_of_an_active_domain():
    odd = Domain(host="h", name="x", state=DomainState.UNKNOWN, native_state="state 42", id=3)
    assert [a for a in Action if states.why_not(a, odd) is None] == [A.FORCE_OFF]
    assert "state hvdeck does not know" in states.why_not(A.START, odd)
    inactive = Domain(host="h", name="x", state=DomainState.UNKNOWN, native_state="state 42")
    assert all(states.why_not(a, inactive) for a in Action)


def test_figures_only_where_vcpus_execute():
    assert [c for c in range(8) if states.executing(c)] == [1, 2, 4]
    assert not states.executing(None) and not states.executing(42)

"""The Xen state table (states.py): every action against every combination of the six state flags, in each of
the three letter orders (xentop, xl list, xm list), plus Domain-0, migrating names and guests that are not
running. The letters are decoded independently of parse.py's normalisation, and the two must agree."""

from __future__ import annotations

import itertools

import pytest

from hvdeck.backends.model import Domain, DomainState
from hvdeck.backends.xen import parse, states
from hvdeck.backends.xen.states import XENTOP, XL, XM, Flags

ACTIONS = states.ACTIONS


def letters(order: str, flags: Flags) -> str:
    """Print ``flags`` the way each tool does (xen.md §1.4, §2.2, §3)."""
    if order == XENTOP:
        bits = (flags.dying, flags.shutdown, flags.blocked, flags.crashed, flags.paused, flags.running)
        return "".join(ch if on else "-" for ch, on in zip("dsbcpr", bits))
    if order == XL:  # a crash is the shutdown flag with reason letter c
        shut = flags.shutdown or flags.crashed
        reason = "c" if flags.crashed else ("-" if not shut else "r")
        return (("r" if flags.running else "-") + ("b" if flags.blocked else "-") + ("p" if flags.paused else "-")
                + ("s" if shut else "-") + (reason if shut else "-") + ("d" if flags.dying else "-"))
    bits = (flags.running, flags.blocked, flags.paused, flags.shutdown, flags.crashed, flags.dying)
    return "".join(ch if on else "-" for ch, on in zip("rbpscd", bits))


def every_flags() -> list[Flags]:
    found = []
    for bits in itertools.product((False, True), repeat=6):
        flags = Flags(*bits)
        if flags.shutdown and flags.crashed:
            continue  # libxenstat's shutdown excludes a crash: no tool can print both
        found.append(flags)
    return found


def row(order: str, text: str, name: str = "web01", domid: int | None = 3) -> Domain:
    return Domain(host="h", name=name, state=DomainState.RUNNING, native_state=text, id=domid,
                  extra=(("letters", order),))


def expected(action: str, flags: Flags) -> bool:
    """The table of `states.why_not`'s docstring, row by row (first match wins)."""
    if flags.dying:
        return False
    if flags.crashed or flags.shutdown:
        return action == "force-off"
    if flags.paused:
        return action in ("unpause", "force-off")
    return action in ("shutdown", "reboot", "pause", "force-off")


CASES = [(order, flags, action) for order in (XENTOP, XL, XM) for flags in every_flags() for action in ACTIONS]


@pytest.mark.parametrize("order,flags,action", CASES,
                         ids=[f"{o[0]}-{letters(o, f)}-{a}" for o, f, a in CASES])
def test_every_action_in_every_state(order, flags, action):
    text = letters(order, flags)
    assert states.decode(text, order) == flags
    reason = states.why_not(action, row(order, text))
    assert (reason is None) == expected(action, flags), reason
    if reason is not None:
        assert "web01" in reason


@pytest.mark.parametrize("order,normalise", [(XENTOP, parse.xentop_state), (XL, parse.xl_state),
                                             (XM, parse.xm_state)])
def test_decoded_flags_agree_with_the_parsers_normalised_state(order, normalise):
    for flags in every_flags():
        state = normalise(letters(order, flags))
        if order == XL and flags.dying:  # parse.xl_state: dying wins, even over a crash
            assert state is DomainState.TRANSITION
        elif flags.crashed:
            assert state is DomainState.CRASHED
        elif flags.dying or flags.shutdown:
            assert state is DomainState.TRANSITION
        elif flags.paused:
            assert state is DomainState.PAUSED
        else:
            assert state is DomainState.RUNNING


@pytest.mark.parametrize("action", ACTIONS)
def test_domain_0_and_migrating_guests_take_no_action(action):
    assert "control domain" in states.why_not(action, row(XENTOP, "-----r", "Domain-0", 0))
    assert "control domain" in states.why_not(action, row(XENTOP, "-----r", "renamed", 0))
    for name in ("web01--migratedaway", "web01--incoming", "migrating-web01"):
        assert "migrated" in states.why_not(action, row(XENTOP, "--b---", name))


@pytest.mark.parametrize("action", ACTIONS)
def test_a_guest_that_is_not_running_can_only_start(action):
    stopped = Domain(host="h", name="backup01", state=DomainState.STOPPED, native_state="config",
                     handle="/etc/xen/backup01.cfg")
    reason = states.why_not(action, stopped)
    assert (reason is None) == (action == "start")
    assert "nothing" not in (states.why_not("start", stopped, startable=False) or "") or action != "start"
    assert states.why_not("start", stopped, startable=False) is not None


def test_letters_that_fit_no_order_are_refused():
    for order in (XENTOP, XL, XM):
        assert states.decode("r-----x", order) is None
        assert states.decode("", order) is None
    assert states.decode("--b---", XL) is None  # b is xl's second letter, not its third
    assert states.decode("-b----", XENTOP) is None
    assert states.decode("-----r", "no such order") is None
    odd = row(XENTOP, "??????")
    assert "cannot read" in states.why_not("pause", odd)
    assert "cannot read" in states.why_not("start", Domain(host="h", name="x", state=DomainState.UNKNOWN,
                                                            native_state="?"))


def test_xl_reason_letters():
    assert states.decode("---sc-", XL) == Flags(crashed=True)
    assert states.decode("---sr-", XL) == Flags(shutdown=True)
    assert states.decode("---s?-", XL) == Flags(shutdown=True)
    assert states.decode("------", XL) == Flags()  # runnable, waiting for a CPU
    assert states.why_not("pause", row(XL, "------")) is None

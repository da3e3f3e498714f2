"""ldm's state machine (backends/ldoms/states.py), exhaustively: every state word × every combination of
FLAGS letters (six columns and LDoms 1.x's five) × guest or control domain × host context × every action.

The expectations are written here a second time, from shared/formats/ldm.md §1 and Oracle's delayed
reconfiguration pages, as sets rather than as the module's ordered rules, so a slip in either shows."""

from __future__ import annotations

import itertools

import pytest

from hvdeck.backends.base import Action
from hvdeck.backends.ldoms import commands, states
from hvdeck.backends.ldoms.states import DomainFacts, Flag
from hvdeck.backends.model import DomainState

STATE_WORDS = ("active", "bound", "inactive", "suspended", "migrating", "")
LETTERS = ("-s", "-ntd", "-dr", "-c", "-v", "-ste")  # §1.2, column by column
LIFECYCLE = ("start", "shutdown", "reboot", "force-off")
RESIZE = ("set-vcpu", "add-vcpu", "remove-vcpu", "set-memory")
EVERY_ACTION = (*LIFECYCLE, "pause", "unpause", "wakeup", "bind", "unbind", "remove-domain", *RESIZE, "set-var")


def every_flags(columns: int = 6):
    return ("".join(letters) for letters in itertools.product(*LETTERS[:columns]))


def test_the_table_covers_every_action_the_backend_offers():
    offered = {action.value for action in Action} | {extra.id for extra in commands.EXTRA_ACTIONS}
    # saving the configuration to the SP is the host's, whatever the domain's state (commands.why_not_extra)
    offered.discard(commands.SAVE_SPCONFIG.id)
    assert offered == set(EVERY_ACTION) == set(states.ACTIONS)


# --- the oracle -------------------------------------------------------------------------------------------


def allowed(action: str, state: str, flags: set[str], control: bool, control_delayed: bool) -> bool:
    """Whether ldm accepts ``action`` (§1.1 life cycle, §1.2 flags, delayed reconfiguration), ``flags`` as
    the words of Flag."""
    if action in ("pause", "unpause", "wakeup"):
        return False  # ldm has no such subcommand
    needs = {"start": {"inactive", "bound"}, "shutdown": {"active"}, "reboot": {"active"},
             "force-off": {"active"}, "bind": {"inactive"}, "unbind": {"bound"}, "remove-domain": {"inactive"}}
    if state not in needs.get(action, {"active", "bound", "inactive"}):
        return False
    if control and action in ("shutdown", "force-off", "bind", "unbind", "remove-domain"):
        return False
    if flags & {"migration source", "migration target", "migration error"}:
        return False
    if "starting or stopping" in flags and action != "force-off":
        return False
    if "degraded" in flags and action in ("start", "bind"):
        return False
    if "memory dynamic reconfiguration" in flags and action == "set-memory":
        return False
    if control_delayed and not control:
        return False
    return True


def expected_state(state: str, flags: set[str]) -> DomainState:
    if "migration error" in flags:
        return DomainState.UNKNOWN
    if flags & {"migration source", "migration target", "starting or stopping", "transition"}:
        return DomainState.TRANSITION
    return {"active": DomainState.RUNNING, "bound": DomainState.STOPPED, "inactive": DomainState.STOPPED,
            "suspended": DomainState.TRANSITION}.get(state, DomainState.UNKNOWN)


def words(flags: str) -> set[str]:
    """The flags of a letter string, decoded here column by column (§1.2)."""
    names = ({"s": "starting or stopping"}, {"n": "normal", "t": "transition", "d": "degraded"},
             {"d": "delayed reconfiguration", "r": "memory dynamic reconfiguration"}, {"c": "control"},
             {"v": "vio-service"}, {"s": "migration source", "t": "migration target", "e": "migration error"})
    return {names[i][ch] for i, ch in enumerate(flags) if ch != "-"}


# --- exhaustive ---------------------------------------------------------------------------------------------

CONTROLS = {
    "no host context": None,
    "primary normal": DomainFacts("primary", "active", "-n-cv-"),
    "primary in delayed reconfiguration": DomainFacts("primary", "active", "-ndcv-"),
}


@pytest.mark.parametrize("columns", [6, 5])
@pytest.mark.parametrize("context", list(CONTROLS))
def test_every_state_flag_and_action(columns: int, context: str):
    control = CONTROLS[context]
    control_delayed = control is not None and control.flags[2] == "d"
    checked = 0
    for state, flags in itertools.product(STATE_WORDS, every_flags(columns)):
        flag_words = words(flags)
        for name in ("ldg1", "primary"):
            domain = DomainFacts(name, state, flags)
            is_control = name == "primary" or "control" in flag_words
            for action in EVERY_ACTION:
                reason = states.why_not(action, domain, control)
                want = allowed(action, state, flag_words, is_control, control_delayed)
                assert (reason is None) is want, (action, name, state, flags, context, reason)
                if reason is not None:
                    assert reason.strip() and "None" not in reason and "{" not in reason
                checked += 1
        assert states.normalised_state(state, flags) is expected_state(state, flag_words), (state, flags)
    assert checked == len(STATE_WORDS) * (len(LETTERS[0]) * 4 * 3 * 2 * 2 * (4 if columns == 6 else 1)) \
        * 2 * len(EVERY_ACTION)


def test_the_spelled_out_words_of_list_l_p_mean_the_same_as_the_letters():
    for flags in every_flags():
        spelled = ",".join(flag.value for flag in states.read_flags(flags).set)
        assert states.read_flags(spelled).set == states.read_flags(flags).set
        for action in EVERY_ACTION:
            for control in CONTROLS.values():
                assert (states.why_not(action, DomainFacts("g", "active", flags), control)
                        == states.why_not(action, DomainFacts("g", "active", spelled), control))
    # §1.2's attested words and its UNCERTAIN spellings
    assert states.read_flags("normal,control,vio-service").set == {Flag.NORMAL, Flag.CONTROL, Flag.VIO_SERVICE}
    assert states.read_flags("Normal, Delayed-Reconfig").set == {Flag.NORMAL, Flag.DELAYED_RECONFIG}
    assert states.read_flags("stopping,source").set == {Flag.STARTING_STOPPING, Flag.MIGRATION_SOURCE}
    assert states.read_flags("normal,hibernating") == states.Flags(frozenset({Flag.NORMAL}), ("hibernating",))


# --- the sentences ------------------------------------------------------------------------------------------


def why(action: str, state: str = "active", flags: str = "-n----", name: str = "ldg1",
        control: DomainFacts | None = None) -> str | None:
    return states.why_not(action, DomainFacts(name, state, flags), control)


def test_unbind_says_what_is_true_for_each_state():
    assert why("unbind", "inactive", "------") == "ldg1 is inactive: it is not bound, so there is nothing to unbind"
    assert why("unbind", "active") == "ldg1 is active: stop it first (ldm unbinds only a bound domain)"
    assert why("unbind", "bound", "------") is None
    assert "stop" not in why("unbind", "inactive", "------")


def test_guests_refused_while_primary_has_a_delayed_reconfiguration_pending():
    primary = CONTROLS["primary in delayed reconfiguration"]
    reason = why("set-vcpu", control=primary)
    assert reason == ("primary has a delayed reconfiguration pending: ldm refuses every change to other domains "
                      "until primary reboots")
    for action in (*LIFECYCLE[1:], *RESIZE, "set-var"):
        assert why(action, control=primary) == reason, action
    assert why("start", "bound", "------", control=primary).startswith("primary has a delayed reconfiguration")
    # the control domain itself: changes wait for its reboot, which is how the reconfiguration ends
    for action in (*RESIZE, "set-var", "reboot"):
        assert why(action, flags="-ndcv-", name="primary", control=primary) is None, action
    # a state that makes the action impossible anyway is named first
    assert why("unbind", "inactive", "------", control=primary).startswith("ldg1 is inactive")


def test_the_control_domain_is_found_by_flag_or_by_name():
    assert states.control_domain([DomainFacts("ldg1", "active", "-n----"),
                                  DomainFacts("cdom", "active", "-ndcv-")]).name == "cdom"
    assert states.control_domain([DomainFacts("primary", "active", "-nd---")]).name == "primary"
    assert states.control_domain([DomainFacts("ldg1", "active", "-n----")]) is None
    renamed = DomainFacts("cdom", "active", "-ndcv-")
    assert why("add-vcpu", control=renamed).startswith("cdom has a delayed reconfiguration pending")
    assert why("add-vcpu", name="cdom", flags="-ndcv-", control=renamed) is None


@pytest.mark.parametrize(("action", "state", "flags", "name", "reason"), [
    ("pause", "active", "-n----", "ldg1", "ldm cannot pause a domain"),
    ("wakeup", "active", "-n----", "ldg1", "ldm cannot wake up a domain"),
    ("start", "active", "-n----", "ldg1", "ldg1 is already active"),
    ("shutdown", "bound", "------", "ldg1", "ldg1 is bound, not running"),
    ("bind", "bound", "------", "ldg1", "ldg1 is already bound"),
    ("remove-domain", "bound", "------", "ldg1", "ldg1 is bound: unbind it first (ldm removes only an inactive domain)"),
    ("shutdown", "active", "-n-cv-", "primary", "primary is the control domain: stopping it stops ldm and every "
                                               "guest's virtual I/O; shut it down from its own console"),
    ("unbind", "active", "-n-cv-", "primary", "primary is the control domain: it cannot be unbound"),
    ("bind", "active", "-n-cv-", "primary", "primary is the control domain: it is always bound"),
    ("remove-domain", "active", "-ndcv-", "primary", "primary is the control domain: it cannot be removed"),
    ("start", "inactive", "-d----", "ldg1", "ldg1 is degraded (flag d): ldm cannot start it until its missing "
                                            "resources are back"),
    ("set-memory", "active", "-nd---", "ldg1", None),  # accepted; takes effect when ldg1 reboots
    ("set-memory", "active", "-nr---", "ldg1", "a memory dynamic reconfiguration of ldg1 is still in progress "
                                               "(flag r); wait until it finishes"),
    ("shutdown", "active", "s-----", "ldg1", "ldg1 is starting or stopping (flag s); wait until it has finished"),
    ("shutdown", "active", "-n---s", "ldg1", "ldg1 is being migrated away (flag s); wait for the migration, or "
                                             "cancel it with ldm cancel-operation migration ldg1"),
    ("start", "bound", "-----t", "ldg1", "ldg1 is arriving by migration (flag t); wait for the migration, or "
                                         "cancel it on the source system"),
    ("shutdown", "active", "-n---e", "ldg1", "a migration of ldg1 failed (flag e); recover it with "
                                             "ldm cancel-operation migration ldg1 on the source system first"),
    ("start", "suspended", "-n---s", "ldg1", "ldg1 is suspended: ldm's documented actions need an active, bound or "
                                             "inactive domain"),
])
def test_reasons(action, state, flags, name, reason):
    assert why(action, state, flags, name) == reason


def test_a_stuck_stop_can_still_be_forced_off():
    assert why("force-off", "active", "s-----") is None
    assert why("force-off", "active", "-n---s") is not None, "not during a migration"

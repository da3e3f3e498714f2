"""ldm's state machine as one table: what a domain's state word and FLAGS mean, and what ldm accepts.

Pure: no I/O. Sources (shared/formats/ldm.md, cited as §N, and Oracle's guides it quotes):

- §1.1 States: ``active``, ``bound`` and ``inactive`` are the steady states. ``ldm add-domain`` makes an
  inactive domain, ``ldm bind`` binds it, ``ldm start`` makes it active, ``ldm stop`` brings it back to
  bound, ``ldm unbind`` back to inactive (and only an inactive domain can be removed). A migrating source
  may show ``suspended`` (UNCERTAIN there).
- §1.2 FLAGS (VERBATIM, Oracle's "Flag Definitions"): six position-dependent columns, ``-`` when off.
  1: ``s`` starting or stopping. 2: ``n`` normal, ``t`` transition, ``d`` degraded domain that cannot be
  started due to missing resources. 3: ``d`` delayed reconfiguration, ``r`` memory dynamic
  reconfiguration. 4: ``c`` control domain. 5: ``v`` virtual I/O service domain. 6: ``s`` source / ``t``
  target of a migration, ``e`` error during a migration. LDoms 1.x prints only the first five. ``-l -p``
  spells them out: ``normal``, ``control`` and ``vio-service`` are attested; the other words are UNCERTAIN.
- §10.1-§10.2 Migration: column 6 shows it; a migration is cancelled, and a failed one recovered, with
  ``ldm cancel-operation migration DOMAIN`` on the source.
- Delayed reconfiguration (Oracle's "Delayed Reconfiguration" and "Output Messages" pages, and Fujitsu's
  guide C120-E680 §3.2.11 with ldm's own output): while the control domain has one pending, "All
  configuration changes for other domains are disabled until the primary domain reboots", and ldm
  refuses every change to another domain, a stop included ("Delayed reconfiguration of LDom ldom1 is not
  permitted"). "While a delayed reconfiguration is in progress, other reconfiguration requests for that
  domain are deferred until it is rebooted": changes to the domain itself are accepted, and ldm says "Any
  changes made to NAME will only take effect after it reboots" (outside the control domain only a root
  domain can be in delayed reconfiguration).
- The control domain is named ``primary`` (ldmd(8)); flag ``c`` marks it as well.

`ACCEPTED` says in which state word ldm accepts each action, `CONTROL_RULES` what the control domain never
does, `FLAG_RULES` which flags forbid an action; `why_not` reads them, most permanent reason first. Action
ids are `Action.value` (start, shutdown, reboot, force-off, pause, unpause, wakeup) and the
`ExtraAction.id`s of the LDoms extras.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from ..model import DomainState

CONTROL_DOMAIN = "primary"


class Flag(str, enum.Enum):
    """One FLAGS value (§1.2); the value is the word the screens show."""

    STARTING_STOPPING = "starting or stopping"
    NORMAL = "normal"
    TRANSITION = "transition"
    DEGRADED = "degraded"
    DELAYED_RECONFIG = "delayed reconfiguration"
    MEMORY_DR = "memory dynamic reconfiguration"
    CONTROL = "control"
    VIO_SERVICE = "vio-service"
    MIGRATION_SOURCE = "migration source"
    MIGRATION_TARGET = "migration target"
    MIGRATION_ERROR = "migration error"


#: §1.2: the letters of each FLAGS column, left to right (LDoms 1.x prints the first five)
FLAG_COLUMNS: tuple[dict[str, Flag], ...] = (
    {"s": Flag.STARTING_STOPPING},
    {"n": Flag.NORMAL, "t": Flag.TRANSITION, "d": Flag.DEGRADED},
    {"d": Flag.DELAYED_RECONFIG, "r": Flag.MEMORY_DR},
    {"c": Flag.CONTROL},
    {"v": Flag.VIO_SERVICE},
    {"s": Flag.MIGRATION_SOURCE, "t": Flag.MIGRATION_TARGET, "e": Flag.MIGRATION_ERROR},
)

#: §1.2: the spelled-out words of ``ldm list -l -p``. normal, control and vio-service are attested; the
#: rest are the UNCERTAIN spellings §1.2 lists, and the screens' own words.
FLAG_WORDS: dict[str, Flag] = {
    **{flag.value: flag for flag in Flag},
    "starting": Flag.STARTING_STOPPING,
    "stopping": Flag.STARTING_STOPPING,
    "delayed-reconfig": Flag.DELAYED_RECONFIG,
    "source": Flag.MIGRATION_SOURCE,
    "target": Flag.MIGRATION_TARGET,
    "error": Flag.MIGRATION_ERROR,
}


@dataclass(frozen=True, slots=True)
class Flags:
    """A FLAGS value read: the flags set, and any word of the spelled-out form this table does not know."""

    set: frozenset[Flag] = frozenset()
    unknown: tuple[str, ...] = ()

    def __contains__(self, flag: object) -> bool:
        return flag in self.set


def letter_form(text: str) -> bool:
    """Five (1.x) or six (3.x) columns of letters or ``-`` (§1.2)."""
    return len(text) in (5, 6) and all(ch == "-" or ch in column for ch, column in zip(text, FLAG_COLUMNS))


def read_flags(text: str) -> Flags:
    """The flags of a FLAGS value: letters (``-ndcv-``, 1.x ``-t-cv``) or ``-l -p`` words
    (``normal,control,vio-service``, any case)."""
    if letter_form(text):
        return Flags(frozenset(column[ch] for ch, column in zip(text, FLAG_COLUMNS) if ch != "-"))
    words = [word.strip().lower() for word in text.split(",") if word.strip()]
    return Flags(frozenset(FLAG_WORDS[w] for w in words if w in FLAG_WORDS),
                 tuple(w for w in words if w not in FLAG_WORDS))


# --- the normalised state ---------------------------------------------------------------------------------

#: §1.1: the state words; ``suspended`` (a migrating source, UNCERTAIN) is mid-migration. Any other word
#: is unknown.
STATE_WORDS: dict[str, DomainState] = {
    "active": DomainState.RUNNING,
    "bound": DomainState.STOPPED,
    "inactive": DomainState.STOPPED,
    "suspended": DomainState.TRANSITION,
}

#: flags that say more than the state word, in order: a failed migration leaves the domain in a state
#: hvdeck cannot name (§10.2, "left in an error state"); a migration, a start or stop, or column 2's
#: transition is a transition.
FLAG_STATES: tuple[tuple[Flag, DomainState], ...] = (
    (Flag.MIGRATION_ERROR, DomainState.UNKNOWN),
    (Flag.MIGRATION_SOURCE, DomainState.TRANSITION),
    (Flag.MIGRATION_TARGET, DomainState.TRANSITION),
    (Flag.STARTING_STOPPING, DomainState.TRANSITION),
    (Flag.TRANSITION, DomainState.TRANSITION),
)


def normalised_state(state: str, flags: str | Flags = "") -> DomainState:
    """The state the fleet table shows: the first of `FLAG_STATES` set, else `STATE_WORDS`, else unknown."""
    read = read_flags(flags) if isinstance(flags, str) else flags
    for flag, normalised in FLAG_STATES:
        if flag in read:
            return normalised
    return STATE_WORDS.get(state.lower(), DomainState.UNKNOWN)


# --- actions ----------------------------------------------------------------------------------------------

LIFECYCLE = ("start", "shutdown", "reboot", "force-off")
NOT_IN_LDM = ("pause", "unpause", "wakeup")  # ldm(8) has no such subcommand
NODE = ("bind", "unbind", "remove-domain")
RESIZE = ("set-vcpu", "add-vcpu", "remove-vcpu", "set-memory")
CONFIG = (*RESIZE, "set-var")
ACTIONS = (*LIFECYCLE, *NOT_IN_LDM, *NODE, *CONFIG)

_OK = None
#: §1.1: for each action, the state words ldm accepts it in (None) or the reason it refuses. ``start`` on
#: an inactive domain is planned as bind, then start. Resizes and set-var change an inactive domain's
#: constraints, and a bound or active domain's resources as well.
ACCEPTED: dict[str, dict[str, str | None]] = {
    "start": {"inactive": _OK, "bound": _OK, "active": "{name} is already active"},
    "shutdown": {"inactive": "{name} is inactive, not running", "bound": "{name} is bound, not running",
                 "active": _OK},
    "reboot": {"inactive": "{name} is inactive, not running", "bound": "{name} is bound, not running",
               "active": _OK},
    "force-off": {"inactive": "{name} is inactive, not running", "bound": "{name} is bound, not running",
                  "active": _OK},
    "bind": {"inactive": _OK, "bound": "{name} is already bound",
             "active": "{name} is active, so already bound"},
    "unbind": {"inactive": "{name} is inactive: it is not bound, so there is nothing to unbind",
               "bound": _OK,
               "active": "{name} is active: stop it first (ldm unbinds only a bound domain)"},
    "remove-domain": {"inactive": _OK,
                      "bound": "{name} is bound: unbind it first (ldm removes only an inactive domain)",
                      "active": "{name} is active: stop and unbind it first (ldm removes only an inactive domain)"},
    **{action: {"inactive": _OK, "bound": _OK, "active": _OK} for action in CONFIG},
}

#: the control domain: always active, never unbound or removed, and not stopped from ldm here
CONTROL_RULES: dict[str, str] = {
    "shutdown": "{name} is the control domain: stopping it stops ldm and every guest's virtual I/O; "
                "shut it down from its own console",
    "force-off": "{name} is the control domain: stopping it stops ldm and every guest's virtual I/O; "
                 "shut it down from its own console",
    "bind": "{name} is the control domain: it is always bound",
    "unbind": "{name} is the control domain: it cannot be unbound",
    "remove-domain": "{name} is the control domain: it cannot be removed",
}

_ALL = frozenset(ACTIONS) - frozenset(NOT_IN_LDM)
#: flags that forbid actions, checked in this order after the state word and the control domain:
#: (flag, the actions it forbids, the reason, whether it applies to the control domain too)
FLAG_RULES: tuple[tuple[Flag, frozenset[str], str, bool], ...] = (
    (Flag.MIGRATION_ERROR, _ALL,
     "a migration of {name} failed (flag e); recover it with ldm cancel-operation migration {name} on the "
     "source system first", True),
    (Flag.MIGRATION_SOURCE, _ALL,
     "{name} is being migrated away (flag s); wait for the migration, or cancel it with "
     "ldm cancel-operation migration {name}", True),
    (Flag.MIGRATION_TARGET, _ALL,
     "{name} is arriving by migration (flag t); wait for the migration, or cancel it on the source system",
     True),
    (Flag.STARTING_STOPPING, _ALL - {"force-off"},
     "{name} is starting or stopping (flag s); wait until it has finished", True),
    (Flag.DEGRADED, frozenset({"start", "bind"}),
     "{name} is degraded (flag d): ldm cannot start it until its missing resources are back", True),
    (Flag.MEMORY_DR, frozenset({"set-memory"}),
     "a memory dynamic reconfiguration of {name} is still in progress (flag r); wait until it finishes",
     True),
)

#: every change to another domain while the control domain has a delayed reconfiguration pending; ldm
#: itself prints "Delayed reconfiguration of LDom NAME is not permitted" (Fujitsu C120-E680 §3.2.11)
CONTROL_DELAYED = ("{control} has a delayed reconfiguration pending: ldm refuses every change to other domains "
                   "until {control} reboots")


@dataclass(frozen=True, slots=True)
class DomainFacts:
    """What the table needs of one domain: its name, ldm's state word and its FLAGS value as printed."""

    name: str
    state: str
    flags: str = ""

    @property
    def read(self) -> Flags:
        return read_flags(self.flags)

    @property
    def control(self) -> bool:
        return self.name == CONTROL_DOMAIN or Flag.CONTROL in self.read


def control_domain(domains: Iterable[DomainFacts]) -> DomainFacts | None:
    """The control domain of a host's list: flag c, else the domain named primary."""
    domains = list(domains)
    return (next((d for d in domains if Flag.CONTROL in d.read), None)
            or next((d for d in domains if d.name == CONTROL_DOMAIN), None))


def why_not(action: str, domain: DomainFacts, control: DomainFacts | None = None) -> str | None:
    """None when ldm accepts ``action`` for ``domain`` now, else the reason, true for ldm.

    ``control`` is the host's control domain as last polled (None: no host context). Checked in order:
    an action ldm does not have; the control domain's own limits (`CONTROL_RULES`); the state word
    (`ACCEPTED`); the domain's flags (`FLAG_RULES`); then the control domain's pending delayed
    reconfiguration, which blocks every other domain."""
    if action in NOT_IN_LDM:
        return f"ldm cannot {'wake up' if action == 'wakeup' else action} a domain"
    if action not in ACCEPTED:
        raise ValueError(f"not an LDoms action: {action}")
    name, state = domain.name, domain.state.lower()
    is_control = domain.control
    if is_control and action in CONTROL_RULES:
        return CONTROL_RULES[action].format(name=name)
    by_state = ACCEPTED[action]
    if state not in by_state:
        return f"{name} is {domain.state or 'in no state ldm reports'}: ldm's documented actions need an " \
               "active, bound or inactive domain"
    reason = by_state[state]
    if reason is not None:
        return reason.format(name=name)
    flags = domain.read
    for flag, actions, text, on_control in FLAG_RULES:
        if flag in flags and action in actions and (on_control or not is_control):
            return text.format(name=name)
    if (control is not None and not is_control and control.name != name
            and Flag.DELAYED_RECONFIG in control.read):
        return CONTROL_DELAYED.format(control=control.name, name=name)
    return None

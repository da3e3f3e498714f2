"""libvirt's domain state machine as one table: every native state (and, where it changes what can be
done, its reason) -> the normalised `DomainState`, whether the guest's vCPUs execute, and for every
lifecycle `Action` either None (libvirt accepts it) or the sentence that says why not.

Pure data and lookups; no libvirt import.

Sources
-------
* The states and reasons: ``virDomainState`` and the ``virDomain*Reason`` enums in
  include/libvirt/libvirt-domain.h; the words are the ones virsh prints for them
  (tools/virsh-domain-monitor.c: ``virshDomainState``, ``virshDomainPausedReason``...; shared formats
  libvirt §2.1 and §2.3).
* What each call accepts, from the QEMU driver (src/qemu/qemu_driver.c), the strictest and the common one:
  - ``virDomainCreate`` (virsh start) needs an inactive domain: a crashed or pmsuspended domain is still
    active and is refused with "domain is already running";
  - ``virDomainShutdown`` (and the agent path) refuses every state but RUNNING: "domain is not running";
    ``virDomainReboot`` only checks that the domain is active, but a paused, asleep or crashed guest
    cannot act on the power button, so hvdeck offers it where shutdown works;
  - ``virDomainSuspend`` (Pause) refuses pmsuspended: "domain is pmsuspended"; pausing a paused domain
    does nothing;
  - ``virDomainResume`` (Unpause) refuses pmsuspended ("domain is pmsuspended") and running ("domain is
    already running");
  - ``virDomainPMWakeup`` (virsh dompmwakeup) needs pmsuspended (libxlDomainPMWakeup: "Domain is not
    suspended"); it is the only way back from a sleep the guest's own OS chose;
  - ``virDomainDestroy`` (Force off) needs an active domain: "domain is not running".
* Paused reasons that mean a libvirt job owns the domain (migration, save, dump, snapshot, start-up,
  post-copy): resuming would fight that job, so Unpause is not offered while they last.
* The test driver (shared formats libvirt §1.3, checked by tests/integration/test_libvirt_states.py):
  Start on runstate 6 (crashed) fails "Domain '…' is already running"; Unpause on runstate 7
  (pmsuspended) fails "domain '…' not paused".

Decision for ``crashed``: Force off only (no two-step destroy+start plan): the operator reads the
crash, forces the domain off, then starts it, each a plan of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..base import Action
from ..model import Domain, DomainState

# virDomainState (libvirt-domain.h)
NOSTATE, RUNNING, BLOCKED, PAUSED, SHUTDOWN, SHUTOFF, CRASHED, PMSUSPENDED = range(8)

#: virDomainPausedReason codes whose Unpause is refused (the others are user, I/O error, watchdog...)
PAUSED_MIGRATION, PAUSED_SAVE, PAUSED_DUMP = 2, 3, 4
PAUSED_SHUTTING_DOWN, PAUSED_SNAPSHOT, PAUSED_CRASHED, PAUSED_STARTING_UP = 8, 9, 10, 11
PAUSED_POSTCOPY, PAUSED_POSTCOPY_FAILED = 12, 13


@dataclass(frozen=True, slots=True)
class Row:
    """One native state (optionally narrowed by a reason): how hvdeck shows it and what it allows."""

    constant: str  # VIR_DOMAIN_PAUSED, or VIR_DOMAIN_PAUSED_MIGRATION for a reason row
    word: str  # what virsh prints: "paused" (`virsh list`), "migrating" (`virsh domstate --reason`)
    state: DomainState
    #: the guest's vCPUs execute: CPU %, net and disk rates mean something (not paused, asleep, crashed)
    executing: bool
    #: every Action -> None when libvirt accepts it, else the reason (``{name}`` is the domain's name)
    actions: Mapping[Action, str | None]


def _row(constant: str, word: str, state: DomainState, executing: bool,
         actions: dict[Action, str | None]) -> Row:
    missing = set(Action) - set(actions)
    if missing:  # every cell is written down: a new Action must be decided for every state
        raise ValueError(f"{constant}: no decision for {sorted(a.value for a in missing)}")
    return Row(constant, word, state, executing, MappingProxyType(dict(actions)))


_A = Action
_NOT_PAUSED = "{name} is {word}, not paused"
_NOT_ASLEEP = "{name} is {word}, not asleep in its own OS (pmsuspended)"

#: virDomainState -> its row. Every state, every action.
STATES: Mapping[int, Row] = MappingProxyType({
    NOSTATE: _row("VIR_DOMAIN_NOSTATE", "no state", DomainState.UNKNOWN, False, {
        _A.START: "libvirt reports no state for {name}; refresh and look again",
        _A.SHUTDOWN: "libvirt reports no state for {name}; refresh and look again",
        _A.REBOOT: "libvirt reports no state for {name}; refresh and look again",
        _A.PAUSE: "libvirt reports no state for {name}; refresh and look again",
        _A.UNPAUSE: "libvirt reports no state for {name}; refresh and look again",
        _A.WAKEUP: "libvirt reports no state for {name}; refresh and look again",
        _A.FORCE_OFF: None,
    }),
    RUNNING: _row("VIR_DOMAIN_RUNNING", "running", DomainState.RUNNING, True, {
        _A.START: "{name} is already running",
        _A.SHUTDOWN: None,
        _A.REBOOT: None,
        _A.PAUSE: None,
        _A.UNPAUSE: _NOT_PAUSED,
        _A.WAKEUP: _NOT_ASLEEP,
        _A.FORCE_OFF: None,
    }),
    # running, its vCPUs blocked on a resource (Xen reports it; QEMU never does)
    BLOCKED: _row("VIR_DOMAIN_BLOCKED", "idle", DomainState.RUNNING, True, {
        _A.START: "{name} is already running (idle)",
        _A.SHUTDOWN: None,
        _A.REBOOT: None,
        _A.PAUSE: None,
        _A.UNPAUSE: _NOT_PAUSED,
        _A.WAKEUP: _NOT_ASLEEP,
        _A.FORCE_OFF: None,
    }),
    PAUSED: _row("VIR_DOMAIN_PAUSED", "paused", DomainState.PAUSED, False, {
        _A.START: "{name} is paused, not shut off: unpause it",
        _A.SHUTDOWN: "{name} is paused: its OS cannot answer the power button until it is unpaused",
        _A.REBOOT: "{name} is paused: its OS cannot answer the power button until it is unpaused",
        _A.PAUSE: "{name} is already paused",
        _A.UNPAUSE: None,
        _A.WAKEUP: "{name} is paused by libvirt, not asleep in its own OS: unpause it",
        _A.FORCE_OFF: None,
    }),
    SHUTDOWN: _row("VIR_DOMAIN_SHUTDOWN", "in shutdown", DomainState.TRANSITION, True, {
        _A.START: "{name} is still shutting down",
        _A.SHUTDOWN: "{name} is already shutting down",
        _A.REBOOT: "{name} is shutting down; start it once it is off",
        _A.PAUSE: "{name} is shutting down; let it finish, or force it off",
        _A.UNPAUSE: _NOT_PAUSED,
        _A.WAKEUP: _NOT_ASLEEP,
        _A.FORCE_OFF: None,
    }),
    SHUTOFF: _row("VIR_DOMAIN_SHUTOFF", "shut off", DomainState.STOPPED, False, {
        _A.START: None,
        _A.SHUTDOWN: "{name} is shut off",
        _A.REBOOT: "{name} is shut off: start it",
        _A.PAUSE: "{name} is shut off",
        _A.UNPAUSE: "{name} is shut off, not paused: start it",
        _A.WAKEUP: "{name} is shut off, not asleep: start it",
        _A.FORCE_OFF: "{name} is already shut off",
    }),
    # still active (it has an ID and holds its memory): libvirt refuses Start with "already running"
    CRASHED: _row("VIR_DOMAIN_CRASHED", "crashed", DomainState.CRASHED, False, {
        _A.START: "{name} has crashed but is still active (libvirt: \"already running\"): force it off "
                  "first, then start it",
        _A.SHUTDOWN: "{name} has crashed: its OS cannot answer the power button; force it off",
        _A.REBOOT: "{name} has crashed: its OS cannot answer the power button; force it off, then start it",
        _A.PAUSE: "{name} has crashed; force it off",
        _A.UNPAUSE: "{name} has crashed, it is not paused: force it off, then start it",
        _A.WAKEUP: "{name} has crashed, it is not asleep: force it off, then start it",
        _A.FORCE_OFF: None,
    }),
    # the guest's own OS suspended itself (ACPI S3, suspend-to-RAM); only a wakeup brings it back
    PMSUSPENDED: _row("VIR_DOMAIN_PMSUSPENDED", "pmsuspended", DomainState.PAUSED, False, {
        _A.START: "{name} is asleep in its own OS (pmsuspended), not shut off: wake it up",
        _A.SHUTDOWN: "{name} is asleep in its own OS (pmsuspended): wake it up first",
        _A.REBOOT: "{name} is asleep in its own OS (pmsuspended): wake it up first",
        _A.PAUSE: "{name} is asleep in its own OS (pmsuspended); libvirt refuses to pause it",
        _A.UNPAUSE: "{name} is asleep in its own OS (pmsuspended), not paused: libvirt refuses to "
                    "resume it; wake it up",
        _A.WAKEUP: None,
        _A.FORCE_OFF: None,
    }),
})

#: virDomain*Reason: per state, reason code -> (constant suffix, the word `virsh domstate --reason` prints)
REASONS: Mapping[int, tuple[tuple[str, str], ...]] = MappingProxyType({
    NOSTATE: (("UNKNOWN", "unknown"),),
    RUNNING: (("UNKNOWN", "unknown"), ("BOOTED", "booted"), ("MIGRATED", "migrated"), ("RESTORED", "restored"),
              ("FROM_SNAPSHOT", "from snapshot"), ("UNPAUSED", "unpaused"),
              ("MIGRATION_CANCELED", "migration canceled"), ("SAVE_CANCELED", "save canceled"),
              ("WAKEUP", "event wakeup"), ("CRASHED", "crashed"), ("POSTCOPY", "post-copy"),
              ("POSTCOPY_FAILED", "post-copy failed")),
    BLOCKED: (("UNKNOWN", "unknown"),),
    PAUSED: (("UNKNOWN", "unknown"), ("USER", "user"), ("MIGRATION", "migrating"), ("SAVE", "saving"),
             ("DUMP", "dumping"), ("IOERROR", "I/O error"), ("WATCHDOG", "watchdog"),
             ("FROM_SNAPSHOT", "from snapshot"), ("SHUTTING_DOWN", "shutting down"),
             ("SNAPSHOT", "creating snapshot"), ("CRASHED", "crashed"), ("STARTING_UP", "starting up"),
             ("POSTCOPY", "post-copy"), ("POSTCOPY_FAILED", "post-copy failed"), ("API_ERROR", "api error")),
    SHUTDOWN: (("UNKNOWN", "unknown"), ("USER", "user")),
    SHUTOFF: (("UNKNOWN", "unknown"), ("SHUTDOWN", "shutdown"), ("DESTROYED", "destroyed"), ("CRASHED", "crashed"),
              ("MIGRATED", "migrated"), ("SAVED", "saved"), ("FAILED", "failed"),
              ("FROM_SNAPSHOT", "from snapshot"), ("DAEMON", "daemon")),
    CRASHED: (("UNKNOWN", "unknown"), ("PANICKED", "panicked")),
    PMSUSPENDED: (("UNKNOWN", "unknown"),),
})

_JOB = "a libvirt job owns it"
#: (state, reason) rows that differ from their state's row; built from it, so every cell is still set
_PAUSED_UNPAUSE = {
    PAUSED_MIGRATION: f"{{name}} is paused by a migration in progress ({_JOB}); libvirt resumes or stops it "
                      "when the migration ends",
    PAUSED_SAVE: f"{{name}} is paused while libvirt saves its memory to a file ({_JOB})",
    PAUSED_DUMP: f"{{name}} is paused while libvirt dumps its memory ({_JOB})",
    PAUSED_SHUTTING_DOWN: "{name} was paused while shutting down: it is going away; force it off if it stays",
    PAUSED_SNAPSHOT: f"{{name}} is paused while libvirt takes a snapshot ({_JOB})",
    PAUSED_CRASHED: "{name} was paused when its OS crashed (guest panic): force it off, then start it",
    PAUSED_STARTING_UP: f"{{name}} is still starting up ({_JOB}); libvirt runs it when start-up finishes",
    PAUSED_POSTCOPY: f"{{name}} is paused in a post-copy migration ({_JOB})",
    PAUSED_POSTCOPY_FAILED: "{name} is paused after a failed post-copy migration: recover the migration "
                            "(virsh migrate --postcopy-resume) or force it off",
}


def _reason_rows() -> dict[tuple[int, int], Row]:
    base = STATES[PAUSED]
    rows: dict[tuple[int, int], Row] = {}
    for reason, why in _PAUSED_UNPAUSE.items():
        suffix, word = REASONS[PAUSED][reason]
        rows[(PAUSED, reason)] = _row(f"VIR_DOMAIN_PAUSED_{suffix}", word, base.state, base.executing,
                                      {**base.actions, Action.UNPAUSE: why})
    return rows


#: (virDomainState, reason) -> the row for that combination, where the reason changes what can be done
REASON_ROWS: Mapping[tuple[int, int], Row] = MappingProxyType(_reason_rows())

_BY_WORD = {row.word: code for code, row in STATES.items()}


def row(code: int | None, reason: int | None = None) -> Row | None:
    """The row for a state (narrowed by its reason where that matters); None for an unknown code."""
    if code is None or code not in STATES:
        return None
    if reason is not None and (code, reason) in REASON_ROWS:
        return REASON_ROWS[(code, reason)]
    return STATES[code]


def describe(code: int | None) -> tuple[DomainState, str]:
    """(normalised state, virsh's word) for a virDomainState; ``state N`` for a code newer than this table."""
    if code is None:
        return DomainState.UNKNOWN, "unknown"
    found = STATES.get(code)
    if found is None:
        return DomainState.UNKNOWN, f"state {code}"
    return found.state, found.word


def reason_word(code: int | None, reason: int | None) -> str | None:
    """What `virsh domstate --reason` prints in brackets, or None when the reason is unknown/not given."""
    if code is None or reason is None or code not in REASONS:
        return None
    names = REASONS[code]
    return names[reason][1] if 0 <= reason < len(names) else f"reason {reason}"


def executing(code: int | None) -> bool:
    """Do the guest's vCPUs run in this state (so that CPU %, net and disk rates mean something)?"""
    found = STATES.get(code) if code is not None else None
    return found.executing if found is not None else False


def code_of(domain: Domain) -> tuple[int | None, int | None]:
    """(virDomainState, reason) of a polled domain, from its native word and its ``reason`` extra."""
    code = _BY_WORD.get(domain.native_state)
    if code is None:
        return None, None
    word = dict(domain.extra).get("reason")
    reason = None
    if word is not None:
        reason = next((i for i, (_, w) in enumerate(REASONS[code]) if w == word), None)
    return code, reason


def why_not(action: Action, domain: Domain) -> str | None:
    """None when libvirt accepts ``action`` for ``domain`` in its state, else the sentence why not."""
    code, reason = code_of(domain)
    found = row(code, reason)
    if found is None:
        if action is Action.FORCE_OFF and domain.id is not None:
            return None
        return f"libvirt reports {domain.native_state!r} for {domain.name}, a state hvdeck does not know"
    if code == CRASHED and domain.id is None:
        found = STATES[SHUTOFF]  # a driver that reports a crashed domain as inactive: it can be started
    why = found.actions[action]
    return None if why is None else why.format(name=domain.name, word=found.word)

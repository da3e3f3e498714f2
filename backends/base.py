"""The Backend contract every hypervisor family implements.

A backend is glue: it borrows its host's `Session`, runs the commands its pure `commands.py` builds, and
feeds the text to its pure `parse.py`. It is used only through `hvdeck.backends.fleet.Fleet`, which
passes immutable data up to the console and the command line.

What a backend can do is what its methods answer, never a flag: a capability a backend lacks raises
`Unsupported` with a sentence the UI shows (or, for the wizards, its form is None and the wizard is not
offered). Every method below says what the UI does with its answer and its failures.

Failures: `HostUnreachable` / `ConnectionLost` / `CommandTimeout` (the host is marked stale or down),
`AuthFailed`, `HostKeyProblem`, `SshConfigError` (error, with the message), `ParseError` (output that
does not match the documented format: error, naming the line), `CommandFailed` (a command exited
non-zero where it had to succeed), `ValidationError` (input the hypervisor would refuse, shown inline),
`Unsupported` (this backend cannot: shown as the reason).
"""

from __future__ import annotations

import abc
import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from .errors import Unsupported
from .inventory import HostSpec
from .model import (
    Bindings,
    ConsoleRef,
    Domain,
    DomainState,
    FreeResources,
    HostInfo,
    HostSnapshot,
    Network,
    Section,
    Snapshot,
    StoragePool,
    Volume,
)
from .options import Choice, Form
from .plan import Operation, Plan
from .transport.base import Channel, OutputCallback, Result, Session


class Action(str, enum.Enum):
    START = "start"
    SHUTDOWN = "shutdown"
    REBOOT = "reboot"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    WAKEUP = "wakeup"
    FORCE_OFF = "force-off"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Action.START: "Start",
    Action.SHUTDOWN: "Shut down",
    Action.REBOOT: "Reboot",
    Action.PAUSE: "Pause",
    Action.UNPAUSE: "Unpause",
    Action.WAKEUP: "Wake up",
    Action.FORCE_OFF: "Force off",
}

#: the states in which each lifecycle action makes sense, before a backend narrows it further
LIFECYCLE_STATES: dict[Action, frozenset[DomainState]] = {
    Action.START: frozenset({DomainState.STOPPED, DomainState.CRASHED}),
    Action.SHUTDOWN: frozenset({DomainState.RUNNING}),
    Action.REBOOT: frozenset({DomainState.RUNNING}),
    Action.PAUSE: frozenset({DomainState.RUNNING}),
    Action.UNPAUSE: frozenset({DomainState.PAUSED}),
    Action.WAKEUP: frozenset({DomainState.PAUSED}),
    Action.FORCE_OFF: frozenset({DomainState.RUNNING, DomainState.PAUSED, DomainState.TRANSITION,
                                 DomainState.CRASHED}),
}


@dataclass(frozen=True, slots=True)
class Param:
    """One input a backend-specific action needs: the UI asks for it, `plan_extra` validates it."""

    name: str
    label: str
    placeholder: str = ""


@dataclass(frozen=True, slots=True)
class ExtraAction:
    """An action only some backends have (LDoms bind, set-vcpu...), offered by the palette and screens."""

    id: str
    label: str
    params: tuple[Param, ...] = ()


#: output shorter than this is parsed on the event loop; longer output in a worker thread, so that one host's
#: big reply never holds up the others' polls or the console's keys
PARSE_INLINE_BYTES = 256 * 1024


async def parse_off_loop(parser: Callable[..., Any], text: str, *args: Any) -> Any:
    """``parser(text, *args)``, in a worker thread when ``text`` is large (parsers are pure)."""
    if len(text) < PARSE_INLINE_BYTES:
        return parser(text, *args)
    return await asyncio.to_thread(parser, text, *args)


class Backend(abc.ABC):
    """One control host of one hypervisor family (see the module docstring).

    Class attributes: ``kind`` (the inventory's `kind`), ``ACTIONS`` (the lifecycle actions it can plan
    at all; `why_not` narrows them per domain), ``RATE_SAMPLES`` (polls before CPU % and rates are
    known: 2 where they come from counter deltas).
    """

    kind: ClassVar[str]
    ACTIONS: ClassVar[frozenset[Action]] = frozenset()
    RATE_SAMPLES: ClassVar[int] = 1
    #: True: a migration moves a running guest live; False: a cold move (halt, move, boot there: zones),
    #: offered for a stopped guest too
    LIVE_MIGRATION: ClassVar[bool] = True

    def __init__(self, spec: HostSpec, session: Session) -> None:
        self.spec = spec
        self.session = session
        #: set by the fleet; a backend with an event source calls it when the host changed (poll now)
        self.on_change: Callable[[], None] | None = None

    # -- watching ------------------------------------------------------------------------------------

    @classmethod
    async def detect(cls, session: Session, spec: HostSpec) -> bool:
        """Is this host of this kind? (``kind: auto`` tries each backend in the registry's order.) Must
        run only read-only commands; a failure is False, never an exception."""
        return False

    @abc.abstractmethod
    async def open(self) -> HostInfo:
        """Connect and probe (version, totals); what the host lacks goes into ``HostInfo.notes`` rather than
        failing. The fleet calls it before the first poll and after a lost link."""

    @abc.abstractmethod
    async def poll(self) -> tuple[Domain, ...]:
        """Every domain of the host, from one list command (never a command per domain): one row each of
        the fleet table. Parsing large output happens off the event loop."""

    @abc.abstractmethod
    async def bindings(self, domain: Domain) -> Bindings:
        """One domain's bindings for the domain screen (and `hvdeck show`). Raises `ParseError`, or
        `CommandFailed` when the domain is gone."""

    async def host_detail(self) -> tuple[Section, ...]:
        """Tables for the host screen (services, free resources...). Empty where there is nothing more."""
        return ()

    async def close(self) -> None:
        """Release what the backend holds of its own (a libvirt connection, a forward). The session is
        the fleet's: a backend never closes it."""
        return None

    # -- lifecycle actions -----------------------------------------------------------------------------

    def why_not(self, action: Action, domain: Domain, host: HostSnapshot | None = None) -> str | None:
        """None if ``action`` can be planned for ``domain`` now, else the sentence to show. Pure: it reads
        the domain and ``host`` (the latest snapshot of its host: on some hypervisors the other domains
        matter, e.g. an LDoms control domain in delayed reconfiguration). Callers go through
        `hvdeck.backends.policy.why_not`, which checks the host first (read-only, stale, down)."""
        if action not in self.ACTIONS:
            return f"{self.kind} hosts do not support {action.label.lower()}"
        if domain.state not in LIFECYCLE_STATES[action]:
            return f"{domain.name} is {domain.native_state}"
        return None

    def plan_action(self, action: Action, domain: Domain) -> Plan:
        """The Plan of a lifecycle action; raises `Unsupported` with `why_not`'s sentence."""
        reason = self.why_not(action, domain)
        if reason is not None:
            raise Unsupported(f"Cannot {action.label.lower()} {domain.name}: {reason}")
        return self._plan_action(action, domain)

    @abc.abstractmethod
    def _plan_action(self, action: Action, domain: Domain) -> Plan: ...

    # -- backend-specific actions -------------------------------------------------------------------

    def extra_actions(self) -> tuple[ExtraAction, ...]:
        """Actions only this kind has (LDoms bind, set-vcpu; Xen sched-credit): the action menu lists them."""
        return ()

    def why_not_extra(self, action: ExtraAction, domain: Domain, host: HostSnapshot | None = None) -> str | None:
        """As `why_not`, for one of `extra_actions`."""
        return f"{self.kind} hosts have no {action.label.lower()}"

    async def plan_extra(self, action: ExtraAction, domain: Domain, values: dict[str, str],
                         host: HostSnapshot | None = None) -> Plan:
        """The plan of a backend-specific action, its inputs validated (`ValidationError`, shown inline in
        the inputs dialog) and checked against the host (the backend may read free resources first)."""
        raise Unsupported(f"{self.kind} hosts have no {action.label.lower()}")

    # -- running plan steps ---------------------------------------------------------------------------

    async def execute(self, operation: Operation, *, input: str | None = None, timeout: float | None = None,
                      on_output: OutputCallback | None = None) -> Result:
        """Run one plan step's operation and return its `Result` (a failing command is a Result with a
        non-zero exit status, not an exception). Commands go to the session and are never retried (they
        change the host); ``input`` is their stdin, ``timeout`` seconds (None: no limit), ``on_output``
        sees output as it arrives. Backends with API calls (libvirt) override this for ``operation.call``.
        Raises `ConnectionLost`/`CommandTimeout` (the executor reports the outcome as unknown) and
        `Unsupported` for an operation this backend does not run."""
        if operation.argv is not None:
            return await self.session.run(operation.argv, input=input, check=False, idempotent=False,
                                          timeout=timeout, on_output=on_output)
        raise Unsupported(f"{self.kind} backend has no API call {operation.call}")

    # -- consoles ----------------------------------------------------------------------------------------

    def console(self, domain: Domain) -> ConsoleRef:
        """How ``domain``'s console is reached (pure). Raises `Unsupported` with the reason when it cannot
        be attached now (not running, no console device): the console pane shows that sentence."""
        raise Unsupported(f"{self.kind} hosts have no console hvdeck can attach to")

    async def open_console(self, domain: Domain, *, cols: int = 80, rows: int = 24, force: bool = False) -> Channel:
        """A byte channel to ``domain``'s console, sized ``cols`` x ``rows`` (resized later through the
        channel). ``force`` takes it over from another session where the hypervisor can (libvirt).
        Raises `Unsupported` (not now, and why), `ConsoleBusy` (in use by another session), and the
        transport's errors."""
        raise Unsupported(f"{self.kind} hosts have no console hvdeck can attach to")

    # -- what the host offers (the wizards' choices) -------------------------------------------------------

    async def storage(self) -> tuple[StoragePool, ...]:
        """Pools where new disks can be made, with free space."""
        raise Unsupported(f"{self.kind} hosts: hvdeck does not read storage")

    async def volumes(self, pool: str | None = None) -> tuple[Volume, ...]:
        """Disk images (of one pool, or all), with what uses each."""
        raise Unsupported(f"{self.kind} hosts: hvdeck does not read volumes")

    async def snapshots(self, of: str) -> tuple[Snapshot, ...]:
        """Snapshots of a volume (``pool/vol``) or, where the hypervisor snapshots whole domains, a domain."""
        raise Unsupported(f"{self.kind} hosts: hvdeck does not read snapshots")

    async def plan_snapshot(self, of: str, snapshot: str, operation: str) -> Plan:
        """The Plan of ``operation`` on the snapshot ``snapshot`` of ``of`` (as `snapshots` names it: a volume
        ``pool/vol``, or a domain where the hypervisor snapshots whole domains): ``create`` takes it,
        ``rollback`` goes back to it (what was written since is lost: the plan asks for typed
        confirmation), ``destroy`` deletes it. What the host would refuse (a snapshot with clones cannot be
        destroyed) raises `ValidationError` with the reason."""
        raise Unsupported(f"{self.kind} hosts: hvdeck does not manage snapshots")

    async def networks(self) -> tuple[Network, ...]:
        """What a new guest's NIC can attach to."""
        raise Unsupported(f"{self.kind} hosts: hvdeck does not read networks")

    async def resources(self) -> FreeResources:
        """CPUs and memory not given to any domain."""
        raise Unsupported(f"{self.kind} hosts: hvdeck does not read free resources")

    # -- wizards: create, clone, migrate -----------------------------------------------------------------

    def create_form(self) -> Form | None:
        """The create wizard's inputs (static, so ``hvdeck create --help`` needs no host); None where this
        kind has no create wizard."""
        return None

    async def create_choices(self) -> dict[str, tuple[Choice, ...]]:
        """The choices the host offers for the create form's choice inputs (pools, switches, networks)."""
        return {}

    async def plan_create(self, values: dict[str, Any]) -> Plan:
        """The create Plan from the parsed form values: checks against the host (name free, enough memory
        and space) raise `ValidationError` naming the input at fault (``FormErrors``)."""
        raise Unsupported(f"hvdeck cannot create guests on {self.kind} hosts")

    def clone_form(self, domain: Domain) -> Form | None:
        """The clone-from-snapshot wizard's inputs for ``domain``; None where it cannot be cloned."""
        return None

    async def clone_choices(self, domain: Domain) -> dict[str, tuple[Choice, ...]]:
        return {}

    async def plan_clone(self, domain: Domain, values: dict[str, Any]) -> Plan:
        raise Unsupported(f"hvdeck cannot clone guests on {self.kind} hosts")

    def migrate_form(self, domain: Domain) -> Form | None:
        """The migration wizard's options for ``domain`` (bandwidth, copy storage...); None where it
        cannot be migrated live."""
        return None

    def adopt(self, facts: tuple[tuple[str, str], ...]) -> None:
        """Take what another copy's probe learned (`HostInfo.facts`): the console's session-less copy of a
        host's backend calls this with each snapshot, so that its plans, forms and reasons are the probed
        backend's (an xm dom0's start is `xm create`, never `xl create`). Default: nothing to take."""
        return None

    def migration_refusal(self, source: HostInfo | None, target: HostInfo | None) -> str | None:
        """Why a host of this kind (``target``, as its probe described it) cannot take a live migration from
        ``source`` whatever the domain, or None (or not known yet). Pure: the migration wizard greys the
        target out with this reason before any check runs."""
        return None

    async def plan_migrate(self, domain: Domain, target: "Backend", values: dict[str, Any]) -> Plan:
        """A Plan (with pre-flight checks, progress and cancel) that moves ``domain`` to ``target``, a
        backend of the same kind on another host."""
        raise Unsupported(f"hvdeck cannot migrate guests between {self.kind} hosts")

"""The Backend contract every hypervisor family implements.

A backend is glue: it owns a `Session`, runs the commands its pure `commands.py` builds, and feeds the
text to its pure `parse.py`. The UI reads capability flags (class attributes) to show or grey out
actions; it never probes with hasattr.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from .errors import Unsupported
from .inventory import HostSpec
from .model import Bindings, Domain, DomainState, HostInfo, HostSnapshot, Section
from .plan import Operation, Plan
from .transport.base import OutputCallback, Result, Session


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


class Backend(abc.ABC):
    #: the inventory `kind`
    kind: ClassVar[str]
    #: the lifecycle actions this backend can plan
    ACTIONS: ClassVar[frozenset[Action]] = frozenset()
    CAN_CONSOLE: ClassVar[bool] = False
    CAN_MIGRATE: ClassVar[bool] = False
    CAN_CLONE: ClassVar[bool] = False
    #: polls needed before CPU % and rates are known (2 where they come from counter deltas)
    RATE_SAMPLES: ClassVar[int] = 1

    def __init__(self, spec: HostSpec, session: Session) -> None:
        self.spec = spec
        self.session = session
        #: set by the fleet; a backend with an event source calls it when the host changed
        self.on_change: Callable[[], None] | None = None

    @classmethod
    async def detect(cls, session: Session, spec: HostSpec) -> bool:
        """Is this host of this kind? (For ``kind: auto``.)"""
        return False

    @abc.abstractmethod
    async def open(self) -> HostInfo:
        """Connect and probe. Raises HostUnreachable/AuthFailed/HostKey*/ParseError."""

    @abc.abstractmethod
    async def poll(self) -> tuple[Domain, ...]:
        """One list of the host's domains: one list command, never a command per domain."""

    @abc.abstractmethod
    async def bindings(self, domain: Domain) -> Bindings: ...

    async def close(self) -> None:
        return None

    # -- actions -------------------------------------------------------------------------------------

    def why_not(self, action: Action, domain: Domain, host: HostSnapshot | None = None) -> str | None:
        """None if ``action`` can be planned for ``domain`` now, else the reason to show the user.

        ``host`` is the latest snapshot of the domain's host (its other domains matter on some
        hypervisors: an LDoms control domain in delayed reconfiguration blocks its guests' changes).
        Callers use `hvdeck.backends.policy.why_not`, which checks the host first."""
        if action not in self.ACTIONS:
            return f"{self.kind} hosts do not support {action.label.lower()}"
        if domain.state not in LIFECYCLE_STATES[action]:
            return f"{domain.name} is {domain.native_state}"
        return None

    def plan_action(self, action: Action, domain: Domain) -> Plan:
        reason = self.why_not(action, domain)
        if reason is not None:
            raise Unsupported(f"Cannot {action.label.lower()} {domain.name}: {reason}")
        return self._plan_action(action, domain)

    @abc.abstractmethod
    def _plan_action(self, action: Action, domain: Domain) -> Plan: ...

    # -- backend-specific actions -------------------------------------------------------------------

    def extra_actions(self) -> tuple[ExtraAction, ...]:
        return ()

    def why_not_extra(self, action: ExtraAction, domain: Domain, host: HostSnapshot | None = None) -> str | None:
        return f"{self.kind} hosts have no {action.label.lower()}"

    async def plan_extra(self, action: ExtraAction, domain: Domain, values: dict[str, str],
                         host: HostSnapshot | None = None) -> Plan:
        """The plan of a backend-specific action, its inputs validated (ValidationError) and checked against
        the host (``host``: its latest snapshot; the backend may read more, such as free resources)."""
        raise Unsupported(f"{self.kind} hosts have no {action.label.lower()}")

    async def host_detail(self) -> tuple[Section, ...]:
        """Tables for the host screen (services, free resources...). Empty where there is nothing more."""
        return ()

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

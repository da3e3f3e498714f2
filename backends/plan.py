"""Plans: every change to a host is a list of exact operations the user sees before anything runs.

A `Step` is one `Operation` — a command line (argv) run on the control host, or a named hypervisor API
call (libvirt) — with a description and, where one exists, the operation that undoes it. The
`Executor` is the one gate every Plan passes: it refuses plans for read-only hosts, runs steps in order,
stops at the first failure with that step's stderr, offers the undo steps of what already ran (newest
first), and appends every step to the audit log.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .audit import AuditLog
from .errors import HvdeckError, ReadOnlyRefused
from .transport.base import Result


@dataclass(frozen=True, slots=True)
class Operation:
    """Exactly what runs: ``argv`` on the host, or ``call(**args)`` on the hypervisor's API."""

    argv: tuple[str, ...] | None = None
    call: str | None = None
    args: tuple[tuple[str, str], ...] = ()
    #: for API calls: the command line that does the same, for operators who think in virsh
    equivalent: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if (self.argv is None) == (self.call is None):
            raise ValueError("an Operation is either argv or an API call")
        if self.argv is not None and (isinstance(self.argv, str) or not self.argv):
            raise TypeError("argv must be a non-empty tuple of strings")

    @classmethod
    def command(cls, *argv: str) -> "Operation":
        return cls(argv=tuple(argv))

    @classmethod
    def api(cls, call: str, equivalent: Sequence[str] | None = None, **args: str) -> "Operation":
        return cls(call=call, args=tuple(args.items()),
                   equivalent=tuple(equivalent) if equivalent is not None else None)

    def display(self) -> str:
        if self.argv is not None:
            return shlex.join(self.argv)
        inner = ", ".join(f"{k}={v!r}" for k, v in self.args)
        return f"{self.call}({inner})"

    def arg(self, name: str) -> str:
        for key, value in self.args:
            if key == name:
                return value
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class Step:
    description: str
    operation: Operation
    undo: Operation | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    title: str
    host: str
    action: str
    target: str
    steps: tuple[Step, ...]
    #: text the user must type to confirm (the domain name, for destructive actions)
    confirm_phrase: str | None = None
    #: a sentence shown above the steps: what this will do to the guest
    warning: str = ""


class PlanTarget(Protocol):
    """What the executor needs of a host: its read-only flag and a way to run one operation."""

    read_only: bool

    async def execute(self, operation: Operation) -> Result: ...


@dataclass(frozen=True, slots=True)
class StepOutcome:
    step: Step
    status: str  # ok | failed | skipped
    result: Result | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PlanResult:
    plan: Plan
    outcomes: tuple[StepOutcome, ...]
    refused: str | None = None
    undo: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.refused is None and all(o.status == "ok" for o in self.outcomes)

    @property
    def failed(self) -> StepOutcome | None:
        return next((o for o in self.outcomes if o.status == "failed"), None)

    def summary(self) -> str:
        if self.refused:
            return f"{self.plan.title}: refused: {self.refused}"
        failed = self.failed
        if failed is None:
            return f"{self.plan.title}: done"
        return f"{self.plan.title}: failed at “{failed.step.description}”: {failed.error}"


StepCallback = Callable[[int, StepOutcome | None], None]


class Executor:
    def __init__(self, resolve: Callable[[str], PlanTarget], audit: AuditLog | None) -> None:
        self._resolve = resolve
        self._audit = audit

    async def run(self, plan: Plan, *, on_step: StepCallback | None = None) -> PlanResult:
        """Run a plan. ``on_step(i, None)`` fires as step i starts and ``on_step(i, outcome)`` as it ends."""
        target = self._resolve(plan.host)
        if target.read_only:
            reason = f"{plan.host} is read-only in the inventory; nothing was run"
            self._record(plan, None, "refused: read-only", None)
            return PlanResult(plan, tuple(StepOutcome(s, "skipped") for s in plan.steps), refused=reason)

        outcomes: list[StepOutcome] = []
        for index, step in enumerate(plan.steps):
            if on_step is not None:
                on_step(index, None)
            try:
                result = await target.execute(step.operation)
            except ReadOnlyRefused as exc:
                outcome = StepOutcome(step, "failed", None, exc.message)
            except HvdeckError as exc:
                outcome = StepOutcome(step, "failed", None, exc.message)
            else:
                if result.ok:
                    outcome = StepOutcome(step, "ok", result)
                else:
                    detail = result.stderr.strip() or result.stdout.strip() or f"exit status {result.exit_status}"
                    outcome = StepOutcome(step, "failed", result, detail)
            outcomes.append(outcome)
            self._record(plan, step, "ok" if outcome.status == "ok" else f"failed: {outcome.error}",
                         outcome.result.exit_status if outcome.result else None)
            if on_step is not None:
                on_step(index, outcome)
            if outcome.status != "ok":
                break

        done = [o.step for o in outcomes if o.status == "ok"]
        skipped = [StepOutcome(s, "skipped") for s in plan.steps[len(outcomes):]]
        failed = any(o.status == "failed" for o in outcomes)
        undo = tuple(Step(f"Undo: {s.description}", s.undo) for s in reversed(done) if s.undo is not None) \
            if failed else ()
        return PlanResult(plan, tuple(outcomes) + tuple(skipped), undo=undo)

    def _record(self, plan: Plan, step: Step | None, result: str, exit_status: int | None) -> None:
        if self._audit is None:
            return
        operation = step.operation.display() if step else " ; ".join(s.operation.display() for s in plan.steps)
        self._audit.append(host=plan.host, action=plan.action, target=plan.target, operation=operation,
                           result=result, exit_status=exit_status, plan=plan.title)


def undo_plan(result: PlanResult) -> Plan | None:
    """The offered undo steps as a Plan of their own, to be previewed and confirmed like any other."""
    if not result.undo:
        return None
    plan = result.plan
    return Plan(title=f"Undo {plan.title}", host=plan.host, action=f"undo-{plan.action}", target=plan.target,
                steps=result.undo)

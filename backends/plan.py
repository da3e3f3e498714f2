"""Plans: every change to a host is a list of exact operations the user sees before anything runs.

A `Plan` has pre-flight `Check`s (read-only operations that must pass before Run is offered) and `Step`s.
A step is one `Operation` on a named host — a command line (argv, optionally with stdin), a named
hypervisor API call (libvirt), or a `Transfer` that pipes one host's process into another's through
hvdeck's own two connections — with a description, the operation that undoes it where one exists, its
own timeout, and optionally a progress source and a cancel operation (a migration).

The `Executor` is the one gate every Plan passes: it refuses plans that touch a read-only host, writes a
"started" line to the audit log before each step and the outcome after it (off the event loop; if the
log cannot be written nothing runs — fail closed), runs the steps in order, reports output, progress
and outcomes as `PlanEvent`s, stops at the first failure with that step's stderr, and offers the undo
steps of what already ran (newest first) — never after an *unknown* outcome, where the command was sent
but whether it finished is not known.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .audit import AuditLog
from .errors import CommandFailed, ConnectionLost, HvdeckError, ReadOnlyRefused, describe
from .transport.base import Channel, CommandTimeout, OutputCallback, Result

#: a step's default time limit (s); steps known to take longer say so, a migration has none
DEFAULT_STEP_TIMEOUT = 300.0
#: operation arguments longer than this are shown below the step instead of inline
_INLINE_LIMIT = 72


@dataclass(frozen=True, slots=True)
class Transfer:
    """Pipe ``source_argv``'s stdout on ``source_host`` into ``dest_argv``'s stdin on ``dest_host``,
    through hvdeck's own connections to both (never a shell pipeline on one host that reaches the other)."""

    source_host: str
    source_argv: tuple[str, ...]
    dest_host: str
    dest_argv: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Operation:
    """Exactly what runs: ``argv`` on the host, ``call(**args)`` on the hypervisor's API, or a `Transfer`."""

    argv: tuple[str, ...] | None = None
    call: str | None = None
    args: tuple[tuple[str, str], ...] = ()
    #: for API calls: the command line that does the same, for operators who think in virsh
    equivalent: tuple[str, ...] | None = None
    transfer: Transfer | None = None

    def __post_init__(self) -> None:
        kinds = (self.argv is not None) + (self.call is not None) + (self.transfer is not None)
        if kinds != 1:
            raise ValueError("an Operation is exactly one of argv, an API call, or a transfer")
        if self.argv is not None and (isinstance(self.argv, str) or not self.argv):
            raise TypeError("argv must be a non-empty tuple of strings")

    @classmethod
    def command(cls, *argv: str) -> "Operation":
        return cls(argv=tuple(argv))

    @classmethod
    def api(cls, call: str, equivalent: Sequence[str] | None = None, **args: str) -> "Operation":
        return cls(call=call, args=tuple(args.items()),
                   equivalent=tuple(equivalent) if equivalent is not None else None)

    @classmethod
    def pipe(cls, source_host: str, source_argv: Sequence[str], dest_host: str,
             dest_argv: Sequence[str]) -> "Operation":
        return cls(transfer=Transfer(source_host, tuple(source_argv), dest_host, tuple(dest_argv)))

    def display(self) -> str:
        """One line for the plan preview; long API arguments (a domain XML) are named, not inlined (see
        `attachments`)."""
        if self.argv is not None:
            return shlex.join(self.argv)
        if self.transfer is not None:
            t = self.transfer
            return (f"{shlex.join(t.source_argv)}  (on {t.source_host})  ⇒  {shlex.join(t.dest_argv)}  "
                    f"(on {t.dest_host})")
        inner = ", ".join(f"{k}={v!r}" if len(v) <= _INLINE_LIMIT and "\n" not in v else
                          f"{k}=<{v.count(chr(10)) + 1} lines, below>" for k, v in self.args)
        return f"{self.call}({inner})"

    def attachments(self) -> tuple[tuple[str, str], ...]:
        """(name, text) of the arguments too long to show inline, shown in full below the step."""
        return tuple((k, v) for k, v in self.args if len(v) > _INLINE_LIMIT or "\n" in v)

    def audit_text(self) -> str:
        """The whole operation, every argument in full, for the audit log."""
        if self.call is not None:
            return f"{self.call}({', '.join(f'{k}={v!r}' for k, v in self.args)})"
        return self.display()

    def arg(self, name: str) -> str:
        for key, value in self.args:
            if key == name:
                return value
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class ProgressInfo:
    """How far a long step is. Every field is optional: a parser gives what its source tells."""

    fraction: float | None = None  # 0..1
    processed_bytes: int | None = None
    remaining_bytes: int | None = None
    rate_bps: float | None = None
    downtime_ms: int | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a running step's progress comes from.

    ``operation`` (read-only, e.g. ``ldm list -o status DOMAIN`` or libvirt's job stats) is run every
    ``interval`` seconds on ``host`` (default: the step's) and its stdout given to ``parser``; with no
    operation the parser reads the step's own output as it arrives (``xl migrate``'s stderr). ``parser`` is
    pure and returns None for text that says nothing new.
    """

    parser: Callable[[str], ProgressInfo | None]
    operation: Operation | None = None
    interval: float = 1.0
    host: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    description: str
    operation: Operation
    undo: Operation | None = None
    #: the host it runs on ("" = the plan's host)
    host: str = ""
    #: written to the command's stdin (a zonecfg script, an xl config); shown in the preview
    input: str | None = None
    #: the input is a secret (a password): never shown, never audited
    secret_input: bool = False
    #: seconds; None = no limit (a migration)
    timeout: float | None = DEFAULT_STEP_TIMEOUT
    progress: Progress | None = None
    #: run on Cancel while this step runs (``ldm cancel-operation migration``, virDomainAbortJob)
    cancel: Operation | None = None
    #: runs even after an earlier step failed or was cancelled (cleanup: remove a password file)
    always: bool = False

    def on(self, plan_host: str) -> str:
        return self.host or plan_host


@dataclass(frozen=True, slots=True)
class Check:
    """A pre-flight check. Either decided when the plan was built (``passed`` with ``reason``), or a
    read-only ``operation`` run before Run is enabled: it passes when it exits 0, and ``parser`` (pure) may
    turn its result into a failure reason (None = pass)."""

    description: str
    operation: Operation | None = None
    host: str = ""
    passed: bool | None = None
    reason: str = ""
    parser: Callable[[Result], str | None] | None = None
    #: written to the operation's stdin (a dry run that needs the target's password); never shown
    input: str | None = None
    secret_input: bool = False


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: Check
    ok: bool
    reason: str = ""


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
    checks: tuple[Check, ...] = ()

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every host a step or check touches, the plan's own first."""
        seen = [self.host]
        for step in self.steps:
            names = [step.on(self.host)]
            if step.operation.transfer is not None:
                names = [step.operation.transfer.source_host, step.operation.transfer.dest_host]
            for name in names:
                if name not in seen:
                    seen.append(name)
        for check in self.checks:
            if (check.host or self.host) not in seen:
                seen.append(check.host or self.host)
        return tuple(seen)


class PlanTarget(Protocol):
    """What the executor needs of a host: its read-only flag, a way to run one operation, and a byte
    channel to a process (for transfers)."""

    read_only: bool

    async def execute(self, operation: Operation, *, input: str | None = None, timeout: float | None = None,
                      on_output: OutputCallback | None = None) -> Result: ...

    async def open_process(self, argv: Sequence[str]) -> Channel: ...


#: ok: done; failed: ran and failed (or could not start); cancelled: stopped on the user's request;
#: unknown: sent, but the link dropped or the time ran out before the outcome was known; skipped: not run
OUTCOMES = ("ok", "failed", "cancelled", "unknown", "skipped")


@dataclass(frozen=True, slots=True)
class StepOutcome:
    step: Step
    status: str
    result: Result | None = None
    error: str | None = None
    seconds: float | None = None


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
        return next((o for o in self.outcomes if o.status in ("failed", "unknown", "cancelled")), None)

    def summary(self) -> str:
        if self.refused:
            return f"{self.plan.title}: refused: {self.refused}"
        bad = self.failed
        if bad is None:
            return f"{self.plan.title}: done"
        if bad.status == "unknown":
            return (f"{self.plan.title}: outcome UNKNOWN at “{bad.step.description}”: {bad.error}. Check the host "
                    "before doing anything else; no undo is offered")
        if bad.status == "cancelled":
            return f"{self.plan.title}: cancelled at “{bad.step.description}”" + (f": {bad.error}" if bad.error else "")
        return f"{self.plan.title}: failed at “{bad.step.description}”: {bad.error}"


# --- events, for the UI and the CLI ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepStarted:
    index: int


@dataclass(frozen=True, slots=True)
class StepOutput:
    index: int
    stream: str  # stdout | stderr
    text: str


@dataclass(frozen=True, slots=True)
class StepProgress:
    index: int
    info: ProgressInfo


@dataclass(frozen=True, slots=True)
class StepFinished:
    index: int
    outcome: StepOutcome


PlanEvent = StepStarted | StepOutput | StepProgress | StepFinished
StepCallback = Callable[[int, StepOutcome | None], object]


class Executor:
    """Runs Plans (see the module docstring). ``resolve(host)`` gives the `PlanTarget` of a host name."""

    def __init__(self, resolve: Callable[[str], PlanTarget], audit: AuditLog | None) -> None:
        self._resolve = resolve
        self._audit = audit

    # -- pre-flight ------------------------------------------------------------------------------------

    async def preflight(self, plan: Plan) -> tuple[CheckResult, ...]:
        """Run every check concurrently; a check that cannot run fails with the reason."""

        async def one(check: Check) -> CheckResult:
            if check.operation is None:
                return CheckResult(check, bool(check.passed), check.reason)
            try:
                target = self._resolve(check.host or plan.host)
                result = await target.execute(check.operation, input=check.input, timeout=60.0)
            except HvdeckError as exc:
                return CheckResult(check, False, exc.message)
            reason = check.parser(result) if check.parser is not None else None
            if reason is None and not result.ok:
                reason = (result.stderr.strip() or result.stdout.strip() or f"exit status {result.exit_status}")
            return CheckResult(check, reason is None, reason or check.reason)

        return tuple(await asyncio.gather(*(one(c) for c in plan.checks)))

    # -- running ---------------------------------------------------------------------------------------

    async def run(self, plan: Plan, *, on_step: StepCallback | None = None,
                  on_event: Callable[[PlanEvent], None] | None = None,
                  cancel: asyncio.Event | None = None) -> PlanResult:
        """Run a plan. ``on_event`` receives every `PlanEvent`; ``on_step(i, None)`` / ``on_step(i, outcome)``
        is the short form. Setting ``cancel`` runs the running step's cancel operation (or, for a step
        without one, stops before the next step)."""

        def emit(event: PlanEvent) -> None:
            if on_event is not None:
                on_event(event)
            if on_step is not None and isinstance(event, StepStarted):
                on_step(event.index, None)
            elif on_step is not None and isinstance(event, StepFinished):
                on_step(event.index, event.outcome)

        cancel = cancel or asyncio.Event()
        try:
            targets = {host: self._resolve(host) for host in plan.hosts}
        except (KeyError, HvdeckError) as exc:
            reason = exc.message if isinstance(exc, HvdeckError) else f"no host {exc} in the inventory"
            return PlanResult(plan, tuple(StepOutcome(s, "skipped") for s in plan.steps), refused=reason)
        read_only = [host for host, target in targets.items() if target.read_only]
        if read_only:
            reason = f"{', '.join(read_only)} {'is' if len(read_only) == 1 else 'are'} read-only in the inventory; " \
                     "nothing was run"
            try:
                await self._record(plan, None, "refused: read-only", None)
            except OSError:
                pass
            return PlanResult(plan, tuple(StepOutcome(s, "skipped") for s in plan.steps), refused=reason)

        outcomes: list[StepOutcome] = []
        stopped = False
        for index, step in enumerate(plan.steps):
            if (stopped or cancel.is_set()) and not step.always:
                outcomes.append(StepOutcome(step, "skipped"))
                continue
            try:
                await self._record(plan, step, "started", None)
            except OSError as exc:
                reason = f"the audit log cannot be written ({exc.strerror or exc}); nothing more was run"
                outcome = StepOutcome(step, "skipped", None, reason)
                outcomes.append(outcome)
                if index == 0 or not outcomes[:-1]:
                    return PlanResult(plan, tuple(outcomes) + tuple(StepOutcome(s, "skipped")
                                                                    for s in plan.steps[index + 1:]), refused=reason)
                stopped = True
                continue
            emit(StepStarted(index))
            outcome = await self._run_step(plan, index, step, targets, emit, cancel)
            outcomes.append(outcome)
            try:
                await self._record(plan, step, _audit_result(outcome),
                                   outcome.result.exit_status if outcome.result else None)
            except OSError as exc:
                outcome = StepOutcome(step, outcome.status, outcome.result,
                                      (outcome.error + "; " if outcome.error else "") +
                                      f"its outcome could not be written to the audit log ({exc.strerror or exc})",
                                      outcome.seconds)
                outcomes[-1] = outcome
                stopped = True
            emit(StepFinished(index, outcome))
            if outcome.status != "ok":
                stopped = True

        bad = next((o for o in outcomes if o.status in ("failed", "cancelled", "unknown")), None)
        undo: tuple[Step, ...] = ()
        if bad is not None and bad.status != "unknown" and not any(o.status == "unknown" for o in outcomes):
            done = [o.step for o in outcomes if o.status == "ok" and not o.step.always]
            undo = tuple(Step(f"Undo: {s.description}", s.undo, host=s.host) for s in reversed(done)
                         if s.undo is not None)
        return PlanResult(plan, tuple(outcomes), undo=undo)

    async def run_plan(self, plan: Plan, *, on_step: StepCallback | None = None,
                       on_event: Callable[[PlanEvent], None] | None = None,
                       cancel: asyncio.Event | None = None) -> PlanResult:
        """`run`, under the name the plan screen asks for (`Fleet.run_plan` also polls the hosts after)."""
        return await self.run(plan, on_step=on_step, on_event=on_event, cancel=cancel)

    async def _run_step(self, plan: Plan, index: int, step: Step, targets: dict[str, PlanTarget],
                        emit: Callable[[PlanEvent], None], cancel: asyncio.Event) -> StepOutcome:
        started = time.monotonic()
        host = step.on(plan.host)
        target = targets[host]
        progress_parser = step.progress.parser if step.progress and step.progress.operation is None else None

        def output(stream: str, text: str) -> None:
            emit(StepOutput(index, stream, text))
            if progress_parser is not None:
                info = progress_parser(text)
                if info is not None:
                    emit(StepProgress(index, info))

        if step.operation.transfer is not None:
            work = asyncio.ensure_future(self._transfer(step.operation.transfer, targets, index, emit))
        else:
            work = asyncio.ensure_future(target.execute(step.operation, input=step.input, timeout=step.timeout,
                                                        on_output=output))
        watchers = []
        if step.progress is not None and step.progress.operation is not None:
            watchers.append(asyncio.ensure_future(self._watch(step, plan, targets, index, emit)))
        cancel_requested = False
        cancel_note = ""
        waiter = asyncio.ensure_future(cancel.wait())
        try:
            while True:
                done, _ = await asyncio.wait({work, waiter}, return_when=asyncio.FIRST_COMPLETED)
                if work in done:
                    break
                # the user asked to cancel while the step runs
                cancel_requested = True
                waiter = asyncio.ensure_future(asyncio.Event().wait())
                if step.cancel is not None:
                    cancel_note = await self._cancel(plan, step, targets)
                elif step.operation.transfer is not None:
                    work.cancel()
                # a step without a cancel operation finishes; the plan stops after it
        finally:
            waiter.cancel()
            for watcher in watchers:
                watcher.cancel()
        seconds = time.monotonic() - started
        try:
            result = work.result()
        except asyncio.CancelledError:
            return StepOutcome(step, "cancelled", None, "stopped by the user" + cancel_note, seconds)
        except (ConnectionLost, CommandTimeout) as exc:
            return StepOutcome(step, "unknown", None,
                               f"{exc.message}; the command was sent and may have completed on {host}", seconds)
        except ReadOnlyRefused as exc:
            return StepOutcome(step, "failed", None, exc.message, seconds)
        except HvdeckError as exc:
            return StepOutcome(step, "failed", None, exc.message, seconds)
        if result.ok:
            return StepOutcome(step, "ok", result, None, seconds)
        detail = result.stderr.strip() or result.stdout.strip() or f"exit status {result.exit_status}"
        if cancel_requested and step.cancel is not None:
            return StepOutcome(step, "cancelled", result, detail + cancel_note, seconds)
        return StepOutcome(step, "failed", result, detail, seconds)

    async def _cancel(self, plan: Plan, step: Step, targets: dict[str, PlanTarget]) -> str:
        assert step.cancel is not None
        host = step.on(plan.host)
        try:
            await self._record(plan, Step(f"Cancel: {step.description}", step.cancel, host=host), "cancel requested",
                               None)
            result = await targets[host].execute(step.cancel, timeout=60.0)
        except (HvdeckError, OSError) as exc:
            return f" (cancel failed: {describe(exc)})"
        if not result.ok:
            return f" (cancel failed: {result.stderr.strip() or result.exit_status})"
        return ""

    async def _watch(self, step: Step, plan: Plan, targets: dict[str, PlanTarget], index: int,
                     emit: Callable[[PlanEvent], None]) -> None:
        progress = step.progress
        assert progress is not None and progress.operation is not None
        target = targets[progress.host or step.on(plan.host)]
        while True:
            await asyncio.sleep(progress.interval)
            try:
                result = await target.execute(progress.operation, timeout=max(10.0, progress.interval * 5))
            except HvdeckError:
                continue
            info = progress.parser(result.stdout)
            if info is not None:
                emit(StepProgress(index, info))

    async def _transfer(self, transfer: Transfer, targets: dict[str, PlanTarget], index: int,
                        emit: Callable[[PlanEvent], None]) -> Result:
        source = await targets[transfer.source_host].open_process(transfer.source_argv)
        try:
            dest = await targets[transfer.dest_host].open_process(transfer.dest_argv)
        except BaseException:
            await source.close()
            raise
        moved = 0
        started = last = time.monotonic()
        try:
            while data := await source.read(256 * 1024):
                dest.write(data)
                await dest.drain()
                moved += len(data)
                now = time.monotonic()
                if now - last >= 0.5:
                    last = now
                    emit(StepProgress(index, ProgressInfo(processed_bytes=moved,
                                                          rate_bps=moved / max(now - started, 1e-6),
                                                          message=f"{moved} bytes")))
            dest.write_eof()
            source_status, dest_status = await asyncio.gather(source.wait(), dest.wait())
        finally:
            await source.close()
            await dest.close()
        argv = ("transfer", transfer.source_host, *transfer.source_argv, "=>", transfer.dest_host, *transfer.dest_argv)
        if source_status is None or dest_status is None:
            raise ConnectionLost(f"a transfer end gave no exit status after {moved} bytes")
        stderr = "".join(f"{side}: {tail.strip()}\n" for side, tail in
                         (("source", source.stderr_tail), ("destination", dest.stderr_tail)) if tail.strip())
        status = source_status or dest_status
        return Result(argv, status, f"{moved} bytes in {time.monotonic() - started:.1f}s\n", stderr)

    async def _record(self, plan: Plan, step: Step | None, result: str, exit_status: int | None) -> None:
        """One audit line, written off the event loop. Raises OSError if it cannot be written."""
        if self._audit is None:
            return
        if step is None:
            operation = " ; ".join(s.operation.audit_text() for s in plan.steps)
            host = plan.host
            extra: dict[str, str] = {}
        else:
            operation = step.operation.audit_text()
            host = step.on(plan.host)
            extra = {"input": step.input} if step.input is not None and not step.secret_input else {}
            if step.secret_input:
                extra = {"input": "(secret, not recorded)"}
        await asyncio.to_thread(self._audit.append, host=host, action=plan.action, target=plan.target,
                                operation=operation, result=result, exit_status=exit_status, plan=plan.title,
                                **extra)


def _audit_result(outcome: StepOutcome) -> str:
    return outcome.status if outcome.status == "ok" else f"{outcome.status}: {outcome.error}"


def undo_plan(result: PlanResult) -> Plan | None:
    """The offered undo steps as a Plan of their own, to be previewed and confirmed like any other."""
    if not result.undo:
        return None
    plan = result.plan
    return Plan(title=f"Undo {plan.title}", host=plan.host, action=f"undo-{plan.action}", target=plan.target,
                steps=result.undo)


def check_result(result: Result) -> Result:
    """`Result.check` for callers that hold an operation's result (raises `CommandFailed`)."""
    if not result.ok:
        raise CommandFailed(result.argv, result.exit_status, result.stderr)
    return result

"""What the migration wizard, the evacuation screen and `hvdeck migrate` / `hvdeck evacuate` share, with no
UI: which domains an evacuation moves, where each goes (placement by free memory), where a guest is once a
migration ended, and running several migration plans one at a time or N at once.

Everything here reaches hosts only through `Fleet`; `place`, `movable`, `free_memory` and `locate` are pure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from hvdeck.backends.errors import HvdeckError, Unsupported
from hvdeck.backends.fleet import Fleet
from hvdeck.backends.model import Domain, DomainState, HostSnapshot, HostStatus
from hvdeck.backends.plan import CheckResult, Plan, PlanEvent, PlanResult, ProgressInfo, StepProgress

#: states whose guests an evacuation moves: their memory is in use on the host
LIVE_STATES = (DomainState.RUNNING, DomainState.PAUSED)


def movable(domain: Domain) -> str | None:
    """None when an evacuation should move ``domain``; else why it stays (not running, a control domain)."""
    if domain.state not in LIVE_STATES:
        return f"{domain.name} is {domain.native_state}"
    if "control" in (word.strip() for word in domain.flags_meaning.split(",")):
        return f"{domain.name} is the control domain"
    return None


def free_memory(snapshot: HostSnapshot) -> int | None:
    """A host's memory not used by its running domains, from its last poll: its total (`HostInfo`) less
    the memory of its live domains; None when the host does not say its total or is not up."""
    if snapshot.status is not HostStatus.UP or snapshot.info is None or snapshot.info.memory_bytes is None:
        return None
    used = sum(d.memory_bytes or 0 for d in snapshot.domains if d.state in LIVE_STATES)
    return max(0, snapshot.info.memory_bytes - used)


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, scale in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f}{unit}" if n % scale and value < 10 else f"{value:.0f}{unit}"
    return f"{n}B"


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an evacuation sends one domain: ``target`` (None: nowhere fits) and why."""

    domain: Domain
    target: str | None
    reason: str


def place(domains: Sequence[Domain], targets: Sequence[str], free: Mapping[str, int | None]) -> tuple[Placement, ...]:
    """Place each domain on a target by free memory (bytes, None when a target does not say).

    The largest domain first, each on the target with the most memory left that holds it (ties: the
    earlier target); what it takes is subtracted before the next. A target whose free memory is unknown
    takes a domain only when no target known to have room does, in turn with the other unknown ones (the
    pre-flight check on the target is the real test). A domain whose memory is unknown counts as 0 bytes.
    Returns the placements in the order of ``domains``."""
    left: dict[str, int | None] = {t: free.get(t) for t in targets}
    taken: dict[str, int] = dict.fromkeys(targets, 0)
    chosen: dict[str, Placement] = {}
    for domain in sorted(domains, key=lambda d: (-(d.memory_bytes or 0), d.name)):
        need = domain.memory_bytes or 0
        roomy = [t for t in targets if (room := left[t]) is not None and room >= need]
        if roomy:
            best = max(roomy, key=lambda t: (left[t] or 0, -targets.index(t)))
            reason = f"{_size(left[best])} free there for {_size(need)}"
            room = left[best]
            left[best] = (room or 0) - need
        else:
            unknown = [t for t in targets if left[t] is None]
            if not unknown:
                most = max((left[t] or 0 for t in targets), default=None)
                why = (f"no target has {_size(need)} free (the most is {_size(most)})" if targets
                       else "no target of the same kind")
                chosen[domain.key] = Placement(domain, None, why)
                continue
            best = min(unknown, key=lambda t: (taken[t], targets.index(t)))
            reason = "its free memory is not known: the pre-flight check decides"
        taken[best] += 1
        chosen[domain.key] = Placement(domain, best, reason)
    return tuple(chosen[d.key] for d in domains)


@dataclass(frozen=True, slots=True)
class Whereabouts:
    """Where a guest is after its migration ended: a sentence, and whether it arrived on the target."""

    sentence: str
    arrived: bool


def _find(snapshot: HostSnapshot | None, name: str) -> Domain | None:
    if snapshot is None:
        return None
    return next((d for d in snapshot.domains if d.name == name), None)


def locate(name: str, new_name: str, source: HostSnapshot | None, target: HostSnapshot | None) -> Whereabouts:
    """Where ``name`` (``new_name`` on the target) is, from a poll of both hosts taken after the run."""
    src = source.host if source is not None else "the source"
    dst = target.host if target is not None else "the target"
    unknown = [s.host for s in (source, target) if s is not None and s.status is not HostStatus.UP]
    if source is None or target is None or unknown:
        hosts = ", ".join(unknown) or "a host"
        return Whereabouts(f"where {name} is cannot be told: {hosts} did not answer; look at both hosts", False)
    here, there = _find(source, name), _find(target, new_name)
    shown = new_name if new_name == name else f"{name} (as {new_name})"
    if there is not None and here is None:
        arrived = there.state in LIVE_STATES
        return Whereabouts(f"{shown} is {there.native_state} on {dst}; {src} no longer has it.", arrived)
    if here is not None and there is None:
        note = ""
        if "migration error" in here.flags_meaning:
            note = (f" It is in an error state after the failed migration (FLAGS {here.flags}): clear it with "
                    f"ldm cancel-operation migration {name} on {src}.")
        return Whereabouts(f"{name} is still {here.native_state} on {src}; {dst} does not have it.{note}", False)
    if here is None and there is None:
        return Whereabouts(f"{name} is on neither {src} nor {dst}: look at both hosts before doing anything else.",
                           False)
    assert here is not None and there is not None
    return Whereabouts(f"{shown} is on both hosts: {here.native_state} on {src}, {there.native_state} on {dst}: "
                       "look at both before doing anything else.", False)


# -- running migrations: one, or an evacuation's several -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Job:
    """One domain of an evacuation (or a single migration), as it goes.

    ``status``: waiting (not started), blocked (its plan could not be made or a check failed: it is not
    run), running, done, failed, cancelled, skipped (not started: an earlier one failed, or cancel)."""

    domain: Domain
    target: str | None
    new_name: str
    plan: Plan | None = None
    checks: tuple[CheckResult, ...] = ()
    status: str = "waiting"
    reason: str = ""
    progress: ProgressInfo | None = None
    result: PlanResult | None = None
    where: Whereabouts | None = None

    @property
    def checks_passed(self) -> bool:
        return self.plan is not None and all(c.ok for c in self.checks)

    @property
    def failed_checks(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.ok)


JobCallback = Callable[[int, Job], object]


async def prepare(fleet: Fleet, jobs: Sequence[Job], values_for: Callable[[Job], dict[str, object]],
                  on_change: JobCallback | None = None) -> list[Job]:
    """Make each job's plan (with ``values_for(job)``, the parsed form values) and run its pre-flight
    checks; a job whose plan cannot be made, or whose checks fail, is *blocked* with the reason."""
    out = list(jobs)

    def set_job(index: int, job: Job) -> None:
        out[index] = job
        if on_change is not None:
            on_change(index, job)

    async def one(index: int, job: Job) -> None:
        if job.target is None:
            set_job(index, replace(job, status="blocked", reason=job.reason or "no target"))
            return
        try:
            plan = await fleet.plan_migrate(job.domain, job.target, values_for(job))
        except (HvdeckError, Unsupported) as exc:
            set_job(index, replace(job, status="blocked", reason=exc.message))
            return
        checks = await fleet.preflight(plan)
        failed = [c for c in checks if not c.ok]
        # a failed check's reason says what is wrong ("t7-b already has a domain named ldg-db1"); one without a
        # reason is named by what it checked
        reason = "; ".join(c.reason or f"failed: {c.check.description}" for c in failed)
        set_job(index, replace(job, plan=plan, checks=checks, status="blocked" if failed else "waiting",
                               reason=reason))

    await asyncio.gather(*(one(i, job) for i, job in enumerate(out)))
    return out


async def run_jobs(fleet: Fleet, jobs: Sequence[Job], *, parallel: int = 1, continue_on_error: bool = False,
                   cancel: asyncio.Event | None = None, on_change: JobCallback | None = None) -> list[Job]:
    """Run the waiting jobs' plans, ``parallel`` at a time, in order. A failure (or a cancel) starts no
    more unless ``continue_on_error`` (the running ones finish); setting ``cancel`` cancels every running
    migration (each plan's own cancel operation) and starts no more. Then polls every host involved once
    and records where each guest is."""
    out = list(jobs)
    cancel = cancel or asyncio.Event()
    stop = asyncio.Event()
    gate = asyncio.Semaphore(max(1, parallel))

    def set_job(index: int, job: Job) -> None:
        out[index] = job
        if on_change is not None:
            on_change(index, job)

    async def one(index: int) -> None:
        async with gate:
            job = out[index]
            if stop.is_set() or cancel.is_set():
                set_job(index, replace(job, status="skipped",
                                       reason="cancelled" if cancel.is_set() else "an earlier migration failed"))
                return
            assert job.plan is not None
            set_job(index, replace(job, status="running"))

            def on_event(event: PlanEvent) -> None:
                if isinstance(event, StepProgress):
                    set_job(index, replace(out[index], progress=event.info))

            result = await fleet.run_plan(job.plan, on_event=on_event, cancel=cancel)
            bad = result.failed
            status = "done" if result.ok else ("cancelled" if bad is not None and bad.status == "cancelled"
                                               else "failed")
            if not result.ok and not continue_on_error:
                stop.set()
            set_job(index, replace(out[index], status=status, result=result,
                                   reason="" if result.ok else result.summary()))

    runnable = [i for i, job in enumerate(out) if job.status == "waiting" and job.plan is not None]
    await asyncio.gather(*(one(i) for i in runnable))
    ran = [i for i in runnable if out[i].status in ("done", "failed", "cancelled")]
    hosts = sorted({h for i in ran for h in (out[i].domain.host, out[i].target or "")} - {""})
    polled = dict(zip(hosts, await asyncio.gather(*(fleet.poll_host(h) for h in hosts))))
    for i in ran:
        job = out[i]
        set_job(i, replace(job, where=locate(job.domain.name, job.new_name, polled.get(job.domain.host),
                                             polled.get(job.target or ""))))
    return out

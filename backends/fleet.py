"""The fleet: one self-scheduling poller per host, and the one interface the console and the command line
use to reach hosts.

Plain asyncio, no UI. `hvdeck ls` calls `poll_once`; the console runs `run_host` for each host as an
async worker and receives every new `HostSnapshot` through ``on_update``. A poller arms its next poll
when the previous one finished (never overlapping), polls at once when poked (after a user action, on a
libvirt lifecycle event), starts and repeats with a little jitter so that hosts do not all report in the
same instant, and after a failure retries with exponential backoff (jittered too) while the host shows as
*stale* with its last good domains; after `DOWN_AFTER` seconds of failures it is *down*, with the reason.

Everything above this module reaches hosts through `Fleet`'s public methods, which take and return
immutable data (`Domain`, `HostSnapshot`, `Plan`, `PlanResult`, `Bindings`) or byte channels: nothing
above holds a backend, a session or an asyncssh object. A poll failure marks the host; it never closes
the connection that a console, a stream or a running plan step shares: only a lost link does (and then
every user of it learns it from the session).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import policy
from .audit import AuditLog
from .base import Action, Backend, ExtraAction
from .errors import (
    AuthFailed,
    HostKeyProblem,
    HostUnreachable,
    HvdeckError,
    ReadOnlyRefused,
    SshConfigError,
    Unsupported,
    describe,
)
from .inventory import HostSpec, Inventory, SshOptions
from .model import (
    Bindings,
    ConsoleRef,
    Domain,
    FreeResources,
    HostInfo,
    HostSnapshot,
    HostStatus,
    KeyProblem,
    Network,
    Section,
    Snapshot,
    StoragePool,
    Volume,
)
from .options import Choice, Form
from .plan import CheckResult, Executor, Operation, Plan, PlanEvent, PlanResult, StepCallback
from .registry import make_backend, make_session
from .transport.base import Channel, CommandTimeout, Limits, OutputCallback, Result, Session

if TYPE_CHECKING:
    from .xen.live import XentopView

log = logging.getLogger(__name__)

BACKOFF_MAX = 60.0
MIN_GAP = 0.2  # never poll one host more often than this, however many events arrive
#: a poll that has not answered after this many seconds fails (the host is stale); its connection stays
POLL_TIMEOUT = 30.0
#: a host whose polls have failed for this long is shown as down rather than stale
DOWN_AFTER = 120.0
#: +/- this share of an interval is added to each wait, so that hosts spread over the interval
JITTER = 0.1

SessionFactory = Callable[[HostSpec, SshOptions, Limits | None], Session]
BackendFactory = Callable[[HostSpec, Session], Awaitable[Backend]]
UpdateCallback = Callable[[HostSnapshot], None]


@dataclass
class HostRuntime:
    spec: HostSpec
    session: Session | None = None
    backend: Backend | None = None
    info: HostInfo | None = None
    last_ok: float | None = None
    last_domains: tuple[Domain, ...] = ()
    failures: int = 0
    #: monotonic time of the first failure of the current run of failures
    failing_since: float | None = None
    #: the last failure, when the last poll failed
    last_error: BaseException | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _Target:
    """What the executor sees of a host: its read-only flag, its backend's `execute`, process channels."""

    fleet: "Fleet"
    host: str
    read_only: bool

    async def execute(self, operation: Operation, *, input: str | None = None, timeout: float | None = None,
                      on_output: OutputCallback | None = None) -> Result:
        if self.read_only:  # the executor checks first; this is the second lock on the same door
            raise ReadOnlyRefused(f"{self.host} is read-only")
        return await self._backend().execute(operation, input=input, timeout=timeout, on_output=on_output)

    async def open_process(self, argv: Sequence[str]) -> Channel:
        if self.read_only:
            raise ReadOnlyRefused(f"{self.host} is read-only")
        return await self._backend().session.open_process(argv)

    def _backend(self) -> Backend:
        return self.fleet._connected(self.host)


class Fleet:
    """Every host of an inventory: pollers, and the interface above them (see the module docstring)."""

    def __init__(self, inventory: Inventory, *, on_update: UpdateCallback | None = None,
                 session_factory: SessionFactory = make_session, backend_factory: BackendFactory = make_backend,
                 audit: AuditLog | None = None, clock: Callable[[], float] = time.monotonic,
                 poll_timeout: float = POLL_TIMEOUT, limits: Limits | None = None) -> None:
        self.inventory = inventory
        self.on_update = on_update
        self.hosts = {spec.name: HostRuntime(spec) for spec in inventory.hosts}
        self._session_factory = session_factory
        self._backend_factory = backend_factory
        self._clock = clock
        self.poll_timeout = poll_timeout
        self.limits = limits
        self.executor = Executor(self.target, audit)

    def initial_snapshots(self) -> tuple[HostSnapshot, ...]:
        """A "connecting" snapshot of every host, before any poll."""
        now = self._clock()
        return tuple(HostSnapshot(host=spec.name, kind=spec.kind, status=HostStatus.CONNECTING, taken_at=now,
                                  read_only=spec.read_only) for spec in self.inventory.hosts)

    # -- lifecycle of one host ----------------------------------------------------------------------

    async def _open(self, rt: HostRuntime) -> Backend:
        if rt.backend is not None:
            return rt.backend
        if rt.session is None:
            rt.session = self._session_factory(rt.spec, self.inventory.ssh, self.limits)
        backend = await self._backend_factory(rt.spec, rt.session)
        name = rt.spec.name
        backend.on_change = lambda: self.poke(name)
        rt.info = await backend.open()
        rt.backend = backend
        return backend

    async def _close_backend(self, rt: HostRuntime) -> None:
        backend, rt.backend = rt.backend, None
        if backend is not None:
            try:
                await backend.close()
            except Exception:  # closing a broken link must not raise
                log.debug("closing %s", rt.spec.name, exc_info=True)

    async def _shutdown(self, rt: HostRuntime) -> None:
        """Close the backend and the host's connection (at exit, or after `hvdeck ls`)."""
        await self._close_backend(rt)
        if rt.session is not None:
            sess, rt.session = rt.session, None
            try:
                await sess.close()
            except Exception:
                log.debug("closing session %s", rt.spec.name, exc_info=True)

    def _kind(self, rt: HostRuntime) -> str:
        return rt.backend.kind if rt.backend is not None else (rt.info.kind if rt.info else rt.spec.kind)

    def _up(self, rt: HostRuntime, domains: tuple[Domain, ...]) -> HostSnapshot:
        now = self._clock()
        rt.last_ok, rt.last_domains, rt.failures, rt.last_error, rt.failing_since = now, domains, 0, None, None
        return HostSnapshot(host=rt.spec.name, kind=self._kind(rt), status=HostStatus.UP, taken_at=now,
                            domains=domains, info=rt.info, last_ok=now, read_only=rt.spec.read_only)

    def _failed(self, rt: HostRuntime, exc: BaseException) -> HostSnapshot:
        now = self._clock()
        rt.failures += 1
        rt.last_error = exc
        if rt.failing_since is None:
            rt.failing_since = now
        message = describe(exc)
        if isinstance(exc, HostUnreachable):
            failing = now - rt.failing_since
            if rt.last_ok is not None and failing < DOWN_AFTER:
                status = HostStatus.STALE
            else:
                status = HostStatus.DOWN
                if rt.last_ok is not None:
                    message = f"no answer for {policy.age(failing)} (retrying every {policy.age(BACKOFF_MAX)}): {message}"
        else:
            status = HostStatus.ERROR
        if isinstance(exc, HvdeckError) and not isinstance(exc, HostUnreachable):
            message = f"{exc.title}: {message}" if exc.title not in message else message
        domains = rt.last_domains if status is HostStatus.STALE else ()
        key_problem: KeyProblem | None = exc.snapshot_view() if isinstance(exc, HostKeyProblem) else None
        return HostSnapshot(host=rt.spec.name, kind=self._kind(rt), status=status, taken_at=now,
                            domains=domains, error=message, info=rt.info, last_ok=rt.last_ok,
                            read_only=rt.spec.read_only, key_problem=key_problem)

    def _publish(self, snapshot: HostSnapshot) -> None:
        if self.on_update is not None:
            self.on_update(snapshot)

    async def poll_host(self, name: str) -> HostSnapshot:
        """Open the host if needed and poll it once; failures become a snapshot, never an exception."""
        rt = self.hosts[name]
        try:
            async with asyncio.timeout(self.poll_timeout):
                backend = await self._open(rt)
                snapshot = self._up(rt, await backend.poll())
        except asyncio.CancelledError:
            raise
        except (TimeoutError, CommandTimeout) as exc:
            # the host did not answer in time: stale, but the connection others share stays open
            reason = exc if isinstance(exc, CommandTimeout) else \
                CommandTimeout(f"{name}: no answer within {self.poll_timeout:g}s")
            snapshot = self._failed(rt, reason)
        except (HostKeyProblem, AuthFailed, SshConfigError, HostUnreachable) as exc:
            # refused, or the link is gone (the session already knows and reconnects on next use): the
            # backend's own state (a libvirt connection over a forward) is rebuilt on the next poll
            snapshot = self._failed(rt, exc)
            await self._close_backend(rt)
        except Exception as exc:  # garbage output or a bug: mark the host, keep going
            if not isinstance(exc, HvdeckError):
                log.exception("polling %s", name)
            snapshot = self._failed(rt, exc)
            if rt.backend is not None and rt.info is None:
                await self._close_backend(rt)
        self._publish(snapshot)
        return snapshot

    async def run_host(self, name: str) -> None:
        """Poll one host for ever (until cancelled)."""
        rt = self.hosts[name]
        interval = rt.spec.poll_interval
        try:
            first = True
            while True:
                rt.wake.clear()
                snapshot = await self.poll_host(name)
                if snapshot.status is HostStatus.UP:
                    # the first wait also spreads the hosts' phases over one interval
                    delay = interval * (1 + random.random()) if first else interval * _jitter()
                    first = False
                elif isinstance(rt.last_error, (HostKeyProblem, SshConfigError)):
                    delay = 3600.0  # wait for the user to trust the key or mend the config (which pokes us)
                else:
                    delay = min(BACKOFF_MAX, 2.0 ** min(rt.failures - 1, 6)) * _jitter()
                await asyncio.sleep(MIN_GAP)
                try:
                    await asyncio.wait_for(rt.wake.wait(), max(0.0, delay - MIN_GAP))
                except TimeoutError:
                    pass
        finally:
            await self._shutdown(rt)

    def poke(self, name: str) -> None:
        """Poll ``name`` now (coalesced: many pokes before the poll starts make one poll)."""
        rt = self.hosts.get(name)
        if rt is not None:
            rt.wake.set()

    # -- one-shot use (hvdeck ls) -------------------------------------------------------------------

    async def poll_once(self, *, sample_interval: float = 1.0, timeout: float = 30.0) -> list[HostSnapshot]:
        """Poll every host once (twice, ``sample_interval`` apart, where CPU % needs a delta)."""

        async def one(rt: HostRuntime) -> HostSnapshot:
            name = rt.spec.name
            try:
                async with asyncio.timeout(timeout):
                    snapshot = await self.poll_host(name)
                    backend = rt.backend
                    if snapshot.status is HostStatus.UP and backend is not None:
                        for _ in range(backend.RATE_SAMPLES - 1):
                            await asyncio.sleep(sample_interval)
                            snapshot = await self.poll_host(name)
                    return snapshot
            except TimeoutError:
                snapshot = self._failed(rt, HostUnreachable(f"{name}: no answer within {timeout:g}s"))
                self._publish(snapshot)
                return snapshot
            finally:
                await self._shutdown(rt)

        return list(await asyncio.gather(*(one(rt) for rt in self.hosts.values())))

    # -- the interface above: actions, plans, bindings -----------------------------------------------

    def _connected(self, host: str) -> Backend:
        rt = self.hosts.get(host)
        if rt is None:
            raise HvdeckError(f"no host {host!r} in the inventory")
        if rt.backend is None:
            raise HostUnreachable(f"{host} is not connected")
        return rt.backend

    def backend(self, host: str) -> Backend | None:
        """The host's backend (for tests and in-process tools; the console goes through the methods below)."""
        rt = self.hosts.get(host)
        return rt.backend if rt is not None else None

    def why_not(self, action: Action | ExtraAction, domain: Domain, host: HostSnapshot | None,
                now: float | None = None, fleet: Iterable[HostSnapshot] = ()) -> str | None:
        """The one gate (`policy.why_not`): None if ``action`` may be planned for ``domain`` now."""
        return policy.why_not(self.backend(domain.host), action, domain, host, now, fleet)

    def extra_actions(self, host: str) -> tuple[ExtraAction, ...]:
        """The host's backend-specific actions (LDoms bind, set-vcpu...); none while it is not connected."""
        backend = self.backend(host)
        return backend.extra_actions() if backend is not None else ()

    def plan_action(self, action: Action, domain: Domain, host: HostSnapshot | None,
                    fleet: Iterable[HostSnapshot] = ()) -> Plan:
        """The lifecycle Plan; raises `Unsupported` with the gate's reason when it may not be done."""
        fleet = tuple(fleet)
        reason = self.why_not(action, domain, host, fleet=fleet)
        if reason is not None:
            raise Unsupported(f"Cannot {action.label.lower()} {domain.name}: {reason}")
        return policy.with_start_warning(self._connected(domain.host).plan_action(action, domain), action, domain,
                                         fleet)

    async def plan_extra(self, action: ExtraAction, domain: Domain, values: dict[str, str],
                         host: HostSnapshot | None) -> Plan:
        """A backend-specific action's Plan from the user's inputs; raises `ValidationError` for input the
        hypervisor would refuse (the backend may read the host's free resources first)."""
        reason = self.why_not(action, domain, host)
        if reason is not None:
            raise Unsupported(f"Cannot {action.label.lower()} {domain.name}: {reason}")
        return await self._connected(domain.host).plan_extra(action, domain, values, host)

    async def bindings(self, domain: Domain) -> Bindings:
        return await self._connected(domain.host).bindings(domain)

    async def host_detail(self, host: str) -> tuple[Section, ...]:
        return await self._connected(host).host_detail()

    # consoles, what a host offers, and the wizards: each goes to the host's backend (see `Backend`)

    def console(self, domain: Domain) -> ConsoleRef:
        return self._connected(domain.host).console(domain)

    async def open_console(self, domain: Domain, *, cols: int = 80, rows: int = 24, force: bool = False) -> Channel:
        return await self._connected(domain.host).open_console(domain, cols=cols, rows=rows, force=force)

    def xentop_frame(self, host: str) -> XentopView | None:
        """The latest xentop frame of a Xen dom0 (the summary xentop prints, every column of every domain, and
        the rates between frames), immutable, for the xentop screen; None when ``host`` is not a connected Xen
        dom0 with a live stream."""
        from .xen.backend import XenBackend

        backend = self.backend(host)
        return backend.xentop_view() if isinstance(backend, XenBackend) else None

    async def storage(self, host: str) -> tuple[StoragePool, ...]:
        return await self._connected(host).storage()

    async def volumes(self, host: str, pool: str | None = None) -> tuple[Volume, ...]:
        return await self._connected(host).volumes(pool)

    async def snapshots(self, host: str, of: str) -> tuple[Snapshot, ...]:
        return await self._connected(host).snapshots(of)

    async def plan_snapshot(self, host: str, of: str, snapshot: str, operation: str) -> Plan:
        return await self._connected(host).plan_snapshot(of, snapshot, operation)

    async def networks(self, host: str) -> tuple[Network, ...]:
        return await self._connected(host).networks()

    async def resources(self, host: str) -> FreeResources:
        return await self._connected(host).resources()

    def create_form(self, host: str) -> Form | None:
        backend = self.backend(host)
        return backend.create_form() if backend is not None else None

    async def create_choices(self, host: str) -> dict[str, tuple[Choice, ...]]:
        return await self._connected(host).create_choices()

    async def plan_create(self, host: str, values: dict[str, Any]) -> Plan:
        return await self._connected(host).plan_create(values)

    def clone_form(self, domain: Domain) -> Form | None:
        backend = self.backend(domain.host)
        return backend.clone_form(domain) if backend is not None else None

    async def clone_choices(self, domain: Domain) -> dict[str, tuple[Choice, ...]]:
        return await self._connected(domain.host).clone_choices(domain)

    async def plan_clone(self, domain: Domain, values: dict[str, Any]) -> Plan:
        return await self._connected(domain.host).plan_clone(domain, values)

    def migrate_form(self, domain: Domain) -> Form | None:
        backend = self.backend(domain.host)
        return backend.migrate_form(domain) if backend is not None else None

    def migration_targets(self, domain: Domain) -> tuple[str, ...]:
        """Other hosts of the same kind as ``domain``'s (connected or not), in inventory order."""
        kind = self._kind(self.hosts[domain.host])
        return tuple(name for name, rt in self.hosts.items() if name != domain.host and self._kind(rt) == kind)

    async def plan_migrate(self, domain: Domain, target: str, values: dict[str, Any]) -> Plan:
        if target == domain.host:
            raise HvdeckError(f"{domain.name} is already on {target}")
        return await self._connected(domain.host).plan_migrate(domain, self._connected(target), values)

    async def preflight(self, plan: Plan) -> tuple[CheckResult, ...]:
        return await self.executor.preflight(plan)

    async def run_plan(self, plan: Plan, *, on_step: StepCallback | None = None,
                       on_event: Callable[[PlanEvent], None] | None = None,
                       cancel: asyncio.Event | None = None) -> PlanResult:
        """Run a Plan through the executor (the one gate, the audit log), then poll its hosts at once."""
        try:
            return await self.executor.run(plan, on_step=on_step, on_event=on_event, cancel=cancel)
        finally:
            for host in plan.hosts:
                self.poke(host)

    def target(self, host: str) -> _Target:
        rt = self.hosts.get(host)
        if rt is None:
            raise HvdeckError(f"no host {host!r} in the inventory")
        return _Target(self, host, rt.spec.read_only)

    async def close(self) -> None:
        await asyncio.gather(*(self._shutdown(rt) for rt in self.hosts.values()), return_exceptions=True)


def _jitter() -> float:
    return 1.0 + random.uniform(-JITTER, JITTER)


#: hosts per process below which `poll_sharded` stays in one process (a process costs ~0.4 s to start)
SHARD_MIN_HOSTS = 100


def poll_sharded(inventory: Inventory, *, timeout: float = 30.0, workers: int | None = None) -> list[HostSnapshot]:
    """Poll every host of ``inventory`` once, as `Fleet.poll_once`, spread over ``workers`` processes (by
    default one per core, each with at least `SHARD_MIN_HOSTS` hosts): SSH's crypto and the parsing are
    CPU work, and one process uses one core. Hosts are dealt round robin, so that a slow block of the
    inventory is shared out; the snapshots come back in inventory order. A worker that dies gives its hosts
    an error snapshot each, never an exception."""
    hosts = inventory.hosts
    if workers is None:
        workers = min(os.cpu_count() or 1, len(hosts) // SHARD_MIN_HOSTS)
    workers = max(1, min(workers, len(hosts)))
    if workers == 1:
        return _poll_shard(inventory, timeout)
    shards = [Inventory(hosts[i::workers], inventory.ssh, inventory.path) for i in range(workers)]
    found: dict[str, HostSnapshot] = {}
    context = multiprocessing.get_context("spawn")  # never fork a process with threads
    with concurrent.futures.ProcessPoolExecutor(workers - 1, mp_context=context) as pool:
        others = [pool.submit(_poll_shard, shard, timeout) for shard in shards[1:]]
        for snapshot in _poll_shard(shards[0], timeout):
            found[snapshot.host] = snapshot
        for shard, future in zip(shards[1:], others):
            try:
                snapshots = future.result()
            except Exception as exc:  # noqa: BLE001 - a dead worker marks its hosts, the others still print
                now = time.monotonic()
                snapshots = [HostSnapshot(host=spec.name, kind=spec.kind, status=HostStatus.ERROR, taken_at=now,
                                          error=f"the polling process failed: {exc}", read_only=spec.read_only)
                             for spec in shard.hosts]
            for snapshot in snapshots:
                found[snapshot.host] = snapshot
    return [found[spec.name] for spec in hosts]


def _poll_shard(inventory: Inventory, timeout: float) -> list[HostSnapshot]:
    """One process's share (the workers' entry point too): every host of ``inventory`` polled once."""
    return asyncio.run(Fleet(inventory).poll_once(timeout=timeout))

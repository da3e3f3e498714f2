"""The fleet: one self-scheduling poller per host, and the store of what they last saw.

Plain asyncio, no UI: `hvdeck ls` calls `poll_once`; the console runs `run_host` for each host as an
async worker and receives every new `HostSnapshot` through ``on_update``. A poller arms its next poll
when the previous one finished (never overlapping), polls at once when poked (after a user action, on
a libvirt lifecycle event), and after a failure retries with exponential backoff while the host shows
as *stale* with its last good domains.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from .base import Backend
from .errors import AuthFailed, HostKeyProblem, HostUnreachable, HvdeckError, ReadOnlyRefused, describe
from .inventory import HostSpec, Inventory, SshOptions
from .model import Bindings, Domain, HostInfo, HostSnapshot, HostStatus
from .plan import Operation
from .registry import make_backend, make_session
from .transport.base import Channel, OutputCallback, Result, Session

log = logging.getLogger(__name__)

HISTORY = 60  # samples kept per domain (two minutes at the default interval)
BACKOFF_MAX = 60.0
MIN_GAP = 0.2  # never poll one host more often than this, however many events arrive

SessionFactory = Callable[[HostSpec, SshOptions], Session]
BackendFactory = Callable[[HostSpec, Session], Awaitable[Backend]]
UpdateCallback = Callable[[HostSnapshot], None]


@dataclass(frozen=True, slots=True)
class DomainHistory:
    cpu: tuple[float | None, ...] = ()
    net: tuple[float | None, ...] = ()
    disk: tuple[float | None, ...] = ()


class Store:
    """The latest snapshot of each host, and a short history of each domain's CPU, net and disk."""

    def __init__(self, history: int = HISTORY) -> None:
        self.snapshots: dict[str, HostSnapshot] = {}
        self._size = history
        self._cpu: dict[str, collections.deque[float | None]] = {}
        self._net: dict[str, collections.deque[float | None]] = {}
        self._disk: dict[str, collections.deque[float | None]] = {}

    def update(self, snapshot: HostSnapshot) -> None:
        previous = self.snapshots.get(snapshot.host)
        self.snapshots[snapshot.host] = snapshot
        if snapshot.status is not HostStatus.UP:
            return
        keys = set()
        for domain in snapshot.domains:
            key = domain.key
            keys.add(key)
            for series, value in ((self._cpu, domain.cpu_percent),
                                  (self._net, _add(domain.net_rx_bps, domain.net_tx_bps)),
                                  (self._disk, _add(domain.disk_rd_bps, domain.disk_wr_bps))):
                series.setdefault(key, collections.deque(maxlen=self._size)).append(value)
        if previous is not None:
            for domain in previous.domains:
                if domain.key not in keys:
                    for series in (self._cpu, self._net, self._disk):
                        series.pop(domain.key, None)

    def history(self, key: str) -> DomainHistory:
        return DomainHistory(tuple(self._cpu.get(key, ())), tuple(self._net.get(key, ())),
                             tuple(self._disk.get(key, ())))


def _add(a: float | None, b: float | None) -> float | None:
    if a is None and b is None:
        return None
    return (a or 0.0) + (b or 0.0)


@dataclass
class HostRuntime:
    spec: HostSpec
    session: Session | None = None
    backend: Backend | None = None
    info: HostInfo | None = None
    last_ok: float | None = None
    last_domains: tuple[Domain, ...] = ()
    failures: int = 0
    #: the last failure, when the last poll failed (the UI reads HostKeyProblem details from it)
    last_error: BaseException | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _Target:
    """What the executor sees of a host: its read-only flag and its backend's `execute`."""

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
        backend = self.fleet.hosts[self.host].backend
        if backend is None:
            raise HostUnreachable(f"{self.host} is not connected")
        return backend


class Fleet:
    def __init__(self, inventory: Inventory, *, on_update: UpdateCallback | None = None,
                 session_factory: SessionFactory = make_session, backend_factory: BackendFactory = make_backend,
                 history: int = HISTORY, clock: Callable[[], float] = time.monotonic) -> None:
        self.inventory = inventory
        self.on_update = on_update
        self.store = Store(history)
        self.hosts = {spec.name: HostRuntime(spec) for spec in inventory.hosts}
        self._session_factory = session_factory
        self._backend_factory = backend_factory
        self._clock = clock
        for spec in inventory.hosts:
            self.store.snapshots[spec.name] = HostSnapshot(
                host=spec.name, kind=spec.kind, status=HostStatus.CONNECTING, taken_at=clock(),
                read_only=spec.read_only)

    # -- lifecycle of one host ----------------------------------------------------------------------

    async def _open(self, rt: HostRuntime) -> Backend:
        if rt.backend is not None:
            return rt.backend
        if rt.session is None:
            rt.session = self._session_factory(rt.spec, self.inventory.ssh)
        backend = await self._backend_factory(rt.spec, rt.session)
        name = rt.spec.name
        backend.on_change = lambda: self.poke(name)
        rt.info = await backend.open()
        rt.backend = backend
        return backend

    async def _shutdown(self, rt: HostRuntime, *, session: bool = True) -> None:
        backend, rt.backend = rt.backend, None
        if backend is not None:
            try:
                await backend.close()
            except Exception:  # noqa: BLE001 - closing a broken link must not raise
                log.debug("closing %s", rt.spec.name, exc_info=True)
        if session and rt.session is not None:
            sess, rt.session = rt.session, None
            try:
                await sess.close()
            except Exception:  # noqa: BLE001
                log.debug("closing session %s", rt.spec.name, exc_info=True)

    def _kind(self, rt: HostRuntime) -> str:
        return rt.backend.kind if rt.backend is not None else (rt.info.kind if rt.info else rt.spec.kind)

    def _up(self, rt: HostRuntime, domains: tuple[Domain, ...]) -> HostSnapshot:
        now = self._clock()
        rt.last_ok, rt.last_domains, rt.failures, rt.last_error = now, domains, 0, None
        return HostSnapshot(host=rt.spec.name, kind=self._kind(rt), status=HostStatus.UP, taken_at=now,
                            domains=domains, info=rt.info, last_ok=now, read_only=rt.spec.read_only)

    def _failed(self, rt: HostRuntime, exc: BaseException) -> HostSnapshot:
        rt.failures += 1
        rt.last_error = exc
        if isinstance(exc, HostUnreachable):
            status = HostStatus.STALE if rt.last_ok is not None else HostStatus.DOWN
        else:
            status = HostStatus.ERROR
        message = describe(exc)
        if isinstance(exc, HvdeckError) and not isinstance(exc, HostUnreachable):
            message = f"{exc.title}: {message}" if exc.title not in message else message
        domains = rt.last_domains if status is HostStatus.STALE else ()
        return HostSnapshot(host=rt.spec.name, kind=self._kind(rt), status=status, taken_at=self._clock(),
                            domains=domains, error=message, info=rt.info, last_ok=rt.last_ok,
                            read_only=rt.spec.read_only)

    def _publish(self, snapshot: HostSnapshot) -> None:
        self.store.update(snapshot)
        if self.on_update is not None:
            self.on_update(snapshot)

    async def poll_host(self, name: str) -> HostSnapshot:
        """Open the host if needed and poll it once; failures become a snapshot, never an exception."""
        rt = self.hosts[name]
        try:
            backend = await self._open(rt)
            snapshot = self._up(rt, await backend.poll())
        except asyncio.CancelledError:
            raise
        except (HostKeyProblem, HostUnreachable) as exc:
            snapshot = self._failed(rt, exc)
            await self._shutdown(rt)
        except Exception as exc:  # noqa: BLE001 - garbage output or a bug: mark the host, keep going
            if not isinstance(exc, HvdeckError):
                log.exception("polling %s", name)
            snapshot = self._failed(rt, exc)
            await self._shutdown(rt, session=isinstance(exc, AuthFailed))
        self._publish(snapshot)
        return snapshot

    async def run_host(self, name: str) -> None:
        """Poll one host for ever (until cancelled)."""
        rt = self.hosts[name]
        try:
            while True:
                rt.wake.clear()
                snapshot = await self.poll_host(name)
                if snapshot.status is HostStatus.UP:
                    delay = rt.spec.poll_interval
                elif isinstance(rt.last_error, HostKeyProblem):
                    delay = 3600.0  # wait for the user to trust the key (which pokes us)
                else:
                    delay = min(BACKOFF_MAX, 2.0 ** min(rt.failures - 1, 6))
                await asyncio.sleep(MIN_GAP)
                try:
                    await asyncio.wait_for(rt.wake.wait(), max(0.0, delay - MIN_GAP))
                except asyncio.TimeoutError:
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

    # -- for the UI and the executor ------------------------------------------------------------------

    def backend(self, host: str) -> Backend | None:
        rt = self.hosts.get(host)
        return rt.backend if rt is not None else None

    async def bindings(self, domain: Domain) -> Bindings:
        backend = self.backend(domain.host)
        if backend is None:
            raise HostUnreachable(f"{domain.host} is not connected")
        return await backend.bindings(domain)

    def host_key_problem(self, host: str) -> HostKeyProblem | None:
        error = self.hosts[host].last_error
        return error if isinstance(error, HostKeyProblem) else None

    def target(self, host: str) -> _Target:
        rt = self.hosts[host]
        return _Target(self, host, rt.spec.read_only)

    async def close(self) -> None:
        await asyncio.gather(*(self._shutdown(rt) for rt in self.hosts.values()), return_exceptions=True)

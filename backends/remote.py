"""`RemoteFleet`: the fleet's interface, served by an engine process (backends/engine.py).

The console's process keeps only what it renders. Everything that costs CPU per host — SSH, its crypto,
reading and parsing output, libvirt's RPC — runs in one engine process (the second core), which sends
batched immutable snapshots; calls go over the same pipe and come back as immutable results, consoles
and transfers as byte channels. The methods the console needs answered at once (the gate, the action
lists, plan builders that read nothing from the host, the wizards' forms) are answered here by a
session-less copy of each host's backend: those methods are pure (they read the domain and the host's
latest snapshot), so both processes give the same answer.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import pickle
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import policy
from .base import Action, Backend, ExtraAction
from .engine import dumps
from .errors import ConnectionLost, HostUnreachable, HvdeckError, Unsupported
from .inventory import Inventory
from .model import (
    Bindings,
    ConsoleRef,
    Domain,
    FreeResources,
    HostSnapshot,
    HostStatus,
    Network,
    Section,
    Snapshot,
    StoragePool,
    Volume,
)
from .options import Choice, Form
from .plan import CheckResult, Plan, PlanEvent, PlanResult, StepCallback, StepFinished, StepStarted
from .registry import backend_class
from .transport.base import Channel, Limits

if TYPE_CHECKING:
    from .xen.live import XentopView

UpdateCallback = Callable[[HostSnapshot], None]


class EngineGone(HostUnreachable):
    title = "Engine stopped"


class RemoteFleet:
    """The `Fleet` interface over an engine process. ``start()`` (on the console's loop) starts it."""

    def __init__(self, inventory: Inventory, *, audit_path: str | None = None, limits: Limits | None = None,
                 clock: Callable[[], float] = time.monotonic, on_update: UpdateCallback | None = None) -> None:
        self.inventory = inventory
        self.on_update = on_update
        self._audit_path = audit_path
        self._limits = limits
        self._clock = clock
        self._specs = {spec.name: spec for spec in inventory.hosts}
        self._last: dict[str, HostSnapshot] = {}  # each host's latest snapshot (its kind, its rows)
        self._shadows: dict[str, Backend] = {}
        #: each host's `HostInfo.facts` from its latest snapshot, for its shadow
        self._facts: dict[str, tuple[tuple[str, str], ...]] = {}
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[Any]] = {}
        self._events: dict[int, Callable[[PlanEvent], None]] = {}
        self._channels: dict[int, _RemoteChannel] = {}
        #: bytes and ends that arrived for a channel before its opening's reply was handled
        self._early: dict[int, list[tuple[str, Any]]] = {}
        self._process: Any = None
        self._conn: Any = None
        self._gone = asyncio.Event()
        self._why = ""  # why the engine is gone, once it is
        self._closing = False
        self._listening = False
        #: the latest xentop frame the engine sent for each Xen dom0 asked about, and the hosts being asked
        self._xentop: dict[str, XentopView | None] = {}
        self._xentop_asking: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the process ---------------------------------------------------------------------------------

    def launch(self) -> None:
        """Start the engine process. Call it before a full-screen app takes over the terminal's streams
        (multiprocessing hands stderr's descriptor to its helper process); `start` does it if needed."""
        if self._process is not None:
            return
        from . import engine

        context = multiprocessing.get_context("spawn")  # never fork a process with threads (Textual, libvirt)
        self._conn, child = context.Pipe()
        self._process = context.Process(target=engine.main, name="hvdeck-engine", daemon=True,
                                        args=(child, self.inventory, self._audit_path, self._limits))
        self._process.start()
        child.close()

    def start(self) -> None:
        """Launch the engine if it is not running, and listen to it on the running loop."""
        if self._listening:
            return
        self.launch()
        threading.Thread(target=self._read_engine, args=(asyncio.get_running_loop(), self._conn),
                         name="hvdeck-engine-reader", daemon=True).start()
        self._listening = True

    async def close(self) -> None:
        if self._process is None:
            return
        self._closing = True
        try:
            self._conn.send(("stop",))
        except (OSError, ValueError):
            pass
        await asyncio.to_thread(self._process.join, 10)
        if self._process.is_alive():
            self._process.kill()
        self._conn.close()
        self._process = None
        self._lost("the engine process was stopped")

    def _lost(self, why: str) -> None:
        if self._gone.is_set():
            return
        self._why = why
        self._gone.set()
        for future in self._replies.values():
            if not future.done():
                future.set_exception(EngineGone(why))
        for channel in self._channels.values():
            channel._end(EngineGone(why))
        if self._closing or self.on_update is None:
            return
        # nothing watches the hosts any more: every host says so, its last rows kept and shown as stale
        # rather than going on looking live (no action is offered on a stale host)
        now = self._clock()
        for spec in self.inventory.hosts:
            last = self._last.get(spec.name)
            error = f"not watched: {why}; restart hvdeck"
            if last is not None:
                snapshot = replace(last, status=HostStatus.STALE, error=error, key_problem=None)
            else:
                snapshot = HostSnapshot(host=spec.name, kind=spec.kind, status=HostStatus.ERROR, taken_at=now,
                                        read_only=spec.read_only, error=error)
            self.on_update(snapshot)

    def _send(self, message: tuple[Any, ...]) -> None:
        if self._gone.is_set():
            raise EngineGone("the engine process is not running")
        try:
            data = dumps(message)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise HvdeckError(f"cannot send {message[0]} to the engine process: {exc}") from exc
        try:
            self._conn.send_bytes(data)
        except (OSError, ValueError) as exc:
            self._lost(f"the engine process stopped ({exc})")
            raise EngineGone("the engine process stopped") from None

    def _read_engine(self, loop: asyncio.AbstractEventLoop, conn: Any) -> None:
        """The reader thread: each message from the engine is read and unpickled here and handed to the
        loop in order (those already waiting together). Read on the loop, a batch the engine was still
        writing held every key back until its last byte came; here the loop never waits for the pipe, and
        a long unpickle gives way to it at the interpreter's switch interval."""
        while True:
            try:
                messages = [conn.recv()]
                while len(messages) < 64 and conn.poll():
                    messages.append(conn.recv())
            except Exception as exc:  # noqa: BLE001 - EOF, a closed pipe, a message that does not unpickle
                why = "" if isinstance(exc, (EOFError, OSError)) else f": {exc}"
                self._to_loop(loop, self._reader_ended, why)
                return
            if not self._to_loop(loop, self._receive_all, messages):
                return

    @staticmethod
    def _to_loop(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: Any) -> bool:
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop has closed: the console is gone
            return False
        return True

    def _receive_all(self, messages: list[tuple[Any, ...]]) -> None:
        for message in messages:
            self._receive(message)

    def _reader_ended(self, why: str) -> None:
        if self._closing or self._gone.is_set():
            return
        code = self._process.exitcode if self._process is not None else None
        self._lost(f"the engine process ended (exit status {code}){why}")

    def _receive(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "snapshots":
            for snapshot in message[1]:
                self._last[snapshot.host] = snapshot
                facts = snapshot.info.facts if snapshot.info is not None else None
                if facts is not None and facts != self._facts.get(snapshot.host):
                    self._facts[snapshot.host] = facts
                    shadow = self._shadows.get(snapshot.host)
                    if shadow is not None and shadow.kind == snapshot.kind:
                        shadow.adopt(facts)
                if self.on_update is not None:
                    self.on_update(snapshot)
        elif kind == "reply":
            _, request, ok, value = message
            future = self._replies.pop(request, None)
            if future is not None and not future.done():
                future.set_result(value) if ok else future.set_exception(value)
        elif kind == "event":
            callback = self._events.get(message[1])
            if callback is not None:
                callback(message[2])
        elif kind in ("data", "end", "notices"):
            channel = self._channels.get(message[1])
            if channel is None:
                self._early.setdefault(message[1], []).append((kind, message[2]))
            else:
                channel._deliver(kind, message[2])

    async def _ask(self, message: tuple[Any, ...]) -> Any:
        request = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._replies[request] = future
        self._send((message[0], request, *message[1:]))
        try:
            return await future
        finally:
            self._replies.pop(request, None)

    async def _call(self, method: str, *args: Any) -> Any:
        return await self._ask(("call", method, args))

    # -- polling -----------------------------------------------------------------------------------------

    def initial_snapshots(self) -> tuple[HostSnapshot, ...]:
        now = self._clock()
        return tuple(HostSnapshot(host=spec.name, kind=spec.kind, status=HostStatus.CONNECTING, taken_at=now,
                                  read_only=spec.read_only) for spec in self.inventory.hosts)

    async def run_host(self, name: str) -> None:
        """The host is polled in the engine; this waits while it is, and fails when the engine stops (the
        console's poller worker then says so)."""
        self.start()
        await self._gone.wait()
        if not self._closing:
            raise EngineGone(self._why or "the engine process stopped")

    def poke(self, name: str) -> None:
        try:
            self._send(("poke", name))
        except EngineGone:
            pass

    # -- answered here: pure decisions from a session-less copy of the host's backend ----------------------

    def _kind(self, host: str) -> str | None:
        """The kind the host's latest snapshot names (None before the first)."""
        last = self._last.get(host)
        return last.kind if last is not None else None

    def backend(self, host: str) -> Backend | None:
        kind = self._kind(host)
        if kind is None or kind == "auto":
            return None
        shadow = self._shadows.get(host)
        if shadow is None or shadow.kind != kind:
            try:
                shadow = self._shadows[host] = backend_class(kind)(self._specs[host], None)  # type: ignore[arg-type]
                shadow.adopt(self._facts.get(host, ()))  # what the engine's probe of the host learned
            except (HvdeckError, KeyError):
                return None
        return shadow

    def _known(self, host: str) -> Backend:
        backend = self.backend(host)
        if backend is None:
            raise HostUnreachable(f"{host} is not connected")
        return backend

    def why_not(self, action: Action | ExtraAction, domain: Domain, host: HostSnapshot | None,
                now: float | None = None, fleet: Iterable[HostSnapshot] = ()) -> str | None:
        return policy.why_not(self.backend(domain.host), action, domain, host, now, fleet)

    def extra_actions(self, host: str) -> tuple[ExtraAction, ...]:
        backend = self.backend(host)
        return backend.extra_actions() if backend is not None else ()

    def plan_action(self, action: Action, domain: Domain, host: HostSnapshot | None,
                    fleet: Iterable[HostSnapshot] = ()) -> Plan:
        fleet = tuple(fleet)
        reason = self.why_not(action, domain, host, fleet=fleet)
        if reason is not None:
            raise Unsupported(f"Cannot {action.label.lower()} {domain.name}: {reason}")
        return policy.with_start_warning(self._known(domain.host).plan_action(action, domain), action, domain,
                                         fleet)

    def console(self, domain: Domain) -> ConsoleRef:
        return self._known(domain.host).console(domain)

    def create_form(self, host: str) -> Form | None:
        backend = self.backend(host)
        return backend.create_form() if backend is not None else None

    def clone_form(self, domain: Domain) -> Form | None:
        backend = self.backend(domain.host)
        return backend.clone_form(domain) if backend is not None else None

    def migrate_form(self, domain: Domain) -> Form | None:
        backend = self.backend(domain.host)
        return backend.migrate_form(domain) if backend is not None else None

    def migration_targets(self, domain: Domain) -> tuple[str, ...]:
        kind = self._kind(domain.host)
        return tuple(name for name in self._specs if name != domain.host and self._kind(name) == kind)

    # -- answered by the engine ----------------------------------------------------------------------------

    async def plan_extra(self, action: ExtraAction, domain: Domain, values: dict[str, str],
                         host: HostSnapshot | None) -> Plan:
        reason = self.why_not(action, domain, host)
        if reason is not None:
            raise Unsupported(f"Cannot {action.label.lower()} {domain.name}: {reason}")
        return await self._call("plan_extra", action, domain, values, host)

    async def bindings(self, domain: Domain) -> Bindings:
        return await self._call("bindings", domain)

    async def host_detail(self, host: str) -> tuple[Section, ...]:
        return await self._call("host_detail", host)

    async def preflight(self, plan: Plan) -> tuple[CheckResult, ...]:
        return await self._call("preflight", plan)

    async def storage(self, host: str) -> tuple[StoragePool, ...]:
        return await self._call("storage", host)

    async def volumes(self, host: str, pool: str | None = None) -> tuple[Volume, ...]:
        return await self._call("volumes", host, pool)

    async def snapshots(self, host: str, of: str) -> tuple[Snapshot, ...]:
        return await self._call("snapshots", host, of)

    async def networks(self, host: str) -> tuple[Network, ...]:
        return await self._call("networks", host)

    async def resources(self, host: str) -> FreeResources:
        return await self._call("resources", host)

    async def create_choices(self, host: str) -> dict[str, tuple[Choice, ...]]:
        return await self._call("create_choices", host)

    async def plan_create(self, host: str, values: dict[str, Any]) -> Plan:
        return await self._call("plan_create", host, values)

    async def clone_choices(self, domain: Domain) -> dict[str, tuple[Choice, ...]]:
        return await self._call("clone_choices", domain)

    async def plan_clone(self, domain: Domain, values: dict[str, Any]) -> Plan:
        return await self._call("plan_clone", domain, values)

    async def plan_snapshot(self, host: str, of: str, snapshot: str, operation: str) -> Plan:
        return await self._call("plan_snapshot", host, of, snapshot, operation)

    async def poll_host(self, name: str) -> HostSnapshot:
        """One poll now, in the engine (besides its own schedule); the snapshot also reaches `on_update`."""
        return await self._call("poll_host", name)

    def xentop_frame(self, host: str) -> XentopView | None:
        """The latest xentop frame the engine sent for ``host`` (None before the first); each call asks the
        engine for a newer one in the background, so a screen that calls this on a timer sees the stream
        one call late."""
        if host not in self._xentop_asking:
            self._xentop_asking.add(host)

            async def ask() -> None:
                try:
                    self._xentop[host] = await self._call("xentop_frame", host)
                except HvdeckError:
                    self._xentop[host] = None
                finally:
                    self._xentop_asking.discard(host)

            self._tasks.add(task := asyncio.get_running_loop().create_task(ask()))
            task.add_done_callback(self._tasks.discard)
        return self._xentop.get(host)

    async def plan_migrate(self, domain: Domain, target: str, values: dict[str, Any]) -> Plan:
        return await self._call("plan_migrate", domain, target, values)

    async def run_plan(self, plan: Plan, *, on_step: StepCallback | None = None,
                       on_event: Callable[[PlanEvent], None] | None = None,
                       cancel: asyncio.Event | None = None) -> PlanResult:
        """Run the plan in the engine (its executor, its audit log); events arrive as it runs."""
        request = next(self._ids)

        def event(e: PlanEvent) -> None:
            if on_event is not None:
                on_event(e)
            if on_step is not None and isinstance(e, StepStarted):
                on_step(e.index, None)
            elif on_step is not None and isinstance(e, StepFinished):
                on_step(e.index, e.outcome)

        self._events[request] = event
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._replies[request] = future
        watcher = None
        if cancel is not None:
            async def forward_cancel() -> None:
                await cancel.wait()
                self._send(("cancel", request))

            watcher = asyncio.ensure_future(forward_cancel())
        try:
            self._send(("plan", request, plan))
            return await future
        finally:
            self._events.pop(request, None)
            self._replies.pop(request, None)
            if watcher is not None:
                watcher.cancel()

    async def open_console(self, domain: Domain, *, cols: int = 80, rows: int = 24, force: bool = False) -> Channel:
        cid = await self._ask(("open", "console", (domain, cols, rows, force)))
        return self._channel(cid, ("console", domain.host, domain.name))

    async def open_process(self, host: str, argv: Sequence[str]) -> Channel:
        cid = await self._ask(("open", "process", (host, tuple(argv))))
        return self._channel(cid, tuple(argv))

    def _channel(self, cid: int, argv: tuple[str, ...]) -> Channel:
        channel = self._channels[cid] = _RemoteChannel(self, cid, argv)
        for kind, value in self._early.pop(cid, []):
            channel._deliver(kind, value)
        return channel


class _RemoteChannel(Channel):
    """A channel held by the engine; its bytes cross the pipe."""

    def __init__(self, fleet: RemoteFleet, cid: int, argv: tuple[str, ...]) -> None:
        self.argv = argv
        self._fleet = fleet
        self._cid = cid
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._ended: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._closed = False
        self._notices: list[str] = []

    def take_notices(self) -> list[str]:
        """What the console server said to the user (a console channel's notices, from the engine)."""
        notices, self._notices = self._notices, []
        return notices

    def ended(self, status: int | None) -> str:
        """How the console ended, in the engine's words (a console channel's sentence)."""
        outcome = self._ended.result() if self._ended.done() else None
        if isinstance(outcome, tuple) and len(outcome) > 2 and outcome[2]:
            return str(outcome[2])
        return "The console closed."

    def _deliver(self, kind: str, value: Any) -> None:
        if kind == "data":
            self._queue.put_nowait(value)
        elif kind == "notices":
            self._notices.extend(value)
        else:
            self._fleet._channels.pop(self._cid, None)
            self._end(value)

    def _end(self, outcome: Any) -> None:
        if not self._ended.done():
            self._ended.set_result(outcome)
        self._queue.put_nowait(b"")

    async def read(self, size: int = 65536) -> bytes:
        data = await self._queue.get()
        if not data and self._ended.done() and isinstance(self._ended.result(), BaseException):
            error = self._ended.result()
            raise error if isinstance(error, ConnectionLost) else ConnectionLost(str(error))
        return data

    def _op(self, *message: Any) -> None:
        if not self._closed:
            try:
                self._fleet._send(message)
            except EngineGone:
                pass

    def write(self, data: bytes) -> None:
        self._op("write", self._cid, data)

    def write_eof(self) -> None:
        self._op("eof", self._cid)

    def resize(self, cols: int, rows: int) -> None:
        self._op("resize", self._cid, cols, rows)

    async def wait(self) -> int | None:
        outcome = await self._ended
        return outcome[0] if isinstance(outcome, tuple) else None

    @property
    def stderr_tail(self) -> str:
        if self._ended.done() and isinstance(self._ended.result(), tuple):
            return str(self._ended.result()[1])
        return ""

    async def close(self) -> None:
        self._op("close", self._cid)
        self._closed = True
        self._fleet._channels.pop(self._cid, None)

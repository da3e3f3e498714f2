"""The engine process: the hosts' connections, their crypto and their parsing, away from the console.

The console's process only renders. `RemoteFleet` (backends/remote.py) starts this process and talks to
it over one pipe of pickled, immutable messages; here a real `Fleet` polls every host, runs plans
(the executor and its audit log live here) and holds the byte channels of consoles and transfers.

Messages (tuples; the first item names them):

from the console              here
``("call", id, method, args)``  → ``("reply", id, ok, value or error)``   a `Fleet` method (PUBLIC)
``("plan", id, plan)``          → ``("event", id, PlanEvent)``... then ``("reply", id, True, result)``
``("cancel", id)``               the running plan's cancel event
``("open", id, how, args)``     → ``("reply", id, True, channel id)``; then ``("data", cid, bytes)``...
                                   and ``("end", cid, exit status or error)``
``("write"|"resize"|"eof"|"close", cid, ...)``
``("poke", host)``, ``("stop",)``
and unasked: ``("snapshots", [HostSnapshot, ...])``, batched every `BATCH_S`.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import itertools
import logging
import multiprocessing.connection
import pickle
import signal
import types
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .audit import AuditLog
from .errors import HvdeckError
from .fleet import Fleet
from .inventory import Inventory
from .model import HostSnapshot
from .transport.base import Channel, Limits

log = logging.getLogger(__name__)

#: snapshots are sent to the console at most this often (seconds): many hosts reporting make one message
BATCH_S = 0.1
#: the `Fleet` methods the console may call
PUBLIC = frozenset({
    "bindings", "host_detail", "plan_extra", "preflight", "storage", "volumes", "snapshots", "networks",
    "resources", "create_choices", "plan_create", "clone_choices", "plan_clone", "plan_migrate", "plan_snapshot",
    "poll_host", "xentop_frame",
})


def main(conn: multiprocessing.connection.Connection, inventory: Inventory, audit_path: str | None,
         limits: Limits | None) -> None:
    """The engine process's entry point (`multiprocessing`, spawn)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the console, which stops us
    asyncio.run(Engine(conn, inventory, audit_path, limits).serve())


class Engine:
    def __init__(self, conn: multiprocessing.connection.Connection, inventory: Inventory, audit_path: str | None,
                 limits: Limits | None) -> None:
        self.conn = conn
        self.fleet = Fleet(inventory, audit=AuditLog(audit_path) if audit_path else None, limits=limits,
                           on_update=self._queue)
        self._pending: dict[str, HostSnapshot] = {}
        self._flush: asyncio.TimerHandle | None = None
        self._cancels: dict[int, asyncio.Event] = {}
        self._channels: dict[int, Channel] = {}
        self._next_channel = 0
        self._stopped = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.conn.fileno(), self._readable)
        pollers = [asyncio.create_task(self.fleet.run_host(name)) for name in self.fleet.hosts]
        try:
            await self._stopped.wait()
        finally:
            loop.remove_reader(self.conn.fileno())
            for task in pollers:
                task.cancel()
            await asyncio.gather(*pollers, return_exceptions=True)
            for channel in list(self._channels.values()):
                await channel.close()
            await self.fleet.close()

    # -- to the console ---------------------------------------------------------------------------------

    def _send(self, message: tuple[Any, ...]) -> None:
        try:
            data = dumps(message)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            # a bug (a value that cannot cross): the caller gets an error, the engine keeps serving
            log.exception("cannot send %s", message[0])
            if message[0] != "reply":
                return
            data = dumps(("reply", message[1], False, HvdeckError(f"the engine could not send its answer: {exc}")))
        try:
            self.conn.send_bytes(data)
        except (BrokenPipeError, EOFError, OSError):
            self._stopped.set()  # the console is gone

    def _queue(self, snapshot: HostSnapshot) -> None:
        self._pending[snapshot.host] = snapshot
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(BATCH_S, self._send_snapshots)

    def _send_snapshots(self) -> None:
        self._flush = None
        batch, self._pending = list(self._pending.values()), {}
        if batch:
            self._send(("snapshots", batch))

    # -- from the console -------------------------------------------------------------------------------

    def _readable(self) -> None:
        try:
            while self.conn.poll():
                self._dispatch(self.conn.recv())
        except (EOFError, OSError):
            self._stopped.set()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _dispatch(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "call":
            self._spawn(self._call(*message[1:]))
        elif kind == "plan":
            self._spawn(self._plan(*message[1:]))
        elif kind == "cancel":
            event = self._cancels.get(message[1])
            if event is not None:
                event.set()
        elif kind == "open":
            self._spawn(self._open(*message[1:]))
        elif kind in ("write", "resize", "eof", "close"):
            self._channel_op(kind, message[1], *message[2:])
        elif kind == "poke":
            self.fleet.poke(message[1])
        elif kind == "stop":
            self._stopped.set()

    async def _call(self, request: int, method: str, args: tuple[Any, ...]) -> None:
        if method not in PUBLIC:
            self._send(("reply", request, False, HvdeckError(f"the engine has no method {method}")))
            return
        try:
            value = getattr(self.fleet, method)(*args)
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller, who shows it
            self._send(("reply", request, False, _portable(exc)))
        else:
            self._send(("reply", request, True, value))

    async def _plan(self, request: int, plan: Any) -> None:
        cancel = self._cancels[request] = asyncio.Event()
        try:
            result = await self.fleet.run_plan(plan, on_event=lambda event: self._send(("event", request, event)),
                                               cancel=cancel)
        except Exception as exc:  # noqa: BLE001
            self._send(("reply", request, False, _portable(exc)))
        else:
            self._send(("reply", request, True, result))
        finally:
            self._cancels.pop(request, None)

    async def _open(self, request: int, how: str, args: tuple[Any, ...]) -> None:
        try:
            if how == "console":
                domain, cols, rows, force = args
                channel = await self.fleet.open_console(domain, cols=cols, rows=rows, force=force)
            else:
                host, argv = args
                channel = await self.fleet.target(host).open_process(argv)
        except Exception as exc:  # noqa: BLE001
            self._send(("reply", request, False, _portable(exc)))
            return
        self._next_channel += 1
        cid = self._next_channel
        self._channels[cid] = channel
        self._send(("reply", request, True, cid))
        self._spawn(self._pump(cid, channel))

    async def _pump(self, cid: int, channel: Channel) -> None:
        # a console channel (backends/console.py) also has notices (the console server's own words) and
        # a sentence saying how it ended: they cross too
        take_notices = getattr(channel, "take_notices", None)
        ended = getattr(channel, "ended", None)
        try:
            while data := await channel.read():
                self._send(("data", cid, data))
                if take_notices is not None and (notices := take_notices()):
                    self._send(("notices", cid, notices))
            status: Any = await channel.wait()
            self._send(("end", cid, (status, channel.stderr_tail, ended(status) if ended is not None else None)))
        except Exception as exc:  # noqa: BLE001
            self._send(("end", cid, _portable(exc)))
        finally:
            self._channels.pop(cid, None)
            await channel.close()

    def _channel_op(self, op: str, cid: int, *args: Any) -> None:
        channel = self._channels.get(cid)
        if channel is None:
            return
        if op == "write":
            channel.write(args[0])
        elif op == "resize":
            channel.resize(*args)
        elif op == "eof":
            channel.write_eof()
        else:
            self._spawn(channel.close())


# -- what crosses the pipe -----------------------------------------------------------------------------------
#
# A plan's checks and progress readers are often closures (a parser bound to the values the wizard was given),
# which pickle cannot send. They stay where they were made: one crosses as an `EngineCallable` handle, and
# when the plan comes back to be checked or run, the handle turns back into the function.

#: functions sent as handles, by token (the newest `KEEP_CALLABLES`); filled in the process that made them
_CALLABLES: OrderedDict[int, Callable[..., Any]] = OrderedDict()
KEEP_CALLABLES = 4096
_tokens = itertools.count(1)


class EngineCallable:
    """A function that stayed in the other process (a closure of a plan's check or progress reader). Calling
    it here is an error; sent back, it is the function again."""

    __slots__ = ("token",)

    def __init__(self, token: int) -> None:
        self.token = token

    def __reduce__(self) -> tuple[Any, ...]:
        return _resolve, (self.token,)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise HvdeckError("this check or progress reader runs in the engine process, not here")


def _resolve(token: int) -> Any:
    return _CALLABLES.get(token) or EngineCallable(token)


def _remember(fn: Callable[..., Any]) -> int:
    token = next(_tokens)
    _CALLABLES[token] = fn
    while len(_CALLABLES) > KEEP_CALLABLES:
        _CALLABLES.popitem(last=False)
    return token


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, types.FunctionType) and "<" in obj.__qualname__:  # <locals>, <lambda>
            return _resolve, (_remember(obj),)
        return NotImplemented


def dumps(message: Any) -> bytes:
    """``message`` pickled, closures as `EngineCallable` handles (read with `Connection.recv`)."""
    buffer = io.BytesIO()
    _Pickler(buffer, pickle.HIGHEST_PROTOCOL).dump(message)
    return buffer.getvalue()


def _portable(exc: BaseException) -> BaseException:
    """An error that pickles: ours do; anything else becomes an HvdeckError with its text."""
    if isinstance(exc, HvdeckError):
        return exc
    return HvdeckError(f"{type(exc).__name__}: {exc}", title="Engine error")

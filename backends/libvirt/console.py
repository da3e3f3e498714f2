"""A libvirt guest's serial console: `virDomainOpenConsole` on a libvirt stream, as a `Channel`.

The stream goes through the host's libvirt connection, i.e. through the forwarded unix socket of its SSH
connection (no second login). It is non-blocking (``VIR_STREAM_NONBLOCK``) and everything done on it
after it was opened happens on libvirt's event thread (`events.py`): the stream callback receives the
guest's bytes and hands them to the asyncio loop with ``call_soon_threadsafe``; keys typed and flow
control are passed the other way with a zero timer of libvirt's event loop (``virEventAddTimeout``),
which runs the work on that thread. Opening and aborting the stream are RPC calls that wait for the
daemon: they run in a worker thread, never on the asyncio loop (which serves the forward).

What libvirt does (and the test bed measured, shared testbed README Q3):

* one console session per domain: a second open fails with VIR_ERR_OPERATION_FAILED "Active console session
  exists for this domain" (`ConsoleBusy`; libvirt does not say which client holds it) unless
  ``VIR_DOMAIN_CONSOLE_FORCE``, which closes the other session's stream (that client sees its console end);
* output of a pty serial port is dropped while nobody is attached: a prompt printed earlier is not
  replayed (press Enter to see one);
* the test driver has no ``virDomainOpenConsole`` (shared formats libvirt §1.1): `console_ref` says so
  for ``test:`` URIs before anything is tried.

Flow control: the bytes waiting for the reader are counted; above `HIGH_WATER` the stream's readable
events are turned off (libvirt keeps the rest) and turned on again below `LOW_WATER`.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import libvirt

from ..console import ConsoleChannel
from ..errors import ConnectionLost, ConsoleBusy, HvdeckError, Unsupported
from ..inventory import HostSpec
from ..model import ConsoleRef, Domain, DomainState
from ..transport.base import Channel
from .events import call_soon_in

if TYPE_CHECKING:
    from .backend import LibvirtBackend

#: bytes waiting for the reader above which the stream is not read, and below which it is again
HIGH_WATER = 1024 * 1024
LOW_WATER = 256 * 1024
#: the most one recv asks for
RECV_BYTES = 65536

_READ_EVENTS = libvirt.VIR_STREAM_EVENT_READABLE | libvirt.VIR_STREAM_EVENT_HANGUP | libvirt.VIR_STREAM_EVENT_ERROR
_LINK_CODES = {libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_RPC,
               libvirt.VIR_ERR_INVALID_CONN}


def console_ref(spec: HostSpec, domain: Domain) -> ConsoleRef:
    """The domain's serial console, or `Unsupported` with the reason there is none now (pure)."""
    if spec.libvirt_uri.startswith("test:"):
        raise Unsupported(f"{spec.name} runs libvirt's test driver ({spec.libvirt_uri.split('?')[0]}), which has no "
                          "consoles: it does not implement virDomainOpenConsole")
    if domain.id is None or domain.state in (DomainState.STOPPED, DomainState.UNKNOWN):
        raise Unsupported(f"{domain.name} is {domain.native_state}: libvirt has a console only while the domain "
                          "runs (start it first)")
    if domain.console is None:
        raise Unsupported(f"{domain.name} has no serial or console device in its definition")
    return ConsoleRef(kind="libvirt", description=f"serial console ({domain.console})", can_force=True)


async def open_console(backend: LibvirtBackend, domain: Domain, *, force: bool) -> ConsoleChannel:
    """Open ``domain``'s first console through ``backend``'s connection. Raises `Unsupported`,
    `ConsoleBusy` (another client holds it and ``force`` is False), `ConnectionLost`, `HvdeckError`."""
    ref = console_ref(backend.spec, domain)
    conn = backend._live()
    loop = asyncio.get_running_loop()

    def open_sync() -> StreamChannel:
        dom = backend._lookup(conn, domain.name, domain.uuid)
        stream = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
        try:
            dom.openConsole(None, stream, libvirt.VIR_DOMAIN_CONSOLE_FORCE if force else 0)
        except libvirt.libvirtError:
            _quietly(stream.abort)
            raise
        channel = StreamChannel(stream, loop, ("virDomainOpenConsole", domain.name), alive=conn.isAlive)
        channel.start()
        return channel

    try:
        inner = await asyncio.to_thread(open_sync)
    except libvirt.libvirtError as exc:
        raise _console_error(exc, domain, conn) from None
    return ConsoleChannel(inner, ref, session=backend.session)


def _console_error(exc: libvirt.libvirtError, domain: Domain, conn: libvirt.virConnect) -> HvdeckError:
    message = (exc.get_error_message() or str(exc)).strip()
    code = exc.get_error_code()
    if code == libvirt.VIR_ERR_OPERATION_FAILED and "console session exists" in message:
        return ConsoleBusy(f"{domain.name}: libvirt: {message}. Another client (virsh console, virt-manager, "
                           "another hvdeck) is attached; libvirt does not say which. Forcing takes the console "
                           "over: the other client's session ends.")
    if code == libvirt.VIR_ERR_NO_SUPPORT:
        return Unsupported(f"{domain.name}: this libvirt driver has no consoles: {message}")
    if code in (libvirt.VIR_ERR_OPERATION_INVALID, libvirt.VIR_ERR_NO_DOMAIN):
        return Unsupported(f"{domain.name}: libvirt: {message}")
    if code in _LINK_CODES or not _alive(conn):
        return ConnectionLost(f"libvirt: {message}")
    return HvdeckError(f"{domain.name}: libvirt cannot open the console: {message}", title="libvirt error")


def _alive(conn: libvirt.virConnect) -> bool:
    try:
        return bool(conn.isAlive())
    except libvirt.libvirtError:
        return False


def _quietly(call: Callable[[], Any]) -> None:
    try:
        call()
    except libvirt.libvirtError:
        pass


def on_event_thread(callback: Callable[[], None]) -> None:
    """Run ``callback()`` once on libvirt's event thread (a zero timer that removes itself)."""

    def fire(timer: int, _opaque: Any) -> None:
        libvirt.virEventRemoveTimeout(timer)
        callback()

    libvirt.virEventAddTimeout(0, fire, None)


class StreamChannel(Channel):
    """A non-blocking console stream as a `Channel` (see the module docstring). Build it on a worker
    thread right after ``openConsole`` and call `start`; use it from the asyncio ``loop`` it was given.

    ``alive`` tells, when the stream failed, whether the connection under it is still up (a dead one makes
    the read raise `ConnectionLost`)."""

    def __init__(self, stream: libvirt.virStream, loop: asyncio.AbstractEventLoop, argv: tuple[str, ...], *,
                 alive: Callable[[], int | bool]) -> None:
        self.argv = argv
        self._stream = stream
        self._loop = loop
        self._alive = alive
        # loop side
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self._arrived = asyncio.Event()
        self._done = False  # no more data will come
        self._error: str | None = None
        self._closed = False
        self._paused = False
        # event-thread side (and `write`, under the lock)
        self._lock = threading.Lock()
        self._out = bytearray()
        self._flush_scheduled = False
        self._writable = False
        self._finished = False

    # -- event thread ----------------------------------------------------------------------------------

    def start(self) -> None:
        self._stream.eventAddCallback(_READ_EVENTS, self._on_event, None)

    def _events(self) -> int:
        events = libvirt.VIR_STREAM_EVENT_HANGUP | libvirt.VIR_STREAM_EVENT_ERROR
        if not self._paused:
            events |= libvirt.VIR_STREAM_EVENT_READABLE
        if self._writable:
            events |= libvirt.VIR_STREAM_EVENT_WRITABLE
        return events

    def _update(self) -> None:
        if not self._finished:
            _quietly(lambda: self._stream.eventUpdateCallback(self._events()))

    def _on_event(self, stream: libvirt.virStream, events: int, _opaque: Any) -> None:
        if self._finished:
            return
        if events & libvirt.VIR_STREAM_EVENT_WRITABLE:
            self._flush()
        hangup = bool(events & libvirt.VIR_STREAM_EVENT_HANGUP)
        if events & libvirt.VIR_STREAM_EVENT_READABLE or hangup:
            while True:  # one chunk per readable event (libvirt fires again); all that is left on a hangup
                try:
                    data = stream.recv(RECV_BYTES)
                except libvirt.libvirtError as exc:
                    self._finish(f"libvirt: {(exc.get_error_message() or str(exc)).strip()}")
                    return
                if not isinstance(data, bytes):  # -2: nothing more now
                    break
                if not data:
                    self._finish(None)
                    return
                call_soon_in(self._loop, partial(self._arrive, data))
                if not hangup:
                    break
        if events & libvirt.VIR_STREAM_EVENT_ERROR:
            self._finish("libvirt reported an error on the console stream")
        elif hangup:
            self._finish(None)

    def _finish(self, error: str | None) -> None:
        if self._finished:
            return
        self._finished = True
        _quietly(self._stream.eventRemoveCallback)
        call_soon_in(self._loop, partial(self._ended, error))

    def _flush(self) -> None:
        """Send what was typed; what libvirt cannot take now waits for the stream to be writable."""
        with self._lock:
            self._flush_scheduled = False
            pending = bytes(self._out)
            self._out.clear()
        sent = 0
        while sent < len(pending) and not self._finished:
            try:
                count = self._stream.send(pending[sent:sent + RECV_BYTES])
            except libvirt.libvirtError as exc:
                self._finish(f"libvirt: {(exc.get_error_message() or str(exc)).strip()}")
                return
            if count == -2:
                break
            sent += count
        with self._lock:
            if sent < len(pending):
                self._out[:0] = pending[sent:]
            writable = bool(self._out)
        if writable != self._writable:
            self._writable = writable
            self._update()

    # -- asyncio loop ------------------------------------------------------------------------------------

    def _arrive(self, data: bytes) -> None:
        if self._closed:
            return
        self._queue.append(data)
        self._queued += len(data)
        self._arrived.set()
        if self._queued > HIGH_WATER and not self._paused:
            self._paused = True
            on_event_thread(self._update)

    def _ended(self, error: str | None) -> None:
        self._done = True
        self._error = error
        self._arrived.set()

    async def read(self, size: int = 65536) -> bytes:
        while not self._queue and not self._done and not self._closed:
            self._arrived.clear()
            await self._arrived.wait()
        if self._queue:
            data = self._queue.popleft()
            if len(data) > size:
                data, rest = data[:size], data[size:]
                self._queue.appendleft(rest)
            self._queued -= len(data)
            if self._paused and self._queued < LOW_WATER:
                self._paused = False
                on_event_thread(self._update)
            return data
        if self._error is not None and not self._closed and not await asyncio.to_thread(self._alive):
            raise ConnectionLost(f"{self._error} (the connection to libvirt is gone)")
        return b""

    def write(self, data: bytes) -> None:
        if self._closed or self._done or not data:
            return
        with self._lock:
            self._out += data
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        on_event_thread(self._flush)

    def write_eof(self) -> None:
        return None

    @property
    def end_reason(self) -> str:
        """How the stream ended, for `ConsoleChannel.ended`."""
        if self._error is not None:
            return (f"{self._error}: the domain stopped, or another client took the console over with force")
        return ("libvirt closed the stream: the domain stopped, its console went away, or another client took "
                "it over with force")

    async def wait(self) -> int | None:
        return 0 if self._done and self._error is None else None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._arrived.set()
        stream = self._stream

        def finish() -> None:
            self._finished = True
            _quietly(stream.eventRemoveCallback)
            _quietly(stream.abort)

        await asyncio.to_thread(finish)

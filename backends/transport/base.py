"""The Session protocol: one control host's connection, shared by everything that talks to that host.

A `Session` is the host connection. The poller, the plan executor, consoles and streams all borrow the
same one: `SshSession` multiplexes them over one asyncssh connection, `LocalSession` runs them on this
machine. Everything that crosses this boundary is immutable data (`Result`) or a byte/line channel
(`Channel`, `LineStream`); nothing above it holds an asyncssh object, so connections can later move to
another process behind the same interface.

Three kinds of use, with separate budgets below OpenSSH's MaxSessions (10 by default):

* ``run(argv)`` — a short command. Its output is bounded (`OutputTooLarge`), it has a timeout
  (`CommandTimeout`), and waiting for a free channel has its own timeout (`ChannelBusy`).
* ``stream(argv)`` — a long-running command read line by line as it prints (``xentop -b``); the exit
  status and the tail of stderr are there when it ends.
* ``open_pty(argv)`` / ``open_process(argv)`` — a byte channel (a console on a pseudo-terminal; one end of
  a transfer between hosts).

A failure of one command never closes the connection under the others. Only a lost link does, and then
every user learns it: `run` raises `ConnectionLost`, a stream or channel read raises it, and listeners
registered with `on_link_lost` are called.
"""

from __future__ import annotations

import abc
import asyncio
import codecs
import shlex
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import CommandFailed, HostUnreachable, HvdeckError

#: bytes of stdout one command may return before hvdeck stops reading (settings: output_limit_mb)
DEFAULT_OUTPUT_LIMIT = 16 * 1024 * 1024
#: bytes of stderr kept (the tail, where the error is)
STDERR_LIMIT = 64 * 1024
#: one line of a stream longer than this ends the stream with OutputTooLarge
LINE_LIMIT = 1024 * 1024
#: short commands in flight per host; long-lived channels (streams, PTYs, transfers) per host
DEFAULT_COMMAND_CHANNELS = 6
DEFAULT_LONG_CHANNELS = 3
#: seconds to wait for a free channel before `ChannelBusy`
SLOT_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class Limits:
    """A host connection's budgets (settings: ssh.max_command_channels, ssh.max_long_channels,
    output_limit_mb)."""

    command_channels: int = DEFAULT_COMMAND_CHANNELS
    long_channels: int = DEFAULT_LONG_CHANNELS
    output_limit: int = DEFAULT_OUTPUT_LIMIT


class CommandTimeout(HostUnreachable):
    """A command gave no complete answer in time. The connection stays open for everyone else; a
    command that changes the host may still be running there (its outcome is unknown)."""

    title = "No answer in time"


class OutputTooLarge(HvdeckError):
    """A command printed more than hvdeck reads from one command (or one host at once)."""

    title = "Output too large"


class ChannelBusy(HvdeckError):
    """Every channel of this kind to the host stayed in use for longer than the slot timeout."""

    title = "Host busy"


@dataclass(frozen=True, slots=True)
class Result:
    """A finished command: its argv, exit status and (decoded, bounded) output."""

    argv: tuple[str, ...]
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    def check(self) -> "Result":
        if self.exit_status != 0:
            raise CommandFailed(self.argv, self.exit_status, self.stderr)
        return self


#: called with (stream name "stdout"|"stderr", decoded text) as output arrives
OutputCallback = Callable[[str, str], None]


class Forward(abc.ABC):
    """A local unix socket that reaches a socket on the host. ``path`` is where to connect locally."""

    path: str

    @abc.abstractmethod
    async def close(self) -> None: ...


class Channel(abc.ABC):
    """A byte channel to a process on the host: a console on a pseudo-terminal, or a plain process (one end
    of a transfer). Always `close()` it (it holds one of the host's long-channel slots)."""

    #: the command line it runs, for messages and the audit log
    argv: tuple[str, ...]

    @abc.abstractmethod
    async def read(self, size: int = 65536) -> bytes:
        """Up to ``size`` bytes of output (stdout, merged with stderr on a PTY); ``b""`` once the process
        ended. Raises `ConnectionLost` when the link to the host dropped."""

    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Send bytes to the process's input (keys, pasted text, a transfer's data)."""

    async def drain(self) -> None:
        """Wait until written data has been handed to the transport (flow control for transfers)."""
        return None

    @abc.abstractmethod
    def write_eof(self) -> None:
        """No more input (a transfer's source ended)."""

    def resize(self, cols: int, rows: int) -> None:
        """Tell the remote pseudo-terminal its new size (no-op for a plain process)."""
        return None

    @abc.abstractmethod
    async def wait(self) -> int | None:
        """The exit status once the process ended; None if it is unknown (the link dropped, a signal)."""

    @property
    def stderr_tail(self) -> str:
        """The last part of stderr (plain processes only; a PTY merges it into the output)."""
        return ""

    @abc.abstractmethod
    async def close(self) -> None:
        """End the channel (the remote process gets a hangup) and free its slot. Idempotent."""


class LineStream(abc.ABC):
    """A long-running command's stdout, line by line as it arrives::

        async with session.stream(["xentop", "-b", "-d", "2"]) as lines:
            async for line in lines:
                ...
        lines.exit_status, lines.stderr_tail

    Iteration ends when the command exits (``exit_status`` is then set). Leaving the ``async with``
    (or cancelling the task reading it) closes the channel and frees its slot.
    """

    argv: tuple[str, ...]
    exit_status: int | None = None

    def __init__(self) -> None:
        self._stderr: deque[str] = deque(maxlen=64)

    @property
    def stderr_tail(self) -> str:
        return "".join(self._stderr)[-STDERR_LIMIT:]

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[str]: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> "LineStream":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class Session(abc.ABC):
    """One control host's connection (see the module docstring). Subclasses translate their library's
    errors into `hvdeck.backends.errors` at this boundary."""

    #: the inventory name, for messages
    host: str

    def __init__(self) -> None:
        self._link_listeners: list[Callable[[], None]] = []

    @abc.abstractmethod
    async def connect(self) -> None:
        """Open the connection now (it is otherwise opened lazily by the first command)."""

    @abc.abstractmethod
    async def run(self, argv: Sequence[str], *, input: str | bytes | None = None, check: bool = True,
                  timeout: float | None = 60.0, idempotent: bool = True, limit: int | None = None,
                  on_output: OutputCallback | None = None) -> Result:
        """Run one command and return its `Result`.

        ``input`` is written to its stdin (otherwise stdin is at EOF, like ``ssh -n``). ``timeout`` (s,
        None for none) raises `CommandTimeout`; ``limit`` caps stdout bytes (`OutputTooLarge`);
        ``on_output`` sees output as it arrives. ``idempotent`` commands may be retried once over a fresh
        connection when the link dropped under them; commands that change the host never are.
        Raises `ConnectionLost`, `CommandTimeout`, `ChannelBusy`, `OutputTooLarge`, and `CommandFailed`
        when ``check`` and the exit status is not 0.
        """

    @abc.abstractmethod
    def stream(self, argv: Sequence[str]) -> LineStream:
        """A long-running command's output as a `LineStream` (opened on first iteration)."""

    @abc.abstractmethod
    async def open_pty(self, argv: Sequence[str], *, term: str = "xterm-256color", cols: int = 80,
                       rows: int = 24) -> Channel:
        """Run ``argv`` on a pseudo-terminal of the given size (a console). Raises `ChannelBusy`,
        `ConnectionLost`, `HostUnreachable`."""

    @abc.abstractmethod
    async def open_process(self, argv: Sequence[str]) -> Channel:
        """Run ``argv`` with binary stdin/stdout and no terminal (one end of a transfer)."""

    @abc.abstractmethod
    async def forward_unix(self, remote_path: str) -> Forward:
        """Make ``remote_path`` (a unix socket on the host) reachable at a local path."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the connection and everything borrowed from it."""

    @property
    @abc.abstractmethod
    def connected(self) -> bool: ...

    def on_link_lost(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` when the link to the host drops; returns a function that unregisters it."""
        self._link_listeners.append(callback)

        def remove() -> None:
            if callback in self._link_listeners:
                self._link_listeners.remove(callback)

        return remove

    def _link_lost(self) -> None:
        for callback in list(self._link_listeners):
            try:
                callback()
            except Exception:  # noqa: BLE001 - one listener's bug must not stop the others learning it
                pass


def argv_tuple(argv: Sequence[str]) -> tuple[str, ...]:
    """Check that a command is a list of strings (a str here is a bug: it would be split by letters)."""
    if isinstance(argv, str) or not argv or not all(isinstance(a, str) for a in argv):
        raise TypeError(f"a command must be a non-empty list of strings, not {argv!r}")
    if any("\x00" in a for a in argv):
        raise ValueError("a command argument cannot contain a NUL character")
    return tuple(argv)


def command_line(argv: Sequence[str]) -> str:
    """The one way a shell string is ever made from an argv: `shlex.join`."""
    return shlex.join(argv)


def as_bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


class Slots:
    """A budget of channels with a bounded wait: ``async with slots.take(host, what):``."""

    def __init__(self, count: int, kind: str, *, timeout: float = SLOT_TIMEOUT) -> None:
        self.count = count
        self.kind = kind
        self.timeout = timeout
        self._sem = asyncio.Semaphore(count)

    @property
    def free(self) -> int:
        return self._sem._value

    async def acquire(self, host: str, what: str) -> None:
        try:
            await asyncio.wait_for(self._sem.acquire(), self.timeout)
        except TimeoutError:
            raise ChannelBusy(f"{host}: all {self.count} {self.kind} channels stayed busy for "
                              f"{self.timeout:g}s; {what} did not start") from None

    def release(self) -> None:
        self._sem.release()

    def take(self, host: str, what: str) -> "_Taken":
        return _Taken(self, host, what)


class _Taken:
    def __init__(self, slots: Slots, host: str, what: str) -> None:
        self._slots, self._host, self._what = slots, host, what

    async def __aenter__(self) -> None:
        await self._slots.acquire(self._host, self._what)

    async def __aexit__(self, *exc: object) -> None:
        self._slots.release()


class OutputBudget:
    """Bytes of command output held in memory for one host at once, across all its commands."""

    def __init__(self, host: str, limit: int) -> None:
        self.host = host
        self.limit = limit
        self.used = 0

    def take(self, n: int, what: str) -> None:
        if self.used + n > self.limit:
            raise OutputTooLarge(f"{self.host}: {what}: more than {self.limit // (1024 * 1024)} MB of output "
                                 "in flight from this host; hvdeck stopped reading")
        self.used += n

    def give(self, n: int) -> None:
        self.used = max(0, self.used - n)


class BoundedReader:
    """Collects one output stream up to ``limit`` bytes, charging the host's budget as it goes."""

    def __init__(self, argv: tuple[str, ...], name: str, limit: int, budget: OutputBudget | None,
                 on_output: OutputCallback | None, *, keep_tail: bool = False) -> None:
        self.argv, self.name, self.limit, self.budget = argv, name, limit, budget
        self.on_output = on_output
        self.keep_tail = keep_tail
        self.chunks: list[bytes] = []
        self.size = 0
        self._charged = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def add(self, data: bytes) -> None:
        if not data:
            return
        if self.keep_tail:
            self.chunks.append(data)
            self.size += len(data)
            while self.size > self.limit and len(self.chunks) > 1:
                self.size -= len(self.chunks.pop(0))
        else:
            if self.size + len(data) > self.limit:
                raise OutputTooLarge(
                    f"{command_line(self.argv)}: output over {self.limit / (1024 * 1024):g} MB; "
                    "hvdeck stopped reading it")
            if self.budget is not None:
                self.budget.take(len(data), command_line(self.argv))
                self._charged += len(data)
            self.chunks.append(data)
            self.size += len(data)
        if self.on_output is not None:
            text = self._decoder.decode(data)
            if text:
                self.on_output(self.name, text)

    def text(self) -> str:
        data = b"".join(self.chunks)
        if self.keep_tail and len(data) > self.limit:
            data = data[-self.limit:]
        return data.decode("utf-8", "replace")

    def release(self) -> None:
        if self.budget is not None and self._charged:
            self.budget.give(self._charged)
            self._charged = 0


async def channel_lines(channel: Channel, argv: tuple[str, ...]) -> AsyncIterator[str]:
    """Split a channel's output into lines as it arrives, each at most LINE_LIMIT bytes."""
    buffer = b""
    while True:
        data = await channel.read()
        if not data:
            if buffer:
                yield buffer.decode("utf-8", "replace")
            return
        buffer += data
        while (cut := buffer.find(b"\n")) >= 0:
            line, buffer = buffer[:cut], buffer[cut + 1:]
            yield line.rstrip(b"\r").decode("utf-8", "replace")
        if len(buffer) > LINE_LIMIT:
            raise OutputTooLarge(f"{command_line(argv)}: a line longer than {LINE_LIMIT // 1024} KiB; "
                                 "hvdeck stopped reading")


async def pump(readers: Sequence[tuple[Any, BoundedReader]]) -> None:
    """Read each ``(reader, sink)`` pair to EOF concurrently. If one fails (output over its limit, the link
    lost), the others are cancelled before the error goes on, so nobody is left reading a stream."""

    async def one(reader: Any, sink: BoundedReader) -> None:
        while data := await reader.read(65536):
            sink.add(data)

    tasks = [asyncio.ensure_future(one(reader, sink)) for reader, sink in readers]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class ChannelLineStream(LineStream):
    """A `LineStream` over a plain process channel that is opened on first iteration."""

    def __init__(self, argv: tuple[str, ...], open_channel: Callable[[], Awaitable[Channel]]) -> None:
        super().__init__()
        self.argv = argv
        self._open = open_channel
        self._channel: Channel | None = None

    async def __aiter__(self) -> AsyncIterator[str]:
        channel = self._channel = await self._open()
        channel.write_eof()
        try:
            async for line in channel_lines(channel, self.argv):
                yield line
            self.exit_status = await channel.wait()
        finally:
            await self.close()

    async def close(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None:
            self._stderr.append(channel.stderr_tail)
            await channel.close()

"""The `local` transport: the same Session protocol on this machine (hvdeck running on the control domain
itself, and the replay fixtures of the tests). Commands are subprocesses; `open_pty` gives a real
pseudo-terminal."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import signal
import struct
import termios
from collections.abc import Sequence
from typing import Any

from ..errors import HostUnreachable
from .base import (
    DEFAULT_COMMAND_CHANNELS,
    DEFAULT_LONG_CHANNELS,
    DEFAULT_OUTPUT_LIMIT,
    STDERR_LIMIT,
    BoundedReader,
    Channel,
    ChannelLineStream,
    CommandTimeout,
    Forward,
    LineStream,
    OutputBudget,
    OutputCallback,
    Result,
    Session,
    Slots,
    argv_tuple,
    as_bytes,
    command_line,
    pump,
)


class _LocalForward(Forward):
    """The socket is already local: nothing to forward."""

    def __init__(self, path: str) -> None:
        self.path = path

    async def close(self) -> None:
        return None


class LocalSession(Session):
    def __init__(self, host: str, *, env: dict[str, str] | None = None,
                 command_channels: int = DEFAULT_COMMAND_CHANNELS, long_channels: int = DEFAULT_LONG_CHANNELS,
                 output_limit: int = DEFAULT_OUTPUT_LIMIT) -> None:
        super().__init__()
        self.host = host
        self._env = env
        self.output_limit = output_limit
        self.commands = Slots(command_channels, "command")
        self.long = Slots(long_channels, "long-lived")
        self._budget = OutputBudget(host, max(output_limit * 4, 64 * 1024 * 1024))
        self._channels: set[Channel] = set()

    @property
    def connected(self) -> bool:
        return True

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        for channel in list(self._channels):
            await channel.close()

    async def _spawn(self, args: tuple[str, ...], **kw: Any) -> asyncio.subprocess.Process:
        try:
            return await asyncio.create_subprocess_exec(*args, env=self._env, **kw)
        except FileNotFoundError:
            raise _NotRunnable(127, f"{args[0]}: command not found\n") from None
        except PermissionError as exc:
            raise _NotRunnable(126, f"{args[0]}: {exc.strerror}\n") from None

    async def run(self, argv: Sequence[str], *, input: str | bytes | None = None, check: bool = True,
                  timeout: float | None = 60.0, idempotent: bool = True, limit: int | None = None,
                  on_output: OutputCallback | None = None) -> Result:
        args = argv_tuple(argv)
        async with self.commands.take(self.host, command_line(args)):
            try:
                process = await self._spawn(
                    args, stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True)
            except _NotRunnable as exc:
                result = Result(args, exc.status, "", exc.message)
                return result.check() if check else result
            out = BoundedReader(args, "stdout", limit or self.output_limit, self._budget, on_output)
            err = BoundedReader(args, "stderr", STDERR_LIMIT, None, on_output, keep_tail=True)
            assert process.stdout is not None and process.stderr is not None
            try:
                async with asyncio.timeout(timeout):
                    if input is not None:
                        assert process.stdin is not None
                        process.stdin.write(as_bytes(input))
                        process.stdin.close()
                    await pump(((process.stdout, out), (process.stderr, err)))
                    await process.wait()
            except TimeoutError:
                raise CommandTimeout(f"{args[0]}: no answer within {timeout:g}s") from None
            finally:
                if process.returncode is None:
                    _kill(process.pid)
                await _reap(process)
                out.release()
        result = Result(args, process.returncode if process.returncode is not None else -1, out.text(), err.text())
        return result.check() if check else result

    def stream(self, argv: Sequence[str]) -> LineStream:
        args = argv_tuple(argv)
        return ChannelLineStream(args, lambda: self.open_process(args))

    async def open_process(self, argv: Sequence[str]) -> Channel:
        args = argv_tuple(argv)
        await self.long.acquire(self.host, command_line(args))
        try:
            process = await self._spawn(args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                        stderr=asyncio.subprocess.PIPE, start_new_session=True)
        except _NotRunnable as exc:
            self.long.release()
            return _NotStarted(args, exc.status, exc.message)
        except BaseException:
            self.long.release()
            raise
        channel = _LocalChannel(self, args, process)
        self._channels.add(channel)
        return channel

    async def open_pty(self, argv: Sequence[str], *, term: str = "xterm-256color", cols: int = 80,
                       rows: int = 24) -> Channel:
        args = argv_tuple(argv)
        await self.long.acquire(self.host, command_line(args))
        master, slave = pty.openpty()
        _set_size(master, cols, rows)
        env = dict(self._env if self._env is not None else os.environ, TERM=term)
        try:
            process = await asyncio.create_subprocess_exec(*args, stdin=slave, stdout=slave, stderr=slave, env=env,
                                                           start_new_session=True, preexec_fn=_controlling_tty)
        except (OSError, BaseException) as exc:
            os.close(master)
            os.close(slave)
            self.long.release()
            if isinstance(exc, OSError):
                raise HostUnreachable(f"{args[0]}: {exc.strerror or exc}") from None
            raise
        os.close(slave)
        channel = _LocalPty(self, args, process, master)
        self._channels.add(channel)
        return channel

    async def forward_unix(self, remote_path: str) -> Forward:
        if not os.path.exists(remote_path):
            raise HostUnreachable(f"{remote_path}: no such socket on this machine")
        return _LocalForward(remote_path)


class _NotRunnable(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _kill(pid: int) -> None:
    """End a command and everything it started (it runs in a session of its own)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _controlling_tty() -> None:
    # in the child, after setsid: make the pty the controlling terminal (stdin is the slave)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Wait for a process that was killed or ended. asyncio's `wait()` also waits for its pipes to close,
    and a pipe that stopped being read (output over the limit) never does: read what is left, then wait."""

    async def discard(reader: asyncio.StreamReader | None) -> None:
        while reader is not None and await reader.read(65536):
            pass

    try:
        await asyncio.wait_for(asyncio.gather(discard(process.stdout), discard(process.stderr)), 5)
    except (TimeoutError, OSError):
        pass
    await process.wait()


class _NotStarted(Channel):
    """A command that could not start (not found, not executable): ends at once, like a shell's 127."""

    def __init__(self, argv: tuple[str, ...], status: int, message: str) -> None:
        self.argv, self._status, self._message = argv, status, message

    async def read(self, size: int = 65536) -> bytes:
        return b""

    def write(self, data: bytes) -> None:
        return None

    def write_eof(self) -> None:
        return None

    async def wait(self) -> int | None:
        return self._status

    @property
    def stderr_tail(self) -> str:
        return self._message

    async def close(self) -> None:
        return None


class _LocalChannel(Channel):
    def __init__(self, session: LocalSession, argv: tuple[str, ...], process: asyncio.subprocess.Process) -> None:
        self.argv = argv
        self._session = session
        self._process = process
        self._closed = False
        self._stderr = BoundedReader(argv, "stderr", STDERR_LIMIT, None, None, keep_tail=True)
        assert process.stderr is not None
        self._stderr_task = asyncio.ensure_future(pump(((process.stderr, self._stderr),)))

    async def read(self, size: int = 65536) -> bytes:
        assert self._process.stdout is not None
        return await self._process.stdout.read(size)

    def write(self, data: bytes) -> None:
        if self._process.stdin is not None and not self._process.stdin.is_closing():
            self._process.stdin.write(data)

    async def drain(self) -> None:
        if self._process.stdin is not None:
            await self._process.stdin.drain()

    def write_eof(self) -> None:
        if self._process.stdin is not None and not self._process.stdin.is_closing():
            self._process.stdin.close()

    async def wait(self) -> int | None:
        status = await self._process.wait()
        await asyncio.gather(self._stderr_task, return_exceptions=True)
        return status if status >= 0 else None

    @property
    def stderr_tail(self) -> str:
        return self._stderr.text()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stderr_task.cancel()
        if self._process.returncode is None:
            _kill(self._process.pid)
        await _reap(self._process)
        self._session._channels.discard(self)
        self._session.long.release()


class _LocalPty(Channel):
    """The master side of a real pseudo-terminal, read through the event loop."""

    def __init__(self, session: LocalSession, argv: tuple[str, ...], process: asyncio.subprocess.Process,
                 master: int) -> None:
        self.argv = argv
        self._session = session
        self._process = process
        self._master = master
        self._closed = False
        os.set_blocking(master, False)
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._eof = False
        asyncio.get_running_loop().add_reader(master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: the other side closed (the process ended)
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self._master)
            self._eof = True
        self._queue.put_nowait(data)

    async def read(self, size: int = 65536) -> bytes:
        if self._closed or (self._eof and self._queue.empty()):
            return b""
        return await self._queue.get()

    def write(self, data: bytes) -> None:
        if self._closed:
            return
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._master, view)
            except BlockingIOError:
                continue
            except OSError:
                return
            view = view[written:]

    def write_eof(self) -> None:
        self.write(b"\x04")

    def resize(self, cols: int, rows: int) -> None:
        if not self._closed:
            _set_size(self._master, cols, rows)
            try:
                os.killpg(self._process.pid, signal.SIGWINCH)
            except (ProcessLookupError, PermissionError):
                pass

    async def wait(self) -> int | None:
        status = await self._process.wait()
        return status if status >= 0 else None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._master)
        os.close(self._master)
        if self._process.returncode is None:
            try:
                os.killpg(self._process.pid, signal.SIGHUP)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                await asyncio.wait_for(self._process.wait(), 2)
            except TimeoutError:
                _kill(self._process.pid)
                await self._process.wait()
        self._queue.put_nowait(b"")
        self._session._channels.discard(self)
        self._session.long.release()

"""A simulated control domain behind the in-process SSH server: exec requests run as shell command lines,
``telnet localhost PORT`` gets a live console session, and any command run on a pseudo-terminal talks to it
(``Target Password:``, output with CR LF as a terminal's output processing makes it)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import asyncssh

from ..shell import ShellSyntaxError, run_line_async, split_commands
from ..sshserver import ProcessHandler, SimSSHServer
from .telnet import Session
from .world import LdomsWorld, Terminal

_GONE = (BrokenPipeError, ConnectionError, asyncssh.Error, OSError)


async def serve(world: LdomsWorld, *, host: str = "127.0.0.1", port: int = 0, host_key: asyncssh.SSHKey,
                authorized_keys: Iterable[asyncssh.SSHKey] | str) -> SimSSHServer:
    """Start an SSH server on ``host:port`` (0 picks a free port) whose exec requests reach ``world``."""
    server = SimSSHServer(world.handle, host_key=host_key, authorized_keys=authorized_keys,
                          process_handler=process_handler(world))
    await server.start(host, port)
    return server


def process_handler(world: LdomsWorld) -> ProcessHandler:
    """The SSH server's hook for commands that run a while: ``telnet`` (with or without a terminal), and
    every command line on a terminal. Others are left to ``world.handle``."""

    async def handle(command: str, process: asyncssh.SSHServerProcess) -> bool:
        pty = bool(process.get_terminal_type())
        try:
            commands = split_commands(command)
        except ShellSyntaxError:
            commands = []
        if len(commands) == 1 and commands[0].argv[:1] == ("telnet",):
            await _telnet(world, list(commands[0].argv[1:]), process, pty=pty)
            return True
        if pty:
            await _on_terminal(world, command, process)
            return True
        return False

    return handle


def _writer(process: asyncssh.SSHServerProcess):
    def write(data: bytes) -> None:
        try:
            process.stdout.write(data)
        except _GONE:
            pass

    return write


async def _read(process: asyncssh.SSHServerProcess) -> bytes:
    """The next bytes the user typed; b"" once the channel has no more (resizes are skipped)."""
    while True:
        try:
            return await process.stdin.read(4096)
        except asyncssh.TerminalSizeChanged:
            continue
        except _GONE:
            return b""


def _exit(process: asyncssh.SSHServerProcess, status: int) -> None:
    try:
        process.exit(status)
    except _GONE:
        pass


async def _telnet(world: LdomsWorld, args: list[str], process: asyncssh.SSHServerProcess, *, pty: bool) -> None:
    ended: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finish(status: int) -> None:
        if not ended.done():
            ended.set_result(status)

    session = Session(world, _writer(process), finish, pty=pty)
    session.start(args)

    async def pump() -> None:
        while not ended.done():
            data = await _read(process)
            if not data:
                session.hang_up()
                finish(0)
                return
            session.feed(data)

    reader = asyncio.ensure_future(pump())
    status = await ended
    reader.cancel()
    session.hang_up()
    _exit(process, status)


async def _on_terminal(world: LdomsWorld, command: str, process: asyncssh.SSHServerProcess) -> None:
    write = _writer(process)
    pending = bytearray()

    def show(text: str) -> None:
        write(text.replace("\n", "\r\n").encode("utf-8"))

    async def read_line(echo: bool) -> str:
        line = ""
        while True:
            if not pending:
                data = await _read(process)
                if not data:
                    return line
                pending.extend(data)
            char = chr(pending.pop(0))
            if char in "\r\n":
                return line
            if char in "\x7f\b":
                if line and echo:
                    write(b"\b \b")
                line = line[:-1]
            elif char >= " ":
                line += char
                if echo:
                    write(char.encode("utf-8"))

    terminal = Terminal(write=show, read_line=read_line)
    reply = await run_line_async(command, lambda argv: world.execute(argv, None, terminal))
    show(reply.stdout + reply.stderr)
    _exit(process, reply.exit_status)

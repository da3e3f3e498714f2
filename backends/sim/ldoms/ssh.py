"""A simulated control domain behind the in-process SSH server: exec requests run as shell command lines,
``telnet localhost PORT`` gets a live console session, any command run on a pseudo-terminal talks to it
(``Target Password:``, output with CR LF as a terminal's output processing makes it), and a login on a
pseudo-terminal without a command (``ssh -p PORT root@HOST``) gets a small interactive shell."""

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
            _exit(process, await _telnet(world, list(commands[0].argv[1:]), process, pty=pty))
            return True
        if pty and process.command is None:
            _exit(process, await _login_shell(world, process))
            return True
        if pty:
            _exit(process, await _on_terminal(world, command, _Terminal(process)))
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


async def _telnet(world: LdomsWorld, args: list[str], process: asyncssh.SSHServerProcess, *, pty: bool) -> int:
    """A telnet session on this channel until telnet exits; its exit status."""
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
    return status


class _Terminal:
    """The user's pseudo-terminal: output with CR LF, lines read with or without echo."""

    def __init__(self, process: asyncssh.SSHServerProcess) -> None:
        self.process = process
        self.write_bytes = _writer(process)
        self.pending = bytearray()
        self.ended = False

    def show(self, text: str) -> None:
        self.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))

    async def read_line(self, echo: bool) -> str:
        line = ""
        while True:
            if not self.pending:
                data = await _read(self.process)
                if not data:
                    self.ended = True
                    return line
                self.pending.extend(data)
            char = chr(self.pending.pop(0))
            if char in "\r\n":
                if echo:
                    self.write_bytes(b"\r\n")
                return line
            if char == "\x04" and not line:
                self.ended = True
                return line
            if char in "\x7f\b":
                if line and echo:
                    self.write_bytes(b"\b \b")
                line = line[:-1]
            elif char >= " ":
                line += char
                if echo:
                    self.write_bytes(char.encode("utf-8"))


async def _on_terminal(world: LdomsWorld, command: str, terminal: _Terminal) -> int:
    """A command line run on the terminal: prompts can be answered, stdout and stderr share the screen."""
    reply = await run_line_async(command, lambda argv: world.execute(argv, None,
                                                                     Terminal(terminal.show, terminal.read_line)))
    terminal.show(reply.stdout + reply.stderr)
    return reply.exit_status


async def _login_shell(world: LdomsWorld, process: asyncssh.SSHServerProcess) -> int:
    """``root@HOST:~#`` and the commands the control domain has, ``telnet`` included, until ``exit`` or ^D
    (RECONSTRUCTED: Solaris 11's root prompt)."""
    terminal = _Terminal(process)
    status = 0
    while True:
        terminal.show(f"root@{world.hostname}:~# ")
        line = await terminal.read_line(True)
        if terminal.ended:
            terminal.show("\n")
            return status
        try:
            commands = split_commands(line)
        except ShellSyntaxError:
            commands = []
        if commands and commands[0].argv[:1] in (("exit",), ("logout",)):
            return status
        if len(commands) == 1 and commands[0].argv[:1] == ("telnet",):
            status = await _telnet(world, list(commands[0].argv[1:]), process, pty=True)
        else:
            status = await _on_terminal(world, line, terminal)

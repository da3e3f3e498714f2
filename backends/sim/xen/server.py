"""A simulated dom0 behind SSH: the shell that runs a command line, and the commands that stream.

Every exec request goes through `run_script`: the line is split the way dash splits it (``shell.py``:
``;``, ``&&``, quoting, ``NAME=value`` prefixes) and each command runs in order. Most commands answer at
once (``commands.py``); four kinds run on the channel for as long as they last:

- ``xentop -b [-d D] [-i N]`` prints a frame, sleeps D seconds (``atoi``: ``-d 0.5`` is 0, which the
  simulator stretches to 50 ms rather than spin), prints the next, until N frames or the client hangs up;
  each frame is one write, as xentop's ``fflush`` after ``top()``. Without ``-b`` (or as ``xm top``) it
  needs a terminal and runs interactively: the summary lines above the table, a screen per frame, ``q``
  quits (xentop.c ``do_summary``; RECONSTRUCTED);
- ``xl console``, ``xm console``, ``virsh console``: `ConsoleSession` on the channel's bytes;
- ``xl migrate``, ``xm migrate``, ``virsh migrate``: the steps of ``migrate.py``, sleeping while memory
  is copied, so progress arrives as it happens.

`process_handler` (the `ProcessHandler`) writes as it goes. `handle` (the `Handler`, and what tests call
directly) collects a whole line's output into one `Reply` and has no channel: every command answers at
once there (``commands.py``: xentop prints its frames without waiting, a migration completes without
pausing, a console has nothing to attach to). `serve` starts an SSH server with both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import asyncssh

from ..shell import CommandNotFound, Op, ShellSyntaxError, split_commands
from ..sshserver import Reply, SimSSHServer, StdinReader
from . import commands
from .console import ConsoleSession
from .model import CommandError
from .xentop import format_frame, parse_options

if TYPE_CHECKING:
    from .world import XenWorld

#: the shortest pause between two xentop frames (``-d 0`` would spin)
MIN_DELAY = 0.05
#: how often a console looks whether its domain is still there
CONSOLE_POLL = 0.2


class _Io:
    """Where a script's output goes: a collecting buffer, or an SSH channel."""

    def __init__(self, read_stdin: StdinReader | None = None,
                 process: asyncssh.SSHServerProcess | None = None) -> None:
        self.process = process
        self._read = read_stdin
        self._stdin: str | None = None
        self.stdout: list[str] = []
        self.stderr: list[str] = []

    @property
    def terminal(self) -> bool:
        return self.process is not None and bool(self.process.get_terminal_type())

    def closed(self) -> bool:
        return self.process is not None and self.process.channel.is_closing()

    def out(self, text: str | bytes) -> None:
        if not text:
            return
        if self.process is None:
            self.stdout.append(text.decode("utf-8", "replace") if isinstance(text, bytes) else text)
        else:
            self.process.stdout.write(text if isinstance(text, bytes) else text.encode("utf-8"))

    def err(self, text: str) -> None:
        if not text:
            return
        if self.process is None:
            self.stderr.append(text)
        elif self.terminal:  # a PTY merges stderr into the terminal, with CR LF line ends
            self.process.stdout.write(text.replace("\n", "\r\n").encode("utf-8"))
        else:
            self.process.stderr.write(text.encode("utf-8"))

    async def stdin(self) -> str:
        """All of stdin, read once (the first command that reads it gets it; later ones get nothing)."""
        if self._stdin is None:
            if self._read is not None:
                self._stdin = await self._read()
            elif self.process is not None:
                data = await self.process.stdin.read()
                self._stdin = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
            else:
                self._stdin = ""
            return self._stdin
        return ""


def _needs_stdin(argv: tuple[str, ...]) -> bool:
    program = argv[0]
    if program == "tee":
        return True
    if program in ("xl", "xm") and len(argv) > 2 and argv[1] == "create":
        return "/dev/stdin" in argv or "-" in argv[2:]
    return program == "lvremove" and not any(a in ("-f", "-y", "--force", "--yes") or
                                             (a.startswith("-") and not a.startswith("--") and ("f" in a or "y" in a))
                                             for a in argv[1:])


def _stream_kind(world: "XenWorld", argv: tuple[str, ...]) -> str | None:
    program = argv[0]
    if program not in commands.programs(world):
        return None
    if program == "xentop":
        return "xentop"
    sub = argv[1] if len(argv) > 1 else ""
    if program in ("xl", "xm", "virsh") and sub == "console":
        return "console"
    if program in ("xl", "xm", "virsh") and sub == "migrate":
        return "migrate"
    if program == "xm" and sub == "top":
        return "top"
    return None


async def run_script(world: "XenWorld", script: str, io: _Io) -> int:
    """Run a command line; the exit status of the last command run."""
    try:
        lines = split_commands(script)
    except ShellSyntaxError as error:
        io.err(f"sh: {error.line}: Syntax error: {error}\n")
        return 2
    status = 0
    for command in lines:
        if command.op is Op.AND and status != 0:
            continue
        argv = command.argv
        if not argv:
            status = 0
            continue
        try:
            kind = _stream_kind(world, argv) if io.process is not None else None
            if kind is not None:
                world.settle()
                status = await _STREAMS[kind](world, argv, io)
                continue
            stdin = await io.stdin() if _needs_stdin(argv) else None
            reply = commands.run(world, argv, stdin)
        except CommandNotFound as missing:
            reply = Reply("", f"sh: {command.line}: {missing.name}: not found\n", 127)
        except CommandError as error:
            reply = Reply(error.stdout, error.stderr, error.status)
        io.out(reply.stdout)
        io.err(reply.stderr)
        status = reply.exit_status
    return status


async def handle(world: "XenWorld", command_line: str, read_stdin: StdinReader) -> Reply:
    io = _Io(read_stdin)
    status = await run_script(world, command_line, io)
    return Reply("".join(io.stdout), "".join(io.stderr), status)


def process_handler(world: "XenWorld"):
    """The `ProcessHandler` of a world's SSH server: every command line runs on its channel."""

    async def run(command: str, process: asyncssh.SSHServerProcess) -> bool:
        io = _Io(process=process)
        try:
            status = await run_script(world, command, io)
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            return True
        except Exception as exc:  # noqa: BLE001 - a simulated host fails like a shell, not like a crash
            io.err(f"simulated host: {type(exc).__name__}: {exc}\n")
            status = 1
        try:
            process.exit(status)
        except (BrokenPipeError, ConnectionError, asyncssh.Error, OSError):
            pass
        return True

    return run


# -- xentop ------------------------------------------------------------------------------------------------


def _summary(world: "XenWorld", node) -> str:
    """``do_summary`` (interactive mode only, xen.md §1.5 VERBATIM sample)."""
    states = [d.state for d in node.domains]
    counts = {letter: 0 for letter in "rbpcds"}
    for state in states:  # each domain counted once, in do_summary's order
        for letter, position in (("r", 5), ("b", 2), ("p", 4), ("s", 1), ("c", 3), ("d", 0)):
            if state[position] != "-":
                counts[letter] += 1
                break
    m = world.machine
    total = m.total_kib
    free = world.free_kb()
    return (f"xentop - {time.strftime('%H:%M:%S')}   Xen {m.version_string}\n"
            f"{len(states)} domains: {counts['r']} running, {counts['b']} blocked, {counts['p']} paused, "
            f"{counts['c']} crashed, {counts['d']} dying, {counts['s']} shutdown \n"
            f"Mem: {total}k total, {total - free}k used, {free}k free    CPUs: {m.nr_cpus} @ {m.cpu_mhz}MHz\n")


async def _xentop(world: "XenWorld", argv: tuple[str, ...], io: _Io, *, interactive: bool = False) -> int:
    style = commands.xentop_style(world)
    try:
        options = parse_options(argv[1:], style, argv[0]) if not interactive else parse_options([], style)
    except CommandError as error:
        io.out(error.stdout)
        io.err(error.stderr)
        return error.status
    interactive = interactive or not options.batch
    if interactive and not io.terminal:
        io.err("Error opening terminal: unknown.\n")
        return 1
    delay = max(options.delay, MIN_DELAY)
    previous = None
    done = 0
    process = io.process
    keys: asyncio.Task | None = asyncio.ensure_future(process.stdin.read(1)) \
        if interactive and process is not None else None
    generation = world.xentop_kills
    world.xentops += 1
    try:
        while True:
            world.settle()
            node = world.node_sample()
            frame = format_frame(node, previous, options, style)
            if interactive:
                frame = ("\x1b[H\x1b[2J" + _summary(world, node) + frame).replace("\n", "\r\n")
            io.out(frame)
            previous = node
            done += 1
            if options.iterations is not None and done >= options.iterations:
                return 0
            if io.closed():
                return 0
            if keys is not None and process is not None:
                finished, _ = await asyncio.wait({keys}, timeout=delay)
                if finished:
                    data = keys.result() if not keys.exception() else b"q"
                    if not data or data in (b"q", b"Q", b"\x1b"):
                        return 0
                    keys = asyncio.ensure_future(process.stdin.read(1))
            elif process is not None:  # a hangup ends the wait (xentop dies of SIGHUP, not at its next write)
                pause = asyncio.ensure_future(world.sleep(delay))
                hangup = asyncio.ensure_future(process.channel.wait_closed())
                await asyncio.wait({pause, hangup}, return_when=asyncio.FIRST_COMPLETED)
                pause.cancel()
                hangup.cancel()
            else:
                await world.sleep(delay)
            if io.closed() or world.xentop_kills != generation:  # hung up, or signalled (`pkill xentop`)
                return 0
    finally:
        world.xentops -= 1
        if keys is not None and not keys.done():
            keys.cancel()


async def _top(world: "XenWorld", argv: tuple[str, ...], io: _Io) -> int:
    return await _xentop(world, argv, io, interactive=True)


# -- consoles ------------------------------------------------------------------------------------------------


async def _console(world: "XenWorld", argv: tuple[str, ...], io: _Io) -> int:
    program = argv[0]
    from .xl import Xl
    from .xm import Xm
    from .xvm import Virsh

    tool: Xl | Xm | Virsh = Xl(world) if program == "xl" else Xm(world) if program == "xm" else Virsh(world)
    try:
        domain = tool.console_target(list(argv[2:]))
    except CommandError as error:
        io.out(error.stdout)
        io.err(error.stderr)
        return error.status
    session = ConsoleSession(world, domain)
    io.out(session.attach_text(program))
    domid = domain.domid
    process = io.process
    assert process is not None  # consoles run on a channel only (`_stream_kind`)
    while not session.detached:
        read = asyncio.ensure_future(process.stdin.read(4096))
        while True:
            finished, _ = await asyncio.wait({read}, timeout=CONSOLE_POLL)
            world.settle()
            if finished:
                break
            if world.by_name_or_id(str(domid)) is None or io.closed():  # the domain went away: xenconsole ends
                read.cancel()
                return 0
        try:
            data = read.result()
        except (asyncssh.TerminalSizeChanged, asyncssh.BreakReceived, asyncssh.SignalReceived):
            continue
        if not data:
            return 0
        io.out(session.feed(data if isinstance(data, bytes) else data.encode()))
    if program == "virsh":
        io.out(b"\r\n")
    return 0


# -- migration ------------------------------------------------------------------------------------------------


async def _migrate(world: "XenWorld", argv: tuple[str, ...], io: _Io) -> int:
    program, args = argv[0], list(argv[2:])
    from .xl import Xl
    from .xm import XendError, Xm
    from .xvm import Virsh, xend_error

    try:
        if program == "xl":
            steps = Xl(world).migration(args)
        elif program == "xm":
            steps = Xm(world).migration(args)
        else:
            steps = Virsh(world).migration(args)
        status = None
        while status is None:
            try:
                kind, value = next(steps)
            except StopIteration as stop:
                status = int(stop.value or 0)
                break
            if kind == "err":
                io.err(str(value))
            elif kind == "wait":
                await world.sleep(float(value))
    except CommandError as error:
        if program == "xm" and not isinstance(error, XendError) and error.status != 3 and \
                not error.stderr.startswith("Error:"):
            error = XendError(error.stderr.strip(), "migrate")
        elif program == "virsh":
            error = xend_error(error)
        io.out(error.stdout)
        io.err(error.stderr)
        return error.status
    return status


_STREAMS = {"xentop": _xentop, "top": _top, "console": _console, "migrate": _migrate}


async def serve(world: "XenWorld", *, host: str = "127.0.0.1", port: int = 0, host_key: asyncssh.SSHKey,
                authorized_keys: Iterable[asyncssh.SSHKey] | str) -> SimSSHServer:
    """Start an SSH server on ``host:port`` (0 picks a free port) whose exec requests reach ``world``."""
    server = SimSSHServer(world.handle, host_key=host_key, authorized_keys=authorized_keys,
                          process_handler=process_handler(world))
    await server.start(host, port)
    return server


__all__ = ["handle", "process_handler", "run_script", "serve"]

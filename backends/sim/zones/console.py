"""Zone consoles and ``zlogin -C``.

A zone's console is zoneadmd's: one client at a time, state notices written as ``\\r\\n[NOTICE: ...]\\r\\n``
(zoneadmd/zcons.c ``event_message``: booting up, readied, halted, rebooting, being uninstalled), and
whatever the zone prints. A running zone shows its login prompt (``NAME console login: ``); logging in
as root gives a tiny shell (hostname, zonename, uname, echo, id, pwd, exit; ``init 0``/``halt``/``poweroff``
and ``reboot`` act on the zone). Boot output is the platform's banner and ``Hostname:`` line
(RECONSTRUCTED in the style of each release).

``zlogin -C`` (illumos zlogin.c ``main``, ``doio``): ``[Connected to zone 'Z' console]``, then raw mode;
``~.`` at the start of a line disconnects with ``[Connection to zone 'Z' console closed]`` (``-e c``
changes the ``~``; ``~~`` sends one ``~``). Without a terminal zlogin fails setting raw mode. ``-d``
disconnects when the zone halts; ``-Q`` is quiet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import asyncssh

if TYPE_CHECKING:
    from .world import ZonesWorld

#: zoneadmd/zcons.c event_message texts
NOTICES = {"booting": "NOTICE: Zone booting up", "readied": "NOTICE: Zone readied", "halted": "NOTICE: Zone halted",
           "rebooting": "NOTICE: Zone rebooting",
           "uninstalling": "NOTICE: Zone is being uninstalled.  Disconnecting..."}
#: what ``shutdown`` makes a Solaris-family zone print before it halts (svc.startd; RECONSTRUCTED)
SHUTDOWN_LINES = ("svc.startd: The system is coming down.  Please wait.",
                  "svc.startd: 97 system services are now being stopped.", "svc.startd: The system is down.")


class Console:
    """One zone's console device. ``attach(write, on_close)`` connects the one client; ``input(data)``
    takes its keystrokes; the world calls ``notice`` and ``booted`` as the zone changes state."""

    def __init__(self, world: "ZonesWorld", zone: str) -> None:
        self.world = world
        self.zone = zone
        self.client_pid: int | None = None
        self._write: Callable[[bytes], None] | None = None
        self._close: Callable[[str], None] | None = None
        self.disconnect_on_halt = False
        self.mode = "idle"  # idle (zone not running) | login | password | shell
        self.user = ""
        self.line = ""
        #: everything written to the console (tests read it; bounded)
        self.transcript = bytearray()

    @property
    def busy(self) -> bool:
        return self._write is not None

    def attach(self, pid: int, write: Callable[[bytes], None], close: Callable[[str], None], *,
               disconnect_on_halt: bool = False) -> None:
        self.client_pid, self._write, self._close = pid, write, close
        self.disconnect_on_halt = disconnect_on_halt

    def detach(self) -> None:
        self.client_pid = self._write = self._close = None

    def emit(self, text: str) -> None:
        data = text.encode("utf-8", "replace")
        self.transcript += data
        del self.transcript[:-65536]
        if self._write is not None:
            self._write(data)

    # -- zone events --

    def notice(self, event: str) -> None:
        self.emit(f"\r\n[{NOTICES[event]}]\r\n")
        if event == "uninstalling" or (event == "halted" and self.disconnect_on_halt):
            self.mode = "idle"
            if self._close is not None:
                self._close(event)
        if event in ("halted", "uninstalling", "readied"):
            self.mode, self.line = "idle", ""

    def booted(self) -> None:
        """The zone's first output after boot: banner, Hostname, login prompt."""
        platform = self.world.platform
        banner = "".join(f"{line}\r\n" for line in platform.banner)
        self.emit(f"\r\n\r\n{banner}Hostname: {self.zone}\r\n\r\n")
        self.mode, self.line = "login", ""
        self.emit(self.prompt())

    def shutting_down(self) -> None:
        self.emit("".join(f"\r\n{line}" for line in SHUTDOWN_LINES) + "\r\n")
        self.mode, self.line = "idle", ""

    def prompt(self) -> str:
        if self.mode == "login":
            return f"{self.zone} console login: "
        if self.mode == "password":
            return "Password: "
        if self.mode == "shell":
            return f"root@{self.zone}:~# "
        return ""

    # -- keystrokes --

    def input(self, data: bytes) -> None:
        for char in data.decode("utf-8", "replace"):
            if self.mode == "idle":
                continue  # nothing reads the console of a zone that is not running
            if char in "\r\n":
                line, self.line = self.line, ""
                self.emit("\r\n")
                self._enter(line)
            elif char in "\x7f\b":
                if self.line:
                    self.line = self.line[:-1]
                    if self.mode != "password":
                        self.emit("\b \b")
            elif char == "\x03":
                self.line = ""
                self.emit("^C\r\n" + self.prompt())
            elif char >= " ":
                self.line += char
                if self.mode != "password":
                    self.emit(char)

    def _enter(self, line: str) -> None:
        if self.mode == "login":
            if line.strip():
                self.user = line.strip()
                self.mode = "password"
            self.emit(self.prompt())
        elif self.mode == "password":
            if self.user != "root":
                self.emit("Login incorrect\r\n")
                self.mode = "login"
            else:
                self.mode = "shell"
                self.emit(f"{self.world.platform.banner[0]}\r\n")
            self.emit(self.prompt())
        elif self.mode == "shell":
            output, after = self.world.zone_shell(self.zone, line)
            if output:
                self.emit(output.replace("\n", "\r\n"))
            if after == "logout":
                self.mode = "login"
                self.emit("\r\n" + self.prompt())
            elif after == "":
                self.emit(self.prompt())
            else:
                self.world.act_from_zone(self.zone, after)


async def zlogin_console(world: "ZonesWorld", args: list[str], process: asyncssh.SSHServerProcess) -> None:
    """``zlogin -C [-d] [-Q] [-e c] ZONE`` on an SSH channel."""
    cmdchar, quiet, disconnect, names = "~", False, False, []
    at = 0
    while at < len(args):
        arg = args[at]
        if arg == "-e" and at + 1 < len(args):
            cmdchar, at = args[at + 1][:1], at + 1
        elif arg.startswith("-") and len(arg) > 1:
            quiet = quiet or "Q" in arg
            disconnect = disconnect or "d" in arg
        else:
            names.append(arg)
        at += 1
    tty = bool(process.get_terminal_type())
    newline = "\r\n" if tty else "\n"

    def fail(message: str) -> None:
        # on a terminal, stderr is the terminal: sshd carries it in the channel's data, as the output is
        (process.stdout if tty else process.stderr).write(f"zlogin: {message}{newline}".encode())
        process.exit(1)

    if len(names) != 1:
        return fail("usage: zlogin [ -dnQCES ] [ -e cmdchar ] [-l user] zonename [command [args ...] ]")
    name = names[0]
    if name == "global":
        return fail("'zlogin' not applicable to the global zone")
    zone = world.zones.get(name)
    if zone is None:
        return fail(f"zone '{name}' unknown")
    if zone.state.rank < world.installed_rank:
        return fail(f"cannot login to a zone which is '{zone.state.value}'")
    console = world.console(name)
    if console.busy:
        return fail(f"Console is already in use by process ID {console.client_pid}.")
    if not quiet:
        process.stdout.write(f"[Connected to zone '{name}' console]{newline}".encode())
    if not tty:
        return fail("failed to set stdin pty to raw mode: Inappropriate ioctl for device")
    closed = asyncio.Event()
    reason: list[str] = []

    def on_close(event: str) -> None:
        reason.append(event)
        closed.set()

    console.attach(world.pid(), lambda data: process.stdout.write(data), on_close, disconnect_on_halt=disconnect)
    reader = asyncio.ensure_future(_keys(process, console, cmdchar, closed))
    hangup = asyncio.ensure_future(process.channel.wait_closed())
    try:
        await asyncio.wait({asyncio.ensure_future(closed.wait()), hangup}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        reader.cancel()
        console.detach()
    if hangup.done():
        return
    try:
        if not quiet:
            process.stdout.write(f"\r\n[Connection to zone '{name}' console closed]\r\n".encode())
        process.exit(0)
    except (OSError, asyncssh.Error):
        pass


async def _keys(process: asyncssh.SSHServerProcess, console: Console, cmdchar: str, closed: asyncio.Event) -> None:
    """zlogin.c ``process_user_input``: the escape character is special only at the start of a line."""
    line_start, pending = True, False
    while not closed.is_set():
        try:
            data = await process.stdin.read(4096)
        except asyncssh.TerminalSizeChanged:
            continue
        except (OSError, asyncssh.Error):
            break
        if not data:
            break
        forward = bytearray()
        for byte in data:
            char = chr(byte)
            if pending:
                pending = False
                if char == ".":
                    console.input(bytes(forward))
                    closed.set()
                    return
                forward += cmdchar.encode() if char == cmdchar else (cmdchar + char).encode("latin-1")
                line_start = char in "\r\n"
                continue
            if line_start and char == cmdchar:
                pending = True
                continue
            forward.append(byte)
            line_start = char in "\r\n"
        if forward:
            console.input(bytes(forward))
    closed.set()

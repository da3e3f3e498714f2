"""``telnet localhost PORT`` on the control domain: the Solaris telnet client talking to vntsd (ldm.md §9).

Wording from Solaris's telnet (illumos ``usr/src/cmd/cmd-inet/usr.bin/telnet/commands.c``): ``Trying
ADDR...``, ``Connected to HOST.``, ``Escape character is '^]'.``, ``telnet: Unable to connect to remote
host: Connection refused``, ``HOST: node name or service name not known`` (gai_strerror), ``telnet> ``
after the escape character, ``Connection to HOST closed.`` after ``quit``/``close`` (exit 0), ``Connection
to HOST closed by foreign host.`` when vntsd drops the connection (exit 1), ``?Invalid command`` and
``?Ambiguous command``. vntsd listens on localhost only (ldm.md §9), so any other address is refused.
RECONSTRUCTED: that ``localhost`` is tried as 127.0.0.1 only (a Solaris host with IPv6 would try ``::1``
first and print its refusal).

The session is a small state machine fed with the bytes the user types (`Session.feed`); a terminal's
own newline translation is applied to telnet's messages when it runs on a pseudo-terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .vntsd import Client

if TYPE_CHECKING:
    from .world import LdomsWorld

ESCAPE = 0x1D  # ^]
LOOPBACK = {"localhost": "127.0.0.1", "127.0.0.1": "127.0.0.1", "0": "0.0.0.0", "0.0.0.0": "0.0.0.0"}
COMMANDS = ("close", "logout", "display", "mode", "open", "quit", "send", "set", "unset", "status", "toggle",
            "slc", "auth", "encrypt", "forward", "z", "!", "environ", "?", "help")
HELP = ("Commands may be abbreviated.  Commands are:", "", "close   \tclose current connection",
        "display \tdisplay operating parameters", "open    \tconnect to a site", "quit    \texit telnet",
        "status  \tprint status information", "?       \tprint help information", "<return>\tleave command mode")


def usage_line(name: str = "telnet") -> str:
    return f"usage: {name} [-l user] [-a] host-name [port]"


class Session:
    """One run of telnet. ``write(bytes)`` reaches the user's terminal; ``finish(status)`` ends the program.
    ``pty``: telnet's messages end with CR LF, as a terminal's output processing makes them."""

    def __init__(self, world: LdomsWorld, write: Callable[[bytes], None], finish: Callable[[int], None], *,
                 pty: bool) -> None:
        self.world = world
        self._write = write
        self.finish = finish
        self.eol = "\r\n" if pty else "\n"
        self.client: Client | None = None
        self.hostname = ""
        self.command: str | None = None
        self.status: int | None = None

    def say(self, *rows: str) -> None:
        self._write("".join(row + self.eol for row in rows).encode("utf-8"))

    def _end(self, status: int) -> None:
        if self.status is None:
            self.status = status
            self.finish(status)

    def start(self, args: list[str]) -> None:
        """``telnet [-l user] [-a] host [port]``; no host: the ``telnet>`` prompt."""
        args = list(args)
        while args[:1] in (["-a"], ["-l"]):
            args = args[2:] if args[0] == "-l" else args[1:]
        if not args:
            self._prompt()
            return
        if len(args) > 2:
            self.say(usage_line())
            self._end(1)
            return
        self.open(args[0], args[1] if len(args) > 1 else "23")

    def open(self, host: str, port: str) -> None:
        world = self.world
        if host in LOOPBACK:
            address = LOOPBACK[host]
        elif host in world.network.worlds:
            address = f"192.0.2.{1 + list(world.network.worlds).index(host)}"
        else:
            self.say(f"{host}: node name or service name not known")
            self._end(1)
            return
        self.say(f"Trying {address}...")
        domain = world.vntsd.domain_on(int(port)) if host in LOOPBACK and port.isdigit() else None
        if domain is None:
            self.say("telnet: Unable to connect to remote host: Connection refused")
            self._end(1)
            return
        self.hostname = host
        self.say(*self.connected_lines())
        self.client = world.vntsd.connect(int(port), self._write, self._foreign_close)

    def connected_lines(self) -> list[str]:
        return [f"Connected to {self.hostname}.", "Escape character is '^]'."]

    def _foreign_close(self) -> None:
        self.client = None
        self.say(f"Connection to {self.hostname} closed by foreign host.")
        self._end(1)

    def _prompt(self) -> None:
        self.command = ""
        self._write(b"telnet> ")

    def feed(self, data: bytes) -> None:
        """What the user typed."""
        for byte in data:
            if self.status is not None:
                return
            if self.command is not None:
                self._command_byte(byte)
            elif byte == ESCAPE:
                self._write(self.eol.encode())
                self._prompt()
            elif self.client is not None:
                self.client.feed(bytes([byte]))

    def hang_up(self) -> None:
        """The user's side went away: leave vntsd."""
        if self.client is not None:
            self.world.vntsd.detach(self.client)
            self.client = None

    def _command_byte(self, byte: int) -> None:
        char = chr(byte)
        if char in "\r\n":
            line, self.command = self.command or "", None
            self._write(self.eol.encode())
            self._run(line.strip())
        elif char in "\x7f\b":
            if self.command:
                self.command = self.command[:-1]
                self._write(b"\b \b")
        elif char >= " ":
            self.command = (self.command or "") + char
            self._write(char.encode("utf-8"))

    def _run(self, line: str) -> None:
        words = line.split()
        if not words:
            if self.client is None:
                self._prompt()
            return
        matches = [name for name in COMMANDS if name.startswith(words[0])]
        name = words[0] if words[0] in COMMANDS else matches[0] if len(matches) == 1 else ""
        if len(matches) > 1 and not name:
            self.say("?Ambiguous command")
        elif name in ("quit", "close"):
            if self.client is not None:
                self.world.vntsd.detach(self.client)
                self.client = None
                self.say(f"Connection to {self.hostname} closed.")
            self._end(0)
            return
        elif name in ("?", "help"):
            self.say(*HELP)
        elif name == "open":
            if self.client is not None:
                self.say(f"?Already connected to {self.hostname}")
            elif len(words) in (2, 3):
                self.open(words[1], words[2] if len(words) == 3 else "23")
                return
            else:
                self.say(usage_line("open"))
        elif name == "status":
            self.say(f"Connected to {self.hostname}." if self.client else "No connection.",
                     "Escape character is '^]'.")
        elif name:
            self.say("?Need to be connected first." if self.client is None and name == "send" else "?Invalid command")
        else:
            self.say("?Invalid command")
        if self.client is None:
            self._prompt()

"""vntsd, the virtual network terminal server daemon of the control domain: one console group per bound
guest, on the guest's TCP port (ldm.md §9), and the daemon's ``~`` commands.

Behaviour and wording come from vntsd's source (illumos ``usr/src/cmd/vntsd``: ``console.c``, ``cmd.c``,
``read.c``, ``common.c``) and its man page vntsd(1M)/(8):

- on connect: an empty line, ``Connecting to console "NAME" in group "GROUP" ....`` and ``Press ~? for
  control options ..`` (``write_connect_msg``); every line ends with CR LF (``vntsd_eol``);
- the first client of a console writes, later ones only read: a reader who types anything but CR or LF is
  told ``You do not have write access`` (``vntsd_read``); ``~w`` takes write access after a warning and a
  ``[y/n]`` question, and the former writer is told ``Warning: Console connection forced into read-only
  mode``; vntsd names no user;
- ``~.`` leaves the console (the group has one console, so vntsd closes the connection), ``~?`` lists the
  commands, ``~#`` sends a break, ``~n``/``~p`` cycle through the group's consoles;
- the group exists while the domain is bound: a guest that stops keeps its console (the daemon reads on
  once the port is alive, ``write_chk_status``), unbinding or removing the domain deletes it and closes
  every connection (``console_chk_status``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .console import CRLF

if TYPE_CHECKING:
    from .model import Domain
    from .world import LdomsWorld

NO_WRITE_ACCESS = "You do not have write access"
#: cmd.c etable, in order: (char, help)
DAEMON_COMMANDS = (("#", "send break"), (".", "exit from this console"), ("w", "force write access"),
                   ("n", "console down"), ("p", "console up"), ("?", "_"))
FORCE_WARNING = ("Warning: another user currently has write permission\nto this console and forcibly removing "
                 "him/her will terminate\nany current write action and all work will be lost.")


def _line(text: str) -> str:
    """vntsd_write_lines: each line of ``text`` followed by CR LF."""
    return "".join(row + CRLF for row in text.split("\n"))


class Client:
    """One telnet connection to a console group. ``deliver`` receives bytes for the user; ``on_close`` is
    called once when vntsd drops the connection."""

    def __init__(self, vntsd: Vntsd, domain: Domain, deliver: Callable[[bytes], None],
                 on_close: Callable[[], None]) -> None:
        self.vntsd = vntsd
        self.domain = domain
        self.deliver = deliver
        self.on_close = on_close
        self.closed = False
        #: what the pending ``~`` command needs next: "" (nothing), "cmd" (its letter), "yesno" (the answer)
        self._pending = ""

    @property
    def writer(self) -> bool:
        clients = self.vntsd.clients.get(self.domain.name, [])
        return bool(clients) and clients[0] is self

    def say(self, text: str) -> None:
        self.deliver(text.encode("utf-8"))

    def feed(self, data: bytes) -> None:
        """Bytes the user typed: vntsd's ``~`` commands, then (for the writer) the guest's console."""
        for byte in data:
            if self.closed:
                return
            char = chr(byte)
            if self._pending == "cmd":
                self._pending = ""
                self._daemon_command(char)
            elif self._pending == "yesno":
                self._answer(char)
            elif char == "~":
                self._pending = "cmd"
            elif self.writer:
                self.domain.console.feed(self.vntsd.world, self.domain, bytes([byte]))
            elif char not in "\r\n":
                self.say(NO_WRITE_ACCESS + CRLF)

    def _daemon_command(self, char: str) -> None:
        if char == ".":
            self.vntsd.disconnect(self)
        elif char == "w":
            if self.writer:
                self.say("You have write permission" + CRLF)
            else:
                self.say(CRLF + _line(FORCE_WARNING) + CRLF + "Would you like to continue?[y/n] ")
                self._pending = "yesno"
        elif char == "#":
            if not self.writer:
                self.say(NO_WRITE_ACCESS + CRLF)
        elif char in "np":
            self.say(self.vntsd.connect_message(self.domain))
        else:
            self.say(CRLF + _line("VNTSD commands") + "".join(f"~{key} --{text}" + CRLF
                                                               for key, text in DAEMON_COMMANDS))

    def _answer(self, char: str) -> None:
        self.say(char + CRLF)
        if char.lower() == "y":
            self._pending = ""
            self.vntsd.make_writer(self)
        elif char.lower() == "n":
            self._pending = ""
        else:
            self.say("Invalid response. Try again." + CRLF + "Would you like to continue?[y/n] ")


class Vntsd:
    """The console concentrator of one control domain."""

    def __init__(self, world: LdomsWorld) -> None:
        self.world = world
        #: domain name -> its clients, the writer first
        self.clients: dict[str, list[Client]] = {}

    def domain_on(self, port: int) -> Domain | None:
        """The bound or active guest whose console group listens on ``port``."""
        return next((d for d in self.world.domains.values()
                     if not d.control and d.console_port == port and d.state.value != "inactive"), None)

    @staticmethod
    def connect_message(domain: Domain) -> str:
        return CRLF + f'Connecting to console "{domain.name}" in group "{domain.name}" ....' + CRLF + \
            "Press ~? for control options .." + CRLF

    def connect(self, port: int, deliver: Callable[[bytes], None], on_close: Callable[[], None]) -> Client | None:
        """A TCP connection to ``port``: a client of its console, or None when nothing listens there."""
        domain = self.domain_on(port)
        if domain is None:
            return None
        client = Client(self, domain, deliver, on_close)
        self.clients.setdefault(domain.name, []).append(client)
        domain.console.listeners.append(deliver)
        client.say(self.connect_message(domain))
        return client

    def make_writer(self, client: Client) -> None:
        clients = self.clients.get(client.domain.name, [])
        if client in clients and clients[0] is not client:
            former = clients[0]
            clients.remove(client)
            clients.insert(0, client)
            former.say("Warning: Console connection forced into read-only mode" + CRLF)

    def disconnect(self, client: Client) -> None:
        """Drop one connection (``~.``, the user's telnet went away): the next reader becomes the writer."""
        if client.closed:
            return
        client.closed = True
        clients = self.clients.get(client.domain.name, [])
        if client in clients:
            clients.remove(client)
        if client.deliver in client.domain.console.listeners:
            client.domain.console.listeners.remove(client.deliver)
        client.on_close()

    def detach(self, client: Client) -> None:
        """The user's side ended (telnet quit): forget the client without calling back."""
        client.on_close = lambda: None
        self.disconnect(client)

    def console_deleted(self, domain: Domain) -> None:
        """The domain's console went away (unbound, removed, migrated off): every connection closes."""
        for client in list(self.clients.get(domain.name, [])):
            self.disconnect(client)
        self.clients.pop(domain.name, None)

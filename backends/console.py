"""Guest consoles as byte channels, the same for every backend.

A backend answers `Backend.console(domain)` with a `ConsoleRef` (what the console is, for the pane's title
and the audit log) and `Backend.open_console(domain, ...)` with a `ConsoleChannel`: the transport's
channel (an SSH pseudo-terminal, a libvirt stream) plus what every console needs on top of it:

* **link lost**: the channel listens to its session's `on_link_lost`; a read that ends because the host's
  connection dropped raises `ConnectionLost`, so that "the guest or the host closed the console" and "the
  link is gone" are told apart;
* **notices**: sentences the console server printed about this session that the UI shows beside the
  screen (vntsd's "forced into read-only mode"), found by scanning the output for fixed phrases of the
  server's own wording (`watch`), split reads included;
* **preamble**: output read while the backend talked to the console server (telnet's and vntsd's connect
  lines) is given back by the first reads, so the user sees everything the host printed;
* **how it ended**: `ended()` is a sentence for the pane once a read returned ``b""``.

`PtyConsole` is the console of hypervisors whose console is a program on the control host's terminal:
``xl console DOM``, ``xm console DOM``, ``zlogin -C ZONE``, ``telnet localhost PORT``. A backend makes one
with the program's argv and returns ``console.ref()`` and ``await console.open(session, cols, rows)``; the
console pane needs nothing else.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .errors import ConnectionLost
from .model import ConsoleRef
from .transport.base import Channel, Session, argv_tuple

#: the longest output kept from the end of a console for `ended` (bytes)
TAIL_BYTES = 512


class ConsoleChannel(Channel):
    """A console's byte channel (see the module docstring). Delegates to ``inner``; reads raise
    `ConnectionLost` once ``session`` reported its link lost; ``watch`` maps phrases of the console
    server's output (bytes) to the notice shown when one appears."""

    def __init__(self, inner: Channel, ref: ConsoleRef, *, session: Session | None = None,
                 watch: Mapping[bytes, str] | None = None, preamble: bytes = b"") -> None:
        self.inner = inner
        self.ref = ref
        self.argv = inner.argv
        self._watch = dict(watch or {})
        self._longest = max((len(p) for p in self._watch), default=0)
        self._tail = b""  # the end of the output so far (phrases split across reads; `ended`)
        self._preamble = preamble
        self._notices: list[str] = []
        self._link_lost = False
        self._eof = False
        self._closed = False
        self._forget_link = session.on_link_lost(self._lost) if session is not None else None
        if preamble:
            self._scan(preamble)

    # -- what the UI reads besides the bytes ---------------------------------------------------------

    @property
    def link_lost(self) -> bool:
        return self._link_lost

    def take_notices(self) -> list[str]:
        """Notices found in the output since the last call (oldest first)."""
        notices, self._notices = self._notices, []
        return notices

    def ended(self, status: int | None) -> str:
        """A sentence on how the console ended, given the exit status of its program (None if unknown)."""
        last = _last_line(self._tail)
        reason = getattr(self.inner, "end_reason", None)  # a channel that knows better (a libvirt stream)
        program = self.argv[0] if self.argv else "the console"
        how = reason if isinstance(reason, str) else (
            f"{program} exited with status {status}" if status is not None else f"{program} ended")
        return f"The console closed ({how})" + (f": {last}" if last else ".")

    # -- Channel -------------------------------------------------------------------------------------

    def _lost(self) -> None:
        self._link_lost = True

    async def read(self, size: int = 65536) -> bytes:
        if self._preamble:
            data, self._preamble = self._preamble[:size], self._preamble[size:]
            return data
        if self._link_lost:
            raise ConnectionLost(f"{self.ref.description}: the link to the host was lost")
        data = await self.inner.read(size)
        if not data:
            self._eof = True
            if self._link_lost:
                raise ConnectionLost(f"{self.ref.description}: the link to the host was lost")
            return b""
        self._scan(data)
        return data

    def _scan(self, data: bytes) -> None:
        seen = self._tail + data
        if self._watch:
            start = max(0, len(self._tail) - self._longest + 1)
            for phrase, notice in self._watch.items():
                at = seen.find(phrase, start)
                while at >= 0:
                    if at + len(phrase) > len(self._tail):
                        self._notices.append(notice)
                    at = seen.find(phrase, at + 1)
        self._tail = seen[-max(TAIL_BYTES, self._longest):]

    def write(self, data: bytes) -> None:
        if not self._closed:
            self.inner.write(data)

    async def drain(self) -> None:
        await self.inner.drain()

    def write_eof(self) -> None:
        self.inner.write_eof()

    def resize(self, cols: int, rows: int) -> None:
        if not self._closed:
            self.inner.resize(cols, rows)

    async def wait(self) -> int | None:
        return await self.inner.wait()

    @property
    def stderr_tail(self) -> str:
        return self.inner.stderr_tail

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._forget_link is not None:
            self._forget_link()
        await self.inner.close()


def _last_line(tail: bytes) -> str:
    """The last non-empty line of ``tail`` as text (escape sequences and controls left out), at most 200
    characters; host text, for the UI to show through its own escaping."""
    text = tail.decode("utf-8", "replace")
    for line in reversed(text.replace("\r", "\n").split("\n")):
        cleaned = "".join(ch for ch in _strip_escapes(line) if ch.isprintable()).strip()
        if cleaned:
            return cleaned[:200]
    return ""


def _strip_escapes(line: str) -> str:
    out, i = [], 0
    while i < len(line):
        ch = line[i]
        if ch == "\x1b":
            i += 1
            if i < len(line) and line[i] == "[":
                i += 1
                while i < len(line) and not ("@" <= line[i] <= "~"):
                    i += 1
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@dataclass(frozen=True, slots=True)
class PtyConsole:
    """A console that is a program run on a pseudo-terminal of the control host's connection.

    ``kind`` names the console in titles and the audit log (``xl``, ``xm``, ``zlogin``, ``vntsd``);
    ``argv`` is the program (validated names only: the backend checks them before it builds one);
    ``detach_hint`` is the program's own way out, shown beside hvdeck's detach key; ``can_force`` says that
    `open` with ``force`` takes the console over from another session.
    """

    kind: str
    argv: tuple[str, ...]
    description: str = ""
    detach_hint: str = ""
    can_force: bool = False
    #: phrases of the program's output (bytes) and the notice each means; see `ConsoleChannel`
    watch: tuple[tuple[bytes, str], ...] = ()

    def ref(self) -> ConsoleRef:
        return ConsoleRef(kind=self.kind, description=self.description or shlex.join(self.argv),
                          detach_hint=self.detach_hint, can_force=self.can_force)

    async def open(self, session: Session, *, cols: int = 80, rows: int = 24, preamble: bytes = b"") -> ConsoleChannel:
        """Start the program on a ``cols`` x ``rows`` pseudo-terminal. Raises the transport's errors
        (`ChannelBusy`, `ConnectionLost`, `HostUnreachable`)."""
        inner = await session.open_pty(list(self.argv), cols=cols, rows=rows)
        return ConsoleChannel(inner, self.ref(), session=session, watch=dict(self.watch), preamble=preamble)


def command_console(kind: str, argv: Sequence[str], *, description: str = "", detach_hint: str = "",
                    can_force: bool = False) -> PtyConsole:
    """The console of ``argv`` run on the host's terminal: ``command_console("xl", ["xl", "console", "web01"],
    detach_hint="ctrl+]")`` is all a Xen backend needs (its ``console`` returns ``.ref()``, its
    ``open_console`` ``await .open(self.session, cols=cols, rows=rows)``)."""
    return PtyConsole(kind=kind, argv=argv_tuple(argv), description=description, detach_hint=detach_hint,
                      can_force=can_force)
